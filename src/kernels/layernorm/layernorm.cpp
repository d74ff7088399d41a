#include "kernels/layernorm/layernorm.h"

#include <cmath>

namespace jf {

void layernorm(const float* x, const float* weight, const float* bias, float* y, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  double squares = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    squares += d * d;
  }
  const float variance = static_cast<float>(squares / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(variance + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float normed = (x[i] - mean) * scale * weight[i];
    y[i] = bias != nullptr ? normed + bias[i] : normed;
  }
}

}  // namespace jf
