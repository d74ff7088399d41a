// RMSNorm: y[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], over one row of n elements.
#pragma once

#include <cstdint>

namespace jf {

void rmsnorm_ref(const float* x, const float* weight, float* y, int64_t n, float eps);

}  // namespace jf
