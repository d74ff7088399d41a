// Conversion between a weight in GGUF row order (W: n_rows outputs x n_cols inputs, row r = the
// weights of output r) and WeightLayout::channel_major (Wᵀ: row j = the weights of input channel j
// over every output, quantised along the outputs; weight_layout.h).
//
// Both directions dequantize to f32 and quantize with quantize_weight_row, so they are the
// reference conversions: exact for F32, one fresh quantisation otherwise (from an F16/F32 source
// this is the only rounding; from a quantised source it rounds a second time).
//
// A channel of n elements takes channel_bytes(dtype, n) bytes, as a GGUF row would. F32 and F16
// channels are the values. Q8_0 and Q4_0 channels hold the same blocks as a GGUF row but split:
// first the n / 32 block scales (fp16), then the blocks' codes (32 or 16 bytes each, as in the
// block), so that a kernel loads the scales of 16 blocks with one load (kernels/channel_major).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jitflow/status.h"
#include "tensor/dtype.h"
#include "tensor/tensor_view.h"

namespace jf {

// Outputs per channel-major kernel step: the kernels (kernels/channel_major) process outputs in
// tiles of 32, the block size of Q8_0 and Q4_0, for every dtype.
inline constexpr int64_t kChannelMajorTile = 32;

// The channel-major format this build reads and writes (GGUF key kChannelMajorFormatKey,
// model/weights.h): 2 = block scales first (above); 1 (earlier builds) interleaved them.
inline constexpr uint32_t kChannelMajorFormat = 2;

// One channel: quantise n values (quantize_weight_row's rounding) / dequantize them.
void quantize_channel(DType dtype, const float* values, int64_t n, uint8_t* channel);
void dequantize_channel(DType dtype, const uint8_t* channel, int64_t n, float* values);

// Whether a weight `name` of n_rows outputs x n_cols inputs can be held channel-major in `dtype`:
// kUnsupported naming the tensor, the dtype and the shape when the dtype has no channel-major
// kernels or n_rows is not a multiple of kChannelMajorTile (each channel must be whole blocks).
Status check_channel_major(const std::string& name, DType dtype, int64_t n_rows, int64_t n_cols);

// The channel-major bytes (n_cols * channel_bytes(dtype, n_rows)) of `w` (layout rows, any
// supported dtype), quantised to `dtype`.
Result<std::vector<uint8_t>> to_channel_major(const TensorView& w, DType dtype);

// The GGUF row-order bytes (n_rows * row_bytes(dtype, n_cols)) of `w` (layout channel_major),
// quantised to `dtype`: the inverse of to_channel_major, up to quantisation.
Result<std::vector<uint8_t>> from_channel_major(const TensorView& w, DType dtype);

}  // namespace jf
