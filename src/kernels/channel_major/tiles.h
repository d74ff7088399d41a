// The channel-major entries as templates over a vector policy, instantiated once per ISA by
// cpu_<isa>.cpp under its flags (internal linkage: the copies of different ISAs never merge).
//
// A vector policy V provides:
//   F, kLanes              the f32 vector and its lanes (32 % kLanes == 0)
//   kTokens                tokens per tile of the dense kernel (its accumulators: kTokens * 32 / kLanes)
//   zero(), load(p), store(p, v), set1(f), add(a, b), fmadd(a, b, c) = a * b + c
//   half(h)                an fp16 bit pattern as a float (the block scales)
//   q4_0(qs, out), q8_0(qs, out), f16(p, out), f32(p, out): the 32 values of one block as 32 / kLanes
//                          vectors: the signed codes (Q4_0: code - 8) or the floats themselves
#pragma once

#include <cstdint>
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "base/fp16.h"
#include "kernels/channel_major/kernels.h"
#include "kernels/unroll.h"
#include "tensor/quant.h"

namespace jf {
namespace {

constexpr int64_t kTile = kChannelMajorTile;

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Block b of 32 outputs of a channel of n_blocks blocks (tensor/channel_major.h): a policy gives its
// scale and bias (value = scale * code + bias; the scale 1 without scale bytes, the bias 0 but for
// K-quants), its codes' values,
// and prefetches (into L2) what the block reads. Q8_0 and Q4_0: the scale at channel + 2 b, the
// codes at code_offset(n_blocks, b); F32 and F16: the values at code_offset.
template <int64_t ScaleBytes, int64_t CodeBytes>
struct CmBlocks {
  static constexpr int64_t kScaleBytes = ScaleBytes;
  static constexpr int64_t kCodeBytes = CodeBytes;
  static constexpr int64_t kBlockBytes = ScaleBytes + CodeBytes;  // channel bytes per block
  static constexpr bool kHasBias = false;
  static int64_t code_offset(int64_t n_blocks, int64_t b) { return n_blocks * kScaleBytes + b * kCodeBytes; }
  template <class V>
  static float scale(const uint8_t* channel, int64_t b) {
    if constexpr (kScaleBytes == 0) return 1.0f;
    return V::half(load_u16(channel + kScaleBytes * b));
  }
  template <class V>
  static float bias(const uint8_t*, int64_t) {
    return 0.0f;
  }
  // A cache line at a time: the scales' line every 32 blocks, the codes' lines as they start.
  static void prefetch(const uint8_t* channel, int64_t n_blocks, int64_t b) {
    const int64_t codes = code_offset(n_blocks, b);
    if (b % 32 == 0 && kScaleBytes > 0) __builtin_prefetch(channel + kScaleBytes * b, 0, 2);
    if ((b * kCodeBytes) % 64 == 0) __builtin_prefetch(channel + codes, 0, 2);
    for (int64_t line = 64; line < kCodeBytes; line += 64) __builtin_prefetch(channel + codes + line, 0, 2);
  }
};

struct CmQ4_0 : CmBlocks<2, sizeof(BlockQ4_0::qs)> {
  static constexpr DType kType = DType::Q4_0;
  template <class V>
  static void values(const uint8_t* channel, int64_t n_blocks, int64_t b, typename V::F* out) {
    V::q4_0(channel + code_offset(n_blocks, b), out);
  }
};

struct CmQ8_0 : CmBlocks<2, sizeof(BlockQ8_0::qs)> {
  static constexpr DType kType = DType::Q8_0;
  template <class V>
  static void values(const uint8_t* channel, int64_t n_blocks, int64_t b, typename V::F* out) {
    V::q8_0(reinterpret_cast<const int8_t*>(channel + code_offset(n_blocks, b)), out);
  }
};

struct CmF16 : CmBlocks<0, 2 * kTile> {
  static constexpr DType kType = DType::F16;
  template <class V>
  static void values(const uint8_t* channel, int64_t n_blocks, int64_t b, typename V::F* out) {
    V::f16(channel + code_offset(n_blocks, b), out);
  }
};

struct CmF32 : CmBlocks<0, 4 * kTile> {
  static constexpr DType kType = DType::F32;
  template <class V>
  static void values(const uint8_t* channel, int64_t n_blocks, int64_t b, typename V::F* out) {
    V::f32(reinterpret_cast<const float*>(channel + code_offset(n_blocks, b)), out);
  }
};

// Q4_K: the channel is a GGUF Q4_K row (super-blocks of 256 outputs); block b is sub-block b % 8 of
// super-block b / 8, d · scale · q - dmin · min with q the low (even b) or high (odd b) nibbles of
// its pair's 32 bytes.
struct CmQ4_K {
  static constexpr DType kType = DType::Q4_K;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_K) / 8;  // channel bytes per block of 32
  static constexpr bool kHasBias = true;
  static const uint8_t* super(const uint8_t* channel, int64_t b) { return channel + (b / 8) * sizeof(BlockQ4_K); }
  template <class V>
  static float scale(const uint8_t* channel, int64_t b) {
    const uint8_t* s = super(channel, b);
    int sc = 0, min = 0;
    k_scale_min(s + offsetof(BlockQ4_K, scales), static_cast<int>(b % 8), &sc, &min);
    return V::half(load_u16(s + offsetof(BlockQ4_K, d))) * static_cast<float>(sc);
  }
  template <class V>
  static float bias(const uint8_t* channel, int64_t b) {
    const uint8_t* s = super(channel, b);
    int sc = 0, min = 0;
    k_scale_min(s + offsetof(BlockQ4_K, scales), static_cast<int>(b % 8), &sc, &min);
    return -V::half(load_u16(s + offsetof(BlockQ4_K, dmin))) * static_cast<float>(min);
  }
  template <class V>
  static void values(const uint8_t* channel, int64_t, int64_t b, typename V::F* out) {
    V::q4_k(super(channel, b) + offsetof(BlockQ4_K, qs) + 32 * ((b % 8) / 2), b % 2 == 1, out);
  }
  static void prefetch(const uint8_t* channel, int64_t, int64_t b) {
    if (b % 8 != 0) return;
    for (size_t line = 0; line < sizeof(BlockQ4_K); line += 64) __builtin_prefetch(super(channel, b) + line, 0, 2);
  }
};

template <class V, class D>
struct CmTiles {
  using F = typename V::F;
  static constexpr int kN = static_cast<int>(kTile) / V::kLanes;  // vectors per block

