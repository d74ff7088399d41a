#include "kernels/matmul/space.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/cpu_features.h"
#include "base/log.h"

namespace jf {
namespace {

int log2_exact(int v) {
  int l = 0;
  while ((1 << l) < v) ++l;
  return (1 << l) == v ? l : -1;
}

int64_t pow2_ceil(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

template <size_t N>
bool is_candidate(const int (&values)[N], int v) {
  return std::find(values, values + N, v) != values + N;
}

// The L1 data and L2 cache sizes as the C library reports them; 0 (unknown: the rules that need them
// are off) where it has no such names, as in WebAssembly, where the tuner measures them instead.
int64_t cache_bytes(int level) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
  const long v = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL2_CACHE_SIZE);
  return v > 0 ? v : 0;
#else
  return 0;
#endif
}

// Rules 4 and 5 for a k block of `k_block` columns (0: whole rows).
bool fits_caches(const MatmulShape& shape, const VariantInfo& variant, int R, int T, int k_block,
                 const MachineLimits& limits) {
  const int64_t k = k_block > 0 ? k_block : shape.n_cols;
  const double w_bytes = static_cast<double>(row_bytes(shape.dtype, k));
  const double x_bytes = variant.x_bytes_per_col * static_cast<double>(k);
  // 4. L1: the R weight rows that the token tiles after the first reuse.
  if (limits.l1d_bytes > 0 && shape.n_tokens > T && R * w_bytes > static_cast<double>(limits.l1d_bytes)) {
    return false;
  }
  // 5. L2: the activation panel, which every row tile reads again.
  return limits.l2_bytes <= 0 || x_bytes * static_cast<double>(std::min(shape.n_tokens, kTokenPanel)) <=
                                     static_cast<double>(limits.l2_bytes);
}

}  // namespace


std::string config_name(const MatmulConfig& c) {
  return "r" + std::to_string(c.row_tile) + "t" + std::to_string(c.token_tile) + "k" +
         std::to_string(c.k_block) + "p" + std::to_string(c.prefetch_rows);
}

bool VariantInfo::has_tile(int row_tile, int token_tile) const {
  const int lr = log2_exact(row_tile);
  const int lt = log2_exact(token_tile);
  if (lr < 0 || lt < 0 || lr > 3 || lt > 3) return false;
  return (tile_mask >> (4 * lr + lt)) & 1;
}

MachineLimits nominal_limits(CpuIsa isa) {
  MachineLimits limits;
  // x86-64 has 16 ymm registers; AVX-512 adds 16 more (zmm16-31, also usable as ymm). AArch64 has 32.
  // Wasm leaves registers to the engine, and engines map v128 onto the 16 xmm registers on x86 (the
  // smaller of the hosts that run it).
  const bool has_32 = isa == CpuIsa::avx512 || isa == CpuIsa::neon || isa == CpuIsa::neon_dotprod;
  const bool has_16 = isa == CpuIsa::avx2 || isa == CpuIsa::wasm_simd128;
  limits.n_vec_regs = has_32 ? 32 : has_16 ? 16 : 0;
  limits.l1d_bytes = cache_bytes(1);
  limits.l2_bytes = cache_bytes(2);
  return limits;
}

bool is_valid(const MatmulShape& shape, const VariantInfo& variant, const MatmulConfig& c,
              const MachineLimits& limits) {
  const int R = c.row_tile, T = c.token_tile;
  // 1. Structure.
  if (!is_candidate(kRowTileCandidates, R) || !is_candidate(kTokenTileCandidates, T) ||
      !is_candidate(kKBlockCandidates, c.k_block) || !is_candidate(kPrefetchCandidates, c.prefetch_rows)) {
    return false;
  }
  if (!variant.has_tile(R, T) || c.k_block % variant.k_step != 0) return false;
  if (c.prefetch_rows != 0 && !variant.prefetches) return false;
  // 7. Prefetching rows of the tile itself does nothing.
  if (c.prefetch_rows != 0 && c.prefetch_rows < R) return false;
  // 2. No duplicates of a smaller config.
  const int64_t rows_per_thread = (shape.n_rows + shape.n_threads - 1) / std::max(shape.n_threads, 1);
  if (T > pow2_ceil(shape.n_tokens) || R > pow2_ceil(rows_per_thread)) return false;
  if (c.k_block >= shape.n_cols) return false;
  // 3. Registers.
  const int accumulators = variant.cold_accumulators ? 0 : variant.regs_per_pair * R * T;
  if (limits.n_vec_regs > 0 &&
      accumulators + variant.regs_fixed + variant.regs_per_token * T > limits.n_vec_regs) {
    return false;
  }
  if (!fits_caches(shape, variant, R, T, c.k_block, limits)) return false;
  // 6. Split K only when whole rows break rule 4 or 5.
  return c.k_block == 0 || !fits_caches(shape, variant, R, T, 0, limits);
}

std::vector<MatmulConfig> candidate_configs() {
  std::vector<MatmulConfig> out;
  for (int R : kRowTileCandidates) {
    for (int T : kTokenTileCandidates) {
      for (int kb : kKBlockCandidates) {
        for (int pf : kPrefetchCandidates) {
          out.push_back({.row_tile = R, .token_tile = T, .k_block = kb, .prefetch_rows = pf});
        }
      }
    }
  }
  return out;
}

std::vector<MatmulConfig> enumerate_space(const MatmulShape& shape, const VariantInfo& variant,
                                          const MachineLimits& limits) {
  std::vector<MatmulConfig> out;
  for (const MatmulConfig& c : candidate_configs()) {
    if (is_valid(shape, variant, c, limits)) out.push_back(c);
  }
  return out;
}

}  // namespace jf
