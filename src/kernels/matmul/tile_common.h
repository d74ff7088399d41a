// The ISA-independent layer of the matmul tiles: everything a tile family needs besides its vector
// policy (TokenRows, store_tile, the float and x16 tile families, make_family). x86_tiles.h and neon_tiles.h
// hold the policies (vector types, integer dot products, activation encoders) and the tiles whose inner loops
// differ per ISA; each cpu_<isa>.cpp includes one of them once, under its own target flags. Everything here
// has internal linkage (anonymous namespace), so the copies compiled for different ISAs never merge.
//
// A vector policy for the float tiles (x86_tiles.h: Ymm, Zmm; neon_tiles.h: Neon128) provides:
//   F, kLanes                the f32 vector type and its lanes
//   zero(), load(p)          a zero vector; kLanes floats from p
//   fmadd(a, b, c)           a * b + c, fused
//   load_f16(p), load_bf16(p)  kLanes f16 / bf16 values from p, widened to f32
//   sum(v)                   the horizontal sum of v
// and for the x16 tiles also
//   I                        an integer vector (a whole 64-byte code vector of x16 weights, or a
//                            part of one: 512-bit I take it at once, 256-bit I in halves)
//   load_i(p), mul(a, b), from_i32(v)   an integer vector from p; a * b; int32 lanes to f32
// The ISA header defines encoder_for (below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/matmul/kernels.h"
#include "kernels/unroll.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// Software prefetch `distance` bytes below p (0: none). __builtin_prefetch(p) is prefetcht0 on x86
// (what _mm_prefetch(p, _MM_HINT_T0) expands to) and prfm pldl1keep on AArch64.
inline void prefetch(const uint8_t* p, int distance) {
  if (distance != 0) __builtin_prefetch(p + distance);
}

// Row pointers of the tile's tokens, hoisted out of the column loops; null where the activation
// layout has no such array (the compiler drops the unused ones).
template <int T>
struct TokenRows {
  const int8_t* qs[T];       // q8_*: codes at column 0
  const float* d[T];         // q8_*: block scales
  const int32_t* bias[T];    // q8_32, q8_x16 biases
  const float* sums[T];      // q8_32_sum, q8_k_x16 sums
  const int16_t* bsums[T];   // q8_256 sums of 16
  const float* f[T];         // f32 values
  const uint8_t* blocks[T];  // ActLayout::blocks: the encoded row at column 0

  explicit TokenRows(const Tile& a) {
    const ActRows& x = *a.x;
    for (int t = 0; t < T; ++t) {
      const int64_t token = a.t0 + t;
      qs[t] = x.qs ? x.qs + token * x.qs_stride : nullptr;
      d[t] = x.d ? x.d + token * x.d_stride : nullptr;
      bias[t] = x.bias ? x.bias + token * x.d_stride : nullptr;
      sums[t] = x.sums ? x.sums + token * x.d_stride : nullptr;
      bsums[t] = x.bsums ? x.bsums + token * x.bsums_stride : nullptr;
      f[t] = x.f ? x.f + token * x.f_stride : nullptr;
      blocks[t] = x.blocks ? x.blocks + token * x.blocks_stride : nullptr;
    }
  }
};

// y[t][r] = (or +=) sum_fn(acc[r][t]), the horizontal sum of the accumulator.
template <int R, int T, typename V, typename SumFn>
inline void store_tile(const Tile& a, const V (&acc)[R][T], SumFn sum_fn) {
  unroll<T>([&](auto t) {
    float* y = a.y + t * a.y_stride;
    unroll<R>([&](auto r) { y[r] = a.accumulate ? y[r] + sum_fn(acc[r][t]) : sum_fn(acc[r][t]); });
  });
}

// ---------------------------------------------------------------------------------------------
// Float weights (F32, F16, BF16) against f32 activations (ActLayout::f32), any column count, on the
// vector policy `Vec`.

template <class Vec, DType W>
inline typename Vec::F load_weights(const uint8_t* p) {
  if constexpr (W == DType::F32) return Vec::load(reinterpret_cast<const float*>(p));
  if constexpr (W == DType::F16) return Vec::load_f16(p);
  if constexpr (W == DType::BF16) return Vec::load_bf16(p);
}

