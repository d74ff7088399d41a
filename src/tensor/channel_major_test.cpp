// Channel-major conversion (tensor/channel_major.h): round trips (exact for F32 and F16 sources
// kept in their dtype; within quantisation error for Q8_0 and Q4_0) and clear refusals.
#include "tensor/channel_major.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tensor/quant.h"
#include "tensor/weight_layout.h"

namespace jf {
namespace {

// A [n_rows x n_cols] weight in GGUF rows of `dtype`, from normal random values, and those values.
struct RowsWeight {
  std::vector<float> src;
  std::vector<uint8_t> bytes;
  TensorView view;
};

RowsWeight make_rows(DType dtype, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  RowsWeight w;
  w.src.resize(n_rows * n_cols);
  for (float& v : w.src) v = normal(rng);
  const size_t row = row_bytes(dtype, n_cols);
  w.bytes.resize(row * n_rows);
  for (int64_t r = 0; r < n_rows; ++r) quantize_weight_row(dtype, w.src.data() + r * n_cols, w.bytes.data() + r * row, n_cols);
  w.view = {.name = "blk.0.ffn_up.weight", .dtype = dtype, .n_cols = n_cols, .n_rows = n_rows, .data = w.bytes.data()};
  return w;
}

std::vector<float> dequantize(DType dtype, const std::vector<uint8_t>& bytes, int64_t n) {
  std::vector<float> out(n);
  dequantize_row(dtype, bytes.data(), out.data(), n);
  return out;
}

// A Q8_0 / Q4_0 channel holds a GGUF row's blocks with the scales first: the same values, the
// scales in block order at the start, each block's codes after them.
TEST(ChannelMajor, BlockChannelsHoldTheScalesFirst) {
  for (const DType dtype : {DType::Q8_0, DType::Q4_0}) {
    const int64_t n = 96;
    const RowsWeight w = make_rows(DType::F32, 1, n, 3);
    std::vector<uint8_t> row(row_bytes(dtype, n)), channel(channel_bytes(dtype, n));
    quantize_weight_row(dtype, w.src.data(), row.data(), n);
    quantize_channel(dtype, w.src.data(), n, channel.data());
    const size_t block = row.size() / 3, codes = block - 2;
    for (size_t b = 0; b < 3; ++b) {
      EXPECT_EQ(std::memcmp(channel.data() + 2 * b, row.data() + b * block, 2), 0) << dtype_name(dtype);
      EXPECT_EQ(std::memcmp(channel.data() + 6 + b * codes, row.data() + b * block + 2, codes), 0) << dtype_name(dtype);
    }
    std::vector<float> from_row(n), from_channel(n);
    dequantize_row(dtype, row.data(), from_row.data(), n);
    dequantize_channel(dtype, channel.data(), n, from_channel.data());
    EXPECT_EQ(from_row, from_channel) << dtype_name(dtype);
  }
}

TEST(ChannelMajor, FloatRoundTripsAreExact) {
  for (const DType dtype : {DType::F32, DType::F16}) {
    const RowsWeight w = make_rows(dtype, 64, 96, 1);
    Result<std::vector<uint8_t>> cm = to_channel_major(w.view, dtype);
    ASSERT_TRUE(cm.ok()) << cm.status().to_string();
    ASSERT_EQ(cm->size(), 96 * channel_bytes(dtype, 64));
    TensorView cm_view = w.view;
    cm_view.layout = WeightLayout::channel_major;
    cm_view.data = cm->data();
    // Channel j is column j.
    const std::vector<float> values = dequantize(dtype, w.bytes, 64 * 96);
    std::vector<float> channel(64);
    dequantize_row(dtype, cm_view.channel(5), channel.data(), 64);
    for (int64_t r = 0; r < 64; ++r) EXPECT_EQ(channel[r], values[r * 96 + 5]);
    Result<std::vector<uint8_t>> back = from_channel_major(cm_view, dtype);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, w.bytes) << dtype_name(dtype);
  }
}

// Relative RMS error of the quantised channel-major weight against the f32 source: one quantisation
// along the outputs (fresh, from F32) and two (rows then channels, as `convert --channel-major`
// does from a quantised file). Normal data: Q8_0 rounds to 1/254 of a block's largest magnitude
// (~0.4% RMS), Q4_0 to 1/14 of it (~11% RMS, a second rounding ~15%); the bounds leave margin.
TEST(ChannelMajor, QuantisedConversionIsWithinQuantisationError) {
  const int64_t n_rows = 128, n_cols = 256;
  for (const auto& [dtype, once, twice] : {std::tuple{DType::Q8_0, 0.01, 0.015}, std::tuple{DType::Q4_0, 0.13, 0.19}}) {
    const RowsWeight f32 = make_rows(DType::F32, n_rows, n_cols, 2);
    const RowsWeight quantised = make_rows(dtype, n_rows, n_cols, 2);  // the same source values
    for (const auto& [source, limit] : {std::pair{&f32, once}, std::pair{&quantised, twice}}) {
      Result<std::vector<uint8_t>> cm = to_channel_major(source->view, dtype);
      ASSERT_TRUE(cm.ok()) << cm.status().to_string();
      std::vector<float> channels(n_rows * n_cols);  // [n_cols][n_rows]
      for (int64_t c = 0; c < n_cols; ++c) {
        dequantize_channel(dtype, cm->data() + c * channel_bytes(dtype, n_rows), n_rows, channels.data() + c * n_rows);
      }
      double err = 0, ref = 0;
      for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t c = 0; c < n_cols; ++c) {
          const double want = f32.src[r * n_cols + c];
          err += std::pow(channels[c * n_rows + r] - want, 2);
          ref += want * want;
        }
      }
      EXPECT_LE(std::sqrt(err / ref), limit) << dtype_name(dtype) << " from " << dtype_name(source->view.dtype);
      TensorView cm_view = source->view;
      cm_view.dtype = dtype;
      cm_view.layout = WeightLayout::channel_major;
      cm_view.data = cm->data();
      Result<std::vector<uint8_t>> back = from_channel_major(cm_view, DType::F32);
      ASSERT_TRUE(back.ok()) << back.status().to_string();
      const std::vector<float> rows = dequantize(DType::F32, *back, n_rows * n_cols);
      for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t c = 0; c < n_cols; ++c) ASSERT_EQ(rows[r * n_cols + c], channels[c * n_rows + r]);
      }
    }
  }
}

