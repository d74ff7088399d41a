// GELU on Wasm SIMD128 (built with this ISA's flags, called only where the CPU has it).
#include "kernels/gelu/kernels.h"

namespace jf {

void gelu_wasm_simd128(const float* x, const float* up, float* out, int64_t n) {
  gelu_simd<simd::Wasm128F32>(x, up, out, n);
}

}  // namespace jf
