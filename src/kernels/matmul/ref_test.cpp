// vec_dot_ref against a float64 dot product of the dequantised weight row and the dequantised
// activation row, for every weight type and the row lengths the models use.
//
// Tolerance: 1e-6 of sum |w_i * x_i| (the reference scales each block's exact integer sum once in f32;
// the dequantised values carry f32 rounding of their own). For Q4_1/Q5_1, whose min term uses the Q8_1
// activation's stored s = fp16(d_x * sum q_x) as llama.cpp does, add 2 * 2^-11 * |m * d_x * sum q_x|
// per block (q8_1_sum_slack).
#include "kernels/matmul/ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/quant.h"

namespace jf {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// Slack for the Q8_1 min term: s = fp16(d * sum q) is rounded to fp16 and computed from the f32 d where
// the dequantised activations use fp16(d); each costs up to 2^-11 of |m| * |d * sum q|.
double q8_1_sum_slack(DType weight, const std::vector<uint8_t>& w, const std::vector<uint8_t>& x, int64_t n) {
  double slack = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    BlockCodes w_codes, x_codes;
    unpack_block(weight, w.data() + b * dtype_info(weight).block_bytes, &w_codes);
    unpack_block(DType::Q8_1, x.data() + b * sizeof(BlockQ8_1), &x_codes);
    int sum_q = 0;
    for (int i = 0; i < kQK; ++i) sum_q += x_codes.q[i];
    slack += std::fabs(w_codes.dmin) * 2 * std::fabs(x_codes.d * sum_q) / 2048 * 1.01;
  }
  return slack;
}

void expect_dot_matches(DType weight, int64_t n, uint32_t seed) {
  SCOPED_TRACE(std::string(dtype_name(weight)) + " n=" + std::to_string(n) + " seed=" + std::to_string(seed));
  const DType x_type = vec_dot_type(weight);
  std::vector<float> w_f32 = gaussian(n, seed, 0.02f);
  std::vector<float> x_f32 = gaussian(n, seed + 1000, 1.0f);
  x_f32[n / 3] = 25.0f;  // activations have outliers
  std::vector<uint8_t> w(row_bytes(weight, n)), x(row_bytes(x_type, n));
  quantize_weight_row(weight, w_f32.data(), w.data(), n);
  quantize_row(x_type, x_f32.data(), x.data(), n);
  std::vector<float> w_deq(n), x_deq(n);
  dequantize_row(weight, w.data(), w_deq.data(), n);
  dequantize_row(x_type, x.data(), x_deq.data(), n);
  double exact = 0, magnitude = 0;
  for (int64_t i = 0; i < n; ++i) {
    exact += static_cast<double>(w_deq[i]) * x_deq[i];
    magnitude += std::fabs(static_cast<double>(w_deq[i]) * x_deq[i]);
  }
  double tolerance = 1e-6 * magnitude;
  if (x_type == DType::Q8_1) tolerance += q8_1_sum_slack(weight, w, x, n);
  EXPECT_NEAR(vec_dot_ref(weight, n, w.data(), x.data()), exact, tolerance);
}

TEST(MatmulRefTest, MatchesFloat64DotOfDequantisedRows) {
  const DType kLegacy[] = {DType::F32, DType::F16, DType::BF16, DType::Q4_0,
                           DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0};
  const DType kSuperBlock[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K};
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    for (DType t : kLegacy) {
      for (int64_t n : {32, 256, 512, 768, 1408}) expect_dot_matches(t, n, seed);
    }
    for (DType t : kSuperBlock) {
      for (int64_t n : {256, 512, 768}) expect_dot_matches(t, n, seed);
    }
  }
}

TEST(MatmulRefTest, ZeroActivationsGiveZero) {
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_1, DType::Q4_K, DType::Q6_K}) {
    const int64_t n = 256;
    std::vector<float> w_f32 = gaussian(n, 3, 0.02f), x_f32(n, 0.0f);
    std::vector<uint8_t> w(row_bytes(t, n)), x(row_bytes(vec_dot_type(t), n));
    quantize_weight_row(t, w_f32.data(), w.data(), n);
    quantize_row(vec_dot_type(t), x_f32.data(), x.data(), n);
    EXPECT_EQ(vec_dot_ref(t, n, w.data(), x.data()), 0.0f) << dtype_name(t);
  }
}

}  // namespace
}  // namespace jf
