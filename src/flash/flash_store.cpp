#include "flash/flash_store.h"

#include <algorithm>

#include "base/check.h"
#include "base/clock.h"
#include "tensor/channel_major.h"

namespace jf {

// A linear kind's group buffer: a slot holds one channel's runs for the n layers of `group`
// (slot_bytes = n · channel_bytes at data + slot · slot_bytes); slot_of[j] is channel j's slot, -1
// when absent. Sized for every channel of the kind's largest group.
struct FlashStore::Buffer {
  int group = -1;
  size_t slot_bytes = 0;
  std::vector<int32_t> slot_of;
  int32_t n_used = 0;
  AlignedBuffer data;

  void start(int g, size_t run) {
    group = g;
    slot_bytes = run;
    std::fill(slot_of.begin(), slot_of.end(), -1);
    n_used = 0;
  }
};

// One layer's streamed linear. Its group tensor (`tensor`, at `offset` in the file) holds channel j
// of layer first + index at offset + (j · n + index) · channel_bytes.
class FlashStore::Linear final : public ChannelSource {
 public:
  Linear(FlashStore& store, int kind, int group, int index, int n, const TensorInfo& tensor, int64_t n_out)
      : store_(store), kind(kind), group(group), index(index), n(n), tensor(tensor.name), offset(tensor.offset),
        channel_bytes(jf::channel_bytes(tensor.dtype, n_out)) {}

  Result<std::span<const uint8_t* const>> fetch(std::span<const int32_t> channels) override {
    return store_.fetch(*this, channels);
  }

  FlashStore& store_;
  const int kind, group, index, n;
  const std::string tensor;
  const uint64_t offset;
  const size_t channel_bytes;
  std::vector<const uint8_t*> at;  // what fetch returns
};

FlashStore::FlashStore(ModelWeights& weights, std::unique_ptr<ByteSource> source, LayerGroups groups)
    : weights_(weights), source_(std::move(source)), groups_(groups) {}

FlashStore::~FlashStore() = default;

Result<std::unique_ptr<FlashStore>> FlashStore::open(const GgufFile& file, const ModelConfig& config,
                                                     ModelWeights& weights, std::unique_ptr<ByteSource> source) {
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, config.n_layer));
  if (!layout) {
    return error(StatusCode::kInvalidArgument,
                 "%s: not in the flash layout; streaming weights needs one (jitflow convert --flash --group N)",
                 file.path().c_str());
  }
  std::unique_ptr<FlashStore> store(new FlashStore(weights, std::move(source), layout->groups));
  const LayerGroups& groups = layout->groups;
  for (size_t kind = 0; kind < std::size(kLayerLinearRoles); ++kind) {
    const TensorRole role = kLayerLinearRoles[kind];
    auto buffer = std::make_unique<Buffer>();
    size_t largest_run = 0;
    for (int layer = 0; layer < config.n_layer; ++layer) {
      LinearWeight& linear = layer_linear(weights.layers[layer], role);
      if (!layout->linears.contains(linear.weight.name)) continue;  // absent in this architecture
      const int group = groups.of(layer), n = groups.size_of(group);
      const TensorInfo* tensor =
          file.find_tensor(flash_tensor_name(tensor_name(*config.arch_info, role, groups.first(group))));
      JF_CHECK_MSG(tensor != nullptr, "load_weights checked the group tensors");
      store->linears_.push_back(std::make_unique<Linear>(*store, static_cast<int>(kind), group,
                                                         layer - groups.first(group), n, *tensor,
                                                         linear.weight.n_rows));
      linear.streamed = store->linears_.back().get();
      largest_run = std::max(largest_run, store->linears_.back()->channel_bytes * static_cast<size_t>(n));
      buffer->slot_of.resize(std::max<size_t>(buffer->slot_of.size(), static_cast<size_t>(linear.weight.n_cols)), -1);
    }
    const size_t bytes = largest_run * buffer->slot_of.size();
    if (bytes > 0) {
      buffer->data = AlignedBuffer(bytes);
      if (buffer->data.data() == nullptr) {
        return error(StatusCode::kOutOfRange, "%s: cannot allocate %zu bytes for the %s group buffer",
                     file.path().c_str(), bytes, role_info(role).name);
      }
    }
    store->buffers_.push_back(std::move(buffer));
  }
  return store;
}

uint64_t FlashStore::buffer_bytes() const {
  uint64_t total = 0;
  for (const auto& b : buffers_) total += b->data.size();
  return total;
}

Result<std::span<const uint8_t* const>> FlashStore::fetch(Linear& linear, std::span<const int32_t> channels) {
  Buffer& buffer = *buffers_[linear.kind];
  const size_t run = linear.channel_bytes * static_cast<size_t>(linear.n);  // a channel's runs of the group
  if (buffer.group != linear.group) buffer.start(linear.group, run);
  uint8_t* data = reinterpret_cast<uint8_t*>(buffer.data.data());
  // The channels the buffer lacks, adjacent ones in one request into adjacent slots.
  requests_.clear();
  uint64_t n_read = 0;
  for (size_t i = 0; i < channels.size(); ++i) {
    const int32_t j = channels[i];
    if (buffer.slot_of[j] >= 0) continue;
    const int32_t slot = buffer.n_used++;
    buffer.slot_of[j] = slot;
    ++n_read;
    const ReadRequest next{linear.offset + static_cast<uint64_t>(j) * run, run, data + slot * buffer.slot_bytes};
    ReadRequest* last = requests_.empty() ? nullptr : &requests_.back();
    if (last != nullptr && last->offset + last->n == next.offset &&
        static_cast<uint8_t*>(last->dst) + last->n == next.dst) {
      last->n += run;
    } else {
      requests_.push_back(next);
    }
  }
  if (!requests_.empty()) {
    const double start_ms = now_ms();
    const Status read = source_->read_batch(requests_);
    stats_.read_ms += now_ms() - start_ms;
    if (!read.ok()) {
      buffer.group = -1;  // what the failed reads were to fill is unknown: start over next time
      return error(read.code(), "reading channels of '%s': %s", linear.tensor.c_str(), read.message().c_str());
    }
    for (const ReadRequest& r : requests_) stats_.bytes_read += r.n;
    stats_.reads += requests_.size();
  }
  stats_.channels_asked += channels.size();
  stats_.channels_read += n_read;
  linear.at.resize(channels.size());
  const size_t layer_run = linear.channel_bytes * static_cast<size_t>(linear.index);
  for (size_t i = 0; i < channels.size(); ++i) {
    linear.at[i] = data + static_cast<size_t>(buffer.slot_of[channels[i]]) * buffer.slot_bytes + layer_run;
  }
  return std::span<const uint8_t* const>(linear.at);
}

}  // namespace jf
