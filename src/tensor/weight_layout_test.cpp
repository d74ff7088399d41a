#include "tensor/weight_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tensor/quant.h"
#include "tensor/tensor_view.h"

namespace jf {
namespace {

std::vector<uint8_t> random_rows(DType dtype, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(row_bytes(dtype, n_cols) * n_rows);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

TEST(WeightLayoutTest, X16RowBytes) {
  // 2048 columns of Q4_0: 4 groups of 32 scale and 256 code bytes; 5632 columns: 11 groups.
  EXPECT_EQ(layout_row_bytes(DType::Q4_0, WeightLayout::x16, 2048), 4u * (32 + 256));
  EXPECT_EQ(layout_row_bytes(DType::Q4_0, WeightLayout::x16, 5632), 11u * (32 + 256));
  // 32 columns: one group padded from 1 block to 16.
  EXPECT_EQ(layout_row_bytes(DType::Q4_0, WeightLayout::x16, 32), 32u + 256);
  EXPECT_EQ(layout_row_bytes(DType::Q8_0, WeightLayout::x16, 2048), 4u * (32 + 512));
  EXPECT_EQ(layout_row_bytes(DType::Q8_0, WeightLayout::rows, 2048), row_bytes(DType::Q8_0, 2048));
  EXPECT_TRUE(layout_supports(WeightLayout::x16, DType::Q4_0));
  // Q4_K, 5632 columns: 11 groups of 40 scale and 256 code bytes; 768: two groups, one padded.
  EXPECT_EQ(layout_row_bytes(DType::Q4_K, WeightLayout::x16, 5632), 11u * 296);
  EXPECT_EQ(layout_row_bytes(DType::Q4_K, WeightLayout::x16, 768), 2u * 296);
  EXPECT_TRUE(layout_supports(WeightLayout::x16, DType::Q4_K));
  EXPECT_FALSE(layout_supports(WeightLayout::x16, DType::Q6_K));
  EXPECT_TRUE(layout_supports(WeightLayout::rows, DType::Q4_K));
}

// Packing then unpacking gives every row back byte for byte, for whole and partial groups.
TEST(WeightLayoutTest, X16RoundTrip) {
  for (DType dtype : {DType::Q4_0, DType::Q8_0, DType::Q4_K}) {
    for (int64_t n_cols : {32, 480, 512, 768, 800, 2048, 5632}) {
      if (n_cols % dtype_info(dtype).block_size != 0) continue;
      const int64_t n_rows = 5;
      const std::vector<uint8_t> src = random_rows(dtype, n_rows, n_cols, 7);
      const size_t stride = layout_row_bytes(dtype, WeightLayout::x16, n_cols);
      std::vector<uint8_t> packed(stride * n_rows, 0xCD);
      pack_rows(dtype, WeightLayout::x16, src.data(), n_rows, n_cols, packed.data());
      const TensorView view{"w", dtype, n_cols, n_rows, packed.data(), WeightLayout::x16};
      std::vector<uint8_t> scratch;
      for (int64_t r = 0; r < n_rows; ++r) {
        const uint8_t* row = view.gguf_row(r, &scratch);
        EXPECT_EQ(std::memcmp(row, src.data() + r * row_bytes(dtype, n_cols), row_bytes(dtype, n_cols)), 0)
            << dtype_name(dtype) << " cols " << n_cols << " row " << r;
      }
    }
  }
}

// The documented placement: lane j of code vector v holds code bytes 4v..4v+3 of block j; padding
// blocks have scale 0 and the stored zero code.
TEST(WeightLayoutTest, X16Placement) {
  const int64_t n_cols = 64;  // two blocks, fourteen padding blocks
  std::vector<uint8_t> src = random_rows(DType::Q8_0, 1, n_cols, 3);
  BlockQ8_0 second;
  std::memcpy(&second, src.data() + sizeof(BlockQ8_0), sizeof(second));
  std::vector<uint8_t> packed(layout_row_bytes(DType::Q8_0, WeightLayout::x16, n_cols));
  pack_rows(DType::Q8_0, WeightLayout::x16, src.data(), 1, n_cols, packed.data());
  const size_t codes = kX16ScaleBytes;
  for (int v = 0; v < 8; ++v) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(packed[codes + v * 64 + 1 * 4 + i], static_cast<uint8_t>(second.qs[4 * v + i] ^ 0x80));
      EXPECT_EQ(packed[codes + v * 64 + 5 * 4 + i], 0x80);  // padding block 5
    }
  }
  uint16_t d1, d5;
  std::memcpy(&d1, packed.data() + 2, 2);
  std::memcpy(&d5, packed.data() + 10, 2);
  EXPECT_EQ(d1, second.d);
  EXPECT_EQ(d5, 0);
}

}  // namespace
}  // namespace jf
