// exp on NEON (built with this ISA's flags, called only where the CPU has it).
#include "kernels/simd/kernels.h"

namespace jf {

void exp_neon(const float* x, float* y, int64_t n) {
  exp_simd<simd::NeonF32>(x, y, n);
}

}  // namespace jf
