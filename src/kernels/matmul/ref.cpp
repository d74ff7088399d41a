// Reference dot products (ref.h): per (sub-)block integer sums, scaled once per block by the f32 block
// scales as llama.cpp's scalar code does; blocks are summed in double so the reference adds no error of
// its own beyond the per-block scaling.
#include "kernels/matmul/ref.h"

#include <cstddef>
#include <cstring>

#include "base/check.h"
#include "base/fp16.h"
#include "tensor/quant.h"

namespace jf {
namespace {

float element(DType dtype, const uint8_t* row, int64_t i) {
  if (dtype == DType::F32) {
    float f;
    std::memcpy(&f, row + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, row + 2 * i, 2);
  return dtype == DType::F16 ? fp16_to_f32(h) : bf16_to_f32(h);
}

// w[n] · x[n] with both rows in `dtype` (F32, F16, BF16): products in f32, which is exact for f16 and bf16.
float dot_plain(DType dtype, int64_t n, const uint8_t* w, const uint8_t* x) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += element(dtype, w, i) * element(dtype, x, i);
  return static_cast<float>(sum);
}

// Sum of the activation codes of one weight sub-block: from the stored bsums for Q8_K (groups of 16),
// which is what llama.cpp's K-quant kernels use for the min terms.
int activation_sum(DType x_type, const BlockCodes& x, const int16_t* bsums, int begin, int count) {
  int sum = 0;
  if (x_type == DType::Q8_K) {
    for (int g = begin / 16; g < (begin + count) / 16; ++g) sum += bsums[g];
  } else {
    for (int i = begin; i < begin + count; ++i) sum += x.q[i];
  }
  return sum;
}

// One weight block · one activation block of the same length:
//   sum_s [ (d_w * d_x) * scale_s * (q_w · q_x)_s ]  -  sum_s [ (dmin_w * d_x) * min_s * sum(q_x)_s ]
// For Q8_1 the stored s = d_x * sum(q_x) stands in for d_x * sum(q_x), as in llama.cpp.
float dot_block(const BlockCodes& w, DType x_type, const uint8_t* x_block) {
  BlockCodes x;
  unpack_block(x_type, x_block, &x);
  int16_t bsums[kQK_K / 16] = {};
  if (x_type == DType::Q8_K) std::memcpy(bsums, x_block + offsetof(BlockQ8_K, bsums), sizeof(bsums));
  int64_t sum_q = 0, sum_m = 0;
  for (int s = 0; s < w.n_sub; ++s) {
    const int begin = s * w.sub_size;
    int dot = 0;
    for (int i = begin; i < begin + w.sub_size; ++i) dot += w.q[i] * x.q[i];
    sum_q += static_cast<int64_t>(w.scale[s]) * dot;
    if (w.min[s] != 0) sum_m += static_cast<int64_t>(w.min[s]) * activation_sum(x_type, x, bsums, begin, w.sub_size);
  }
  const float scaled_q = (w.d * x.d) * static_cast<float>(sum_q);
  if (x_type == DType::Q8_1) {
    uint16_t s_bits;
    std::memcpy(&s_bits, x_block + offsetof(BlockQ8_1, s), 2);
    return scaled_q - (w.dmin * static_cast<float>(w.min[0])) * fp16_to_f32(s_bits);
  }
  return scaled_q - (w.dmin * x.d) * static_cast<float>(sum_m);
}

}  // namespace

float vec_dot_ref(DType weight, int64_t n, const void* w_row, const void* x_row) {
  const auto* w = static_cast<const uint8_t*>(w_row);
  const auto* x = static_cast<const uint8_t*>(x_row);
  if (weight == DType::F32 || weight == DType::F16 || weight == DType::BF16) return dot_plain(weight, n, w, x);
  const DType x_type = vec_dot_type(weight);
  const DTypeInfo& wi = dtype_info(weight);
  const DTypeInfo& xi = dtype_info(x_type);
  JF_CHECK(wi.block_size == xi.block_size && n % wi.block_size == 0);
  double sum = 0;
  BlockCodes codes;
  for (int64_t b = 0; b < n / wi.block_size; ++b) {
    unpack_block(weight, w + b * wi.block_bytes, &codes);
    sum += dot_block(codes, x_type, x + b * xi.block_bytes);
  }
  return static_cast<float>(sum);
}

}  // namespace jf
