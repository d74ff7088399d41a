// The x86 vector policies and 256-bit micro-tiles, and the x86 activation encoders, shared by
// cpu_avx2.cpp and cpu_avx512.cpp (the ISA-independent layer is tile_common.h: TokenRows,
// store_tile, the float tiles, make_family).
//
// Each of those files includes this header once, under its own target flags, with an `IntDot`
// policy (AVX2 maddubs/madd or AVX-512 VNNI dpbusd/dpwssd) and a float vector policy (Ymm here,
// Zmm in cpu_avx512.cpp). Everything here has internal linkage (anonymous namespace), so the two
// compilations never merge (no ODR clash between ISAs).
//
// Tile shapes: R weight rows x T tokens over columns [k0, k1). The accumulator of each (row, token)
// pair sees the same sequence of operations whatever R, T and the thread count are, so results do
// not depend on tiling or threads (only k_block changes the float summation order).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "base/fp16.h"
#include "kernels/matmul/kernels.h"
#include "kernels/matmul/tile_common.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers.

// The fp16 at p, converted and broadcast to 8 lanes (a broadcast load and one conversion).
inline __m256 fp16_broadcast(const uint8_t* p) {
  int16_t h;
  std::memcpy(&h, p, 2);
  return _mm256_cvtph_ps(_mm_set1_epi16(h));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline __m256 abs_ps(__m256 v) {
  return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// ---------------------------------------------------------------------------------------------
// Legacy blocks of 32 against Q8_0 activations (ActLayout::q8_32) or Q8_1 ones (q8_32_sum).
//
// Per block b the exact integer sum  sum_i u[i] * x[i] + bias  with u the unsigned weight codes
// (weight + offset) and bias = -offset * sum_i x[i] equals sum_i w[i] * x[i]; it is then scaled
// once by d_w * d_x in f32, as vec_dot_ref does. The affine types (Q4_1, Q5_1: w = d * u + m) add
// m * s_x with the activation sum s_x = fp16(d_x * sum_i x[i]) of Q8_1, as llama.cpp does.

// 16 bytes of nibble pairs (byte j: element j low, element j + 16 high) -> 32 codes 0..15.
inline __m256i nibble_codes(const uint8_t* qs) {
  // The 16 bytes in both lanes; the high lane shifted by 4 (32-bit shifts are fine: the mask drops
  // the bits that cross into the next byte).
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  const __m256i nibbles = _mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
  return _mm256_and_si256(nibbles, _mm256_set1_epi8(0x0F));
}

// 4 bytes qh (bit i = bit 4 of element i) -> 32 bytes of 0x10 or 0.
inline __m256i fifth_bits(const uint8_t* qh) {
  // Byte i takes byte i / 8 of qh and keeps bit i % 8.
  int32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread =
      _mm256_shuffle_epi8(_mm256_set1_epi32(bits),
                          _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// The 4- and 5-bit types: Q4_0 [18 B] = d, qs; Q5_0 [22 B] = d, qh, qs; Q4_1 [20 B] = d, m, qs;
// Q5_1 [24 B] = d, m, qh, qs (d, m fp16). kQh < 0: no fifth bit; kMin < 0: symmetric (offset 8 or 16).
template <class IntDot, int kBytes, int kQs, int kQh, int kMin>
struct NibbleWeights {
  static constexpr int kBlockBytes = kBytes;
  static constexpr bool kAffine = kMin >= 0;
  static constexpr int kOffset = kAffine ? 0 : kQh >= 0 ? 16 : 8;
  struct Codes {
    __m256i u;  // 32 codes 0..15 or 0..31 in element order
  };
  static Codes load(const uint8_t* block) {
    if constexpr (kQh >= 0) return {_mm256_or_si256(nibble_codes(block + kQs), fifth_bits(block + kQh))};
    return {nibble_codes(block + kQs)};
  }
  static __m256i dot(__m256i bias, const Codes& w, __m256i x) { return IntDot::dot_u8s8(bias, w.u, x); }
  static __m256 min(const uint8_t* block) { return fp16_broadcast(block + kMin); }
};
template <class IntDot>
using Q4_0Weights = NibbleWeights<IntDot, sizeof(BlockQ4_0), offsetof(BlockQ4_0, qs), -1, -1>;
template <class IntDot>
using Q5_0Weights =
    NibbleWeights<IntDot, sizeof(BlockQ5_0), offsetof(BlockQ5_0, qs), offsetof(BlockQ5_0, qh), -1>;
template <class IntDot>
using Q4_1Weights =
    NibbleWeights<IntDot, sizeof(BlockQ4_1), offsetof(BlockQ4_1, qs), -1, offsetof(BlockQ4_1, m)>;
template <class IntDot>
using Q5_1Weights = NibbleWeights<IntDot, sizeof(BlockQ5_1), offsetof(BlockQ5_1, qs), offsetof(BlockQ5_1, qh),
                                  offsetof(BlockQ5_1, m)>;

// Q8_0 block [34 B]: fp16 d, 32 int8. maddubs would saturate on (w + 128) * x, so the sign moves
// onto x instead: |w| * (x * sign(w)), no bias. (|-128| = 128 as u8 times |x| <= 127 still fits.)
template <class IntDot>
struct Q8_0Weights {
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kAffine = false;
  static constexpr int kOffset = 0;
  struct Codes {
    __m256i u;    // |w|
    __m256i raw;  // w, for the sign of x
  };
  static Codes load(const uint8_t* block) {
    const __m256i raw = load256(block + 2);
    return {_mm256_abs_epi8(raw), raw};
  }
  static __m256i dot(__m256i bias, const Codes& w, __m256i x) {
    return IntDot::dot_u8s8(bias, w.u, _mm256_sign_epi8(x, w.raw));
  }
};

// W[R, k1-k0] (4-, 5- and 8-bit blocks) · X[T, k1-k0] (Q8_0 / Q8_1 codes) -> Y[T, R].
template <class Weights, int R, int T>
__attribute__((flatten)) void tile_q8_32(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  __m256 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm256_setzero_ps(); }); });
  const int64_t b_end = a.k1 / kQK;
  for (int64_t b = a.k0 / kQK; b < b_end; ++b) {
    __m256 dx[T];
    unroll<T>([&](auto t) { dx[t] = _mm256_broadcast_ss(x.d[t] + b); });
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + b * Weights::kBlockBytes;
      prefetch(block, prefetch_bytes);
      const typename Weights::Codes codes = Weights::load(block);
      const __m256 dw = fp16_broadcast(block);
      unroll<T>([&](auto t) {
        __m256i bias = _mm256_setzero_si256();
        if constexpr (Weights::kOffset != 0) bias = _mm256_zextsi128_si256(_mm_cvtsi32_si128(x.bias[t][b]));
        const __m256i sum = Weights::dot(bias, codes, load256(x.qs[t] + b * kQK));
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(dw, dx[t]), acc[r][t]);
        if constexpr (Weights::kAffine) {  // + m * s_x, in lane 0
          acc[r][t] = _mm256_fmadd_ps(Weights::min(block), _mm256_zextps128_ps256(_mm_load_ss(x.sums[t] + b)),
                                      acc[r][t]);
        }
      });
    });
  }
  store_tile<R, T>(a, acc, hsum);
}

