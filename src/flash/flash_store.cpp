#include "flash/flash_store.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
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

// One group's runs in a kind's buffer, packed from one end of it: group_at[j] is channel j's group
// run (n · channel_bytes, all n layers of the group), in the buffer or in the group's cache.
struct FlashStore::Side {
  const bool from_end;  // packs down from the buffer's end, else up from its start
  int group = -1;
  uint64_t pass = 0;               // the forward pass it serves
  Cache* cache = nullptr;          // the group's (null: no group)
  std::vector<uint8_t*> group_at;  // per channel; null: absent
  std::vector<uint8_t> preloaded;  // per channel: preloaded, not asked for yet
  size_t used = 0;
  uint64_t ticket = 0;  // the loader's batch still to wait for; 0: none

  Side(bool packs_from_end, int64_t n_channels)
      : from_end(packs_from_end),
        group_at(static_cast<size_t>(n_channels), nullptr),
        preloaded(static_cast<size_t>(n_channels), 0) {}
  bool serves(int g, uint64_t forward_pass) const {
    return cache != nullptr && group == g && pass == forward_pass;
  }
  void start(int g, uint64_t forward_pass, Cache* group_cache) {
    group = g;
    pass = forward_pass;
    cache = group_cache;
    std::fill(group_at.begin(), group_at.end(), nullptr);
    std::fill(preloaded.begin(), preloaded.end(), 0);
    used = 0;
    ticket = 0;
  }
  void clear() { start(-1, 0, nullptr); }
};

// A linear kind's buffer: room for every channel's run of the kind's largest group, which the
// current group always fits in (it reads a channel at most once). The next group's preload packs
// from the other end into what the current one leaves free; when the next group begins, the sides
// swap roles.
struct FlashStore::Buffer {
  std::span<uint8_t> data;  // in the store's buffer arena
  Side sides[2];
  int current = 0;
  // What fetch returns for the kind's linear last asked (one per kind, not per linear: 896 linears of
  // Mixtral-8x7B asked for every channel held 30 MB of them).
  std::vector<const uint8_t*> fetched;

  explicit Buffer(int64_t n_channels) : sides{Side(false, n_channels), Side(true, n_channels)} {}
  Side& now() { return sides[current]; }
  Side& next() { return sides[current ^ 1]; }
  // `bytes` more for `side`, contiguous; null when they do not fit.
  size_t free_bytes() const { return data.size() - sides[0].used - sides[1].used; }
  uint8_t* take(Side& side, size_t bytes) {
    if (bytes > free_bytes()) return nullptr;
    uint8_t* base = data.data();
    uint8_t* at = side.from_end ? base + data.size() - side.used - bytes : base + side.used;
    side.used += bytes;
    return at;
  }
};

// A group tensor's hot-weight cache (papers/activeflow.md §7): whole group runs of the channels
// used most in this sequence, `chunk` adjacent channels to a slot. Contextual LFU: count[c] is how
// often the group's layers asked for the channels of chunk c since the sequence began. When the group
// ends, the chunks it read whole are offered together: the cache then holds the `capacity` chunks,
// cached or offered, with the highest counts (a cached chunk keeps its slot on a tie), which is the
// paper's rule (a newly active channel replaces the least-used cached one if its count is higher)
// applied to the whole offer at once, in linear time. The group's buffer may point into the cache
// while the group runs, so slots change only between its groups.
//
// A chunk is one channel when reads are run by run, the paper's channel-granular cache. Where reads
// merge across gaps of up to merge_gap bytes, a chunk is one channel more than a gap holds (at most
// an eighth of the tensor): a cached channel then saves a read only inside a cached stretch longer
// than the gap, and a chunk is one. On a disk of few requests per second (merged reads, 64 KiB) this
// cut the bytes a tinyllama Q4_0 token read at a 50 % budget from 515 to 315 MiB.
struct FlashStore::Cache {
  size_t run = 0;  // a channel's group run
  int64_t n_channels = 0;
  double token_use = 1;  // how often a token reads the tensor: 1, or k / n_expert for an expert's
  int32_t chunk = 1;  // channels per slot
  int32_t capacity = 0;
  std::span<uint8_t> data;        // capacity slots of chunk runs, in the store's cache arena
  std::vector<int32_t> slot_of;   // per chunk: its slot, -1 when not cached
  std::vector<uint32_t> count;    // per chunk
  std::vector<int32_t> chunk_in;  // per slot: its chunk, -1 when free

