// GELU on AVX-512 F (built with this ISA's flags, called only where the CPU has it).
#include "kernels/gelu/kernels.h"

namespace jf {

void gelu_avx512(const float* x, const float* up, float* out, int64_t n) {
  gelu_simd<simd::Avx512F32>(x, up, out, n);
}

}  // namespace jf