// ---------------------------------------------------------------------------------------------
// K-quants (super-blocks of 256) against Q8_K activations (ActLayout::q8_256). Per super-block and
// (row, token) the integer sum over its sub-blocks  sum_s scale_s * (q · x)_s  is exact in int32,
// then scaled once by d_w * d_x (and the min term by dmin_w * d_x), as vec_dot_ref does.

// Broadcast of int16 element `j` of a 128-bit lane to the whole lane (pshufb control).
inline __m256i pick_i16(__m256i v, int j) {
  return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<short>((2 * j) | ((2 * j + 1) << 8))));
}

// Element j (< 4) of the low lane and element j + 1 of the high lane, each broadcast to its lane.
inline __m256i pick_i16_pair(__m256i v, int j) {
  const short lo = static_cast<short>((2 * j) | ((2 * j + 1) << 8));
  const short hi = static_cast<short>((2 * j + 2) | ((2 * j + 3) << 8));
  return _mm256_shuffle_epi8(
      v, _mm256_setr_epi16(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi));
}

// The 8 six-bit scales and mins of a Q4_K super-block, from their 12 packed bytes:
// bytes 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7, bytes 4-7 the same for
// the mins, bytes 8-11 the low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high nibble).
inline void q4_k_scales_mins(const uint8_t* packed, __m128i* scales, __m128i* mins) {
  uint32_t s[3];
  std::memcpy(s, packed, 12);
  const uint32_t sc_lo = s[0] & 0x3f3f3f3f;
  const uint32_t mn_lo = s[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (s[2] & 0x0f0f0f0f) | ((s[0] >> 2) & 0x30303030);
  const uint32_t mn_hi = ((s[2] >> 4) & 0x0f0f0f0f) | ((s[1] >> 2) & 0x30303030);
  *scales = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>((uint64_t{sc_hi} << 32) | sc_lo)));
  *mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>((uint64_t{mn_hi} << 32) | mn_lo)));
}

