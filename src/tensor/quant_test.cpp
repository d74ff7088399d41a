// Round trips f32 -> type -> f32 on random data and special values, with error bounds derived from each
// format (legacy types, activations, f16/bf16) or measured with margin (K-quants), and checks the
// rounding rules the goldens depend on with hand-computed blocks.
#include "tensor/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "quant_test_util.h"

namespace jf {
namespace {

using test::element_bound;
using test::is_k_weight;
using test::k_max_rel_rmse;
using test::rel_rmse;

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                        DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q8_K,
                        DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<float> round_trip(DType t, const std::vector<float>& x, int64_t n_cols) {
  const int64_t n_rows = static_cast<int64_t>(x.size()) / n_cols;
  std::vector<uint8_t> q(row_bytes(t, n_cols) * n_rows);
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < n_rows; ++r) {
    quantize_row(t, x.data() + r * n_cols, q.data() + r * row_bytes(t, n_cols), n_cols);
    dequantize_row(t, q.data() + r * row_bytes(t, n_cols), y.data() + r * n_cols, n_cols);
  }
  return y;
}

// Checks every element against element_bound (per block of 32 / 256 for the legacy and Q8_K types), or
// for the K-quants the rms bound and, per super-block, |error| <= amax / 4.
void expect_round_trip(DType t, const std::vector<float>& x, int64_t n_cols) {
  const std::vector<float> y = round_trip(t, x, n_cols);
  const int block = static_cast<int>(dtype_info(t).block_size);
  if (is_k_weight(t)) {
    EXPECT_LE(rel_rmse(x.data(), y.data(), x.size()), k_max_rel_rmse(t)) << dtype_name(t);
    for (size_t b = 0; b < x.size(); b += block) {
      float amax = 0;
      for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
      for (int i = 0; i < block; ++i) {
        ASSERT_LE(std::fabs(y[b + i] - x[b + i]), amax / 4) << dtype_name(t) << " element " << b + i;
      }
    }
    return;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t b = i / block * block;
    const double bound = element_bound(t, x.data() + b, block, x[i]);
    ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound + 1e-30)
        << dtype_name(t) << " element " << i << " x=" << x[i] << " y=" << y[i];
  }
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

TEST(QuantTest, RandomRowsRoundTrip) {
  for (DType t : kTypes) {
    const int64_t n_cols = 3 * kQK_K;  // a multiple of every block size
    for (int64_t n_rows : {1, 7, 13})
      expect_round_trip(t, gaussian(n_cols * n_rows, 1234 + n_rows, 0.02f), n_cols);
  }
}

TEST(QuantTest, AllZerosDecodeToZero) {
  for (DType t : kTypes) {
    const std::vector<float> y = round_trip(t, std::vector<float>(2 * kQK_K, 0.0f), 2 * kQK_K);
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(QuantTest, SingleHugeOutlier) {
  for (DType t : kTypes) {
    std::vector<float> x = gaussian(2 * kQK_K, 99);
    x[37] = 1e4f;  // blows up the scale of its (super-)block only
    const std::vector<float> y = round_trip(t, x, 2 * kQK_K);
    EXPECT_NEAR(y[37], 1e4f, 1e4f * 0.07) << dtype_name(t);
    expect_round_trip(t, x, 2 * kQK_K);
    // The other super-block keeps its own scale.
    if (is_k_weight(t)) {
      EXPECT_LE(rel_rmse(x.data() + kQK_K, y.data() + kQK_K, kQK_K), k_max_rel_rmse(t)) << dtype_name(t);
    }
  }
}

TEST(QuantTest, NegativeOnlyAndConstantBlocks) {
  std::vector<float> x = gaussian(3 * kQK_K, 7);
  for (int i = 0; i < kQK_K; ++i) x[i] = -std::fabs(x[i]) - 0.5f;  // negative only
  for (int i = kQK_K; i < 2 * kQK_K; ++i) x[i] = -1.25f;           // constant negative
  for (int i = 2 * kQK_K; i < 3 * kQK_K; ++i) x[i] = 3.0f;         // constant positive
  for (DType t : kTypes) expect_round_trip(t, x, kQK_K);
}

TEST(QuantTest, OddLengthLegacyRows) {
  // 1408 = 44 blocks of 32: rows that K-quants cannot hold.
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q8_1}) {
    expect_round_trip(t, gaussian(1408 * 3, 5), 1408);
  }
}

// ---- rounding rules, by hand

std::vector<float> block_with(std::initializer_list<float> head, int n) {
  std::vector<float> x(n, 0.0f);
  std::copy(head.begin(), head.end(), x.begin());
  return x;
}

TEST(QuantTest, Q8_0ActivationRoundsHalfToEvenWeightAwayFromZero) {
  // amax 127: d = 1 and x * 127/amax = x exactly.
  const std::vector<float> x = block_with({127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f}, kQK);
  BlockQ8_0 act, weight;
  quantize_row(DType::Q8_0, x.data(), &act, kQK);
  quantize_weight_row(DType::Q8_0, x.data(), &weight, kQK);
  const int8_t act_expected[] = {127, 0, 2, 2, 0, -2};
  const int8_t weight_expected[] = {127, 1, 2, 3, -1, -3};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(act.qs[i], act_expected[i]) << i;
    EXPECT_EQ(weight.qs[i], weight_expected[i]) << i;
  }
  EXPECT_EQ(act.d, f32_to_fp16(1.0f));
}