  Cache(size_t run_bytes, int64_t channels, double use)
      : run(run_bytes), n_channels(channels), token_use(use) {
    resize(1, 0, nullptr);
  }

  int32_t n_chunks() const { return static_cast<int32_t>((n_channels + chunk - 1) / chunk); }
  size_t slot_bytes() const { return static_cast<size_t>(chunk) * run; }
  const uint8_t* find(int32_t j) const {
    const int32_t slot = slot_of[j / chunk];
    return slot < 0 ? nullptr
                    : data.data() + static_cast<size_t>(slot) * slot_bytes() +
                          static_cast<size_t>(j % chunk) * run;
  }
  bool holds(const uint8_t* p) const { return p >= data.data() && p < data.data() + data.size(); }
  void use(int32_t j) { ++count[j / chunk]; }
  // The channels of chunk c.
  std::pair<int32_t, int32_t> channels_of(int32_t c) const {
    return {c * chunk, static_cast<int32_t>(std::min<int64_t>(n_channels, int64_t{c + 1} * chunk))};
  }

  // Offered chunks, none of them cached; group_at[j]: where channel j's run is.
  void offer(const std::vector<int32_t>& offered, std::span<uint8_t* const> group_at) {
    if (capacity == 0 || offered.empty()) return;
    // Ranked by count, cached chunks first on a tie: keep the best `capacity` of cached and offered.
    struct Entry {
      uint64_t rank;  // count · 2 + cached
      int32_t chunk;
      bool offered;
    };
    std::vector<Entry> pool;
    for (int32_t slot = 0; slot < capacity; ++slot) {
      const int32_t c = chunk_in[slot];
      if (c >= 0) pool.push_back({uint64_t{count[c]} * 2 + 1, c, false});
    }
    for (const int32_t c : offered) pool.push_back({uint64_t{count[c]} * 2, c, true});
    if (static_cast<int32_t>(pool.size()) > capacity) {
      std::nth_element(pool.begin(), pool.begin() + capacity, pool.end(),
                       [](const Entry& a, const Entry& b) { return a.rank > b.rank; });
      for (auto e = pool.begin() + capacity; e != pool.end(); ++e) {  // the losers: cached ones leave
        if (!e->offered) {
          chunk_in[slot_of[e->chunk]] = -1;
          slot_of[e->chunk] = -1;
        }
      }
      pool.resize(static_cast<size_t>(capacity));
    }
    int32_t free_slot = 0;
    for (const Entry& e : pool) {
      if (!e.offered) continue;
      while (chunk_in[free_slot] >= 0) ++free_slot;
      chunk_in[free_slot] = e.chunk;
      slot_of[e.chunk] = free_slot;
      uint8_t* slot = data.data() + static_cast<size_t>(free_slot) * slot_bytes();
      const auto [first, end] = channels_of(e.chunk);
      for (int32_t j = first; j < end; ++j)
        std::memcpy(slot + static_cast<size_t>(j - first) * run, group_at[j], run);
    }
  }
  // A new sequence: every count back to 0, the cached chunks kept.
  void reset_counts() { std::fill(count.begin(), count.end(), 0); }
  // Chunks of `channels` channels, `slots` slots at `at` (slots · slot_bytes()), nothing cached.
  void resize(int32_t channels, int32_t slots, uint8_t* at) {
    chunk = channels;
    capacity = slots;
    data = {at, static_cast<size_t>(slots) * slot_bytes()};
    slot_of.assign(static_cast<size_t>(n_chunks()), -1);
    count.assign(static_cast<size_t>(n_chunks()), 0);
    chunk_in.assign(static_cast<size_t>(slots), -1);
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

  size_t run() const { return channel_bytes * static_cast<size_t>(n); }

  const int kind, group, index, n;
  const std::string tensor;
  const uint64_t offset;
  const size_t channel_bytes;
  Cache& cache;                    // its group tensor's
  Linear* next_group = nullptr;    // the kind's linear at the next group's first layer

 private:
  FlashStore& store_;
};

FlashStore::FlashStore(ModelWeights& weights, std::unique_ptr<ByteSource> source)
    : weights_(weights), source_(std::move(source)) {}

FlashStore::~FlashStore() = default;

Result<std::unique_ptr<FlashStore>> FlashStore::open(const GgufFile& file, const ModelConfig& config,
                                                     ModelWeights& weights,
                                                     std::unique_ptr<ByteSource> source,
                                                     std::unique_ptr<ByteSource> preload_source) {
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, config.n_layer));
  if (!layout) {
    return error(
        StatusCode::kInvalidArgument,
        "%s: not in the flash layout; streaming weights needs one (jitflow convert --flash --group N)",
        file.path().c_str());
  }
  std::unique_ptr<FlashStore> store(new FlashStore(weights, std::move(source)));
  const LayerGroups& groups = layout->groups;
  std::vector<size_t> buffer_sizes;  // per kind
  store->kinds_ = layer_linear_kinds(config);
  const std::vector<LinearKind>& kinds = store->kinds_;
  store->layer_linears_.resize(static_cast<size_t>(config.n_layer));
  for (size_t kind = 0; kind < kinds.size(); ++kind) {
    size_t largest_run = 0;
    int64_t n_channels = 0;
    std::vector<Linear*> of_kind;
    for (int layer = 0; layer < config.n_layer; ++layer) {
      LinearWeight& linear = layer_linear(weights.layers[layer], kinds[kind]);
      if (!layout->linears.contains(linear.weight.name)) continue;  // not streamed
      const int group = groups.of(layer), n = groups.size_of(group);
      const TensorInfo* tensor = file.find_tensor(
          flash_tensor_name(linear_name(*config.arch_info, kinds[kind], groups.first(group))));
      JF_CHECK_MSG(tensor != nullptr, "load_weights checked the group tensors");
      const size_t channel = channel_bytes(tensor->dtype, linear.weight.n_rows),
                   run = channel * static_cast<size_t>(n);
      const bool expert = kinds[kind].per_expert();
      if (layer == groups.first(group)) {
        const double use = expert ? static_cast<double>(config.n_expert_used) / config.n_expert : 1.0;
        store->caches_.push_back(std::make_unique<Cache>(run, linear.weight.n_cols, use));
      }
      const LinearPlace place{.kind = static_cast<int>(kind),
                              .group = group,
                              .index = layer - groups.first(group),
                              .n = n,
                              .tensor = tensor->name,
                              .offset = tensor->offset,
                              .channel_bytes = channel};
      store->linears_.push_back(std::make_unique<Linear>(*store, place, *store->caches_.back()));
      of_kind.push_back(store->linears_.back().get());
      store->layer_linears_[static_cast<size_t>(layer)].push_back(of_kind.back());
      store->has_experts_ |= expert;
      linear.streamed = of_kind.back();
      largest_run = std::max(largest_run, run);
      n_channels = std::max(n_channels, linear.weight.n_cols);
    }
    for (Linear* l : of_kind) {
      for (Linear* next : of_kind) {
        if (next->group == l->group + 1 && next->index == 0) l->next_group = next;
      }
    }
    store->buffers_.push_back(std::make_unique<Buffer>(n_channels));
    buffer_sizes.push_back(largest_run * static_cast<size_t>(n_channels));
  }
  // One allocation for all: each buffer of its own would round up to whole huge pages.
  const size_t total =
      std::accumulate(buffer_sizes.begin(), buffer_sizes.end(), size_t{0},
                      [](size_t sum, size_t n) { return sum + round_up(n, kSimdAlignment); });
  store->buffer_arena_ = AlignedBuffer(total);
  if (total > 0 && store->buffer_arena_.data() == nullptr) {
    return error(StatusCode::kOutOfRange, "%s: cannot allocate %zu bytes for the group buffers",
                 file.path().c_str(), total);
  }
  auto* at = reinterpret_cast<uint8_t*>(store->buffer_arena_.data());
  for (size_t kind = 0; kind < buffer_sizes.size(); ++kind) {
    store->buffers_[kind]->data = {at, buffer_sizes[kind]};
    at += round_up(buffer_sizes[kind], kSimdAlignment);
  }
  if (preload_source != nullptr) store->loader_ = std::make_unique<ReadQueue>(std::move(preload_source));
  return store;
}