// W[R, k1-k0] (f32 / f16 / bf16) · X[T, k1-k0] (f32) -> Y[T, R]. The last partial vector goes
// through zero-padded copies, so rows need no padding.
template <class Vec, DType W, int R, int T>
__attribute__((flatten)) void tile_float(const Tile& a) {
  constexpr int kLanes = Vec::kLanes;
  constexpr int kElemBytes = W == DType::F32 ? 4 : 2;
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  typename Vec::F acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = Vec::zero(); }); });
  // One step of kLanes columns from weight rows w_rows[r] and activation rows x_rows[t].
  auto step = [&](const uint8_t* const(&w_rows)[R], const float* const(&x_rows)[T]) {
    unroll<R>([&](auto r) {
      const typename Vec::F wv = load_weights<Vec, W>(w_rows[r]);
      unroll<T>([&](auto t) { acc[r][t] = Vec::fmadd(wv, Vec::load(x_rows[t]), acc[r][t]); });
    });
  };
  int64_t k = a.k0;
  for (; k + kLanes <= a.k1; k += kLanes) {
    const uint8_t* w_rows[R];
    const float* x_rows[T];
    unroll<R>([&](auto r) {
      w_rows[r] = w + r * w_stride + k * kElemBytes;
      prefetch(w_rows[r], prefetch_bytes);
    });
    unroll<T>([&](auto t) { x_rows[t] = x.f[t] + k; });
    step(w_rows, x_rows);
  }
  if (k < a.k1) {  // the last partial vector, through zero-padded copies (rows need no padding)
    const int64_t n = a.k1 - k;
    alignas(64) uint8_t w_pad[R][kLanes * kElemBytes] = {};
    alignas(64) float x_pad[T][kLanes] = {};
    const uint8_t* w_rows[R];
    const float* x_rows[T];
    for (int r = 0; r < R; ++r) {
      std::memcpy(w_pad[r], w + r * w_stride + k * kElemBytes, n * kElemBytes);
      w_rows[r] = w_pad[r];
    }
    for (int t = 0; t < T; ++t) {
      std::memcpy(x_pad[t], x.f[t] + k, n * sizeof(float));
      x_rows[t] = x_pad[t];
    }
    step(w_rows, x_rows);
  }
  store_tile<R, T>(a, acc, Vec::sum);
}

template <class Vec, DType W>
struct FloatTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_float<Vec, W, R, T>;
  };
};

// f(0), ..., f(N - 1): a single part as a compile-time 0, so that its addresses stay plain offsets
// (a loop of one adds an induction variable per address to GCC's code); several parts as a loop at
// run time (unrolled, the 256-bit tiles would double in size).
template <int N, typename F>
inline void for_parts(F&& f) {
  if constexpr (N == 1) {
    f(std::integral_constant<int, 0>{});
  } else {
    for (int h = 0; h < N; ++h) f(h);
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 in WeightLayout::x16: 16 blocks per group, 32-bit lane j of every 64-byte code
// vector belongs to block j. The weight codes are unsigned (w + offset) and the activation bias
// -offset * sum(x) of each block (ActLayout::q8_x16, the same lane order) restores the signed sum;
// it is the initial value of the integer sums. A vector of the policy holds a part of each code
// vector (kParts = 1 at 512 bits, 2 at 256): per group, part, row and token, Weights::kCodeVectors
// (8 per block of 32 codes, 4 codes per lane) integer dot products leave block j's sum in lane j,
// then one conversion, one scale product and one FMA for the blocks of the part.
// `Weights` is the ISA's code format: kOffset, kCodeVectors, kPrefetchScales, codes(part,
// prefetch_bytes, dot) calling dot(v, u) for activation vector v, and dot(sum, u, x).
//
// Shapes: W[R rows, groups g0..g1) x16, X[T tokens] q8_x16 -> Y[T, R].
template <class V, class Weights, int R, int T>
__attribute__((flatten)) void tile_x16(const Tile& a) {
  using I = typename V::I;
  constexpr int kGroupBytes = kX16ScaleBytes + Weights::kCodeVectors * 64;
  constexpr int kActGroupBytes = kX16Blocks * kQK;
  constexpr int kParts = 64 / static_cast<int>(sizeof(I));
  constexpr int kPartBlocks = kX16Blocks / kParts;
  constexpr int kPartBytes = 64 / kParts;
  static_assert(kPartBlocks == V::kLanes, "one f32 lane per block of the part");
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  typename V::F acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = V::zero(); }); });
  const int64_t g_end = (a.k1 + kX16GroupCols - 1) / kX16GroupCols;
  for (int64_t g = a.k0 / kX16GroupCols; g < g_end; ++g) {
    for_parts<kParts>([&](auto h) {                            // blocks kPartBlocks * h ... of the group
      const int64_t block = kX16Blocks * g + kPartBlocks * h;  // of the activations
      I sum[R][T];
      unroll<R>([&](auto r) { unroll<T>([&](auto t) { sum[r][t] = V::load_i(x.bias[t] + block); }); });
      unroll<R>([&](auto r) {
        const uint8_t* part = w + r * w_stride + g * kGroupBytes + kX16ScaleBytes + kPartBytes * h;
        Weights::codes(part, prefetch_bytes, [&](int v, I u) {
          unroll<T>([&](auto t) {
            const I xv = V::load_i(x.qs[t] + g * kActGroupBytes + 64 * v + kPartBytes * h);
            sum[r][t] = Weights::dot(sum[r][t], u, xv);
          });
        });
      });
      unroll<R>([&](auto r) {
        const uint8_t* scales = w + r * w_stride + g * kGroupBytes + 2 * kPartBlocks * h;
        if constexpr (Weights::kPrefetchScales) prefetch(scales, prefetch_bytes);
        const typename V::F dw = V::load_f16(scales);
        unroll<T>([&](auto t) {
          const typename V::F d = V::mul(dw, V::load(x.d[t] + block));
          acc[r][t] = V::fmadd(V::from_i32(sum[r][t]), d, acc[r][t]);
        });
      });
    });
  }
  store_tile<R, T>(a, acc, V::sum);
}

