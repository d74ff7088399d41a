// The NEON vector policy, micro-tiles and activation encoders, shared by cpu_neon.cpp (ARMv8.0) and
// cpu_neon_dotprod.cpp (built with the dot product extension), GGUF rows only (the ISA-independent
// layer is tile_common.h: TokenRows, store_tile, the float tiles, make_family).
//
// Each of those files includes this header once with an `IntDot` policy: acc + the 16 products
// a[i] * b[i] of two int8x16 vectors, added into the 4 int32 lanes (which lane gets which products is
// the policy's business). Everything here has internal linkage, so the two compilations never merge.
//
// The quantised types read the activations as quantize_row writes them (ActLayout::blocks: Q8_0
// blocks for Q4_0 / Q8_0, Q8_K blocks for Q4_K / Q6_K) and compute each block's integer sum exactly
// with signed 8-bit products, then scale it in f32 as vec_dot_ref does. The float types run f32 FMA
// chains over 4 lanes.
//
// Tile shapes: R weight rows x T tokens over columns [k0, k1). The accumulator of each (row, token)
// pair sees the same sequence of operations whatever R, T and the thread count are, so results do
// not depend on tiling or threads (only k_block changes the float summation order). Both policies
// give the same integer sum per block but spread it differently over the lanes, which are scaled and
// added in f32 before the final horizontal sum: the two ISAs may differ in the last bits.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "base/fp16.h"
#include "kernels/matmul/kernels.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/tile_common.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers.

inline float load_fp16(const uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
}

inline int8x16_t load_s8(const void* p) {
  return vld1q_s8(static_cast<const int8_t*>(p));
}

template <int R, int T>
inline void zero_tile(float32x4_t (&acc)[R][T]) {
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = vdupq_n_f32(0.0f); }); });
}

// The float vector policy (tile_common.h).
struct Neon128 {
  using F = float32x4_t;
  static constexpr int kLanes = 4;
  static F zero() { return vdupq_n_f32(0.0f); }
  static F load(const float* p) { return vld1q_f32(p); }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F load_f16(const uint8_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static F load_bf16(const uint8_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float sum(F v) { return vaddvq_f32(v); }
};

// ---------------------------------------------------------------------------------------------
// Blocks of 32 (Q4_0, Q8_0) against Q8_0 activation blocks [34 B]: fp16 d, 32 int8.
// Per block: the exact integer sum of w[i] * x[i] (signed codes), times d_w * d_x in f32.

// Q4_0 block [18 B]: fp16 d, 16 bytes of nibble pairs (byte j: element j low, element j + 16 high);
// value d * (code - 8).
struct Q4_0Weights {
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  // Elements 0-15 and 16-31 as signed int8.
  static void load(const uint8_t* block, int8x16_t* w0, int8x16_t* w1) {
    const uint8x16_t qs = vld1q_u8(block + offsetof(BlockQ4_0, qs));
    const int8x16_t eight = vdupq_n_s8(8);
    *w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(qs, vdupq_n_u8(0x0F))), eight);
    *w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(qs, 4)), eight);
  }
};

// Q8_0 block [34 B]: fp16 d, 32 int8.
struct Q8_0Weights {
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  static void load(const uint8_t* block, int8x16_t* w0, int8x16_t* w1) {
    *w0 = load_s8(block + offsetof(BlockQ8_0, qs));
    *w1 = load_s8(block + offsetof(BlockQ8_0, qs) + 16);
  }
};

// W[R, k1-k0] (Q4_0 / Q8_0) · X[T, k1-k0] (Q8_0 blocks) -> Y[T, R].
template <class IntDot, class Weights, int R, int T>
__attribute__((flatten)) void tile_q8_32(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  float32x4_t acc[R][T];
  zero_tile(acc);
  const int64_t b_end = a.k1 / kQK;
  for (int64_t b = a.k0 / kQK; b < b_end; ++b) {
    const uint8_t* xb[T];
    float dx[T];
    unroll<T>([&](auto t) {
      xb[t] = x.blocks[t] + b * sizeof(BlockQ8_0);
      dx[t] = load_fp16(xb[t] + offsetof(BlockQ8_0, d));
    });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + b * Weights::kBlockBytes;
      prefetch(block, prefetch_bytes);
      int8x16_t w0, w1;
      Weights::load(block, &w0, &w1);
      const float dw = load_fp16(block);  // d comes first in both block types
      unroll<T>([&](auto t) {
        const uint8_t* xq = xb[t] + offsetof(BlockQ8_0, qs);
        const int32x4_t sum = IntDot::dot(IntDot::dot(vdupq_n_s32(0), w0, load_s8(xq)), w1, load_s8(xq + 16));
        acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(sum), dw * dx[t]);
      });
    });
  }
  store_tile<R, T>(a, acc, Neon128::sum);
}

