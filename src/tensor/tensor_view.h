// A non-owning view of a 2-D tensor as the kernels see it: n_rows rows of n_cols elements
// (ggml ne0 = n_cols, ne1 = n_rows), rows contiguous, each row a whole number of blocks.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/dtype.h"

namespace jf {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  int64_t n_cols = 0;
  int64_t n_rows = 0;
  const void* data = nullptr;  // null when the tensor is absent (e.g. optional biases)

  bool present() const { return data != nullptr; }
  size_t row_stride_bytes() const { return row_bytes(dtype, n_cols); }
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_stride_bytes(); }
  const float* f32() const { return static_cast<const float*>(data); }
};

}  // namespace jf
