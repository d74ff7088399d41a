#include "flash/flash_store.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/clock.h"
#include "tensor/channel_major.h"

namespace jf {
namespace {

// Where one layer's linear lies: its group tensor (`tensor`, at `offset` in the file) holds channel
// j of layer first + index at offset + (j · n + index) · channel_bytes.
struct LinearPlace {
  int kind, group, index, n;
  std::string tensor;
  uint64_t offset;
  size_t channel_bytes;
};

}  // namespace

// A linear kind's buffer for the current group: group runs (channel j's runs for all n layers of
// `group`, n · channel_bytes at group_at[j]), or group_at[j] pointing into the group's cache. Sized
// for every channel of the kind's largest group: a group reads a channel at most once.
struct FlashStore::Buffer {
  int group = -1;
  uint64_t pass = 0;               // the forward pass that read the group runs
  Cache* cache = nullptr;          // the group's: where its runs are offered when the group ends
  std::vector<uint8_t*> group_at;  // per channel; null: absent
  size_t used = 0;
  AlignedBuffer data;

  void start_group(int g, uint64_t forward_pass) {
    group = g;
    pass = forward_pass;
    std::fill(group_at.begin(), group_at.end(), nullptr);
    used = 0;
  }
  uint8_t* take_group(size_t bytes) {
    JF_CHECK_MSG(used + bytes <= data.size(), "a group reads a channel at most once");
    uint8_t* at = reinterpret_cast<uint8_t*>(data.data()) + used;
    used += bytes;
    return at;
  }
};

// A group tensor's hot-weight cache (papers/activeflow.md §7): whole group runs of the channels
// used most in this sequence, in `capacity` slots of `run` bytes. Contextual LFU: count[j] is how
// often the group's layers asked for channel j since the sequence began. When the group ends, the
// runs it read are offered together: the cache then holds the `capacity` channels, cached or
// offered, with the highest counts (a cached channel keeps its slot on a tie), which is the
// paper's rule (a newly active channel replaces the least-used cached one if its count is higher)
// applied to the whole offer at once, in linear time. The group's buffer may point into the cache
// while the group runs, so slots change only between its groups.
struct FlashStore::Cache {
  size_t run = 0;
  int32_t capacity = 0;
  AlignedBuffer data;
  std::vector<int32_t> slot_of;     // per channel: its slot, -1 when not cached
  std::vector<uint32_t> count;      // per channel
  std::vector<int32_t> channel_in;  // per slot: its channel, -1 when free

  Cache(size_t run_bytes, int64_t n_channels)
      : run(run_bytes),
        slot_of(static_cast<size_t>(n_channels), -1),
        count(static_cast<size_t>(n_channels), 0) {}

  const uint8_t* find(int32_t j) const {
    return slot_of[j] < 0 ? nullptr : reinterpret_cast<const uint8_t*>(data.data()) + slot_of[j] * run;
  }
  bool holds(const uint8_t* p) const {
    const auto* base = reinterpret_cast<const uint8_t*>(data.data());
    return p >= base && p < base + data.size();
  }
  void use(int32_t j) { ++count[j]; }

  // Offered group runs: (channel, its run's bytes), none of them cached.
  void offer(std::vector<std::pair<int32_t, const uint8_t*>>& offered) {
    if (capacity == 0 || offered.empty()) return;
    // Ranked by count, cached channels first on a tie: keep the best `capacity` of cached and offered.
    struct Entry {
      uint64_t rank;  // count · 2 + cached
      int32_t channel;
      const uint8_t* bytes;  // offered: where its run is; cached: null
    };
    std::vector<Entry> pool;
    for (int32_t slot = 0; slot < capacity; ++slot) {
      const int32_t j = channel_in[slot];
      if (j >= 0) pool.push_back({uint64_t{count[j]} * 2 + 1, j, nullptr});
    }
    for (const auto& [j, bytes] : offered) pool.push_back({uint64_t{count[j]} * 2, j, bytes});
    if (static_cast<int32_t>(pool.size()) > capacity) {
      std::nth_element(pool.begin(), pool.begin() + capacity, pool.end(),
                       [](const Entry& a, const Entry& b) { return a.rank > b.rank; });
      for (auto e = pool.begin() + capacity; e != pool.end(); ++e) {  // the losers: cached ones leave
        if (e->bytes == nullptr) {
          channel_in[slot_of[e->channel]] = -1;
          slot_of[e->channel] = -1;
        }
      }
      pool.resize(static_cast<size_t>(capacity));
    }
    int32_t free_slot = 0;
    for (const Entry& e : pool) {
      if (e.bytes == nullptr) continue;
      while (channel_in[free_slot] >= 0) ++free_slot;
      channel_in[free_slot] = e.channel;
      slot_of[e.channel] = free_slot;
      std::memcpy(reinterpret_cast<uint8_t*>(data.data()) + free_slot * run, e.bytes, run);
    }
  }
  // A new sequence: every count back to 0, the cached channels kept.
  void reset_counts() { std::fill(count.begin(), count.end(), 0); }
  // `slots` slots, the cached channels dropped. False: out of memory.
  bool resize(int32_t slots) {
    capacity = slots;
    data = AlignedBuffer(static_cast<size_t>(slots) * run);
    std::fill(slot_of.begin(), slot_of.end(), -1);
    channel_in.assign(static_cast<size_t>(slots), -1);
    return slots == 0 || data.data() != nullptr;
  }
};

// One layer's streamed linear.
class FlashStore::Linear final : public ChannelSource {
 public:
  Linear(FlashStore& store, LinearPlace place, Cache& group_cache)
      : kind(place.kind),
        group(place.group),
        index(place.index),
        n(place.n),
        tensor(std::move(place.tensor)),
        offset(place.offset),
        channel_bytes(place.channel_bytes),
        cache(group_cache),
        store_(store) {}

