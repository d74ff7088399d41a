// A non-owning view of a 2-D tensor as the kernels see it: n_rows rows of n_cols elements
// (ggml ne0 = n_cols, ne1 = n_rows), each row a whole number of blocks, in `layout` (GGUF order
// unless the loader repacked it for the kernels, see weight_layout.h; channel_major holds columns).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/weight_layout.h"

namespace jf {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  int64_t n_cols = 0;
  int64_t n_rows = 0;
  const void* data = nullptr;  // null when the tensor is absent (e.g. optional biases)
  WeightLayout layout = WeightLayout::rows;

  bool present() const { return data != nullptr; }
  size_t row_stride_bytes() const { return layout_row_bytes(dtype, layout, n_cols); }
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_stride_bytes(); }
  const float* f32() const { return static_cast<const float*>(data); }
  // Channel j of a channel_major weight: the weights of input j over the n_rows outputs.
  const uint8_t* channel(int64_t j) const {
    return static_cast<const uint8_t*>(data) + j * channel_bytes(dtype, n_rows);
  }

  // Row r in GGUF block order: the row itself, or its unpacked copy in *scratch.
  const uint8_t* gguf_row(int64_t r, std::vector<uint8_t>* scratch) const {
    if (layout == WeightLayout::rows) return row(r);
    scratch->resize(row_bytes(dtype, n_cols));
    unpack_row(dtype, layout, row(r), n_cols, scratch->data());
    return scratch->data();
  }
};

}  // namespace jf