template <class V, class Weights>
struct X16Tiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_x16<V, Weights, R, T>;
  };
};

// ---------------------------------------------------------------------------------------------
// Family tables.

// Tiles compiled for each family: every R x T with R, T in {1, 2, 4, 8} and R * T <= 16 (beyond
// that even 32 registers cannot hold the accumulators). Closed under halving, so the driver can
// cover any remainder with smaller power-of-two tiles. Tiles<R, T>::fn is the tile function.
inline constexpr int kMaxTilePairs = 16;

template <template <int, int> class Tiles>
void fill_tiles(MatmulFamily* f) {
  unroll<kTileLog2Max + 1>([&](auto lr) {
    unroll<kTileLog2Max + 1>([&](auto lt) {
      constexpr int R = 1 << decltype(lr)::value, T = 1 << decltype(lt)::value;
      if constexpr (R * T <= kMaxTilePairs) {
        f->tiles[lr][lt] = Tiles<R, T>::fn;
        f->info.tile_mask |= static_cast<uint16_t>(1u << (4 * lr + lt));
      }
    });
  });
}

// This ISA's encoder of the activations into `layout` (defined by the ISA header).
EncodeFn encoder_for(ActLayout layout);

// What differs between families besides their tiles; register counts feed the occupancy rule
// (space.h) and come from the tile code: per token the hoisted scale or integer sum, fixed the
// weight codes, scales and temporaries.
struct FamilySpec {
  DType weight;
  ActLayout layout;
  int bias_offset;
  int regs_fixed;
  int regs_per_token;
  int regs_per_pair = 1;
  WeightLayout weight_layout = WeightLayout::rows;
};

template <template <int, int> class Tiles>
MatmulFamily make_family(CpuIsa isa, const FamilySpec& spec) {
  MatmulFamily f;
  f.weight = spec.weight;
  f.weight_layout = spec.weight_layout;
  f.isa = isa;
  f.layout = spec.layout;
  f.encoding = {vec_dot_type(spec.weight), spec.bias_offset};
  f.encode = encoder_for(spec.layout);
  f.info.k_step = static_cast<int>(dtype_info(spec.weight).block_size);
  f.info.regs_fixed = spec.regs_fixed;
  f.info.regs_per_token = spec.regs_per_token;
  f.info.regs_per_pair = spec.regs_per_pair;
  f.info.prefetches = true;
  switch (spec.layout) {
    case ActLayout::blocks: {  // quantize_row's blocks of vec_dot_type
      const DTypeInfo& xi = dtype_info(f.encoding.act_type);
      f.info.x_bytes_per_col = static_cast<double>(xi.block_bytes) / xi.block_size;
      f.info.cold_accumulators = xi.block_size == kQK_K;  // the K-quant tiles update them once per 256
      break;
    }
    case ActLayout::q8_32:
    case ActLayout::q8_32_sum:
      f.info.x_bytes_per_col = 1 + 8.0 / kQK;  // code + (f32 scale + int32 bias or f32 sum) per 32
      break;
    case ActLayout::q8_x16:
    case ActLayout::q8_k_x16:
      f.info.x_bytes_per_col = 1 + 8.0 / kQK;  // code + (f32 scale + int32 bias or f32 sum) per 32
      f.info.k_step = static_cast<int>(kX16GroupCols);
      break;
    case ActLayout::q8_256:
      f.info.x_bytes_per_col = 1 + 36.0 / kQK_K;  // code + (f32 scale + 16 int16 sums) per 256
      f.info.cold_accumulators = true;            // the K-quant tiles update them once per 256
      break;
    case ActLayout::f32:
      f.info.x_bytes_per_col = 4;
      break;
  }
  fill_tiles<Tiles>(&f);
  return f;
}

}  // namespace
}  // namespace jf