// W[R, k1-k0] (Q4_K / Q5_K) · X[T, k1-k0] (Q8_K) -> Y[T, R].
// Q4_K super-block [144 B]: fp16 d, fp16 dmin, 12 B scales/mins, 128 B codes in 4 chunks of 32 bytes:
// byte j of chunk c holds element 64c + j (low nibble, sub-block 2c) and 64c + 32 + j (high nibble,
// sub-block 2c + 1). Element = d * scale_s * q - dmin * min_s.
// Q5_K [176 B] inserts 32 B qh after the scales: bit 2c of qh[j] is bit 4 of element 64c + j, bit
// 2c + 1 that of element 64c + 32 + j.
struct Q4_KLayout {
  static constexpr int kBlockBytes = sizeof(BlockQ4_K);
  static constexpr int kQs = offsetof(BlockQ4_K, qs);
  static constexpr int kQh = -1;
};
struct Q5_KLayout {
  static constexpr int kBlockBytes = sizeof(BlockQ5_K);
  static constexpr int kQs = offsetof(BlockQ5_K, qs);
  static constexpr int kQh = offsetof(BlockQ5_K, qh);
};
static_assert(offsetof(BlockQ4_K, scales) == offsetof(BlockQ5_K, scales) &&
              offsetof(BlockQ4_K, dmin) == offsetof(BlockQ5_K, dmin));

// Bit kBit of each byte of v, moved to bit 4 (0x10 or 0).
template <int kBit>
inline __m256i bit_to_16(__m256i v) {
  const __m256i one = _mm256_and_si256(v, _mm256_set1_epi8(static_cast<char>(1 << kBit)));
  if constexpr (kBit < 4) return _mm256_slli_epi16(one, 4 - kBit);
  if constexpr (kBit > 4) return _mm256_srli_epi16(one, kBit - 4);
  return one;
}

template <class IntDot, class Layout, int R, int T>
__attribute__((flatten)) void tile_q4_k(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm256_setzero_ps(); }); });
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * Layout::kBlockBytes;
      prefetch(block, prefetch_bytes);
      __m128i scales8, mins8;
      q4_k_scales_mins(block + offsetof(BlockQ4_K, scales), &scales8, &mins8);
      const __m256i scales = _mm256_broadcastsi128_si256(scales8);
      __m256i isum[T];
      unroll<T>([&](auto t) { isum[t] = _mm256_setzero_si256(); });
      unroll<4>([&](auto c) {
        const __m256i q = load256(block + Layout::kQs + 32 * c);
        __m256i lo = _mm256_and_si256(q, low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        if constexpr (Layout::kQh >= 0) {
          const __m256i qh = load256(block + Layout::kQh);
          lo = _mm256_or_si256(lo, bit_to_16<2 * decltype(c)::value>(qh));
          hi = _mm256_or_si256(hi, bit_to_16<2 * decltype(c)::value + 1>(qh));
        }
        const __m256i s_lo = pick_i16(scales, 2 * c);
        const __m256i s_hi = pick_i16(scales, 2 * c + 1);
        unroll<T>([&](auto t) {
          const int8_t* xq = x.qs[t] + sb * kQK_K + 64 * c;
          isum[t] = IntDot::madd_i16(isum[t], _mm256_maddubs_epi16(lo, load256(xq)), s_lo);
          isum[t] = IntDot::madd_i16(isum[t], _mm256_maddubs_epi16(hi, load256(xq + 32)), s_hi);
        });
      });
      // Mins duplicated per pair of 16-sums: [m0 m0 m1 m1 ... m7 m7] against the 16 bsums.
      const __m256i mins =
          _mm256_set_m128i(_mm_unpackhi_epi16(mins8, mins8), _mm_unpacklo_epi16(mins8, mins8));
      const __m256 d = fp16_broadcast(block + offsetof(BlockQ4_K, d));
      const __m256 dmin = fp16_broadcast(block + offsetof(BlockQ4_K, dmin));
      unroll<T>([&](auto t) {
        const __m256 dx = _mm256_broadcast_ss(x.d[t] + sb);
        const __m256i min_sum = _mm256_madd_epi16(mins, load256(x.bsums[t] + sb * 16));
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d, dx), acc[r][t]);
        acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(min_sum), _mm256_mul_ps(dmin, dx), acc[r][t]);
      });
    });
  }
  store_tile<R, T>(a, acc, hsum);
}