uint64_t FlashStore::buffer_bytes() const {
  return buffer_arena_.size() + source_->buffer_bytes() +
         (loader_ != nullptr ? loader_->source().buffer_bytes() : 0);
}

uint64_t FlashStore::cache_bytes() const {
  return cache_arena_.size();
}

namespace {

// The fraction of its bytes each group tensor's cache gets of `usable` bytes: the tensors a token reads
// most first (a byte cached there saves the most reads: every token reads the dense linears, a routed
// expert's only k of n_expert of them), and every tensor a token reads as often the same fraction (a
// balanced cache across them).
std::vector<double> cache_fractions(std::span<const std::unique_ptr<FlashStore::Cache>> caches,
                                    double usable) {
  std::vector<double> uses;
  for (const auto& c : caches) uses.push_back(c->token_use);
  std::sort(uses.begin(), uses.end(), std::greater<>());
  uses.erase(std::unique(uses.begin(), uses.end()), uses.end());
  std::vector<double> fractions(caches.size(), 0.0);
  for (const double use : uses) {
    double whole = 0;
    for (const auto& c : caches)
      whole += c->token_use == use ? static_cast<double>(c->run) * c->n_channels : 0;
    const double fraction = whole > 0 ? std::min(1.0, usable / whole) : 0.0;
    for (size_t i = 0; i < caches.size(); ++i)
      fractions[i] = caches[i]->token_use == use ? fraction : fractions[i];
    usable = std::max(0.0, usable - fraction * whole);
  }
  return fractions;
}

}  // namespace

