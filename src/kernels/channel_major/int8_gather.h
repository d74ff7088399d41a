// The gathered matvec of Q4_0 and Q8_0 channel-major weights with integer dot products across
// channels, written once over an ISA policy (internal linkage; cpu_avx512.cpp and cpu_avx2.cpp
// instantiate it under their flags).
//
// The f32 entries (tiles.h) widen every code of every active channel to a float: about ten
// instructions per block of 32 outputs and channel, which caps them far below the memory's speed.
// Here four channels' blocks are transposed so that each 32-bit lane holds one output's codes of
// the four channels, and one integer dot product (AVX-512 VNNI vpdpbusd; AVX2 vpmaddubsw then
// vpmaddwd) sums them against the four channels' factors quantized to int8. Per step of C channels
// j_0 .. j_(C-1) (C = 4, 8 or 16) and block b of 32 outputs:
//
//   s[k] = x[j_k] · d[j_k, b]                             the f32 factor of channel k in block b
//   S    = max_k |s[k]| / 127,   t[k] = round(s[k] / S)   int8, one scale per step and block
//   y[o] += S · Σ_k t[k] · (u[j_k, o] - offset)           the sum over k exact in int32
//
// with u the codes as the policy's dot product takes them and offset P::kOffset (Q4_0: 0..15,
// offset 8; the policy may scale them, cpu_avx512.cpp).
//
// Quantizing the factors is the only rounding besides f32's: |t[k] · S - s[k]| <= S / 2, so an
// output of a step is within (max_k |s[k]| / 254) · Σ_k |code[j_k, o]| of its f32 value (what the
// tests allow, on top of the f32 bound). It is the rounding the row-major kernels make when they
// quantize activations to Q8_0, and about as large: on docs-28M's decode at s = 0.5 (cm Q8_0, 30
// tokens) the gathered outputs were within 0.3-0.7 % (relative RMS, per site) of the f32 sums with
// 8 or 16 channels per step, where Q8_0 activations cost 0.3-0.6 %; 32 channels per step cost
// 0.4-1 %, so steps stop at 16.
//
// A policy P (one per ISA and weight type) provides:
//   kCodeBytes, kOffset[2] (lo and hi outputs)
//   F, I, kLanes           f32 and int32 vectors (16 % kLanes == 0) for the factors of 16 blocks
//   scales(p, n), set1(f), mul, abs, max, div_or_zero(a, b) (0 where b == 0), cvt (round to int),
//   add_i, mul_i, set1_i, pack4(t0, t1, t2, t3) (the low bytes of four int vectors as one), store,
//   store_i
//   Acc, start(lo, hi), quad(acc, w4, offset, pattern), finish(acc, S, y, add): a block's
//   accumulators (outputs 0-15 from start lo, 16-31 from hi), one quad of channels into them
//   (pattern: their four t as bytes), and S times them into (add ? y : 0)[0 .. 32)
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/channel_major/channel_major.h"
#include "kernels/unroll.h"
#include "tensor/quant.h"

namespace jf {
namespace {

template <class P>
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
    for (int part = 0; part < kChunk / P::kLanes; ++part) {
      const int at = part * P::kLanes;
      const int n_part = std::clamp(n - at, 0, P::kLanes);
      typename P::F s[C];
      typename P::F amax = P::set1(0.0f);
      unroll<C>([&](auto k) {
        s[k] =
            P::mul(P::scales(w[k] + 2 * (b0 + at), n_part), P::set1(xs[k]));  // fp16 at the channel's start
        amax = P::max(amax, P::abs(s[k]));
      });
      const typename P::F inverse = P::div_or_zero(P::set1(127.0f), amax);
      P::store(f.scale + at, P::mul(amax, P::set1(1.0f / 127.0f)));
      typename P::I t[C];
      typename P::I sum = P::set1_i(0);
      unroll<C>([&](auto k) {
        t[k] = P::cvt(P::mul(s[k], inverse));
        sum = P::add_i(sum, t[k]);
      });
      P::store_i(f.start[0] + at, P::mul_i(sum, P::set1_i(-P::kOffset[0])));
      P::store_i(f.start[1] + at, P::mul_i(sum, P::set1_i(-P::kOffset[1])));
      unroll<C / 4>([&](auto q) {
        P::store_i(f.pattern[q] + at, P::pack4(t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]));
      });
    }
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
      const int64_t codes = n_blocks * 2 + b0 * P::kCodeBytes;
      if (prefetch) {
        for (int k = 0; k < n_next; ++k) {
          __builtin_prefetch(next[k] + 2 * b0, 0, 2);
          for (int64_t line = 0; line < n * P::kCodeBytes; line += 64)
            __builtin_prefetch(next[k] + codes + line, 0, 2);
        }
      }
      for (int i = 0; i < n; ++i) {
        const int64_t offset = codes + i * P::kCodeBytes;
        typename P::Acc acc = P::start(f.start[0][i], f.start[1][i]);
        unroll<C / 4>([&](auto q) { P::quad(acc, w + 4 * q, offset, f.pattern[q][i]); });
        P::finish(acc, f.scale[i], y + (b0 + i) * kChannelMajorTile, add);
      }
    }
  }

  // Steps of C channels; the last step is padded with factors 0 (its first channel again).
  template <int C>
  static void steps(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t b_begin, int64_t b_end,
                    float* y) {
    const auto channel = [&](int64_t a) { return g.channels[a]; };
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
      step<C>(w, xs, next, n_next, static_cast<int64_t>(g.channel_bytes) / (2 + P::kCodeBytes), b_begin,
              b_end, y, add, g.prefetch);
      add = true;
    }
    if (!add)
      std::memset(y + b_begin * kChannelMajorTile, 0,
                  static_cast<size_t>((b_end - b_begin) * kChannelMajorTile) * sizeof(float));
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
