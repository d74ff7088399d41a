// The search space of the native matmul kernels, in the spirit of nnJIT's lite space
// (papers/nnjit.md §4): a handful of named knobs with explicit candidate values, pruned by rules fed
// by machine limits (register count, cache sizes) that src/tune/ measures. A rule whose limit is
// unknown (<= 0) is skipped, as in nnJIT.
//
// A kernel computes R x T micro-tiles (R = row_tile weight rows, T = token_tile activation rows):
// one pass over a block of weight columns serves T tokens (prefill reuses weights from registers and
// L1), and R rows give R*T independent accumulators whose loads overlap (decode).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/cpu_isa.h"
#include "tensor/dtype.h"

namespace jf {

// The knobs of one matmul kernel. Named fields, never positional.
struct MatmulConfig {
  int row_tile = 1;       // weight rows per micro-tile: 1, 2, 4, 8
  int token_tile = 1;     // activation rows (tokens) per micro-tile: 1, 2, 4, 8
  int k_block = 0;        // weight columns per pass over the rows (multiple of the variant's
                          // k_step), so that the activation panel stays in cache; 0: whole rows
  int prefetch_rows = 0;  // software prefetch of the weights this many rows below, at the same
                          // columns (the tile that comes next); 0: none. Several interleaved row
                          // streams defeat the hardware prefetcher, so decode needs it.

  bool operator==(const MatmulConfig&) const = default;
};

// "r4t1k0p0": the config part of canonical kernel names.
std::string config_name(const MatmulConfig& config);

// Tokens of one activation panel: the driver runs larger batches panel after panel, so that the
// panel (64 tokens of a 5632-column Q8_0 row: 0.4 MiB) stays in L2 while the weights stream through
// it, instead of every row tile reading all tokens from L3 (512 tokens: 2.9 MiB).
inline constexpr int64_t kTokenPanel = 64;

// Candidate values per knob, before the rules.
inline constexpr int kRowTileCandidates[] = {1, 2, 4, 8};
inline constexpr int kTokenTileCandidates[] = {1, 2, 4, 8};
inline constexpr int kKBlockCandidates[] = {0, 256, 512, 1024, 2048};
inline constexpr int kPrefetchCandidates[] = {0, 1, 2, 4, 8, 16};

// What a compiled variant (one weight type on one ISA) tells the rules about itself.
struct VariantInfo {
  int k_step = 1;                  // columns: k_block must be a multiple
  int regs_fixed = 0;              // vector registers a tile needs besides accumulators and per-token ones
  int regs_per_token = 0;          // vector registers held per token (hoisted scales, integer sums)
  int regs_per_pair = 1;           // vector registers held per (row, token) pair: the float
                                   // accumulator, plus an integer one where sums are kept per group
  bool cold_accumulators = false;  // the R*T float accumulators change once per super-block (not
                                   // every step), so they may live in L1 (K-quants)
  double x_bytes_per_col = 4;      // bytes of encoded activation per column (codes + scales + sums)
  uint16_t tile_mask = 0;          // bit 4*log2(R) + log2(T) set when the R x T tile is compiled
  bool prefetches = false;         // honours prefetch_rows

  bool has_tile(int row_tile, int token_tile) const;
};

// One workload: the shape of the product and the threads it runs on.
struct MatmulShape {
  DType dtype = DType::F32;
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  int64_t n_tokens = 0;
  int n_threads = 1;
};

// The machine facts the rules need; <= 0 means unknown and skips the rule.
struct MachineLimits {
  int n_vec_regs = 0;     // architectural vector registers of the ISA
  int64_t l1d_bytes = 0;  // per core
  int64_t l2_bytes = 0;   // per core
};

// Register count of the ISA and the cache sizes the OS reports; a stand-in until src/tune/
// measures them.
MachineLimits nominal_limits(CpuIsa isa);

// The rules. A config is valid when
//  1. (structure) every knob is one of its candidates, the R x T tile is compiled, k_block is a
//     multiple of k_step, and prefetch_rows is 0 unless the variant prefetches;
//  2. (no duplicates) T <= n_tokens and R <= rows per thread, each rounded up to a power of two, and
//     k_block < n_cols (a larger block is the same kernel as 0);
//  3. (registers) regs_per_pair*R*T accumulators (unless cold) + regs_fixed + regs_per_token*T
//     <= n_vec_regs;
//  4. (L1) when several token tiles reuse the R weight rows of one k block (n_tokens > T), those rows
//     fit L1;
//  5. (L2) the activation panel (up to kTokenPanel tokens) for one k block, which every row tile
//     reads, fits L2;
//  6. (no needless split) k_block > 0 only when whole rows would break rule 4 or 5 (splitting
//     otherwise only adds passes over y);
//  7. (no needless prefetch) prefetch_rows is 0 or at least R (rows closer than that belong to the
//     tile itself, which is loading them anyway).
bool is_valid(const MatmulShape& shape, const VariantInfo& variant, const MatmulConfig& config,
              const MachineLimits& limits);

// Every combination of the knob candidates (the space before the rules), in a fixed order.
std::vector<MatmulConfig> candidate_configs();

// Every candidate config that is_valid keeps, in the order of candidate_configs.
std::vector<MatmulConfig> enumerate_space(const MatmulShape& shape, const VariantInfo& variant,
                                          const MachineLimits& limits);

}  // namespace jf
