#include "tensor/weight_layout.h"

#include <cstring>

#include "base/check.h"
#include "tensor/quant.h"

namespace jf {
namespace {

constexpr int64_t kVectorBytes = 64;
constexpr int64_t kLaneBytes = 4;

// Where code byte i of block j of a group goes within the group's codes (i < code bytes per block).
int64_t x16_code_index(int64_t j, int64_t i) {
  return (i / kLaneBytes) * kVectorBytes + j * kLaneBytes + i % kLaneBytes;
}

// Q4_K in x16: a group is two super-blocks (see weight_layout.h).
constexpr int64_t kQ4KSubBlocks = kQK_K / kQK;  // 8 per super-block
constexpr int64_t kQ4KD = 2 * kX16Blocks;       // d0, d1, dmin0, dmin1 after the scales and mins

// Sub-block s of a Q4_K super-block as 16 nibble pairs (byte i: code i low, code 16 + i high); its
// codes are the low (s even) or high (s odd) nibbles of qs[32 * (s / 2) ...].
void q4_k_sub_block_pairs(const BlockQ4_K& block, int64_t s, uint8_t* pairs) {
  const uint8_t* qs = block.qs + 32 * (s / 2);
  const int shift = 4 * static_cast<int>(s % 2);
  for (int i = 0; i < 16; ++i) {
    pairs[i] = static_cast<uint8_t>(((qs[i] >> shift) & 0xF) | (((qs[16 + i] >> shift) & 0xF) << 4));
  }
}

// The inverse: ORs the codes of sub-block s into qs (which starts zeroed).
void q4_k_sub_block_codes(const uint8_t* pairs, int64_t s, BlockQ4_K* block) {
  uint8_t* qs = block->qs + 32 * (s / 2);
  const int shift = 4 * static_cast<int>(s % 2);
  for (int i = 0; i < 16; ++i) {
    qs[i] |= static_cast<uint8_t>((pairs[i] & 0xF) << shift);
    qs[16 + i] |= static_cast<uint8_t>((pairs[i] >> 4) << shift);
  }
}

void pack_q4_k_row(const uint8_t* src, int64_t n_cols, uint8_t* row) {
  for (int64_t sb = 0; sb < n_cols / kQK_K; ++sb) {
    BlockQ4_K block;
    std::memcpy(&block, src + sb * sizeof(BlockQ4_K), sizeof(block));
    uint8_t* scales = row + (sb / 2) * kX16Q4KGroupBytes;
    uint8_t* codes = scales + kX16Q4KScaleBytes;
    const int64_t half = sb % 2;
    for (int64_t s = 0; s < kQ4KSubBlocks; ++s) {
      const int64_t j = kQ4KSubBlocks * half + s;
      int scale, min;
      k_scale_min(block.scales, static_cast<int>(s), &scale, &min);
      scales[j] = static_cast<uint8_t>(scale);
      scales[kX16Blocks + j] = static_cast<uint8_t>(min);
      uint8_t pairs[16];
      q4_k_sub_block_pairs(block, s, pairs);
      for (int64_t i = 0; i < 16; ++i) codes[x16_code_index(j, i)] = pairs[i];
    }
    std::memcpy(scales + kQ4KD + 2 * half, &block.d, 2);
    std::memcpy(scales + kQ4KD + 4 + 2 * half, &block.dmin, 2);
  }
}

void unpack_q4_k_row(const uint8_t* row, int64_t n_cols, uint8_t* dst) {
  for (int64_t sb = 0; sb < n_cols / kQK_K; ++sb) {
    BlockQ4_K block{};
    const uint8_t* scales = row + (sb / 2) * kX16Q4KGroupBytes;
    const uint8_t* codes = scales + kX16Q4KScaleBytes;
    const int64_t half = sb % 2;
    int ls[kQ4KSubBlocks], lm[kQ4KSubBlocks];
    for (int64_t s = 0; s < kQ4KSubBlocks; ++s) {
      const int64_t j = kQ4KSubBlocks * half + s;
      ls[s] = scales[j];
      lm[s] = scales[kX16Blocks + j];
      uint8_t pairs[16];
      for (int64_t i = 0; i < 16; ++i) pairs[i] = codes[x16_code_index(j, i)];
      q4_k_sub_block_codes(pairs, s, &block);
    }
    pack_k_scales(ls, lm, block.scales);
    std::memcpy(&block.d, scales + kQ4KD + 2 * half, 2);
    std::memcpy(&block.dmin, scales + kQ4KD + 4 + 2 * half, 2);
    std::memcpy(dst + sb * sizeof(BlockQ4_K), &block, sizeof(block));
  }
}

// Code bytes per block and where they start in a GGUF block; Q8_0 codes are stored plus 128.
struct X16Type {
  int64_t code_bytes;
  size_t code_offset;
  uint8_t code_xor;
};

X16Type x16_type(DType dtype) {
  switch (dtype) {
    case DType::Q4_0:
      return {kQK / 2, offsetof(BlockQ4_0, qs), 0};
    case DType::Q8_0:
      return {kQK, offsetof(BlockQ8_0, qs), 0x80};
    default:
      JF_CHECK_MSG(false, "x16 layout: unsupported weight type");
  }
  return {};
}

}  // namespace

const char* layout_name(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::rows:
      return "rows";
    case WeightLayout::x16:
      return "x16";
    case WeightLayout::channel_major:
      return "cm";
  }
  return "?";
}

