// SwiGLU on Wasm SIMD128 (built with this ISA's flags, called only where the CPU has it).
#include "kernels/swiglu/kernels.h"

namespace jf {

void swiglu_wasm_simd128(const float* gate, const float* up, float* out, int64_t n) {
  swiglu_simd<simd::Wasm128F32>(gate, up, out, n);
}

}  // namespace jf
