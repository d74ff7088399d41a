// The tiles of GGUF block rows on 128-bit vectors with signed codes, and their activation encoders,
// written once over a vector policy `V` (neon_tiles.h: Neon128; wasm_tiles.h: Wasm128) and an
// `IntDot` policy (acc + the 16 products a[i] * b[i] of two int8x16 vectors, added into the 4 int32
// lanes; which lane gets which products is the policy's business). Each cpu_<isa>.cpp includes its
// ISA header once, under its own target flags; everything here has internal linkage, so the copies
// compiled for different ISAs never merge.
//
// Besides the float policy of tile_common.h, `V` provides:
//   I8, I32                      16 int8 and 4 int32 lanes
//   load_i8(p)                   16 int8 from p
//   nibbles(p, &lo, &hi)         the low and the high nibbles of the 16 bytes at p, as int8 0..15
//   set1_i8(v), sub_i8(a, b), or_i8(a, b)
//   high2<kShift>(h)             bits kShift, kShift + 1 of each byte of h moved to bits 4, 5 (others 0)
//   zero_i32(), mla_i32(acc, v, s)   a zero vector; acc + v * s, s an int32
//   fmadd_i32(acc, v, s)         acc + float(v) * s, s a float
//   Mins, load_mins(mins), min_sum(m, bsums)   Q4_K: the 8 mins of a super-block held for
//                                min_sum, sum_s mins[s] * (bsums[2s] + bsums[2s + 1]) spread over
//                                the int32 lanes, from a Q8_K block's 16 int16 sums at bsums
//   fp16(p)                      the fp16 at p as a float
//
// The quantised types read the activations as quantize_row writes them (ActLayout::blocks: Q8_0
// blocks for Q4_0 / Q8_0, Q8_K blocks for Q4_K / Q6_K) and compute each block's integer sum exactly
// with signed 8-bit products, then scale it in f32 as vec_dot_ref does. The float types are
// tile_common.h's float tiles.
//
// Tile shapes: R weight rows x T tokens over columns [k0, k1). The accumulator of each (row, token)
// pair sees the same sequence of operations whatever R, T and the thread count are, so results do
// not depend on tiling or threads (only k_block changes the float summation order). Policies give the
// same integer sum per block but may spread it differently over the lanes, which are scaled and added
// in f32 before the final horizontal sum: ISAs may differ in the last bits.
#pragma once

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
// Blocks of 32 (Q4_0, Q8_0) against Q8_0 activation blocks [34 B]: fp16 d, 32 int8.
// Per block: the exact integer sum of w[i] * x[i] (signed codes), times d_w * d_x in f32.

// Q4_0 block [18 B]: fp16 d, 16 bytes of nibble pairs (byte j: element j low, element j + 16 high);
// value d * (code - 8).
template <class V>
struct Q4_0Weights {
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  // Elements 0-15 and 16-31 as signed int8.
  static void load(const uint8_t* block, typename V::I8* w0, typename V::I8* w1) {
    typename V::I8 lo, hi;
    V::nibbles(block + offsetof(BlockQ4_0, qs), &lo, &hi);
    *w0 = V::sub_i8(lo, V::set1_i8(8));
    *w1 = V::sub_i8(hi, V::set1_i8(8));
  }
};

// Q8_0 block [34 B]: fp16 d, 32 int8.
template <class V>
struct Q8_0Weights {
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  static void load(const uint8_t* block, typename V::I8* w0, typename V::I8* w1) {
    *w0 = V::load_i8(block + offsetof(BlockQ8_0, qs));
    *w1 = V::load_i8(block + offsetof(BlockQ8_0, qs) + 16);
  }
};

// W[R, k1-k0] (Q4_0 / Q8_0) · X[T, k1-k0] (Q8_0 blocks) -> Y[T, R].
template <class V, class IntDot, class Weights, int R, int T>
__attribute__((flatten)) void tile_q8_32(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  typename V::F acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = V::zero(); }); });
  const int64_t b_end = a.k1 / kQK;
  for (int64_t b = a.k0 / kQK; b < b_end; ++b) {
    const uint8_t* xb[T];
    float dx[T];
    unroll<T>([&](auto t) {
      xb[t] = x.blocks[t] + b * sizeof(BlockQ8_0);
      dx[t] = V::fp16(xb[t] + offsetof(BlockQ8_0, d));
    });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + b * Weights::kBlockBytes;
      prefetch(block, prefetch_bytes);
      typename V::I8 w0, w1;
      Weights::load(block, &w0, &w1);
      const float dw = V::fp16(block);  // d comes first in both block types
      unroll<T>([&](auto t) {
        const uint8_t* xq = xb[t] + offsetof(BlockQ8_0, qs);
        const typename V::I32 sum =
            IntDot::dot(IntDot::dot(V::zero_i32(), w0, V::load_i8(xq)), w1, V::load_i8(xq + 16));
        acc[r][t] = V::fmadd_i32(acc[r][t], sum, dw * dx[t]);
      });
    });
  }
  store_tile<R, T>(a, acc, V::sum);
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
template <class V, class IntDot, int R, int T>
__attribute__((flatten)) void tile_q4_k(const Tile& a) {
  using I32 = typename V::I32;
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  typename V::F acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = V::zero(); }); });
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    const uint8_t* xb[T];
    unroll<T>([&](auto t) { xb[t] = x.blocks[t] + sb * sizeof(BlockQ8_K); });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * sizeof(BlockQ4_K);
      prefetch(block, prefetch_bytes);
      uint8_t scales[8], mins[8];
      q4_k_scales_mins(block + offsetof(BlockQ4_K, scales), scales, mins);
      I32 isum[T];
      unroll<T>([&](auto t) { isum[t] = V::zero_i32(); });
      unroll<4>([&](auto c) {
        // Sub-block 2c: elements 64c..64c+31 (low nibbles); sub-block 2c + 1: 64c+32..64c+63 (high).
        const uint8_t* qs = block + offsetof(BlockQ4_K, qs) + 32 * c;
        typename V::I8 lo0, hi0, lo1, hi1;
        V::nibbles(qs, &lo0, &hi0);
        V::nibbles(qs + 16, &lo1, &hi1);
        unroll<T>([&](auto t) {
          const uint8_t* xq = xb[t] + offsetof(BlockQ8_K, qs) + 64 * c;
          const I32 dot_lo =
              IntDot::dot(IntDot::dot(V::zero_i32(), lo0, V::load_i8(xq)), lo1, V::load_i8(xq + 16));
          const I32 dot_hi =
              IntDot::dot(IntDot::dot(V::zero_i32(), hi0, V::load_i8(xq + 32)), hi1, V::load_i8(xq + 48));
          isum[t] = V::mla_i32(isum[t], dot_lo, scales[2 * c]);
          isum[t] = V::mla_i32(isum[t], dot_hi, scales[2 * c + 1]);
        });
      });
      const typename V::Mins mins_v = V::load_mins(mins);
      const float d = V::fp16(block + offsetof(BlockQ4_K, d));
      const float dmin = V::fp16(block + offsetof(BlockQ4_K, dmin));
      unroll<T>([&](auto t) {
        float dx;
        std::memcpy(&dx, xb[t] + offsetof(BlockQ8_K, d), 4);
        const I32 min_sum = V::min_sum(mins_v, xb[t] + offsetof(BlockQ8_K, bsums));
        acc[r][t] = V::fmadd_i32(acc[r][t], isum[t], d * dx);
        acc[r][t] = V::fmadd_i32(acc[r][t], min_sum, -(dmin * dx));
      });
    });
  }
  store_tile<R, T>(a, acc, V::sum);
}

