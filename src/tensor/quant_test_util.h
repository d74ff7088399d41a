// Error bounds shared by the quantisation tests: what each format allows an element to move.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/dtype.h"

namespace jf::test {

inline bool is_k_weight(DType t) {
  return t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

// K-quants: largest ||error|| / ||x|| of a tensor of Gaussian-like weights. Measured about 2/3 of this
// for our quantiser and for llama-quantize's files (our own search has no closed-form bound).
inline double k_max_rel_rmse(DType t) {
  switch (t) {
    case DType::Q4_K:
      return 0.10;
    case DType::Q5_K:
      return 0.05;
    case DType::Q6_K:
      return 0.025;
    default:
      return 0;
  }
}

// Largest |error| the format allows for element x of `block` (the n elements sharing its scale): half a
// step of the rounding plus the fp16 rounding of the scale times the largest code; the symmetric 4/5-bit
// types clamp the far end of their range, which costs a whole step. F16/BF16: n = 1, relative bounds.
inline double element_bound(DType t, const float* block, int n, float x) {
  float amax = 0, lo = block[0], hi = block[0];
  for (int i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(block[i]));
    lo = std::min(lo, block[i]);
    hi = std::max(hi, block[i]);
  }
  const double fp16_rel = 1.0 / 2048;
  const double range = static_cast<double>(hi) - lo;
  switch (t) {
    case DType::F32:
      return 0;
    case DType::F16:
      return std::max(std::fabs(x) * fp16_rel, 0x1p-25);  // subnormal step 2^-24
    case DType::BF16:
      return std::fabs(x) / 256;
    case DType::Q4_0:
      return amax / 8.0 * (1 + 8 * fp16_rel);
    case DType::Q5_0:
      return amax / 16.0 * (1 + 16 * fp16_rel);
    case DType::Q8_0:
    case DType::Q8_1:
      return amax / 127.0 * (0.5 + 127 * fp16_rel);
    case DType::Q8_K:
      return amax / 127.0 * (0.5 + 1e-4);  // + f32 rounding of x * iscale
    case DType::Q4_1:
      return range / 15 * (0.5 + 16 * fp16_rel) + std::fabs(lo) * fp16_rel;
    case DType::Q5_1:
      return range / 31 * (0.5 + 32 * fp16_rel) + std::fabs(lo) * fp16_rel;
    default:
      return INFINITY;
  }
}

// ||y - x|| / ||x|| (0 when both are zero).
inline double rel_rmse(const float* x, const float* y, size_t n) {
  double err2 = 0, x2 = 0;
  for (size_t i = 0; i < n; ++i) {
    err2 += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
    x2 += static_cast<double>(x[i]) * x[i];
  }
  return x2 > 0 ? std::sqrt(err2 / x2) : (err2 > 0 ? INFINITY : 0.0);
}

}  // namespace jf::test
