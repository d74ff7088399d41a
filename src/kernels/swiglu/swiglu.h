// SwiGLU gate of the llama FFN: out[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + e^-x).
//   gate, up, out: [n]; out may be gate or up.
#pragma once

#include <cstdint>

namespace jf {

using SwigluFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n);

// The fastest variant this CPU runs (chosen once), else swiglu_ref. Same contract; e^-x is the
// vector exp of simd/f32.h (max relative error 8.3e-8), the rest is computed as swiglu_ref does.
void swiglu(const float* gate, const float* up, float* out, int64_t n);

}  // namespace jf
