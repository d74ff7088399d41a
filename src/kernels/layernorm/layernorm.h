// LayerNorm (GPT-2, BERT): y[i] = (x[i] - mean(x)) / sqrt(var(x) + eps) * weight[i] + bias[i],
// over one row of n elements; var is the mean of squared deviations (biased, as ggml's norm).
//   x, weight, bias, y: [n]; bias may be null; y may be x. Sums are accumulated in double.
// One implementation, no registry entry: a row of n_embd per token is a rounding error beside the
// linears around it, and the compiler vectorises the loops.
#pragma once

#include <cstdint>

namespace jf {

void layernorm(const float* x, const float* weight, const float* bias, float* y, int64_t n, float eps);

}  // namespace jf
