// Conversion between a weight in GGUF row order (W: n_rows outputs x n_cols inputs, row r = the
// weights of output r) and WeightLayout::channel_major (Wᵀ: row j = the weights of input channel j
// over every output, quantised along the outputs; weight_layout.h).
//
// Both directions dequantize to f32 and quantize with quantize_weight_row, so they are the
// reference conversions: exact for F32, one fresh quantisation otherwise (from an F16/F32 source
// this is the only rounding; from a quantised source it rounds a second time).
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
