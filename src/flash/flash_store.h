// The ActiveFlow store (papers/activeflow.md §4-6): the seven linears of a flash-layout model
// (model/flash_layout.h) stay in its file and come into DRAM a layer group at a time, only the
// channels a token uses. It is the forward pass's WeightProvider; each streamed linear's weight
// points at one of its ChannelSources (model/linear.h), which the linear seam asks for the channels
// of each product.
//
// Per linear kind (attn_q .. ffn_down) one buffer holds channels of the current group. A layer
// reads, for each channel it asks for that is neither in the buffer nor in the cache, the channel's
// runs for all n layers of the group as one piece (the layout makes them adjacent): the prediction
// for the layers after it, whose active sets are similar (the cross-layer similarity `jitflow
// analyze` measures), so they read only the channels they add. Adjacent reads, and reads with
// small gaps between them, merge into one request; a batch is in flight at once (io_uring). A hot-weight
// cache per group tensor keeps the group runs used most in the sequence (Cache, set_cache_bytes). Reads are
// synchronous for now: preloading the next group while this one computes and the budget planner are to come.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/aligned_buffer.h"
#include "gguf/gguf.h"
#include "io/byte_source.h"
#include "model/flash_layout.h"
#include "model/hparams.h"
#include "model/weight_provider.h"
#include "model/weights.h"

namespace jf {

// What the store read, since it was opened.
struct FlashStats {
  uint64_t bytes_read = 0;      // from the file
  uint64_t reads = 0;           // read requests (adjacent channels merged)
  uint64_t channels_asked = 0;  // channels the products asked for
  uint64_t channels_read = 0;   // of them, read from the file (the others were in a group buffer)
  // The prediction: a channel read for one layer of a group is read for the layers after it too.
  uint64_t predicted_uses = 0;  // later-layer uses the runs read could serve
  uint64_t later_asked = 0;     // channels the group's later layers asked for, outside the cache
  uint64_t later_hits = 0;      // of them, in runs an earlier layer read (the rest were read now)
  uint64_t cache_hits = 0;      // channels asked for that were in the hot-weight cache
  double read_ms = 0;           // waiting for reads
};

// The default merge gap: a request costs about what reading this many bytes does. This machine's
// disk (a virtio block device, io_uring with 32 random reads in flight) read 4 KiB at 7.3K requests/s,
// 64 KiB at 6.4K/s (420 MB/s) and 1 MiB at 1.2K/s (1.25 GB/s) in one run, 4 KiB at 60-73K/s in
// another. On tinyllama Q4_0 (groups of 4, s = 0.5) 64 KiB beat 16 KiB by 15-20 % and 256 KiB (which
// rereads cached channels) by 35-65 %. The planner is to measure it per device.
inline constexpr size_t kMergeGapBytes = size_t{64} << 10;

class FlashStore final : public WeightProvider {
 public:
  // `weights`: load_weights(file, config, FlashLinears::streamed) of a flash-layout file; the store
  // points its streamed linears at the store's channel sources, so it must outlive their use.
  // `source` reads the file (open_direct_file_source). Errors: a file without the flash layout
  // (kInvalidArgument), out of memory for the group buffers (kOutOfRange).
  static Result<std::unique_ptr<FlashStore>> open(const GgufFile& file, const ModelConfig& config,
                                                  ModelWeights& weights, std::unique_ptr<ByteSource> source);
  ~FlashStore() override;

  const ModelWeights& model() const override { return weights_; }
  int n_layer() const override { return static_cast<int>(weights_.layers.size()); }
  // Layer 0 begins a forward pass: the group buffers start over (their runs go to the caches).
  const LayerWeights& acquire(int layer) override {
    if (layer == 0) ++pass_;
    return weights_.layers[layer];
  }
  void release(int /*layer*/) override {}
  void prefetch(int /*layer*/) override {}
  // Contextual LFU: the caches' use counts start again.
  void start_sequence() override;
  // Reads whose gap is at most `bytes` merge into one request, the gap read too (default
  // kMergeGapBytes).
  void set_merge_gap(size_t bytes) { merge_gap_ = bytes; }

  const FlashStats& stats() const { return stats_; }
  // DRAM the group buffers and the file's read buffers hold.
  uint64_t buffer_bytes() const;
  // Gives the hot-weight caches `bytes` in all (as much of each group tensor, whole channels), empty.
  // Errors: out of memory (kOutOfRange).
  Status set_cache_bytes(uint64_t bytes);
  uint64_t cache_bytes() const;
  // Whether the file's reads bypass the page cache (ByteSource::bypasses_page_cache).
  bool direct_io() const { return source_->bypasses_page_cache(); }

  class Linear;   // one layer's streamed linear: a ChannelSource
  struct Buffer;  // a linear kind's group buffer
  struct Cache;   // a group tensor's hot-weight cache

 private:
  FlashStore(ModelWeights& weights, std::unique_ptr<ByteSource> source);
  // The addresses of `channels` of `linear`, reading those its kind's buffer and cache lack.
  Result<std::span<const uint8_t* const>> fetch(Linear& linear, std::span<const int32_t> channels);
  // The group runs `buffer` read for its group, offered to the group's cache as the group ends.
  void offer_group_runs(Buffer& buffer);

  ModelWeights& weights_;
  std::unique_ptr<ByteSource> source_;
  std::vector<std::unique_ptr<Buffer>> buffers_;  // one per linear kind
  std::vector<std::unique_ptr<Cache>> caches_;    // one per group tensor
  std::vector<std::unique_ptr<Linear>> linears_;  // one per layer and kind
  std::vector<ReadRequest> requests_;
  std::vector<std::pair<int32_t, const uint8_t*>> offered_;  // offer_group_runs' list
  uint64_t pass_ = 0;                                        // forward passes begun
  size_t merge_gap_ = kMergeGapBytes;
  FlashStats stats_;
};

}  // namespace jf
