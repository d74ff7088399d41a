// exp on AVX2 + FMA (built with this ISA's flags, called only where the CPU has it).
#include "kernels/simd/kernels.h"

namespace jf {

void exp_avx2(const float* x, float* y, int64_t n) {
  exp_simd<simd::Avx2F32>(x, y, n);
}

}  // namespace jf
