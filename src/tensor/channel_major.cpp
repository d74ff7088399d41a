#include "tensor/channel_major.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "tensor/quant.h"
#include "tensor/weight_layout.h"

namespace jf {
namespace {

// dst[c * n_rows + r] = src[r * n_cols + c]: a [n_rows x n_cols] f32 matrix transposed, in square
// tiles so that both sides stay in cache.
void transpose(const float* src, int64_t n_rows, int64_t n_cols, float* dst) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < n_rows; r0 += kTile) {
    for (int64_t c0 = 0; c0 < n_cols; c0 += kTile) {
      const int64_t r1 = std::min(r0 + kTile, n_rows), c1 = std::min(c0 + kTile, n_cols);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) dst[c * n_rows + r] = src[r * n_cols + c];
      }
    }
  }
}

// The fp16 scale and the codes of a block type's block (Q8_0, Q4_0: the scale leads the block).
struct BlockParts {
  int64_t block_bytes = 0;  // 0: not a block type (F32, F16: a channel is its values)
  int64_t code_bytes = 0;
};

BlockParts block_parts(DType dtype) {
  switch (dtype) {
    case DType::Q8_0:
      return {sizeof(BlockQ8_0), sizeof(BlockQ8_0::qs)};
    case DType::Q4_0:
      return {sizeof(BlockQ4_0), sizeof(BlockQ4_0::qs)};
    default:
      return {};
  }
}

}  // namespace

void quantize_channel(DType dtype, const float* values, int64_t n, uint8_t* channel) {
  const BlockParts parts = block_parts(dtype);
  if (parts.block_bytes == 0) return quantize_weight_row(dtype, values, channel, n);
  std::vector<uint8_t> blocks(row_bytes(dtype, n));
  quantize_weight_row(dtype, values, blocks.data(), n);
  const int64_t n_blocks = n / kChannelMajorTile;
  uint8_t* codes = channel + n_blocks * 2;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = blocks.data() + b * parts.block_bytes;
    std::memcpy(channel + 2 * b, block, 2);
    std::memcpy(codes + b * parts.code_bytes, block + 2, static_cast<size_t>(parts.code_bytes));
  }
}

void dequantize_channel(DType dtype, const uint8_t* channel, int64_t n, float* values) {
  const BlockParts parts = block_parts(dtype);
  if (parts.block_bytes == 0) return dequantize_row(dtype, channel, values, n);
  std::vector<uint8_t> blocks(row_bytes(dtype, n));
  const int64_t n_blocks = n / kChannelMajorTile;
  const uint8_t* codes = channel + n_blocks * 2;
  for (int64_t b = 0; b < n_blocks; ++b) {
    uint8_t* block = blocks.data() + b * parts.block_bytes;
    std::memcpy(block, channel + 2 * b, 2);
    std::memcpy(block + 2, codes + b * parts.code_bytes, static_cast<size_t>(parts.code_bytes));
  }
  dequantize_row(dtype, blocks.data(), values, n);
}

namespace {

enum class Direction { to_channels, from_channels };

// Re-encodes `count` rows of `length` elements: dequantized from `from`, transposed, quantised to
// `to` (so `count` x `length` in, `length` x `count` out); GGUF rows in and channels out, or the
// other way round.
std::vector<uint8_t> transpose_rows(DType from, const void* src, int64_t count, int64_t length, DType to,
                                    Direction direction) {
  const bool to_channels = direction == Direction::to_channels;
  std::vector<float> values(static_cast<size_t>(count * length));
  const size_t src_row = row_bytes(from, length);
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* row = static_cast<const uint8_t*>(src) + i * src_row;
    if (to_channels) {
      dequantize_row(from, row, values.data() + i * length, length);
    } else {
      dequantize_channel(from, row, length, values.data() + i * length);
    }
  }
  std::vector<float> transposed(values.size());
  transpose(values.data(), count, length, transposed.data());
  values.clear();  // the model is converted matrix by matrix: hold one f32 copy, not two
  values.shrink_to_fit();
  const size_t dst_row = row_bytes(to, count);
  std::vector<uint8_t> out(dst_row * static_cast<size_t>(length));
  for (int64_t j = 0; j < length; ++j) {
    if (to_channels) {
      quantize_channel(to, transposed.data() + j * count, count, out.data() + j * dst_row);
    } else {
      quantize_weight_row(to, transposed.data() + j * count, out.data() + j * dst_row, count);
    }
  }
  return out;
}

}  // namespace

Status check_channel_major(const std::string& name, DType dtype, int64_t n_rows, int64_t n_cols) {
  if (!layout_supports(WeightLayout::channel_major, dtype)) {
    return error(StatusCode::kUnsupported,
                 "tensor '%s' [%" PRId64 " outputs x %" PRId64 " inputs]: channel-major weights are "
                 "F32, F16, Q8_0, Q4_0 or Q4_K, not %s",
                 name.c_str(), n_rows, n_cols, dtype_name(dtype));
  }
  // Whole blocks per channel: tiles of 32 outputs, and Q4_K's super-blocks of 256.
  const int64_t block = std::max<int64_t>(kChannelMajorTile, dtype_info(dtype).block_size);
  if (n_rows <= 0 || n_cols <= 0 || n_rows % block != 0) {
    return error(StatusCode::kUnsupported,
                 "tensor '%s' [%" PRId64 " outputs x %" PRId64 " inputs]: a channel-major %s weight needs "
                 "a positive multiple of %" PRId64 " outputs (each channel is whole blocks of outputs)",
                 name.c_str(), n_rows, n_cols, dtype_name(dtype), block);
  }
  return Status();
}

Result<std::vector<uint8_t>> to_channel_major(const TensorView& w, DType dtype) {
  JF_RETURN_IF_ERROR(check_channel_major(w.name, dtype, w.n_rows, w.n_cols));
  if (w.layout != WeightLayout::rows) {
    return error(StatusCode::kInvalidArgument, "tensor '%s': to_channel_major reads GGUF rows, not layout %s",
                 w.name.c_str(), layout_name(w.layout));
  }
  return transpose_rows(w.dtype, w.data, w.n_rows, w.n_cols, dtype, Direction::to_channels);
}

Result<std::vector<uint8_t>> from_channel_major(const TensorView& w, DType dtype) {
  JF_RETURN_IF_ERROR(check_channel_major(w.name, w.dtype, w.n_rows, w.n_cols));
  if (w.layout != WeightLayout::channel_major) {
    return error(StatusCode::kInvalidArgument, "tensor '%s': from_channel_major reads channel-major weights, not %s",
                 w.name.c_str(), layout_name(w.layout));
  }
  if (w.n_cols % dtype_info(dtype).block_size != 0) {
    return error(StatusCode::kUnsupported,
                 "tensor '%s' [%" PRId64 " outputs x %" PRId64 " inputs]: %s rows need a multiple of %" PRId64
                 " inputs",
                 w.name.c_str(), w.n_rows, w.n_cols, dtype_name(dtype), static_cast<int64_t>(dtype_info(dtype).block_size));
  }
  return transpose_rows(w.dtype, w.data, w.n_cols, w.n_rows, dtype, Direction::from_channels);
}

}  // namespace jf
