// How weights sit in GPU buffers. WGSL reads storage buffers in 4-byte words, and GGUF's 34-byte
// Q8_0 and 18-byte Q4_0 blocks straddle words, so each block is padded to a whole number of words
// with its f16 scale first:
//   F32   as in the file                       f32 per element
//   F16   as in the file                       two halves per word (n_cols a multiple of 4)
//   Q8_0  [d: f16, 0: u16][32 x i8]            9 words per block of 32
//   Q4_0  [d: f16, 0: u16][16 bytes of codes]  5 words per block of 32 (byte j: element j in the
//                                              low nibble, element j + 16 in the high one)
// Rows stay contiguous and in order, so row r of a matrix starts at r * gpu_row_bytes.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace jf::gpu {

// Bytes of one row of n_cols elements of `dtype` (wgsl_supports) in its GPU layout.
uint64_t gpu_row_bytes(DType dtype, int64_t n_cols);

// Rewrites n_rows rows of n_cols elements from the GGUF layout (src) into the GPU layout (dst,
// n_rows * gpu_row_bytes bytes).
void to_gpu_layout(DType dtype, const uint8_t* src, int64_t n_rows, int64_t n_cols, uint8_t* dst);

}  // namespace jf::gpu
