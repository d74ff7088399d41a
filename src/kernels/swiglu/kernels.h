// SwiGLU on one traits type of simd/f32.h, and the per-ISA entry points (cpu_avx2.cpp, ...).
// Internal to src/kernels/swiglu.
#pragma once

#include <cstdint>

#include "kernels/simd/f32.h"

namespace jf {

// gate, up, out: [n]
template <typename V>
void swiglu_simd(const float* gate, const float* up, float* out, int64_t n) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  const Reg one = V::set1(1.0f);
  // g / (1 + e^-g) * up in swiglu_ref's order; a true division, as an approximate reciprocal would
  // cost more accuracy than the exp.
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const Reg g = V::load(gate + i);
    const Reg silu = V::div(g, V::add(one, V::exp(V::sub(V::zero(), g))));
    V::store(out + i, V::mul(silu, V::load(up + i)));
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    const Reg g = V::load_partial(gate + i, rest, 0.0f);
    const Reg silu = V::div(g, V::add(one, V::exp(V::sub(V::zero(), g))));
    V::store_partial(out + i, V::mul(silu, V::load_partial(up + i, rest, 0.0f)), rest);
  }
}

void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n);
void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n);
void swiglu_neon(const float* gate, const float* up, float* out, int64_t n);
void swiglu_wasm_simd128(const float* gate, const float* up, float* out, int64_t n);

}  // namespace jf