TEST(QuantTest, Q8_1StoresScaledSumOfCodes) {
  const std::vector<float> x = gaussian(kQK, 3);
  BlockQ8_1 b;
  quantize_row(DType::Q8_1, x.data(), &b, kQK);
  int sum = 0;
  float amax = 0;
  for (int i = 0; i < kQK; ++i) {
    sum += b.qs[i];
    amax = std::max(amax, std::fabs(x[i]));
  }
  EXPECT_EQ(b.d, f32_to_fp16(amax / 127.0f));
  EXPECT_EQ(b.s, f32_to_fp16(amax / 127.0f * static_cast<float>(sum)));
}

TEST(QuantTest, Q8_KMapsSignedMaxToMinus127) {
  std::vector<float> x = gaussian(kQK_K, 11);
  x[200] = -9.0f;  // the largest magnitude, negative: iscale = -127 / -9 > 0
  BlockQ8_K b;
  quantize_row(DType::Q8_K, x.data(), &b, kQK_K);
  const float iscale = -127.0f / -9.0f;
  EXPECT_EQ(b.qs[200], -127);
  EXPECT_EQ(b.d, 1 / iscale);
  for (int i = 0; i < kQK_K; ++i) ASSERT_EQ(b.qs[i], static_cast<int>(std::nearbyint(iscale * x[i]))) << i;
  for (int g = 0; g < kQK_K / 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += b.qs[16 * g + i];
    EXPECT_EQ(b.bsums[g], sum) << g;
  }
}

TEST(QuantTest, Q4_0PutsSignedMaxOnCodeZeroAndClampsTheFarSide) {
  // The first of two equal magnitudes wins: max = 8 so d = -1; x = -8 would be code 16, clamped to 15.
  const std::vector<float> x = block_with({8.0f, -8.0f, 1.0f}, kQK);
  BlockQ4_0 b;
  quantize_row(DType::Q4_0, x.data(), &b, kQK);
  EXPECT_EQ(fp16_to_f32(b.d), -1.0f);
  EXPECT_EQ(b.qs[0] & 0xF, 0);
  EXPECT_EQ(b.qs[1] & 0xF, 15);
  EXPECT_EQ(b.qs[2] & 0xF, 7);  // 1 * -1 + 8.5 = 7.5, truncated
  EXPECT_EQ(b.qs[3] & 0xF, 8);  // zero
  EXPECT_EQ(b.qs[0] >> 4, 8);   // element 16 (zero) shares byte 0
}

TEST(QuantTest, Q5_0StoresTheFifthBitInQh) {
  std::vector<float> x(kQK, 0.0f);
  x[0] = -16.0f;  // d = 1: code = x + 16.5 truncated
  x[20] = 3.0f;   // code 19: low nibble 3, fifth bit set (bit 20 of qh)
  BlockQ5_0 b;
  quantize_row(DType::Q5_0, x.data(), &b, kQK);
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  EXPECT_EQ(b.qs[0] & 0xF, 0);
  EXPECT_EQ(b.qs[4] >> 4, 3);
  EXPECT_EQ((qh >> 20) & 1, 1u);
  EXPECT_EQ((qh >> 0) & 1, 0u);
  EXPECT_EQ((qh >> 1) & 1, 1u);  // zeros are code 16
}

TEST(QuantTest, KScalesPackAndUnpack) {
  // Every 6-bit scale/min value in every slot survives quantise -> unpack.
  for (int j = 0; j < 8; ++j) {
    std::vector<float> x(kQK_K, 0.0f);
    for (int i = 0; i < 32; ++i) x[32 * j + i] = static_cast<float>(i % 16) - 3.0f;  // needs a min
    BlockQ4_K b;
    quantize_row(DType::Q4_K, x.data(), &b, kQK_K);
    BlockCodes codes;
    unpack_block(DType::Q4_K, &b, &codes);
    for (int s = 0; s < 8; ++s) {
      EXPECT_EQ(codes.scale[s] != 0, s == j) << j << " " << s;
      EXPECT_EQ(codes.min[s] != 0, s == j) << j << " " << s;
    }
    std::vector<float> y(kQK_K);
    dequantize_row(DType::Q4_K, &b, y.data(), kQK_K);
    for (int i = 0; i < kQK_K; ++i) ASSERT_NEAR(y[i], x[i], 0.05) << j << " " << i;
  }
}

TEST(QuantTest, VecDotTypes) {
  EXPECT_EQ(vec_dot_type(DType::F32), DType::F32);
  EXPECT_EQ(vec_dot_type(DType::F16), DType::F16);
  EXPECT_EQ(vec_dot_type(DType::BF16), DType::BF16);
  for (DType t : {DType::Q4_0, DType::Q5_0, DType::Q8_0}) EXPECT_EQ(vec_dot_type(t), DType::Q8_0);
  for (DType t : {DType::Q4_1, DType::Q5_1}) EXPECT_EQ(vec_dot_type(t), DType::Q8_1);
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) EXPECT_EQ(vec_dot_type(t), DType::Q8_K);
}

}  // namespace
}  // namespace jf
