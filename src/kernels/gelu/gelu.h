// GELU of GPT-2, BERT and T5's gated FFN, in the tanh form llama.cpp computes:
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x³),
// evaluated as x / (1 + e^(-2u)) (the same function: 0.5 (1 + tanh u) is the logistic of 2u).
//   out[i] = gelu(x[i]) * up[i]   (GeGLU, T5 v1.1), or gelu(x[i]) when up is null (GPT-2, BERT)
//   x, up, out: [n]; out may be x or up.
#pragma once

#include <cstdint>

namespace jf {

using GeluFn = void (*)(const float* x, const float* up, float* out, int64_t n);

void gelu_ref(const float* x, const float* up, float* out, int64_t n);

// The fastest variant this CPU runs (chosen once), else gelu_ref. Same contract; e^(-2u) is the
// vector exp of simd/f32.h (max relative error 8.3e-8), the rest is computed as gelu_ref does.
void gelu(const float* x, const float* up, float* out, int64_t n);

}  // namespace jf