// ---------------------------------------------------------------------------------------------
// K-quants (super-blocks of 256) against Q8_K activation blocks [292 B]: f32 d, 256 int8, 16 int16
// sums of 16 codes. Per super-block and (row, token) the integer sum over its sub-blocks
// sum_s scale_s * (q · x)_s is exact in int32, then scaled once by d_w * d_x (and the min term by
// dmin_w * d_x), as vec_dot_ref does.

// The 8 six-bit scales and mins of a Q4_K super-block, from their 12 packed bytes: bytes 0-3 hold
// scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7, bytes 4-7 the same for the mins, bytes
// 8-11 the low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high nibble).
inline void q4_k_scales_mins(const uint8_t* packed, uint8_t (&scales)[8], uint8_t (&mins)[8]) {
  uint32_t s[3];
  std::memcpy(s, packed, 12);
  const uint32_t sc[2] = {s[0] & 0x3f3f3f3f, (s[2] & 0x0f0f0f0f) | ((s[0] >> 2) & 0x30303030)};
  const uint32_t mn[2] = {s[1] & 0x3f3f3f3f, ((s[2] >> 4) & 0x0f0f0f0f) | ((s[1] >> 2) & 0x30303030)};
  std::memcpy(scales, sc, 8);
  std::memcpy(mins, mn, 8);
}

// W[R, k1-k0] (Q4_K) · X[T, k1-k0] (Q8_K blocks) -> Y[T, R].
// Q4_K super-block [144 B]: fp16 d, fp16 dmin, 12 B scales/mins, 128 B codes in 4 chunks of 32
// bytes: byte j of chunk c holds element 64c + j (low nibble, sub-block 2c) and 64c + 32 + j (high
// nibble, sub-block 2c + 1). Element = d * scale_s * q - dmin * min_s.
template <class IntDot, int R, int T>
__attribute__((flatten)) void tile_q4_k(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  float32x4_t acc[R][T];
  zero_tile(acc);
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    const uint8_t* xb[T];
    unroll<T>([&](auto t) { xb[t] = x.blocks[t] + sb * sizeof(BlockQ8_K); });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * sizeof(BlockQ4_K);
      prefetch(block, prefetch_bytes);
      uint8_t scales[8], mins[8];
      q4_k_scales_mins(block + offsetof(BlockQ4_K, scales), scales, mins);
      int32x4_t isum[T];
      unroll<T>([&](auto t) { isum[t] = vdupq_n_s32(0); });
      unroll<4>([&](auto c) {
        const uint8_t* qs = block + offsetof(BlockQ4_K, qs) + 32 * c;
        const uint8x16_t q0 = vld1q_u8(qs), q1 = vld1q_u8(qs + 16);
        // Sub-block 2c: elements 64c..64c+31; sub-block 2c + 1: 64c+32..64c+63.
        const int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(q0, low4));
        const int8x16_t lo1 = vreinterpretq_s8_u8(vandq_u8(q1, low4));
        const int8x16_t hi0 = vreinterpretq_s8_u8(vshrq_n_u8(q0, 4));
        const int8x16_t hi1 = vreinterpretq_s8_u8(vshrq_n_u8(q1, 4));
        unroll<T>([&](auto t) {
          const uint8_t* xq = xb[t] + offsetof(BlockQ8_K, qs) + 64 * c;
          const int32x4_t dot_lo =
              IntDot::dot(IntDot::dot(vdupq_n_s32(0), lo0, load_s8(xq)), lo1, load_s8(xq + 16));
          const int32x4_t dot_hi =
              IntDot::dot(IntDot::dot(vdupq_n_s32(0), hi0, load_s8(xq + 32)), hi1, load_s8(xq + 48));
          isum[t] = vmlaq_n_s32(isum[t], dot_lo, scales[2 * c]);
          isum[t] = vmlaq_n_s32(isum[t], dot_hi, scales[2 * c + 1]);
        });
      });
      // sum_s min_s * (bsum_2s + bsum_2s+1): the 16 sums added pairwise, times the 8 mins.
      const int16x8_t mins16 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mins)));
      const float d = load_fp16(block + offsetof(BlockQ4_K, d));
      const float dmin = load_fp16(block + offsetof(BlockQ4_K, dmin));
      unroll<T>([&](auto t) {
        float dx;
        std::memcpy(&dx, xb[t] + offsetof(BlockQ8_K, d), 4);
        int16_t bsums[16];
        std::memcpy(bsums, xb[t] + offsetof(BlockQ8_K, bsums), sizeof(bsums));
        const int16x8_t pair_sums = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
        const int32x4_t min_sum =
            vmlal_high_s16(vmull_s16(vget_low_s16(mins16), vget_low_s16(pair_sums)), mins16, pair_sums);
        acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(isum[t]), d * dx);
        acc[r][t] = vfmsq_n_f32(acc[r][t], vcvtq_f32_s32(min_sum), dmin * dx);
      });
    });
  }
  store_tile<R, T>(a, acc, Neon128::sum);
}

