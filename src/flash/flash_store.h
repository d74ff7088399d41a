// The ActiveFlow store (papers/activeflow.md §4-7): the seven linears of a flash-layout model
// (model/flash_layout.h) stay in its file and come into DRAM a layer group at a time, only the
// channels a token uses. It is the forward pass's WeightProvider; each streamed linear's weight
// points at one of its ChannelSources (model/linear.h), which the linear seam asks for the channels
// of each product.
//
// Per linear kind (attn_q .. ffn_down; with experts, each expert's gate, up and down) one buffer
// holds the group runs (a channel's bytes for all n layers of a group, adjacent in the layout) of two
// groups: the one computing and the next. An expert's linears are asked for only when a token is
// routed to it, so only routed experts are read; an expert's next group is read ahead when the
// forward pass predicts it (predict_experts: the next layer's router on the state entering it).
//  - On demand: a layer reads each channel it asks for that is neither in the buffer nor in the
//    cache as a whole group run, the prediction for the group's later layers, whose active sets are
//    similar (the cross-layer similarity `jitflow analyze` measures).
//  - Preload: when a group's last layer has its active channels (and has read what it lacks, so the
//    group needs no more room), they are the prediction for the next group; a loader thread
//    (io/read_queue.h) reads their group runs into the buffer's free room while the layer computes.
//    The next group waits for them as it begins, and reads what they missed on demand.
// Adjacent reads, and reads with small gaps between them, merge into one request; a batch is in
// flight at once (io_uring). A hot-weight cache per group tensor keeps the group runs used most in
// the sequence (Cache, set_cache_bytes), in chunks of adjacent channels longer than the merge gap,
// so that merged reads skip a cached chunk whole; cached channels are neither read nor preloaded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/aligned_buffer.h"
#include "gguf/gguf.h"
#include "io/byte_source.h"
#include "io/read_queue.h"
#include "jitflow/engine.h"
#include "model/flash_layout.h"
#include "model/hparams.h"
#include "model/weight_provider.h"
#include "model/weights.h"

namespace jf {

// The default merge gap: a request costs about what reading this many bytes does. This machine's
// disk (a virtio block device, io_uring with 32 random reads in flight) read 4 KiB at 7.3K requests/s,
// 64 KiB at 6.4K/s (420 MB/s) and 1 MiB at 1.2K/s (1.25 GB/s) in one run, 4 KiB at 60-73K/s in
// another. On tinyllama Q4_0 (groups of 4, s = 0.5) 64 KiB beat 16 KiB by 15-20 % and 256 KiB (which
// rereads cached channels) by 35-65 %. `jitflow plan` measures the rates that set it
// (flash/flash_plan.h); the store does not yet take its gap from them.
inline constexpr size_t kMergeGapBytes = size_t{64} << 10;

class FlashStore final : public WeightProvider {
 public:
  // `weights`: load_weights(file, config, FlashLinears::streamed) of a flash-layout file; the store
  // points its streamed linears at the store's channel sources, so it must outlive their use.
  // `source` reads the file on demand (open_direct_file_source), `preload_source` (another one:
  // the loader thread reads it) ahead; null: no preloading. Errors: a file without the flash layout
  // (kInvalidArgument), out of memory for the group buffers (kOutOfRange).
  static Result<std::unique_ptr<FlashStore>> open(const GgufFile& file, const ModelConfig& config,
                                                  ModelWeights& weights, std::unique_ptr<ByteSource> source,
                                                  std::unique_ptr<ByteSource> preload_source);
  ~FlashStore() override;