bool layout_supports(WeightLayout layout, DType dtype) {
  switch (layout) {
    case WeightLayout::rows:
      return true;
    case WeightLayout::x16:
      return dtype == DType::Q4_0 || dtype == DType::Q8_0 || dtype == DType::Q4_K;
    case WeightLayout::channel_major:
      return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::Q8_0 || dtype == DType::Q4_0 ||
             dtype == DType::Q4_K;
  }
  return false;
}

int64_t x16_group_code_bytes(DType dtype) {
  return kX16Blocks * (dtype == DType::Q4_K ? kQK / 2 : x16_type(dtype).code_bytes);
}

int64_t x16_groups(int64_t n_cols) {
  return (n_cols + kX16GroupCols - 1) / kX16GroupCols;
}

int64_t x16_group_bytes(DType dtype) {
  return dtype == DType::Q4_K ? kX16Q4KGroupBytes : kX16ScaleBytes + x16_group_code_bytes(dtype);
}

size_t layout_row_bytes(DType dtype, WeightLayout layout, int64_t n_cols) {
  JF_CHECK_MSG(layout != WeightLayout::channel_major, "channel-major weights have no rows");
  if (layout == WeightLayout::rows) return row_bytes(dtype, n_cols);
  return static_cast<size_t>(x16_groups(n_cols) * x16_group_bytes(dtype));
}

void pack_rows(DType dtype, WeightLayout layout, const void* src, int64_t n_rows, int64_t n_cols, void* dst) {
  JF_CHECK(layout_supports(layout, dtype) && layout != WeightLayout::channel_major);
  const size_t src_row = row_bytes(dtype, n_cols);
  const size_t dst_row = layout_row_bytes(dtype, layout, n_cols);
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  if (layout == WeightLayout::rows) {
    std::memcpy(out, in, src_row * n_rows);
    return;
  }
  if (dtype == DType::Q4_K) {  // padding: scales, mins, d and codes 0
    std::memset(out, 0, dst_row * n_rows);
    for (int64_t r = 0; r < n_rows; ++r) pack_q4_k_row(in + r * src_row, n_cols, out + r * dst_row);
    return;
  }
  const X16Type type = x16_type(dtype);
  const int64_t block_bytes = dtype_info(dtype).block_bytes;
  const int64_t n_blocks = n_cols / kQK;
  const int64_t group_bytes = x16_group_bytes(dtype);
  for (int64_t r = 0; r < n_rows; ++r) {
    uint8_t* row = out + r * dst_row;
    // Padding blocks: scale 0, code 0 (Q8_0: 0x80, the stored zero).
    for (int64_t g = 0; g < x16_groups(n_cols); ++g) {
      std::memset(row + g * group_bytes, 0, kX16ScaleBytes);
      std::memset(row + g * group_bytes + kX16ScaleBytes, type.code_xor, group_bytes - kX16ScaleBytes);
    }
    for (int64_t b = 0; b < n_blocks; ++b) {
      const uint8_t* block = in + r * src_row + b * block_bytes;
      uint8_t* group = row + (b / kX16Blocks) * group_bytes;
      uint8_t* codes = group + kX16ScaleBytes;
      const int64_t j = b % kX16Blocks;
      for (int64_t i = 0; i < type.code_bytes; i += kLaneBytes) {
        uint32_t lane;
        std::memcpy(&lane, block + type.code_offset + i, kLaneBytes);
        lane ^= type.code_xor * 0x01010101u;
        std::memcpy(codes + x16_code_index(j, i), &lane, kLaneBytes);
      }
      std::memcpy(group + 2 * j, block, 2);  // d: the first field of both types
    }
  }
}

void unpack_row(DType dtype, WeightLayout layout, const void* row, int64_t n_cols, void* dst) {
  JF_CHECK_MSG(layout != WeightLayout::channel_major, "channel-major weights have no rows");
  const auto* in = static_cast<const uint8_t*>(row);
  auto* out = static_cast<uint8_t*>(dst);
  if (layout == WeightLayout::rows) {
    std::memcpy(out, in, row_bytes(dtype, n_cols));
    return;
  }
  if (dtype == DType::Q4_K) return unpack_q4_k_row(in, n_cols, out);
  const X16Type type = x16_type(dtype);
  const int64_t block_bytes = dtype_info(dtype).block_bytes;
  const int64_t group_bytes = x16_group_bytes(dtype);
  for (int64_t b = 0; b < n_cols / kQK; ++b) {
    uint8_t* block = out + b * block_bytes;
    const uint8_t* group = in + (b / kX16Blocks) * group_bytes;
    const uint8_t* codes = group + kX16ScaleBytes;
    const int64_t j = b % kX16Blocks;
    for (int64_t i = 0; i < type.code_bytes; ++i) {
      block[type.code_offset + i] = codes[x16_code_index(j, i)] ^ type.code_xor;
    }
    std::memcpy(block, group + 2 * j, 2);
  }
}

}  // namespace jf