  // y[32 b .. 32 b + 32) for b in [b_begin, b_end) = (add ? y : 0) + Σ_k xs[k] · block b of channel
  // w[k] (channels of n_blocks blocks): the C channels' blocks summed in registers, y read and
  // written once per step. Block b of the next step's n_next channels is prefetched into L2
  // meanwhile: a step's channels are short runs (n_out / 32 blocks) at scattered addresses, each too
  // short for the hardware prefetcher to learn, and a step ahead is too far for L1.
  template <int C>
  static void gather_step(const uint8_t* const* w, const float* xs, const uint8_t* const* next, int n_next,
                          int64_t n_blocks, int64_t b_begin, int64_t b_end, float* y, bool add) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      unroll<C>([&](auto k) {
        if (k < n_next) D::prefetch(next[k], n_blocks, b);
      });
      float* yb = y + b * kTile;
      // Two chains of accumulators (even and odd channels of the step): a step's fused multiply-adds
      // into one register would wait on each other's latency.
      F acc[2][kN];
      unroll<kN>([&](auto i) {
        acc[0][i] = add ? V::load(yb + i * V::kLanes) : V::zero();
        acc[1][i] = V::zero();
      });
      float bias = 0;  // Σ_k xs[k] · bias of block b of channel k, the same for its 32 outputs
      unroll<C>([&](auto k) {
        const F s = V::set1(xs[k] * D::template scale<V>(w[k], b));
        if constexpr (D::kHasBias) bias += xs[k] * D::template bias<V>(w[k], b);
        F v[kN];
        D::template values<V>(w[k], n_blocks, b, v);
        unroll<kN>([&](auto i) { acc[k % 2][i] = V::fmadd(s, v[i], acc[k % 2][i]); });
      });
      if constexpr (D::kHasBias) unroll<kN>([&](auto i) { acc[1][i] = V::add(acc[1][i], V::set1(bias)); });
      unroll<kN>([&](auto i) { V::store(yb + i * V::kLanes, V::add(acc[0][i], acc[1][i])); });
    }
  }

  template <int C>
  static void gather_steps(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t b_begin,
                           int64_t b_end, float* y) {
    bool add = false;
    int64_t a = a_begin;
    const auto step = [&]<int S>(std::integral_constant<int, S>) {
      const uint8_t* w[S];
      const uint8_t* next[S];
      float xs[S];
      const int n_next = g.prefetch ? static_cast<int>(std::min<int64_t>(S, a_end - a - S)) : 0;
      for (int k = 0; k < S; ++k) {
        w[k] = g.channels[a + k];
        xs[k] = g.x[g.active[a + k]];
        next[k] = k < n_next ? g.channels[a + S + k] : nullptr;
      }
      gather_step<S>(w, xs, next, n_next, static_cast<int64_t>(g.channel_bytes) / D::kBlockBytes, b_begin, b_end,
                     y, add);
      add = true;
      a += S;
    };
    while (a + C <= a_end) step(std::integral_constant<int, C>{});
    while (a < a_end) step(std::integral_constant<int, 1>{});
    if (!add) std::memset(y + b_begin * kTile, 0, static_cast<size_t>((b_end - b_begin) * kTile) * sizeof(float));
  }

  static void gather(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t o_begin, int64_t o_end,
                     float* y) {
    const int64_t b_begin = o_begin / kTile, b_end = o_end / kTile;
    switch (g.channels_per_step) {
      case 1:
        return gather_steps<1>(g, a_begin, a_end, b_begin, b_end, y);
      case 2:
        return gather_steps<2>(g, a_begin, a_end, b_begin, b_end, y);
      case 8:
        return gather_steps<8>(g, a_begin, a_end, b_begin, b_end, y);
      case 16:
        return gather_steps<16>(g, a_begin, a_end, b_begin, b_end, y);
      default:
        return gather_steps<4>(g, a_begin, a_end, b_begin, b_end, y);
    }
  }

  // Y[t0 .. t0 + T, block b] over every channel: each block dequantized once for the T tokens.
  template <int T>
  static void matmul_tile(const CmMatmulArgs& m, int64_t b, int64_t t0) {
    F acc[T][kN];
    unroll<T>([&](auto t) { unroll<kN>([&](auto i) { acc[t][i] = V::zero(); }); });
    const int64_t n_blocks = m.n_out / kTile;
    const float* x = m.x + t0 * m.n_in;
    float bias[T] = {};  // per token: Σ_j x[t, j] · bias of block b of channel j
    for (int64_t j = 0; j < m.n_in; ++j) {
      const uint8_t* channel = m.channels[j];
      const float d = D::template scale<V>(channel, b);
      F v[kN];
      D::template values<V>(channel, n_blocks, b, v);
      unroll<T>([&](auto t) {
        const F s = V::set1(x[t * m.n_in + j] * d);
        unroll<kN>([&](auto i) { acc[t][i] = V::fmadd(s, v[i], acc[t][i]); });
      });
      if constexpr (D::kHasBias) {
        const float c = D::template bias<V>(channel, b);
        unroll<T>([&](auto t) { bias[t] += x[t * m.n_in + j] * c; });
      }
    }
    if constexpr (D::kHasBias) {
      unroll<T>([&](auto t) { unroll<kN>([&](auto i) { acc[t][i] = V::add(acc[t][i], V::set1(bias[t])); }); });
    }
    unroll<T>([&](auto t) {
      float* yt = m.y + (t0 + t) * m.n_out + b * kTile;
      unroll<kN>([&](auto i) { V::store(yt + i * V::kLanes, acc[t][i]); });
    });
  }

  static void matmul(const CmMatmulArgs& m, int64_t o_begin, int64_t o_end) {
    for (int64_t b = o_begin / kTile; b < o_end / kTile; ++b) {
      int64_t t = 0;
      for (; t + V::kTokens <= m.n_tokens; t += V::kTokens) matmul_tile<V::kTokens>(m, b, t);
      for (; t < m.n_tokens; ++t) matmul_tile<1>(m, b, t);
    }
  }
};

template <class V, class D>
CmFamily cm_family(CpuIsa isa) {
  return {D::kType, isa, CmTiles<V, D>::gather, CmTiles<V, D>::matmul};
}

template <class V>
std::array<CmFamily, kCmFamilies> cm_families(CpuIsa isa) {
  return {cm_family<V, CmF32>(isa), cm_family<V, CmF16>(isa), cm_family<V, CmQ8_0>(isa),
          cm_family<V, CmQ4_0>(isa), cm_family<V, CmQ4_K>(isa)};
}

}  // namespace
}  // namespace jf