  const ModelWeights& model() const override { return weights_; }
  int n_layer() const override { return static_cast<int>(weights_.layers.size()); }
  // Layer 0 begins a forward pass: each kind's groups start over (their runs go to the caches).
  const LayerWeights& acquire(int layer) override {
    if (layer == 0) ++pass_;
    return weights_.layers[layer];
  }
  void release(int /*layer*/) override {}
  void prefetch(int /*layer*/) override {}
  // With experts and a loader: the predicted experts' next groups are read ahead, as a group's last
  // layer reads the next group's channels ahead for the other linears.
  bool wants_expert_predictions() const override { return loader_ != nullptr && has_experts_; }
  // At the first layer of a group, reads ahead each predicted expert's group runs of the channels the
  // experts' matrices of the same role were last asked for (an expert's gate and up read the FFN
  // input's active channels, whichever expert it is).
  void predict_experts(int layer, std::span<const int> experts) override;
  // Contextual LFU: the caches' use counts start again.
  void start_sequence() override;
  // Reads whose gap is at most `bytes` merge into one request, the gap read too (default
  // kMergeGapBytes). The caches are laid out again for it (their chunks follow the gap), empty.
  // Errors: as set_cache_bytes.
  Status set_merge_gap(size_t bytes);

  FlashCounters stats() const;
  bool preloading() const { return loader_ != nullptr; }
  // DRAM the group buffers and the file's read buffers hold.
  uint64_t buffer_bytes() const;
  // Gives the hot-weight caches `bytes` in all (as much of each group tensor, whole chunks), empty.
  // Errors: out of memory (kOutOfRange).
  Status set_cache_bytes(uint64_t bytes);
  uint64_t cache_bytes() const;
  // Whether the file's reads bypass the page cache (ByteSource::bypasses_page_cache).
  bool direct_io() const { return source_->bypasses_page_cache(); }

  class Linear;   // one layer's streamed linear: a ChannelSource
  struct Side;    // one group's runs in a kind's buffer
  struct Buffer;  // a linear kind's buffer: two Sides
  struct Cache;   // a group tensor's hot-weight cache

 private:
  FlashStore(ModelWeights& weights, std::unique_ptr<ByteSource> source);
  // The addresses of `channels` of `linear`, reading those its kind's buffer and cache lack.
  Result<std::span<const uint8_t* const>> fetch(Linear& linear, std::span<const int32_t> channels);
  // Makes the current side of `linear`'s buffer its group's: the preloaded side, once its reads are
  // in, or an empty one; the group before offers its runs to its cache.
  Status begin_group(Buffer& buffer, const Linear& linear);
  // Channels of `want` (ascending, absent from `side`) as spans_ to read, merged across gaps of at
  // most `merge_gap` bytes; the bytes they hold.
  size_t plan_spans(const Side& side, std::span<const int32_t> want, size_t run, size_t merge_gap);
  // Places the spans in `side` and makes them requests_. A preload stops where the buffer is full;
  // the current group makes room by dropping the next group's side.
  void place_spans(Buffer& buffer, Side& side, const Linear& linear, bool preload);
  // Reads the next group's runs of the channels `linear` (a group's last layer) was asked for.
  void preload_next(Buffer& buffer, const Linear& linear, std::span<const int32_t> channels);
  // Forgets `side`'s group, once its preload (if any) is in.
  void drop(Side& side);
  // The group runs `side` read, offered to its group's cache as the group ends.
  void offer_group_runs(Side& side);

  ModelWeights& weights_;
  std::unique_ptr<ByteSource> source_;
  std::vector<std::unique_ptr<Buffer>> buffers_;    // one per linear kind
  std::vector<std::unique_ptr<Cache>> caches_;      // one per group tensor
  AlignedBuffer buffer_arena_, cache_arena_;        // what buffers_ and caches_ hold
  std::vector<std::unique_ptr<Linear>> linears_;    // one per layer and kind
  std::unique_ptr<ReadQueue> loader_;               // after buffers_: destroyed first, it writes there
  std::vector<LinearKind> kinds_;                   // per kind: its role and expert
  std::vector<std::vector<Linear*>> layer_linears_;  // per layer
  bool has_experts_ = false;
  std::map<TensorRole, std::vector<int32_t>> expert_channels_;  // per expert role, last asked for
  std::vector<std::pair<int32_t, int32_t>> spans_;  // plan_spans' first and last channels
  std::vector<int32_t> want_;
  std::vector<ReadRequest> requests_;
  std::vector<int32_t> offered_;  // offer_group_runs' chunks
  uint64_t pass_ = 0;             // forward passes begun
  size_t merge_gap_ = kMergeGapBytes;
  FlashCounters stats_;
};

}  // namespace jf
