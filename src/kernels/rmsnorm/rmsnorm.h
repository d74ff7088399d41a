// RMSNorm: y[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], over one row of n elements.
//   x, weight, y: [n]; y may be x. mean(x²) is accumulated in double, as ggml does.
#pragma once

#include <cstdint>

namespace jf {

using RmsnormFn = void (*)(const float* x, const float* weight, float* y, int64_t n, float eps);

void rmsnorm_ref(const float* x, const float* weight, float* y, int64_t n, float eps);

// The fastest variant this CPU runs (chosen once), else rmsnorm_ref. Same contract as rmsnorm_ref.
void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps);

}  // namespace jf