Status FlashStore::set_cache_bytes(uint64_t bytes) {
  const uint64_t alignment_slack = kSimdAlignment * caches_.size();  // each cache starts aligned
  const uint64_t usable = bytes > alignment_slack ? bytes - alignment_slack : 0;
  const std::vector<double> fractions = cache_fractions(caches_, static_cast<double>(usable));
  for (auto& b : buffers_) {  // their pointers into the caches go stale
    for (Side& side : b->sides) drop(side);
  }
  std::vector<std::pair<int32_t, int32_t>> layout;  // per cache: channels per chunk, slots
  size_t total = 0;
  for (size_t i = 0; i < caches_.size(); ++i) {
    const Cache* c = caches_[i].get();
    const double fraction = fractions[i];
    // One channel more than a merge gap holds, but a tensor in 8 chunks at least (the cache is
    // balanced per tensor, so a coarser one would cache all of a tensor or none); channels split evenly.
    const int64_t least =
        std::min(static_cast<int64_t>(merge_gap_ / c->run) + 1, std::max<int64_t>(1, c->n_channels / 8));
    const int64_t n_chunks = std::max<int64_t>(1, c->n_channels / least);
    const auto chunk = static_cast<int32_t>((c->n_channels + n_chunks - 1) / n_chunks);
    // Whole slots within the fraction of the tensor's bytes (a last, partial chunk may not fit).
    const double share = fraction * static_cast<double>(c->run) * static_cast<double>(c->n_channels);
    layout.push_back(
        {chunk, static_cast<int32_t>(share / (static_cast<double>(chunk) * static_cast<double>(c->run)))});
    total += round_up(static_cast<size_t>(layout.back().second) * static_cast<size_t>(chunk) * c->run,
                      kSimdAlignment);
  }
  // One allocation for all (see open); the old one goes first, so the two are never held at once.
  cache_arena_ = AlignedBuffer();
  cache_arena_ = AlignedBuffer(total);
  if (total > 0 && cache_arena_.data() == nullptr) {
    for (const auto& c : caches_) c->resize(1, 0, nullptr);
    return error(StatusCode::kOutOfRange, "cannot allocate %zu bytes for the hot-weight cache", total);
  }
  auto* at = reinterpret_cast<uint8_t*>(cache_arena_.data());
  for (size_t i = 0; i < caches_.size(); ++i) {
    caches_[i]->resize(layout[i].first, layout[i].second, at);
    at += round_up(caches_[i]->data.size(), kSimdAlignment);
  }
  return Status();
}

Status FlashStore::set_merge_gap(size_t bytes) {
  merge_gap_ = bytes;
  return set_cache_bytes(cache_bytes());  // its chunks follow the gap
}

void FlashStore::start_sequence() {
  for (const auto& c : caches_) c->reset_counts();
}