  Result<std::span<const uint8_t* const>> fetch(std::span<const int32_t> channels) override {
    return store_.fetch(*this, channels);
  }

  const int kind, group, index, n;
  const std::string tensor;
  const uint64_t offset;
  const size_t channel_bytes;
  Cache& cache;                    // its group tensor's
  std::vector<const uint8_t*> at;  // what fetch returns

 private:
  FlashStore& store_;
};

FlashStore::FlashStore(ModelWeights& weights, std::unique_ptr<ByteSource> source)
    : weights_(weights), source_(std::move(source)) {}

FlashStore::~FlashStore() = default;

Result<std::unique_ptr<FlashStore>> FlashStore::open(const GgufFile& file, const ModelConfig& config,
                                                     ModelWeights& weights,
                                                     std::unique_ptr<ByteSource> source) {
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, config.n_layer));
  if (!layout) {
    return error(
        StatusCode::kInvalidArgument,
        "%s: not in the flash layout; streaming weights needs one (jitflow convert --flash --group N)",
        file.path().c_str());
  }
  std::unique_ptr<FlashStore> store(new FlashStore(weights, std::move(source)));
  const LayerGroups& groups = layout->groups;
  for (size_t kind = 0; kind < std::size(kLayerLinearRoles); ++kind) {
    const TensorRole role = kLayerLinearRoles[kind];
    auto buffer = std::make_unique<Buffer>();
    size_t largest_run = 0;
    int64_t n_channels = 0;
    for (int layer = 0; layer < config.n_layer; ++layer) {
      LinearWeight& linear = layer_linear(weights.layers[layer], role);
      if (!layout->linears.contains(linear.weight.name)) continue;  // absent in this architecture
      const int group = groups.of(layer), n = groups.size_of(group);
      const TensorInfo* tensor =
          file.find_tensor(flash_tensor_name(tensor_name(*config.arch_info, role, groups.first(group))));
      JF_CHECK_MSG(tensor != nullptr, "load_weights checked the group tensors");
      const size_t channel = channel_bytes(tensor->dtype, linear.weight.n_rows),
                   run = channel * static_cast<size_t>(n);
      if (layer == groups.first(group)) {
        store->caches_.push_back(std::make_unique<Cache>(run, linear.weight.n_cols));
      }
      const LinearPlace place{.kind = static_cast<int>(kind),
                              .group = group,
                              .index = layer - groups.first(group),
                              .n = n,
                              .tensor = tensor->name,
                              .offset = tensor->offset,
                              .channel_bytes = channel};
      store->linears_.push_back(std::make_unique<Linear>(*store, place, *store->caches_.back()));
      linear.streamed = store->linears_.back().get();
      largest_run = std::max(largest_run, run);
      n_channels = std::max(n_channels, linear.weight.n_cols);
    }
    buffer->group_at.assign(static_cast<size_t>(n_channels), nullptr);
    const size_t bytes = largest_run * static_cast<size_t>(n_channels);
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
  uint64_t total = source_->buffer_bytes();
  for (const auto& b : buffers_) total += b->data.size();
  return total;
}

uint64_t FlashStore::cache_bytes() const {
  uint64_t total = 0;
  for (const auto& c : caches_) total += c->data.size();
  return total;
}

