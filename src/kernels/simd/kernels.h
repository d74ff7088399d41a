// The exp op on one traits type, and the per-ISA entry points (cpu_avx2.cpp, ...). Internal to
// src/kernels/simd.
#pragma once

#include <cstdint>

#include "kernels/simd/f32.h"

namespace jf {

// x, y: [n]
template <typename V>
void exp_simd(const float* x, float* y, int64_t n) {
  constexpr int W = V::kLanes;
  int64_t i = 0;
  for (; i + W <= n; i += W) V::store(y + i, V::exp(V::load(x + i)));
  if (i < n)
    V::store_partial(y + i, V::exp(V::load_partial(x + i, static_cast<int>(n - i), 0.0f)),
                     static_cast<int>(n - i));
}

void exp_avx2(const float* x, float* y, int64_t n);
void exp_avx512(const float* x, float* y, int64_t n);
void exp_neon(const float* x, float* y, int64_t n);
void exp_wasm_simd128(const float* x, float* y, int64_t n);

}  // namespace jf
