// How the bytes of a weight matrix lie in memory. `rows` is the GGUF order (each row a run of
// blocks, as ggml writes them). `x16` is a repacked order for SIMD kernels that process 16 blocks
// of 32 at once (Q4_0, Q8_0; Q4_K: 16 sub-blocks of 32, two super-blocks): one 512-bit multiply-add
// then advances 16 blocks by 4 codes each, and the 16 block sums come out in the 16 lanes of one
// vector, scaled by one vector of scales, with no shuffles (a block of 18, 34 or 144 bytes never
// lines up with a vector, and the 6-bit Q4_K scales need unpacking).
//
// x16 row of n_cols columns = G = ceil(n_cols / 512) groups of 16 blocks (the last group padded
// with blocks of scale 0 and code 0), group after group, each group its scales then its codes, so
// that a row is one ascending stream for the hardware prefetcher (the scales in a run of their own,
// at the end or at the start of the row, were a second, sparse stream that the prefetcher lost:
// decode waited on them). The 64-byte code vectors are therefore not 64-byte aligned.
// Q4_0 and Q8_0 group = [16 fp16 block scales: 32 bytes][codes]
// codes of a group: V vectors of 64 bytes (Q4_0: V = 4, Q8_0: V = 8); bytes 4j..4j+3 of vector v
//   are the code bytes 4v..4v+3 of block j of the group: Q4_0 the nibble pairs as in the block
//   (low nibble element 4v+i, high element 16+4v+i), Q8_0 the codes plus 128 (unsigned).
//
// Q4_K: a group is 16 sub-blocks of 32 (two super-blocks) in kX16Q4KGroupBytes = 296 bytes,
//   [16 scales][16 mins][d0 d1 dmin0 dmin1][4 vectors of 64 code bytes] (a separate run of
//   scales, 40 bytes per group, measured decode 17 -> 10 GB/s on 5632-column rows). Scales
//   and mins are the six-bit values as bytes, d and dmin the fp16 values of super-blocks 0 and 1;
//   the code vectors pair the 32 codes of sub-block j as Q4_0 pairs those of block j.
//
// channel_major holds Wᵀ: a TensorView keeps the logical shape (n_rows outputs, n_cols inputs),
// but the bytes are n_cols channels, channel j being column j of W (its weights for every output)
// as one GGUF row of n_rows elements (the dtype's blocks and scales, quantised along the outputs).
// A sparse decode then reads only the channels whose inputs are active (tensor/channel_major.h,
// kernels/channel_major). It has no rows: row(), row_stride_bytes() and gguf_row() do not apply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tensor/dtype.h"

namespace jf {

enum class WeightLayout : uint8_t {
  rows,  // GGUF blocks, row after row
  x16,   // groups of 16 blocks, code bytes interleaved by 4 (Q4_0, Q8_0, Q4_K)
  channel_major,  // Wᵀ: one channel per input (F32, F16, Q8_0, Q4_0, Q4_K; tensor/channel_major.h)
};

const char* layout_name(WeightLayout layout);  // "rows", "x16", "cm"

inline constexpr int64_t kX16Blocks = 16;
inline constexpr int64_t kX16GroupCols = 512;  // columns of one group (16 blocks of 32)

bool layout_supports(WeightLayout layout, DType dtype);

inline constexpr int64_t kX16ScaleBytes = kX16Blocks * 2;              // per Q4_0 / Q8_0 group
inline constexpr int64_t kX16Q4KScaleBytes = 40;                       // per Q4_K group
inline constexpr int64_t kX16Q4KGroupBytes = kX16Q4KScaleBytes + 256;  // scales and codes

// Code bytes of one x16 group (Q4_0, Q4_K: 256, Q8_0: 512).
int64_t x16_group_code_bytes(DType dtype);
int64_t x16_groups(int64_t n_cols);

// Bytes of one channel of a channel_major weight with n_rows outputs.
inline size_t channel_bytes(DType dtype, int64_t n_rows) { return row_bytes(dtype, n_rows); }

// Bytes between the starts of two rows of n_cols columns (not channel_major, which has no rows).
size_t layout_row_bytes(DType dtype, WeightLayout layout, int64_t n_cols);

// Bytes of one x16 group: scales and codes.
int64_t x16_group_bytes(DType dtype);

// Writes n_rows rows of `dtype` blocks (GGUF order) at src to dst in `layout`
// (n_rows * layout_row_bytes bytes). layout_supports(layout, dtype) must hold.
void pack_rows(DType dtype, WeightLayout layout, const void* src, int64_t n_rows, int64_t n_cols, void* dst);

// One row in GGUF block order: row_bytes(dtype, n_cols) bytes from a row in `layout`.
void unpack_row(DType dtype, WeightLayout layout, const void* row, int64_t n_cols, void* dst);

}  // namespace jf