// W[R, k1-k0] (Q6_K) · X[T, k1-k0] (Q8_K) -> Y[T, R].
// Q6_K super-block [210 B]: ql 128 B, qh 64 B, 16 int8 scales (one per 16 elements), fp16 d.
// Element 128h + 32k + l (half h, quarter k, l < 32) has low 4 bits in ql[64h + 32(k & 1) + l]
// (low nibble for k < 2, high for k >= 2) and high 2 bits in qh[32h + l] bits 2k..2k+1; value
// d * scale * (q - 32). The unsigned q (0..63) goes through maddubs; the -32 comes back as
// -32 * sum_g scale_g * bsum_g.
template <class IntDot, int R, int T>
__attribute__((flatten)) void tile_q6_k(const Tile& a) {
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  __m256 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm256_setzero_ps(); }); });
  const int64_t sb_end = a.k1 / kQK_K;
  for (int64_t sb = a.k0 / kQK_K; sb < sb_end; ++sb) {
    unroll<R>([&](auto r) {
      const uint8_t* block = w + r * w_stride + sb * sizeof(BlockQ6_K);
      prefetch(block, prefetch_bytes);
      const __m256i scales = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + offsetof(BlockQ6_K, scales))));
      __m256i isum[T];
      unroll<T>([&](auto t) { isum[t] = _mm256_setzero_si256(); });
      unroll<2>([&](auto h) {
        const uint8_t* ql = block + offsetof(BlockQ6_K, ql) + 64 * h;
        const __m256i ql0 = load256(ql);
        const __m256i ql1 = load256(ql + 32);
        const __m256i qh = load256(block + offsetof(BlockQ6_K, qh) + 32 * h);
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
            _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                            _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
        };
        // The 8 scales of this half in both lanes; quarter k uses 2k (low lane) and 2k + 1 (high).
        constexpr int kHalf = decltype(h)::value == 0 ? 0x00 : 0x11;
        const __m256i half_scales = _mm256_permute2x128_si256(scales, scales, kHalf);
        unroll<4>([&](auto k) {
          const __m256i s = pick_i16_pair(half_scales, 2 * k);
          unroll<T>([&](auto t) {
            const int8_t* xq = x.qs[t] + sb * kQK_K + 128 * h + 32 * k;
            isum[t] = IntDot::madd_i16(isum[t], _mm256_maddubs_epi16(q[k], load256(xq)), s);
          });
        });
      });
      const __m256 d = fp16_broadcast(block + offsetof(BlockQ6_K, d));
      unroll<T>([&](auto t) {
        const __m256 dx = _mm256_broadcast_ss(x.d[t] + sb);
        // 32 * sum_g scale_g * bsum_g: the offset of the unsigned codes.
        const __m256i offset_sum =
            _mm256_slli_epi32(_mm256_madd_epi16(scales, load256(x.bsums[t] + sb * 16)), 5);
        const __m256i sum = _mm256_sub_epi32(isum[t], offset_sum);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, dx), acc[r][t]);
      });
    });
  }
  store_tile<R, T>(a, acc, hsum);
}

// ---------------------------------------------------------------------------------------------
// The vector policy at 256 bits (tile_common.h's tile_float and tile_x16; cpu_avx512.cpp adds Zmm).

