// SwiGLU on AVX-512 F (built with this ISA's flags, called only where the CPU has it).
#include "kernels/swiglu/kernels.h"

namespace jf {

void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n) {
  swiglu_simd<simd::Avx512F32>(gate, up, out, n);
}

}  // namespace jf
