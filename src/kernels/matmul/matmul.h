// Matrix multiplication of a weight matrix with a batch of activation rows:
//   Y[n_tokens, W.n_rows] = X[n_tokens, W.n_cols] · Wᵀ      (X, Y f32; W any supported type)
// As in llama.cpp's CPU backend, X is first encoded in vec_dot_type(W.dtype) (Q8_0, Q8_K, F16, ...)
// and each output element is one dot product of a weight row with an encoded activation row.
// Rows of W are split across the threads of the pool.
#pragma once

#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "tensor/tensor_view.h"

namespace jf {

// Reusable buffers of one matmul caller (one per session); grows to the largest need.
struct MatmulScratch {
  std::vector<uint8_t> encoded_x;
};

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

// Copies row `r` of `w` into dst as f32 (embedding lookup).
void get_row_f32(const TensorView& w, int64_t r, float* dst);

}  // namespace jf