struct Ymm {
  using F = __m256;
  using I = __m256i;
  static constexpr int kLanes = 8;
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static I load_i(const void* p) { return load256(p); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F from_i32(I v) { return _mm256_cvtepi32_ps(v); }
  static F load_f16(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static F load_bf16(const uint8_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float sum(F v) { return hsum(v); }
};

// ---------------------------------------------------------------------------------------------
// Activation encoders: the same bytes as quantize_row (tensor/quant.cpp), which follows llama.cpp's
// x86 backend: Q8_0 multiplies by 127/amax and rounds half to even; Q8_K maps the signed largest
// magnitude (first of equals) to -127 and rounds half to even.

// 32 int32 codes (4 vectors of 8, in order) -> 32 int8 (they are within [-127, 127]).
inline __m256i pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // lanes interleave: a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256i round_to_i32(__m256 v) {
  return _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// One Q8_0 block: x[32] -> qs[32]; returns the fp16 bits of d, and the sums of codes 0-15 and 16-31
// and the unrounded d (Q8_1's sum uses it).
inline uint16_t q8_0_block(const float* x, int8_t* qs, int* sum_low, int* sum_high, float* d_f32 = nullptr) {
  __m256 v[4];
  for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
  const float amax = hmax(
      _mm256_max_ps(_mm256_max_ps(abs_ps(v[0]), abs_ps(v[1])), _mm256_max_ps(abs_ps(v[2]), abs_ps(v[3]))));
  const float d = amax / 127.0f;
  const __m256 id = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0.0f);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) q[i] = round_to_i32(_mm256_mul_ps(v[i], id));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
  *sum_low = hsum_i32(_mm256_add_epi32(q[0], q[1]));
  *sum_high = hsum_i32(_mm256_add_epi32(q[2], q[3]));
  if (d_f32 != nullptr) *d_f32 = d;
  return _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
}

// One Q8_K block: x[256] -> qs[256], bsums[16]; returns d.
inline float q8_k_block(const float* x, int8_t* qs, int16_t* bsums) {
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < kQK_K; i += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
  const float amax = hmax(m);
  if (amax == 0) {
    std::memset(qs, 0, kQK_K);
    std::memset(bsums, 0, kQK_K / 16 * sizeof(int16_t));
    return 0;
  }
  // The first element of largest magnitude keeps its sign (the scalar scan's tie rule).
  const __m256 amax_v = _mm256_set1_ps(amax);
  int first = 0;
  for (int i = 0; i < kQK_K; i += 8) {
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + i)), amax_v, _CMP_EQ_OQ));
    if (mask != 0) {
      first = i + __builtin_ctz(static_cast<unsigned>(mask));
      break;
    }
  }
  const float iscale = -127.0f / x[first];
  const __m256 scale = _mm256_set1_ps(iscale);
  const __m256i max_code = _mm256_set1_epi32(127);
  for (int i = 0; i < kQK_K; i += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; ++j) {
      q[j] = _mm256_min_epi32(round_to_i32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), scale)), max_code);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + i), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    bsums[i / 16] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(q[0], q[1])));
    bsums[i / 16 + 1] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(q[2], q[3])));
  }
  return 1 / iscale;
}

// f32 -> f16 -> f32 (round to nearest even, as f32_to_fp16), n any.
inline void round_through_f16(const float* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

// ActLayout::q8_32 / q8_32_sum / q8_x16 / q8_256 / f32 encoders (EncodeFn).
void encode_q8_32(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& e) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    int low, high;
    out.d[b] = _cvtsh_ss(q8_0_block(x + b * kQK, out.qs + b * kQK, &low, &high));
    if (e.bias_offset != 0) out.bias[b] = -e.bias_offset * (low + high);
  }
}

// Q8_1 as quantize_row writes it: Q8_0's codes and scale, and s = fp16(d * sum of codes) with the
// unrounded d.
void encode_q8_32_sum(const float* x, int64_t n, const ActRowOut& out, const ActEncoding&) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    int low, high;
    float d;
    out.d[b] = _cvtsh_ss(q8_0_block(x + b * kQK, out.qs + b * kQK, &low, &high, &d));
    out.sums[b] = _cvtsh_ss(_cvtss_sh(d * static_cast<float>(low + high), _MM_FROUND_TO_NEAREST_INT));
  }
}

// Q8_0 codes in the order of WeightLayout::x16 (see ActLayout::q8_x16): each block quantised as
// quantize_row does, its 8 lanes of 4 codes scattered to vectors 0..7 of its group.
void encode_q8_x16(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& e) {
  const int64_t n_blocks = n / kQK;
  const int64_t n_padded = x16_groups(n) * kX16Blocks;
  for (int64_t b = 0; b < n_padded; ++b) {
    int8_t* group = out.qs + (b / kX16Blocks) * kX16Blocks * kQK;
    const int64_t j = b % kX16Blocks;
    alignas(32) int8_t codes[kQK] = {};
    int low = 0, high = 0;
    out.d[b] = b < n_blocks ? _cvtsh_ss(q8_0_block(x + b * kQK, codes, &low, &high)) : 0.0f;
    out.bias[b] = -e.bias_offset * (low + high);
    for (int v = 0; v < kQK / 4; ++v) std::memcpy(group + v * 64 + 4 * j, codes + 4 * v, 4);
  }
}

