#include <cmath>

#include "kernels/rmsnorm/rmsnorm.h"

namespace jf {

void rmsnorm_ref(const float* x, const float* weight, float* y, int64_t n, float eps) {
  // The sum of squares is accumulated in double, as ggml does, so long rows do not lose precision.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
}

}  // namespace jf
