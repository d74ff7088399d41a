// Rotary position embedding, applied in place to the heads of one token.
//   x: [n_heads, head_dim]; the first n_rot dimensions of each head are rotated.
//   kAdjacent pairs (2i, 2i+1) (ggml's normal mode); kHalves pairs (i, i + n_rot/2) (NeoX mode).
//   Angle of pair i at position p: p * freq_scale * base^(-2i/n_rot) / freq_factors[i].
#pragma once

#include <cstdint>

namespace jf {

enum class RopePairing { kAdjacent, kHalves };

struct RopeParams {
  int n_rot = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  RopePairing pairing = RopePairing::kAdjacent;
  const float* freq_factors = nullptr;  // optional [n_rot / 2]
};

// Fills cos_sin[2*i], cos_sin[2*i+1] with cos and sin of pair i's angle at `position`.
void rope_angles(const RopeParams& params, int64_t position, float* cos_sin);

// Rotates the first n_rot dimensions of each head of x [n_heads, head_dim] by the angles of one
// position, cos_sin [n_rot / 2][2] as rope_angles fills it.
void rope_apply_ref(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim);

using RopeApplyFn = void (*)(const RopeParams& params, const float* cos_sin, float* x, int n_heads,
                             int head_dim);

// The fastest variant this CPU runs (chosen once), else rope_apply_ref. Same contract; the variants
// form rope_apply_ref's products and sums, so results are equal unless the compiler fused the
// reference's a*b - c*d into an FMA (then within 1 ulp).
void rope_apply(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim);

}  // namespace jf
