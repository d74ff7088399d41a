#include <cmath>

#include "kernels/simd/exp.h"

namespace jf {

void exp_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace jf
