// RMSNorm on one traits type of simd/f32.h, and the per-ISA entry points (cpu_avx2.cpp, ...).
// Internal to src/kernels/rmsnorm.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/simd/f32.h"

namespace jf {

// x, weight, y: [n]
template <typename V>
void rmsnorm_simd(const float* x, const float* weight, float* y, int64_t n, float eps) {
  constexpr int W = V::kLanes;
  // Squares are exact in double and summed there, as rmsnorm_ref does, so the scale comes out the
  // same; two accumulators hide the add latency.
  typename V::DAcc acc0 = V::dzero(), acc1 = V::dzero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc0 = V::add_sq_widened(acc0, V::load(x + i));
    acc1 = V::add_sq_widened(acc1, V::load(x + i + W));
  }
  for (; i < n; i += W)
    acc0 =
        V::add_sq_widened(acc0, V::load_partial(x + i, static_cast<int>(std::min<int64_t>(W, n - i)), 0.0f));
  const float mean = static_cast<float>((V::dreduce(acc0) + V::dreduce(acc1)) / static_cast<double>(n));
  const typename V::Reg scale = V::set1(1.0f / std::sqrt(mean + eps));
  // (x * scale) * weight, in rmsnorm_ref's order.
  for (i = 0; i + W <= n; i += W) V::store(y + i, V::mul(V::mul(V::load(x + i), scale), V::load(weight + i)));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    V::store_partial(
        y + i,
        V::mul(V::mul(V::load_partial(x + i, rest, 0.0f), scale), V::load_partial(weight + i, rest, 0.0f)),
        rest);
  }
}

void rmsnorm_avx2(const float* x, const float* weight, float* y, int64_t n, float eps);
void rmsnorm_avx512(const float* x, const float* weight, float* y, int64_t n, float eps);
void rmsnorm_neon(const float* x, const float* weight, float* y, int64_t n, float eps);
void rmsnorm_wasm_simd128(const float* x, const float* weight, float* y, int64_t n, float eps);

}  // namespace jf
