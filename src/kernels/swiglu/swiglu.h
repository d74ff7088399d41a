// SwiGLU gate of the llama FFN: out[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + e^-x).
#pragma once

#include <cstdint>

namespace jf {

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n);

}  // namespace jf
