// GELU on one traits type of simd/f32.h, and the per-ISA entry points (cpu_avx2.cpp, ...).
// Internal to src/kernels/gelu.
#pragma once

#include <cstdint>

#include "kernels/simd/f32.h"

namespace jf {

// x, up, out: [n]; up may be null (gelu.h).
template <typename V>
void gelu_simd(const float* x, const float* up, float* out, int64_t n) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  const Reg one = V::set1(1.0f), cubic = V::set1(0.044715f),
            minus_2k = V::set1(-2.0f * 0.79788456080286535588f);
  // In gelu_ref's order: t = -2 sqrt(2/pi) v (1 + c v²), g = v / (1 + e^t).
  const auto gelu_of = [&](Reg v) {
    const Reg t = V::mul(V::mul(minus_2k, v), V::add(one, V::mul(V::mul(cubic, v), v)));
    return V::div(v, V::add(one, V::exp(t)));
  };
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Reg g = gelu_of(V::load(x + i));
    if (up != nullptr) g = V::mul(g, V::load(up + i));
    V::store(out + i, g);
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    Reg g = gelu_of(V::load_partial(x + i, rest, 0.0f));
    if (up != nullptr) g = V::mul(g, V::load_partial(up + i, rest, 0.0f));
    V::store_partial(out + i, g, rest);
  }
}

void gelu_avx2(const float* x, const float* up, float* out, int64_t n);
void gelu_avx512(const float* x, const float* up, float* out, int64_t n);
void gelu_neon(const float* x, const float* up, float* out, int64_t n);
void gelu_wasm_simd128(const float* x, const float* up, float* out, int64_t n);

}  // namespace jf
