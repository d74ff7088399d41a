// AVX-512 (F, BW, VL, VNNI) variants (this file is compiled with the AVX-512 flags plus AVX2/FMA/F16C;
// the driver calls it only when cpu_features() reports all of them).
//   Q4_0, Q8_0, Q4_K: 512-bit tiles over WeightLayout::x16 groups of 16 blocks (below); Q4_K also
//               the 256-bit tiles over GGUF rows.
//   Q5_0, Q4_1, Q5_1: the 256-bit tiles of x86_tiles.h with vpdpbusd.
//   Q4_K, Q5_K, Q6_K: the 256-bit tiles of x86_tiles.h with VNNI dot products (vpdpwssd: one instruction
//               where AVX2 needs madd + add).
//   F32, F16, BF16: the float tiles of x86_tiles.h at 512 bits.

// GCC 12 warns about the deliberately undefined upper bits inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/matmul/x86_tiles.h"

namespace jf {
namespace {

struct VnniIntDot {
  // acc + sum of groups of 4 adjacent u8 * s8 products, per int32 lane (no intermediate saturation).
  static __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  // acc + sum of pairs of adjacent int16 products, per int32 lane.
  static __m256i madd_i16(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
};

// The vector policy at 512 bits (tile_common.h).
struct Zmm {
  using F = __m512;
  using I = __m512i;
  static constexpr int kLanes = 16;
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static I load_i(const void* p) { return _mm512_loadu_si512(p); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F from_i32(I v) { return _mm512_cvtepi32_ps(v); }
  static F load_f16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static F load_bf16(const uint8_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static float sum(F v) { return _mm512_reduce_add_ps(v); }
};

// ---------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 in WeightLayout::x16 (tile_common.h's tile_x16 on Zmm): a whole 64-byte code
// vector per vpdpbusd, so all 16 blocks of a group at once.

// Q4_0: 4 vectors of nibble pairs per group; the low nibbles of vector v are activation vector v,
// the high nibbles activation vector v + 4.
struct Q4_0x16 {
  static constexpr int kOffset = 8;
  static constexpr int kCodeVectors = 4;
  static constexpr bool kPrefetchScales = true;
  static __m512i dot(__m512i sum, __m512i u, __m512i x) { return _mm512_dpbusd_epi32(sum, u, x); }
  template <class F>
  static void codes(const uint8_t* group, int prefetch_bytes, F&& dot) {
    const __m512i low_mask = _mm512_set1_epi8(0x0F);
    unroll<kCodeVectors>([&](auto v) {
      prefetch(group + 64 * v, prefetch_bytes);
      const __m512i pairs = _mm512_loadu_si512(group + 64 * v);
      dot(v, _mm512_and_si512(pairs, low_mask));
      dot(v + 4, _mm512_and_si512(_mm512_srli_epi16(pairs, 4), low_mask));
    });
  }
};

// Q8_0: 8 vectors of codes + 128, each one activation vector.
struct Q8_0x16 {
  static constexpr int kOffset = 128;
  static constexpr int kCodeVectors = 8;
  static constexpr bool kPrefetchScales = true;
  static __m512i dot(__m512i sum, __m512i u, __m512i x) { return _mm512_dpbusd_epi32(sum, u, x); }
  template <class F>
  static void codes(const uint8_t* group, int prefetch_bytes, F&& dot) {
    unroll<kCodeVectors>([&](auto v) {
      prefetch(group + 64 * v, prefetch_bytes);
      dot(v, _mm512_loadu_si512(group + 64 * v));
    });
  }
};

// Q4_K in WeightLayout::x16: a group is 16 sub-blocks of 32 (two super-blocks), value of element
// i of sub-block j  d_j * scale_j * q_i - dmin_j * min_j  (d_j, dmin_j those of j's super-block).
// Per group, row and token: 8 vpdpbusd leave sub-block j's  sum_i q_i * x_i  in lane j (codes
// 0..15 need no offset), then in f32 for all 16 sub-blocks at once
//   acc += sum * (d_j * scale_j) * dx_j - (dmin_j * min_j) * (dx_j * sum_i x_i)
// with the activation scale dx_j and scaled sum dx_j * sum_i x_i of ActLayout::q8_k_x16.
//
// Shapes: W[R rows, groups g0..g1) x16, X[T tokens] q8_k_x16 -> Y[T, R].
template <int R, int T>
__attribute__((flatten)) void tile_q4_k_x16(const Tile& a) {
  constexpr int kActGroupBytes = kX16Blocks * kQK;
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  // Lanes 0..7 take super-block 0's d (dmin), lanes 8..15 super-block 1's.
  const __m512i d_index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i dmin_index = _mm512_add_epi32(d_index, _mm512_set1_epi32(2));
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  __m512 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm512_setzero_ps(); }); });
  const int64_t g_end = (a.k1 + kX16GroupCols - 1) / kX16GroupCols;
  for (int64_t g = a.k0 / kX16GroupCols; g < g_end; ++g) {
    __m512i sum[R][T];
    unroll<R>([&](auto r) { unroll<T>([&](auto t) { sum[r][t] = _mm512_setzero_si512(); }); });
    // Code vector v of every row meets activation vectors v (low nibbles) and v + 4 (high), each
    // loaded once per group and held for the R rows.
    unroll<Q4_0x16::kCodeVectors>([&](auto v) {
      __m512i x_low[T], x_high[T];
      unroll<T>([&](auto t) {
        x_low[t] = _mm512_loadu_si512(x.qs[t] + g * kActGroupBytes + 64 * v);
        x_high[t] = _mm512_loadu_si512(x.qs[t] + g * kActGroupBytes + 64 * (v + 4));
      });
      unroll<R>([&](auto r) {
        const uint8_t* codes = w + r * w_stride + g * kX16Q4KGroupBytes + kX16Q4KScaleBytes + 64 * v;
        prefetch(codes, prefetch_bytes);
        const __m512i pairs = _mm512_loadu_si512(codes);
        const __m512i low = _mm512_and_si512(pairs, low_mask);
        const __m512i high = _mm512_and_si512(_mm512_srli_epi16(pairs, 4), low_mask);
        unroll<T>([&](auto t) { sum[r][t] = _mm512_dpbusd_epi32(sum[r][t], low, x_low[t]); });
        unroll<T>([&](auto t) { sum[r][t] = _mm512_dpbusd_epi32(sum[r][t], high, x_high[t]); });
      });
    });
    unroll<R>([&](auto r) {
      const uint8_t* scales = w + r * w_stride + g * kX16Q4KGroupBytes;
      prefetch(scales, prefetch_bytes);
      const __m512 d = _mm512_castps128_ps512(
          _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales + 2 * kX16Blocks))));
      const __m512 scale = _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)))),
          _mm512_permutexvar_ps(d_index, d));
      const __m512 min = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                                           reinterpret_cast<const __m128i*>(scales + kX16Blocks)))),
                                       _mm512_permutexvar_ps(dmin_index, d));
      unroll<T>([&](auto t) {
        const __m512 dx = _mm512_loadu_ps(x.d[t] + kX16Blocks * g);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][t]), _mm512_mul_ps(scale, dx), acc[r][t]);
        acc[r][t] = _mm512_fnmadd_ps(min, _mm512_loadu_ps(x.sums[t] + kX16Blocks * g), acc[r][t]);
      });
    });
  }
  store_tile<R, T>(a, acc, Zmm::sum);
}

