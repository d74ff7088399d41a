// RMSNorm: y[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], over one row of n elements.
//   x, weight, y: [n]; y may be x. mean(x²) is accumulated in double, as ggml does.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/simd/variant.h"

namespace jf {

using RmsnormFn = void (*)(const float* x, const float* weight, float* y, int64_t n, float eps);

void rmsnorm_ref(const float* x, const float* weight, float* y, int64_t n, float eps);

// The fastest variant this CPU runs (chosen once), else rmsnorm_ref. Same contract as rmsnorm_ref.
void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps);

// The variants this build has, fastest first (empty: none); cpu_has_isa(v.isa) says which run here.
const std::vector<OpVariant<RmsnormFn>>& rmsnorm_variants();

}  // namespace jf
