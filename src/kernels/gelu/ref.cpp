#include <cmath>

#include "kernels/gelu/gelu.h"

namespace jf {

void gelu_ref(const float* x, const float* up, float* out, int64_t n) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f, kCubic = 0.044715f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = kSqrt2OverPi * v * (1.0f + kCubic * v * v);
    const float g = v / (1.0f + std::exp(-2.0f * u));
    out[i] = up != nullptr ? g * up[i] : g;
  }
}

}  // namespace jf