template <int R, int T>
struct Q4_KX16Tiles {
  static constexpr TileFn fn = tile_q4_k_x16<R, T>;
};

}  // namespace

std::span<const MatmulFamily> avx512_matmul_families() {
  constexpr CpuIsa kIsa = CpuIsa::avx512;
  // Registers of the x16 tiles: per (row, token) an integer and a float accumulator; the activation
  // vectors are memory operands; fixed the code vector, its nibbles, the mask and a temporary.
  static const MatmulFamily kFamilies[] = {
      make_family<X16Tiles<Zmm, Q4_0x16>::At>(
          kIsa, {DType::Q4_0, ActLayout::q8_x16, Q4_0x16::kOffset, 4, 0, 2, WeightLayout::x16}),
      make_family<Q8_32Tiles<Q5_0Weights<VnniIntDot>>::At>(kIsa, {DType::Q5_0, ActLayout::q8_32, 16, 6, 1}),
      make_family<Q8_32Tiles<Q4_1Weights<VnniIntDot>>::At>(kIsa,
                                                           {DType::Q4_1, ActLayout::q8_32_sum, 0, 5, 1}),
      make_family<Q8_32Tiles<Q5_1Weights<VnniIntDot>>::At>(kIsa,
                                                           {DType::Q5_1, ActLayout::q8_32_sum, 0, 6, 1}),
      make_family<X16Tiles<Zmm, Q8_0x16>::At>(
          kIsa, {DType::Q8_0, ActLayout::q8_x16, Q8_0x16::kOffset, 4, 0, 2, WeightLayout::x16}),
      make_family<Q4_KTiles<VnniIntDot, Q4_KLayout>::At>(kIsa, {DType::Q4_K, ActLayout::q8_256, 0, 7, 1}),
      // Q4_K x16: per token the two activation vectors of a step; fixed the mask, the two d indices
      // and the code vector with its nibbles (the scale, min and d vectors come after the codes).
      make_family<Q4_KX16Tiles>(kIsa, {DType::Q4_K, ActLayout::q8_k_x16, 0, 6, 2, 2, WeightLayout::x16}),
      make_family<Q4_KTiles<VnniIntDot, Q5_KLayout>::At>(kIsa, {DType::Q5_K, ActLayout::q8_256, 0, 8, 1}),
      make_family<Q6_KTiles<VnniIntDot>::At>(kIsa, {DType::Q6_K, ActLayout::q8_256, 0, 9, 1}),
      make_family<FloatTiles<Zmm, DType::F32>::At>(kIsa, {DType::F32, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Zmm, DType::F16>::At>(kIsa, {DType::F16, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Zmm, DType::BF16>::At>(kIsa, {DType::BF16, ActLayout::f32, 0, 2, 0}),
  };
  return kFamilies;
}

bool avx512_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
