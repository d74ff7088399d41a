// The AVX-512 VNNI gathered matvec of Q4_0 and Q8_0 channel-major weights: integer dot products
// across channels. Included by cpu_avx512.cpp only (compiled with its flags; internal linkage).
//
// The f32 entries (tiles.h) widen every code of every active channel to a float: about ten
// instructions per block of 32 outputs and channel, which caps them far below the memory's speed.
// Here four channels' blocks are transposed so that each 32-bit lane holds one output's codes of
// the four channels, and one vpdpbusd sums them against the four channels' factors quantized to
// int8. Per step of C channels j_0 .. j_(C-1) (C = 4, 8 or 16) and block b of 32 outputs:
//
//   s[k] = x[j_k] · d[j_k, b]                             the f32 factor of channel k in block b
//   S    = max_k |s[k]| / 127,   t[k] = round(s[k] / S)   int8, one scale per step and block
//   y[o] += S · Σ_k t[k] · (u[j_k, o] - offset)           the sum over k exact in int32
//
// with u the unsigned codes: Q4_0 codes 0..15 (offset 8); Q8_0 codes flipped to c + 128 (offset
// 128). Q4_0's high nibbles stay in place (16 u, offset 128, the sum scaled by S / 16): one
// instruction fewer per four channels than shifting them down.
//
// Quantizing the factors is the only rounding besides f32's: |t[k] · S - s[k]| <= S / 2, so an
// output of a step is within (max_k |s[k]| / 254) · Σ_k |u[j_k, o] - offset| of its f32 value
// (what the tests allow, on top of the f32 bound). It is the rounding the row-major kernels make
// when they quantize activations to Q8_0, and about as large: on docs-28M's decode at s = 0.5
// (cm Q8_0, 30 tokens) the gathered outputs were within 0.3-0.7 % (relative RMS, per site) of the
// f32 sums with 8 or 16 channels per step, where Q8_0 activations cost 0.3-0.6 %; 32 channels per
// step cost 0.4-1 %, so steps stop at 16.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/channel_major/channel_major.h"
#include "kernels/unroll.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// 4 x 16 bytes -> 16 lanes of 4: lane i of the result holds byte i of each 128-bit part of v
// (part k in byte k). The dwords first (lane part L gets dword L of each part), then the bytes
// within each part.
inline __m512i transpose_4x16(__m512i v) {
  const __m512i dwords = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i bytes = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  return _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, v), bytes);
}

// 16 bytes at each of p[0..3] + offset, one per 128-bit part.
inline __m512i load_4x16(const uint8_t* const* p, int64_t offset) {
  const auto at = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[k] + offset)); };
  __m512i v = _mm512_zextsi128_si512(at(0));
  v = _mm512_inserti32x4(v, at(1), 1);
  v = _mm512_inserti32x4(v, at(2), 2);
  return _mm512_inserti32x4(v, at(3), 3);
}

// The unsigned codes at `offset` of four channels (a block's codes, tensor/channel_major.h),
// transposed: lane i of lo holds output i of each channel, lane i of hi output 16 + i, as kHiScale
// times a code plus kOffset[1].
struct Int8Q4_0 {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ4_0::qs);
  static constexpr int32_t kOffset[2] = {8, 128};
  static constexpr float kHiScale = 1.0f / 16;
  static void codes(const uint8_t* const* w, int64_t offset, __m512i* lo, __m512i* hi) {
    const __m512i packed = transpose_4x16(load_4x16(w, offset));
    *lo = _mm512_and_si512(packed, _mm512_set1_epi8(0x0F));
    *hi = _mm512_and_si512(packed, _mm512_set1_epi8(static_cast<char>(0xF0)));
  }
};

struct Int8Q8_0 {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ8_0::qs);
  static constexpr int32_t kOffset[2] = {128, 128};
  static constexpr float kHiScale = 1.0f;
  static void codes(const uint8_t* const* w, int64_t offset, __m512i* lo, __m512i* hi) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    *lo = _mm512_xor_si512(transpose_4x16(load_4x16(w, offset)), flip);
    *hi = _mm512_xor_si512(transpose_4x16(load_4x16(w, offset + 16)), flip);
  }
};

template <class D>
struct Int8Gather {
  static constexpr int kChunk = 16;  // blocks whose factors are quantized together (a vector of scales)

  // The quantized factors of a step of C channels over a chunk of blocks: per quad of channels and
  // block the four t[k] as the bytes of a 32-bit pattern; per block S and the accumulators' start
  // values -offset · Σ_k t[k] (lo and hi outputs).
  template <int C>
  struct Factors {
    alignas(64) int32_t pattern[C / 4][kChunk];
    alignas(64) float scale[kChunk];
    alignas(64) int32_t start[2][kChunk];
  };