FlashCounters FlashStore::stats() const {
  FlashCounters s = stats_;
  if (loader_ != nullptr) s.loader_ms = loader_->busy_ms();
  return s;
}

// Channels in neither the buffer nor the cache are read as group runs; see the header.
Result<std::span<const uint8_t* const>> FlashStore::fetch(Linear& linear, std::span<const int32_t> channels) {
  Buffer& buffer = *buffers_[linear.kind];
  JF_RETURN_IF_ERROR(begin_group(buffer, linear));
  Side& side = buffer.now();
  Cache& cache = linear.cache;
  want_.clear();
  for (const int32_t j : channels) {
    cache.use(j);
    if (side.group_at[j] == nullptr && cache.find(j) != nullptr) {
      side.group_at[j] = const_cast<uint8_t*>(cache.find(j));
    }
    if (side.group_at[j] == nullptr) {
      want_.push_back(j);
    } else if (cache.holds(side.group_at[j])) {
      ++stats_.cache_hits;
    } else {
      ++stats_.buffer_hits;
      stats_.preload_used += side.preloaded[j];
      side.preloaded[j] = 0;
    }
  }
  stats_.channels_asked += channels.size();
  stats_.on_demand += want_.size();
  plan_spans(side, want_, linear.run(), merge_gap_);
  place_spans(buffer, side, linear, false);
  if (!requests_.empty()) {
    const double start_ms = now_ms();
    const Status read = source_->read_batch(requests_);
    stats_.read_ms += now_ms() - start_ms;
    if (!read.ok()) {
      // What the failed reads were to fill is unknown: the group starts over, and offers none of it.
      side.clear();
      return error(read.code(), "reading channels of '%s': %s", linear.tensor.c_str(),
                   read.message().c_str());
    }
  }
  // After a group's last layer has read what it lacks, the group needs no more room: the rest of the
  // buffer can take the next group's preload, predicted from the layer nearest to it. An expert's next
  // group is read ahead only when the expert is predicted (predict_experts).
  if (kinds_[linear.kind].per_expert()) {
    expert_channels_[kinds_[linear.kind].role].assign(channels.begin(), channels.end());
  } else if (linear.index == linear.n - 1 && linear.next_group != nullptr && loader_ != nullptr) {
    preload_next(buffer, *linear.next_group, channels);
  }
  buffer.fetched.resize(channels.size());
  const size_t layer_run = linear.channel_bytes * static_cast<size_t>(linear.index);
  for (size_t i = 0; i < channels.size(); ++i) buffer.fetched[i] = side.group_at[channels[i]] + layer_run;
  return std::span<const uint8_t* const>(buffer.fetched);
}

Status FlashStore::begin_group(Buffer& buffer, const Linear& linear) {
  Side& now = buffer.now();
  if (now.serves(linear.group, pass_)) return Status();
  if (now.cache != nullptr) offer_group_runs(now);
  now.clear();
  Side& next = buffer.next();
  const bool expert = kinds_[linear.kind].per_expert();
  stats_.expert_groups += expert;
  if (!next.serves(linear.group, pass_)) {
    drop(next);
    now.start(linear.group, pass_, &linear.cache);
    return Status();
  }
  stats_.expert_preloads_used += expert;
  if (next.ticket != 0) {
    const double start_ms = now_ms();
    const Status read = loader_->wait(std::exchange(next.ticket, 0));
    stats_.preload_wait_ms += now_ms() - start_ms;
    if (!read.ok()) {
      next.clear();
      return error(read.code(), "preloading channels of '%s': %s", linear.tensor.c_str(),
                   read.message().c_str());
    }
  }
  buffer.current ^= 1;
  return Status();
}

size_t FlashStore::plan_spans(const Side& side, std::span<const int32_t> want, size_t run, size_t merge_gap) {
  spans_.clear();
  size_t bytes = 0;
  for (const int32_t j : want) {
    if (!spans_.empty()) {
      // Channels between the last span and this one are read too when the gap is small (a request
      // costs more than reading them, set_merge_gap) and none of them is in the side already.
      auto& [first, last] = spans_.back();
      bool merge = static_cast<size_t>(j - last - 1) * run <= merge_gap;
      for (int32_t between = last + 1; merge && between < j; ++between) {
        merge = side.group_at[between] == nullptr || side.cache->holds(side.group_at[between]);
      }
      if (merge) {
        bytes += static_cast<size_t>(j - last) * run;
        last = j;
        continue;
      }
    }
    spans_.push_back({j, j});
    bytes += run;
  }
  return bytes;
}