// W[R, k1-k0] (Q6_K) · X[T, k1-k0] (Q8_K blocks) -> Y[T, R].
// Q6_K super-block [210 B]: ql 128 B, qh 64 B, 16 int8 scales (one per 16 elements), fp16 d.
// Element 128h + 32k + l (half h, quarter k, l < 32) has low 4 bits in ql[64h + 32(k & 1) + l]
// (low nibble for k < 2, high for k >= 2) and high 2 bits in qh[32h + l] bits 2k..2k+1; value
// d * scale * (q - 32).
template <class V, class IntDot, int R, int T>
__attribute__((flatten)) void tile_q6_k(const Tile& a) {
  using I8 = typename V::I8;
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  typename V::F acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = V::zero(); }); });
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    const uint8_t* xb[T];
    unroll<T>([&](auto t) { xb[t] = x.blocks[t] + sb * sizeof(BlockQ8_K); });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * sizeof(BlockQ6_K);
      prefetch(block, prefetch_bytes);
      const int8_t* scales = reinterpret_cast<const int8_t*>(block + offsetof(BlockQ6_K, scales));
      typename V::I32 isum[T];
      unroll<T>([&](auto t) { isum[t] = V::zero_i32(); });
      unroll<2>([&](auto h) {
        const uint8_t* ql = block + offsetof(BlockQ6_K, ql) + 64 * h;
        const uint8_t* qh = block + offsetof(BlockQ6_K, qh) + 32 * h;
        // Per 16 elements l0..l0+15 (l0 = 0, 16) of each quarter k: q - 32 as int8.
        unroll<2>([&](auto half) {
          constexpr int l0 = 16 * decltype(half)::value;
          I8 lo0, hi0, lo1, hi1;
          V::nibbles(ql + l0, &lo0, &hi0);
          V::nibbles(ql + 32 + l0, &lo1, &hi1);
          const I8 hb = V::load_i8(qh + l0);
          const I8 q[4] = {V::or_i8(lo0, V::template high2<0>(hb)), V::or_i8(lo1, V::template high2<2>(hb)),
                           V::or_i8(hi0, V::template high2<4>(hb)), V::or_i8(hi1, V::template high2<6>(hb))};
          unroll<4>([&](auto k) {
            const I8 wq = V::sub_i8(q[k], V::set1_i8(32));
            const int scale = scales[8 * h + 2 * k + decltype(half)::value];
            unroll<T>([&](auto t) {
              const uint8_t* xq = xb[t] + offsetof(BlockQ8_K, qs) + 128 * h + 32 * k + l0;
              isum[t] = V::mla_i32(isum[t], IntDot::dot(V::zero_i32(), wq, V::load_i8(xq)), scale);
            });
          });
        });
      });
      const float d = V::fp16(block + offsetof(BlockQ6_K, d));
      unroll<T>([&](auto t) {
        float dx;
        std::memcpy(&dx, xb[t] + offsetof(BlockQ8_K, d), 4);
        acc[r][t] = V::fmadd_i32(acc[r][t], isum[t], d * dx);
      });
    });
  }
  store_tile<R, T>(a, acc, V::sum);
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

template <class V, class IntDot, template <class> class Weights>
struct Q8_32Tiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q8_32<V, IntDot, Weights<V>, R, T>;
  };
};
template <class V, class IntDot>
struct Q4_KTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q4_k<V, IntDot, R, T>;
  };
};
template <class V, class IntDot>
struct Q6_KTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q6_k<V, IntDot, R, T>;
  };
};
EncodeFn encoder_for(ActLayout layout) {
  switch (layout) {
    case ActLayout::blocks:
      return encode_blocks;
    case ActLayout::f32:
      return encode_f32;
    default:  // these tiles read quantize_row's blocks
      return nullptr;
  }
}

}  // namespace
}  // namespace jf
