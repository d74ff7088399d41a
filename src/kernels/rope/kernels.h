// RoPE rotation on one traits type of simd/f32.h, and the per-ISA entry points (cpu_avx2.cpp, ...).
// Internal to src/kernels/rope.
#pragma once

#include "kernels/rope/rope.h"
#include "kernels/simd/f32.h"

namespace jf {

// x: [n_heads, head_dim], first n_rot of each head rotated; cos_sin: [n_rot / 2][2]
template <typename V>
void rope_apply_simd(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim) {
  using Reg = typename V::Reg;
  constexpr int W = V::kLanes;
  // Multiplying by -1 is exact: x0 c + (-(x1 s)) is rope_apply_ref's x0 c - x1 s.
  alignas(64) static constexpr float kSign[16] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
  const bool adjacent = params.pairing == RopePairing::kAdjacent;
  const int half = params.n_rot / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    int i = 0;  // pairs rotated so far
    if (adjacent) {
      // A vector holds W/2 pairs (x0 x1), and cos_sin at the same offset their (cos sin).
      for (; 2 * i + W <= params.n_rot; i += W / 2) {
        const Reg v = V::load(head + 2 * i), cs = V::load(cos_sin + 2 * i);
        const Reg v_cos = V::mul(v, V::dup_even(cs));  // x0 c, x1 c
        const Reg swapped_sin =
            V::mul(V::mul(V::swap_pairs(v), V::dup_odd(cs)), V::load(kSign));  // -x1 s, x0 s
        V::store(head + 2 * i, V::add(v_cos, swapped_sin));
      }
    } else {
      for (; i + W <= half; i += W) {
        Reg c, s;
        V::deinterleave(cos_sin + 2 * i, &c, &s);
        const Reg x0 = V::load(head + i), x1 = V::load(head + half + i);
        V::store(head + i, V::sub(V::mul(x0, c), V::mul(x1, s)));
        V::store(head + half + i, V::add(V::mul(x0, s), V::mul(x1, c)));
      }
    }
    // The pairs left over, as rope_apply_ref rotates them.
    for (; i < half; ++i) {
      const int a = adjacent ? 2 * i : i;
      const int b = adjacent ? 2 * i + 1 : i + half;
      const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
      const float x0 = head[a], x1 = head[b];
      head[a] = x0 * c - x1 * s;
      head[b] = x0 * s + x1 * c;
    }
  }
}

void rope_apply_avx2(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim);
void rope_apply_avx512(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim);
void rope_apply_neon(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim);
void rope_apply_wasm_simd128(const RopeParams& params, const float* cos_sin, float* x, int n_heads,
                             int head_dim);

}  // namespace jf