void FlashStore::place_spans(Buffer& buffer, Side& side, const Linear& linear, bool preload) {
  requests_.clear();
  const size_t run = linear.run();
  // Channels first..last into `at`, and the request that fills them.
  const auto place = [&](int32_t first, int32_t last, uint8_t* at) {
    for (int32_t j = first; j <= last; ++j) {
      side.group_at[j] = at + static_cast<size_t>(j - first) * run;
      side.preloaded[j] = preload;
    }
    const size_t bytes = static_cast<size_t>(last - first + 1) * run;
    requests_.push_back({linear.offset + static_cast<uint64_t>(first) * run, bytes, at});
    stats_.bytes_read += bytes;
    stats_.preloaded += preload ? static_cast<uint64_t>(last - first + 1) : 0;
  };
  for (const auto& [first, last] : spans_) {
    const size_t bytes = static_cast<size_t>(last - first + 1) * run;
    uint8_t* at = buffer.take(side, bytes);
    if (at == nullptr && preload) {  // as many of the span's channels as fit, and no more
      const auto fit = static_cast<int32_t>(std::min<size_t>(buffer.free_bytes() / run, last - first));
      if (fit > 0) place(first, first + fit - 1, buffer.take(side, static_cast<size_t>(fit) * run));
      break;
    }
    if (at == nullptr) {
      drop(buffer.next());
      at = buffer.take(side, bytes);
      JF_CHECK_MSG(at != nullptr, "a group reads a channel at most once: its runs fit the buffer");
    }
    place(first, last, at);
  }
  stats_.reads += requests_.size();
}

void FlashStore::predict_experts(int layer, std::span<const int> experts) {
  if (loader_ == nullptr) return;
  for (Linear* linear : layer_linears_[static_cast<size_t>(layer)]) {
    const LinearKind kind = kinds_[linear->kind];
    if (!kind.per_expert() || linear->index != 0 ||
        std::find(experts.begin(), experts.end(), kind.expert) == experts.end()) {
      continue;
    }
    const auto channels = expert_channels_.find(kind.role);
    if (channels != expert_channels_.end()) preload_next(*buffers_[linear->kind], *linear, channels->second);
  }
}

void FlashStore::preload_next(Buffer& buffer, const Linear& linear, std::span<const int32_t> channels) {
  Side& side = buffer.next();
  if (side.serves(linear.group, pass_)) return;  // a group preloads its successor once per pass
  drop(side);                                    // an expert's preload that was never used
  side.start(linear.group, pass_, &linear.cache);
  stats_.expert_preloads += kinds_[linear.kind].per_expert();
  want_.clear();
  for (const int32_t j : channels) {
    if (linear.cache.find(j) == nullptr) want_.push_back(j);
  }
  // Merged as reads on demand are (reading each channel alone instead, where the merged spans do
  // not fit, made 300 times the requests and was 2x slower on a disk of few requests per second).
  plan_spans(side, want_, linear.run(), merge_gap_);
  place_spans(buffer, side, linear, true);
  if (!requests_.empty()) side.ticket = loader_->submit(requests_);
}

void FlashStore::drop(Side& side) {
  // Its runs are discarded, so a failed preload does not matter: the wait is for the loader to be
  // done writing there.
  if (side.ticket != 0) static_cast<void>(loader_->wait(side.ticket));
  side.clear();
}

void FlashStore::offer_group_runs(Side& side) {
  // A chunk read whole (every channel in the buffer, none in the cache: the cache holds whole chunks).
  Cache& cache = *side.cache;
  offered_.clear();
  for (int32_t c = 0; c < cache.n_chunks(); ++c) {
    if (cache.slot_of[c] >= 0) continue;
    const auto [first, end] = cache.channels_of(c);
    bool whole = true;
    for (int32_t j = first; whole && j < end; ++j) whole = side.group_at[j] != nullptr;
    if (whole) offered_.push_back(c);
  }
  cache.offer(offered_, side.group_at);
}

}  // namespace jf