  template <int C>
  static void quantize_factors(const uint8_t* const* w, const float* xs, int64_t b0, int n, Factors<C>& f) {
    __m512 s[C];
    __m512 amax = _mm512_setzero_ps();
    const __mmask16 in_chunk = static_cast<__mmask16>((1u << n) - 1);
    unroll<C>([&](auto k) {
      const __m256i scales = _mm256_maskz_loadu_epi16(in_chunk, w[k] + 2 * b0);  // fp16, at the channel's start
      s[k] = _mm512_mul_ps(_mm512_cvtph_ps(scales), _mm512_set1_ps(xs[k]));
      amax = _mm512_max_ps(amax, _mm512_abs_ps(s[k]));
    });
    const __mmask16 nonzero = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_GT_OQ);
    const __m512 inverse = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(127.0f), amax);
    _mm512_store_ps(f.scale, _mm512_mul_ps(amax, _mm512_set1_ps(1.0f / 127.0f)));
    __m512i t[C];
    __m512i sum = _mm512_setzero_si512();
    unroll<C>([&](auto k) {
      t[k] = _mm512_cvtps_epi32(_mm512_mul_ps(s[k], inverse));
      sum = _mm512_add_epi32(sum, t[k]);
    });
    _mm512_store_si512(f.start[0], _mm512_mullo_epi32(sum, _mm512_set1_epi32(-D::kOffset[0])));
    _mm512_store_si512(f.start[1], _mm512_mullo_epi32(sum, _mm512_set1_epi32(-D::kOffset[1])));
    unroll<C / 4>([&](auto q) {
      __m512i pattern = _mm512_setzero_si512();
      unroll<4>([&](auto k) {
        const __m512i byte = _mm512_and_si512(t[4 * q + k], _mm512_set1_epi32(0xFF));
        pattern = _mm512_or_si512(pattern, _mm512_slli_epi32(byte, 8 * k));
      });
      _mm512_store_si512(f.pattern[q], pattern);
    });
  }

  // y[32 b .. 32 b + 32) for b in [b_begin, b_end) = (add ? y : 0) + the step's sum (header), over
  // channels of n_blocks blocks. Each chunk of the next step's n_next channels is prefetched into L2
  // meanwhile (see tiles.h's gather_step).
  template <int C>
  static void step(const uint8_t* const* w, const float* xs, const uint8_t* const* next, int n_next,
                   int64_t n_blocks, int64_t b_begin, int64_t b_end, float* y, bool add, bool prefetch) {
    Factors<C> f;
    for (int64_t b0 = b_begin; b0 < b_end; b0 += kChunk) {
      const int n = static_cast<int>(std::min<int64_t>(kChunk, b_end - b0));
      quantize_factors<C>(w, xs, b0, n, f);
      const int64_t codes = n_blocks * 2 + b0 * D::kCodeBytes;
      if (prefetch) {
        for (int k = 0; k < n_next; ++k) {
          __builtin_prefetch(next[k] + 2 * b0, 0, 2);
          for (int64_t line = 0; line < n * D::kCodeBytes; line += 64) __builtin_prefetch(next[k] + codes + line, 0, 2);
        }
      }
      for (int i = 0; i < n; ++i) {
        const int64_t offset = codes + i * D::kCodeBytes;
        __m512i lo = _mm512_set1_epi32(f.start[0][i]), hi = _mm512_set1_epi32(f.start[1][i]);
        unroll<C / 4>([&](auto q) {
          const __m512i pattern = _mm512_set1_epi32(f.pattern[q][i]);
          __m512i u_lo, u_hi;
          D::codes(w + 4 * q, offset, &u_lo, &u_hi);
          lo = _mm512_dpbusd_epi32(lo, u_lo, pattern);
          hi = _mm512_dpbusd_epi32(hi, u_hi, pattern);
        });
        float* yb = y + (b0 + i) * kChannelMajorTile;
        const __m512 y_lo = add ? _mm512_loadu_ps(yb) : _mm512_setzero_ps();
        const __m512 y_hi = add ? _mm512_loadu_ps(yb + 16) : _mm512_setzero_ps();
        _mm512_storeu_ps(yb, _mm512_fmadd_ps(_mm512_set1_ps(f.scale[i]), _mm512_cvtepi32_ps(lo), y_lo));
        _mm512_storeu_ps(yb + 16, _mm512_fmadd_ps(_mm512_set1_ps(f.scale[i] * D::kHiScale), _mm512_cvtepi32_ps(hi), y_hi));
      }
    }
  }

  // Steps of C channels; the last step is padded with factors 0 (its first channel again).
  template <int C>
  static void steps(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t b_begin, int64_t b_end,
                    float* y) {
    const auto channel = [&](int64_t a) { return g.w + g.active[a] * g.channel_bytes; };
    bool add = false;
    for (int64_t a = a_begin; a < a_end; a += C) {
      const uint8_t* w[C];
      const uint8_t* next[C];
      float xs[C];
      const int n = static_cast<int>(std::min<int64_t>(C, a_end - a));
      for (int k = 0; k < C; ++k) {
        w[k] = channel(a + std::min(k, n - 1));
        xs[k] = k < n ? g.x[g.active[a + k]] : 0.0f;
      }
      const int n_next = static_cast<int>(std::clamp<int64_t>(a_end - a - C, 0, C));
      for (int k = 0; k < n_next; ++k) next[k] = channel(a + C + k);
      step<C>(w, xs, next, n_next, static_cast<int64_t>(g.channel_bytes) / (2 + D::kCodeBytes), b_begin, b_end, y,
              add, g.prefetch);
      add = true;
    }
    if (!add) std::memset(y + b_begin * kChannelMajorTile, 0, static_cast<size_t>((b_end - b_begin) * kChannelMajorTile) * sizeof(float));
  }

  // channels_per_step 1 and 2 run as 4: a step quantizes its factors together, four at a time.
  static void gather(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t o_begin, int64_t o_end,
                     float* y) {
    const int64_t b_begin = o_begin / kChannelMajorTile, b_end = o_end / kChannelMajorTile;
    switch (g.channels_per_step) {
      case 8:
        return steps<8>(g, a_begin, a_end, b_begin, b_end, y);
      case 16:
        return steps<16>(g, a_begin, a_end, b_begin, b_end, y);
      default:
        return steps<4>(g, a_begin, a_end, b_begin, b_end, y);
    }
  }
};

}  // namespace
}  // namespace jf