Status FlashStore::set_cache_bytes(uint64_t bytes) {
  // Every group tensor gets the same fraction of its channels (a balanced cache across the weights).
  uint64_t whole = 0;
  for (const auto& c : caches_) whole += c->run * c->slot_of.size();
  const double fraction =
      whole == 0 ? 0.0 : std::min(1.0, static_cast<double>(bytes) / static_cast<double>(whole));
  for (auto& b : buffers_) {  // their pointers into the caches go stale
    b->start_group(-1, 0);
    b->cache = nullptr;
  }
  for (const auto& c : caches_) {
    const auto slots = static_cast<int32_t>(fraction * static_cast<double>(c->slot_of.size()));
    if (!c->resize(slots)) {
      return error(StatusCode::kOutOfRange, "cannot allocate %zu bytes for a hot-weight cache",
                   static_cast<size_t>(slots) * c->run);
    }
  }
  return Status();
}

void FlashStore::start_sequence() {
  for (const auto& c : caches_) c->reset_counts();
}

// Channels in neither the buffer nor the cache are read as group runs; see the header.
Result<std::span<const uint8_t* const>> FlashStore::fetch(Linear& linear, std::span<const int32_t> channels) {
  Buffer& buffer = *buffers_[linear.kind];
  Cache& cache = linear.cache;
  if (buffer.group != linear.group || buffer.pass != pass_) {
    if (buffer.cache != nullptr) offer_group_runs(buffer);
    buffer.start_group(linear.group, pass_);
    buffer.cache = &cache;
  }
  const bool first = linear.index == 0;
  const size_t run = linear.channel_bytes * static_cast<size_t>(linear.n);
  requests_.clear();
  uint64_t n_read = 0, n_from_file = 0, n_cached = 0;
  int32_t last_read = -1;  // the channel the last request ends with
  for (const int32_t j : channels) {
    cache.use(j);
    if (buffer.group_at[j] == nullptr && cache.find(j) != nullptr) {
      buffer.group_at[j] = const_cast<uint8_t*>(cache.find(j));
    }
    if (buffer.group_at[j] != nullptr) {
      const bool cached = cache.holds(buffer.group_at[j]);
      n_cached += cached;
      n_from_file += !cached;
      continue;
    }
    ++n_read;
    // Channels between the last request and this one are read too when the gap is small (a request
    // costs more than reading them, set_merge_gap) and none of them is in the buffer already; they
    // join the group's runs.
    bool merge = last_read >= 0 && static_cast<size_t>(j - last_read - 1) * run <= merge_gap_;
    for (int32_t between = last_read + 1; merge && between < j; ++between) {
      merge = buffer.group_at[between] == nullptr || cache.holds(buffer.group_at[between]);
    }
    for (int32_t between = merge ? last_read + 1 : j; between <= j; ++between) {
      buffer.group_at[between] = buffer.take_group(run);
    }
    if (merge) {
      requests_.back().n += static_cast<size_t>(j - last_read) * run;
    } else {
      requests_.push_back({linear.offset + static_cast<uint64_t>(j) * run, run, buffer.group_at[j]});
    }
    last_read = j;
  }
  if (!requests_.empty()) {
    const double start_ms = now_ms();
    const Status read = source_->read_batch(requests_);
    stats_.read_ms += now_ms() - start_ms;
    if (!read.ok()) {
      // What the failed reads were to fill is unknown: the buffer starts over, and offers none of it.
      buffer.start_group(-1, 0);
      buffer.cache = nullptr;
      return error(read.code(), "reading channels of '%s': %s", linear.tensor.c_str(),
                   read.message().c_str());
    }
    for (const ReadRequest& r : requests_) stats_.bytes_read += r.n;
    stats_.reads += requests_.size();
  }
  stats_.channels_asked += channels.size();
  stats_.channels_read += n_read;
  stats_.cache_hits += n_cached;
  // A run read now can serve the group's layers after this one.
  uint64_t runs_read = 0;
  for (const ReadRequest& r : requests_) runs_read += r.n / run;
  stats_.predicted_uses += runs_read * static_cast<uint64_t>(linear.n - 1 - linear.index);
  if (!first) {
    stats_.later_asked += channels.size() - n_cached;
    stats_.later_hits += n_from_file;
  }
  linear.at.resize(channels.size());
  const size_t layer_run = linear.channel_bytes * static_cast<size_t>(linear.index);
  for (size_t i = 0; i < channels.size(); ++i) linear.at[i] = buffer.group_at[channels[i]] + layer_run;
  return std::span<const uint8_t* const>(linear.at);
}

void FlashStore::offer_group_runs(Buffer& buffer) {
  offered_.clear();
  for (size_t j = 0; j < buffer.group_at.size(); ++j) {
    const uint8_t* p = buffer.group_at[j];
    // A cached channel may have been read again, through a merged read's gap: it keeps its slot.
    if (p != nullptr && !buffer.cache->holds(p) && buffer.cache->find(static_cast<int32_t>(j)) == nullptr) {
      offered_.push_back({static_cast<int32_t>(j), p});
    }
  }
  buffer.cache->offer(offered_);
}

}  // namespace jf
