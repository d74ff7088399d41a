// The ActiveFlow planner (papers/activeflow.md §8): from a memory budget and measured costs (flash
// reads by chunk size and queue depth, DRAM bandwidth), the sparsity, the layer group size N and
// the hot-weight cache, with the decode speed the paper's cost model predicts for them.
//
// Per token, over G = ceil(L / N) groups of M_cl = S_l · (1 - sp) · N active bytes:
//   T = T_load + (G - 1) · (T_onload + max(T_preload, T_comp)) + T_comp + T_resident
//   T_load    = M_cl · (1 - hr) / BW_small     the first group, read when it begins
//   T_preload = M_cl · (1 - hr) / BW_large     the next group, read while this one computes
//   T_onload  = M_cl · (1 - hr) · (1 - si) / BW_small   the preload's misses, read on demand
//   T_comp    = M_cl / BW_mem                  a group's gather over DRAM
// BW_small and BW_large: the measured read rate for a group run (a channel's bytes for N layers) at
// a shallow and a deep queue, or, where faster, for reading the whole uncached stretch of channels the
// active ones lie in, in 1 MiB reads (what the store's merged reads do on a disk of few requests per
// second; its cache keeps chunks that they skip); hr: the cache's hit rate, estimated as the fraction of a
// group's bytes it holds (StreamShape::cached_fraction: what a cache of random channels gets; the contextual
// LFU does better, which the run's --stats measure); si: the cross-layer similarity (`jitflow analyze`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "io/byte_source.h"
#include "model/hparams.h"

namespace jf {

// Random reads of chunk_bytes each, queue_depth of them in flight: MB/s (10^6 bytes).
struct ReadCost {
  size_t chunk_bytes = 0;
  int queue_depth = 0;
  double mb_per_s = 0;
};

struct FlashCosts {
  std::vector<ReadCost> reads;  // ascending by chunk, then by depth
  double dram_gbps = 0;         // streaming read bandwidth, all threads

  // MB/s for chunks of `bytes` at the deepest measured depth <= `depth` (the shallowest if none),
  // interpolated in log(bytes) between measured chunks and held constant past the ends.
  double read_mb_per_s(double bytes, int depth) const;
};

// Reads random chunk-aligned chunks of `source` in batches of `depth` for about `seconds` per
// (chunk, depth). A source that bypasses the page cache measures the disk. Errors: a failed read;
// a source smaller than the largest chunk (kInvalidArgument).
Result<std::vector<ReadCost>> measure_read_costs(const ByteSource& source, std::span<const size_t> chunks,
                                                 std::span<const int> depths, double seconds);

// The costs on this machine: reads of `path` bypassing the page cache (4 KiB to 1 MiB, queue depths
// 1, 8 and 64, `seconds` per point) and the DRAM bandwidth with `n_threads` (0: every CPU). `direct` tells
// whether the reads bypassed the page cache (else the file system refused O_DIRECT and they may not have
// touched the disk). Errors: the file cannot be read, or is smaller than 1 MiB.
struct MeasuredCosts {
  FlashCosts costs;
  bool direct = false;
  uint64_t read_buffer_bytes = 0;  // what a streamed model's two file sources hold (StreamShape)
};
Result<MeasuredCosts> measure_flash_costs(const std::string& path, int n_threads, double seconds);
inline constexpr size_t kCostChunks[] = {4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};
inline constexpr int kCostDepths[] = {1, 8, 64};

// What the cost model needs of a model.
struct StreamShape {
  int n_layer = 0;
  uint64_t layer_linear_bytes = 0;  // S_l: a layer's seven linears (with experts, every expert's)
  uint64_t layer_expert_bytes = 0;  // of them, the experts'
  uint64_t layer_channels = 0;      // their input channels, all linears of a layer
  uint64_t resident_bytes = 0;      // embeddings, norms, routers, output head
  uint64_t kv_bytes = 0;            // the KV cache of the context
  uint64_t read_buffer_bytes = 0;   // the file sources' bounce buffers
  int n_expert = 0, n_expert_used = 0;

  // The bytes of a group of `group` layers that a token can need: the dense linears', and of the
  // experts those routed to in any of its layers, as each routed expert's group tensor holds all the
  // group's layers. Routing taken as uniform: n_expert · (1 - (1 - k / n_expert)^group) distinct
  // experts. Without experts, S_l · group.
  double group_dense_bytes(int group) const;
  double group_expert_bytes(int group) const;
  double group_bytes(int group) const { return group_dense_bytes(group) + group_expert_bytes(group); }
  // The fraction of those bytes a hot-weight cache of `cache_bytes` holds: it takes the dense linears
  // first (every token reads them), then the experts, each class evenly (FlashStore::set_cache_bytes).
  double cached_fraction(uint64_t cache_bytes, int group) const;
};
// From a model file in any layout (rows, channel-major, flash) and the context length.
Result<StreamShape> stream_shape(const GgufFile& file, const ModelConfig& config, int n_ctx);

// One candidate (sp, N) under a budget. Times in ms per token unless named per group.
struct PlanEstimate {
  double sparsity = 0;
  int group = 1;
  bool fits = false;         // the budget holds resident tensors, buffers, KV cache
  uint64_t need_bytes = 0;   // what it holds without a cache
  uint64_t cache_bytes = 0;  // the budget's rest
  double hit_rate = 0;
  double run_bytes = 0;      // a group run, the typical read
  bool whole_reads = false;  // reading whole stretches of channels beats reading run by run
  double load_ms = 0, onload_ms = 0, preload_ms = 0, comp_ms = 0;  // per group
  double token_ms = 0;
  double tokens_per_s() const { return token_ms > 0 ? 1000.0 / token_ms : 0; }
};
// Our group buffers hold every channel of a group (a prefill, or a dense token, reads them all), so
// M_cl in memory is S_l · N, not the paper's S_l · (1 - sp) · N; with experts, every expert's. What a
// token reads is group_bytes(N) · (1 - sp): only the routed experts' channels.
PlanEstimate estimate_plan(const StreamShape& shape, const FlashCosts& costs, uint64_t budget,
                           double sparsity, int group, double similarity);

// The lowest sparsity the budget allows, as the paper sets it: 1 - budget / model, in [0, 0.9].
double budget_sparsity(const StreamShape& shape, uint64_t budget);

struct Plan {
  std::vector<PlanEstimate> tried;  // in the order tried
  PlanEstimate chosen;
};
// The paper's search: the sparsity given, else the lowest the budget allows (1 - budget / model, at
// most 0.9); then N = 1, 2, 4, ... while it fits, and the smallest N within 5 % of the fastest (the
// paper stops at the first N that gains less than that; the read rates of a disk are not smooth
// enough for it). Errors: no N fits (kOutOfRange).
Result<Plan> make_plan(const StreamShape& shape, const FlashCosts& costs, uint64_t budget,
                       std::optional<double> sparsity, double similarity);

// The estimate for the flash-layout model at `path` as converted (its group size) under `budget`,
// with this machine's costs measured now (measure_flash_costs, `seconds` per point): what `jitflow
// run --plan` prints. `n_ctx` 0: the model's, at most 2048. Errors: not a flash-layout file, or the
// file's errors.
Result<PlanEstimate> plan_for_file(const std::string& path, uint64_t budget, int n_ctx, int n_threads,
                                   std::optional<double> sparsity, double similarity, double seconds);

}  // namespace jf
