// exp on Wasm SIMD128 (built with this ISA's flags, called only where the CPU has it).
#include "kernels/simd/kernels.h"

namespace jf {

void exp_wasm_simd128(const float* x, float* y, int64_t n) {
  exp_simd<simd::Wasm128F32>(x, y, n);
}

}  // namespace jf
