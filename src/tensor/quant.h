// Quantised block layouts (byte-compatible with ggml/GGUF) and the reference conversions between
// them and f32. These are the slow, obvious truth that every fast kernel is tested against.
//
// A "row" is n elements along ne[0]; n must be a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace jf {

inline constexpr int kQK = 32;     // elements per block of the legacy quants (Q4_0 .. Q8_1)
inline constexpr int kQK_K = 256;  // elements per super-block of the K-quants
inline constexpr int kKScaleBytes = 12;

// d, m and scales are IEEE fp16 bit patterns unless noted.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};  // s = d * sum(qs)
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};  // bsums: sums of 16 qs

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 &&
              sizeof(BlockQ8_K) == 292);

// One block unpacked to integers, the common ground of dequantisation and the reference dot
// products. Element i of the block is  (d * scale[s]) * q[i] - (dmin * min[s])  with s = i / sub_size,
// evaluated in f32 in that order, which reproduces ggml's dequantisation bit for bit.
//   Q4_0/Q5_0/Q8_0: one sub-block, scale 1, min 0, q signed (codes minus 8 / 16).
//   Q4_1/Q5_1:      one sub-block, scale 1, min 1, dmin = -m, q unsigned codes.
//   Q4_K/Q5_K:      8 sub-blocks of 32 with 6-bit scales and mins. Q6_K: 16 of 16, int8 scales, min 0.
//   Q8_0/Q8_1/Q8_K: one sub-block, scale 1, min 0 (Q8_1's s is not part of the values).
struct BlockCodes {
  int n_sub = 1;
  int sub_size = kQK;
  float d = 0;
  float dmin = 0;
  int scale[kQK_K / 16] = {};
  int min[kQK_K / 16] = {};
  int8_t q[kQK_K] = {};
};

// Unpacks one block of a quantised type (Q4_0 .. Q8_1, Q4_K .. Q8_K). No alignment needed.
void unpack_block(DType dtype, const void* block, BlockCodes* out);

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed scale bytes of Q4_K / Q5_K.
void k_scale_min(const uint8_t* scales, int j, int* scale, int* min);

// The inverse of k_scale_min: the 12 packed bytes of the 8 scales ls[] and mins lm[] (each < 64).
void pack_k_scales(const int* ls, const int* lm, uint8_t* out);

// dst[0..n) = the values that `src` (n elements of `dtype`) encodes. dtype must be supported.
// src needs no particular alignment.
void dequantize_row(DType dtype, const void* src, float* dst, int64_t n);

// Encodes src[0..n) as `dtype` into dst (row_bytes(dtype, n) bytes). The activation types
// (Q8_0, Q8_1, Q8_K) round exactly as llama.cpp's x86 CPU backend does, so that our matmuls see
// the same quantised activations as the goldens; the weight types follow llama.cpp's reference
// quantisers (no importance matrix). dst needs no particular alignment.
void quantize_row(DType dtype, const float* src, void* dst, int64_t n);

// Encodes weights as llama-quantize does (no importance matrix): byte-identical to it for F16, BF16,
// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0; our own error-minimising search for Q4_K, Q5_K and Q6_K.
// Equal to quantize_row except for Q8_0, whose weight quantiser rounds half away from zero with
// 1/d where the activation quantiser rounds half to even with 127/amax.
void quantize_weight_row(DType dtype, const float* src, void* dst, int64_t n);

// The activation format that llama.cpp's CPU backend pairs with weights of type `weight` in a
// matmul (F32->F32, F16->F16, BF16->BF16, Q4_0/Q5_0/Q8_0->Q8_0, Q4_1/Q5_1->Q8_1, K-quants->Q8_K).
DType vec_dot_type(DType weight);

}  // namespace jf
