// RMSNorm on Wasm SIMD128 (built with this ISA's flags, called only where the CPU has it).
#include "kernels/rmsnorm/kernels.h"

namespace jf {

void rmsnorm_wasm_simd128(const float* x, const float* weight, float* y, int64_t n, float eps) {
  rmsnorm_simd<simd::Wasm128F32>(x, weight, y, n, eps);
}

}  // namespace jf