// W[R, k1-k0] (Q6_K) · X[T, k1-k0] (Q8_K blocks) -> Y[T, R].
// Q6_K super-block [210 B]: ql 128 B, qh 64 B, 16 int8 scales (one per 16 elements), fp16 d.
// Element 128h + 32k + l (half h, quarter k, l < 32) has low 4 bits in ql[64h + 32(k & 1) + l]
// (low nibble for k < 2, high for k >= 2) and high 2 bits in qh[32h + l] bits 2k..2k+1; value
// d * scale * (q - 32).
template <class IntDot, int R, int T>
__attribute__((flatten)) void tile_q6_k(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  const uint8x16_t bits45 = vdupq_n_u8(0x30);
  const int8x16_t offset = vdupq_n_s8(32);
  float32x4_t acc[R][T];
  zero_tile(acc);
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    const uint8_t* xb[T];
    unroll<T>([&](auto t) { xb[t] = x.blocks[t] + sb * sizeof(BlockQ8_K); });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * sizeof(BlockQ6_K);
      prefetch(block, prefetch_bytes);
      const int8_t* scales = reinterpret_cast<const int8_t*>(block + offsetof(BlockQ6_K, scales));
      int32x4_t isum[T];
      unroll<T>([&](auto t) { isum[t] = vdupq_n_s32(0); });
      unroll<2>([&](auto h) {
        const uint8_t* ql = block + offsetof(BlockQ6_K, ql) + 64 * h;
        const uint8_t* qh = block + offsetof(BlockQ6_K, qh) + 32 * h;
        // Per 16 elements l0..l0+15 (l0 = 0, 16) of each quarter k: q - 32 as int8.
        unroll<2>([&](auto half) {
          constexpr int l0 = 16 * decltype(half)::value;
          const uint8x16_t ql0 = vld1q_u8(ql + l0), ql1 = vld1q_u8(ql + 32 + l0);
          const uint8x16_t hb = vld1q_u8(qh + l0);
          const uint8x16_t q[4] = {
              vorrq_u8(vandq_u8(ql0, low4), vandq_u8(vshlq_n_u8(hb, 4), bits45)),
              vorrq_u8(vandq_u8(ql1, low4), vandq_u8(vshlq_n_u8(hb, 2), bits45)),
              vorrq_u8(vshrq_n_u8(ql0, 4), vandq_u8(hb, bits45)),
              vorrq_u8(vshrq_n_u8(ql1, 4), vandq_u8(vshrq_n_u8(hb, 2), bits45)),
          };
          unroll<4>([&](auto k) {
            const int8x16_t wq = vsubq_s8(vreinterpretq_s8_u8(q[k]), offset);
            const int scale = scales[8 * h + 2 * k + decltype(half)::value];
            unroll<T>([&](auto t) {
              const uint8_t* xq = xb[t] + offsetof(BlockQ8_K, qs) + 128 * h + 32 * k + l0;
              isum[t] = vmlaq_n_s32(isum[t], IntDot::dot(vdupq_n_s32(0), wq, load_s8(xq)), scale);
            });
          });
        });
      });
      const float d = load_fp16(block + offsetof(BlockQ6_K, d));
      unroll<T>([&](auto t) {
        float dx;
        std::memcpy(&dx, xb[t] + offsetof(BlockQ8_K, d), 4);
        acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(isum[t]), d * dx);
      });
    });
  }
  store_tile<R, T>(a, acc, Neon128::sum);
}

// ---------------------------------------------------------------------------------------------
// Activation encoders (EncodeFn): quantize_row's bytes, or f32 values rounded as quantize_row
// rounds them (F16, BF16).

void encode_blocks(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& e) {
  quantize_activation_row(e.act_type, x, out.blocks, n);
}

void encode_f32(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& e) {
  if (e.act_type == DType::F32) return static_cast<void>(std::memcpy(out.f, x, n * sizeof(float)));
  for (int64_t i = 0; i < n; ++i) {
    out.f[i] = e.act_type == DType::F16 ? fp16_to_f32(f32_to_fp16(x[i])) : bf16_to_f32(f32_to_bf16(x[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// Family tables.

template <class IntDot, class Weights>
struct Q8_32Tiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q8_32<IntDot, Weights, R, T>;
  };
};
template <class IntDot>
struct Q4_KTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q4_k<IntDot, R, T>;
  };
};
template <class IntDot>
struct Q6_KTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q6_k<IntDot, R, T>;
  };
};
EncodeFn encoder_for(ActLayout layout) {
  switch (layout) {
    case ActLayout::blocks:
      return encode_blocks;
    case ActLayout::f32:
      return encode_f32;
    default:  // the NEON tiles read quantize_row's blocks
      return nullptr;
  }
}

}  // namespace
}  // namespace jf