TEST(ChannelMajor, BadShapesAndTypesAreRefusedClearly) {
  const RowsWeight odd = make_rows(DType::F32, 100, 64, 3);
  Result<std::vector<uint8_t>> cm = to_channel_major(odd.view, DType::Q4_0);
  ASSERT_FALSE(cm.ok());
  EXPECT_EQ(cm.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(cm.status().message().find("blk.0.ffn_up.weight"), std::string::npos) << cm.status().message();
  EXPECT_NE(cm.status().message().find("[100 outputs x 64 inputs]"), std::string::npos) << cm.status().message();
  EXPECT_NE(cm.status().message().find("multiple of 32 outputs"), std::string::npos) << cm.status().message();

  const Status q6_k = check_channel_major("blk.1.attn_v.weight", DType::Q6_K, 256, 256);
  EXPECT_EQ(q6_k.code(), StatusCode::kUnsupported);
  EXPECT_NE(q6_k.message().find("blk.1.attn_v.weight"), std::string::npos);
  EXPECT_NE(q6_k.message().find("q6_k"), std::string::npos) << q6_k.message();
  EXPECT_TRUE(check_channel_major("w", DType::F16, 64, 3).ok());
  // Q4_K channels are super-blocks of 256 outputs.
  EXPECT_TRUE(check_channel_major("w", DType::Q4_K, 512, 3).ok());
  const Status short_k = check_channel_major("blk.0.attn_k.weight", DType::Q4_K, 128, 256);
  EXPECT_EQ(short_k.code(), StatusCode::kUnsupported);
  EXPECT_NE(short_k.message().find("multiple of 256 outputs"), std::string::npos) << short_k.message();
}

}  // namespace
}  // namespace jf
