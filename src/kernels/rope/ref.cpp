#include <cmath>

#include "kernels/rope/rope.h"

namespace jf {

void rope_angles(const RopeParams& params, int64_t position, float* cos_sin) {
  // The angle is built by repeated float multiplication, exactly as ggml does, so that long
  // positions round the same way as the llama.cpp reference.
  const float theta_scale = std::pow(params.freq_base, -2.0f / static_cast<float>(params.n_rot));
  float theta = static_cast<float>(position);
  for (int i = 0; i < params.n_rot / 2; ++i) {
    const float factor = params.freq_factors != nullptr ? params.freq_factors[i] : 1.0f;
    const float angle = params.freq_scale * (theta / factor);
    cos_sin[2 * i] = std::cos(angle);
    cos_sin[2 * i + 1] = std::sin(angle);
    theta *= theta_scale;
  }
}

void rope_apply_ref(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim) {
  const int half = params.n_rot / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const int a = params.pairing == RopePairing::kAdjacent ? 2 * i : i;
      const int b = params.pairing == RopePairing::kAdjacent ? 2 * i + 1 : i + half;
      const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
      const float x0 = head[a], x1 = head[b];
      head[a] = x0 * c - x1 * s;
      head[b] = x0 * s + x1 * c;
    }
  }
}

}  // namespace jf
