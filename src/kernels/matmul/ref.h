// Reference dot products between one weight row and one activation row, per weight type.
// The activation row is already encoded in vec_dot_type(weight) (tensor/quant.h). Scalar code that
// states the math plainly; the SIMD kernels are tested against it.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace jf {

// sum_i w[i] * x[i] over n elements (n a multiple of the weight's block size).
float vec_dot_ref(DType weight, int64_t n, const void* w_row, const void* x_row);

}  // namespace jf