// Q8_K in the order of WeightLayout::x16 Q4_K weights (see ActLayout::q8_k_x16): each super-block
// quantised as quantize_row does, the 8 lanes of 4 codes of each sub-block scattered to vectors
// 0..7 of its group.
void encode_q8_k_x16(const float* x, int64_t n, const ActRowOut& out, const ActEncoding&) {
  constexpr int64_t kSubBlocks = kQK_K / kQK;
  const int64_t n_sub_blocks = n / kQK;
  const int64_t n_padded = x16_groups(n) * kX16Blocks;
  alignas(32) int8_t codes[kQK_K] = {};
  int16_t bsums[kQK_K / 16] = {};
  float d = 0;
  for (int64_t b = 0; b < n_padded; ++b) {
    const int64_t s = b % kSubBlocks;
    if (s == 0) {
      if (b < n_sub_blocks) {
        d = q8_k_block(x + b * kQK, codes, bsums);
      } else {  // padding: zero codes, scales and sums
        std::memset(codes, 0, sizeof(codes));
        std::memset(bsums, 0, sizeof(bsums));
        d = 0;
      }
    }
    int8_t* group = out.qs + (b / kX16Blocks) * kX16Blocks * kQK;
    const int64_t j = b % kX16Blocks;
    for (int v = 0; v < kQK / 4; ++v) std::memcpy(group + v * 64 + 4 * j, codes + kQK * s + 4 * v, 4);
    out.d[b] = d;
    out.sums[b] = d * static_cast<float>(bsums[2 * s] + bsums[2 * s + 1]);
  }
}

void encode_q8_256(const float* x, int64_t n, const ActRowOut& out, const ActEncoding&) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    out.d[b] = q8_k_block(x + b * kQK_K, out.qs + b * kQK_K, out.bsums + b * 16);
  }
}

void encode_f32(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& e) {
  if (e.act_type == DType::F16) return round_through_f16(x, out.f, n);
  if (e.act_type == DType::BF16) {
    for (int64_t i = 0; i < n; ++i) out.f[i] = bf16_to_f32(f32_to_bf16(x[i]));
    return;
  }
  std::memcpy(out.f, x, n * sizeof(float));
}

// quantize_row's exact bytes for the activation types these encoders cover; false for others.
bool quantize_row_x86(DType act_type, const float* x, void* dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  switch (act_type) {
    case DType::Q8_0:
      for (int64_t b = 0; b < n / kQK; ++b) {
        BlockQ8_0 block;
        int low, high;
        block.d = q8_0_block(x + b * kQK, block.qs, &low, &high);
        std::memcpy(out + b * sizeof(BlockQ8_0), &block, sizeof(block));
      }
      return true;
    case DType::Q8_1:
      for (int64_t b = 0; b < n / kQK; ++b) {
        BlockQ8_1 block;
        int low, high;
        float d;
        block.d = q8_0_block(x + b * kQK, block.qs, &low, &high, &d);
        block.s = _cvtss_sh(d * static_cast<float>(low + high), _MM_FROUND_TO_NEAREST_INT);
        std::memcpy(out + b * sizeof(BlockQ8_1), &block, sizeof(block));
      }
      return true;
    case DType::Q8_K:
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        BlockQ8_K block;
        block.d = q8_k_block(x + b * kQK_K, block.qs, block.bsums);
        std::memcpy(out + b * sizeof(BlockQ8_K), &block, sizeof(block));
      }
      return true;
    case DType::F16: {
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
      }
      for (; i < n; ++i) {
        const uint16_t h = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return true;
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Family tables.

// Tile sets per family, for fill_tiles.
template <class Weights>
struct Q8_32Tiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q8_32<Weights, R, T>;
  };
};
template <class IntDot, class Layout>
struct Q4_KTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_q4_k<IntDot, Layout, R, T>;
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
    case ActLayout::q8_32:
      return encode_q8_32;
    case ActLayout::q8_32_sum:
      return encode_q8_32_sum;
    case ActLayout::q8_x16:
      return encode_q8_x16;
    case ActLayout::q8_256:
      return encode_q8_256;
    case ActLayout::q8_k_x16:
      return encode_q8_k_x16;
    case ActLayout::f32:
      return encode_f32;
    case ActLayout::blocks:  // the x86 tiles read the q8_* layouts
      break;
  }
  return nullptr;
}

}  // namespace
}  // namespace jf
