// AVX2 + FMA + F16C variants (this file is compiled with -mavx2 -mfma -mf16c; the driver calls it
// only when cpu_features() reports all three).
#include "kernels/matmul/x86_tiles.h"

namespace jf {
namespace {

// Integer dot-product steps without VNNI: u8 x s8 products summed pairwise to int16 by maddubs
// (callers keep |u * s| pairs below 2^15), then to int32 by madd.
struct Avx2IntDot {
  // acc + sum of groups of 4 adjacent u8 * s8 products, per int32 lane.
  static __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  // acc + sum of pairs of adjacent int16 products, per int32 lane.
  static __m256i madd_i16(__m256i acc, __m256i a, __m256i b) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  }
};

// ---------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 in WeightLayout::x16 (see cpu_avx512.cpp for the 512-bit version). A 256-bit
// vector holds half of each 64-byte code vector, so a group of 16 blocks runs as two halves of 8
// blocks: per half, row and token V maddubs/madd steps leave block j's integer sum in lane j, then
// one conversion, one scale product and one FMA for the 8 blocks.
//
// Shapes: W[R rows, groups g0..g1) x16, X[T tokens] q8_x16 -> Y[T, R].

// Q4_0: the low nibbles of code vector v pair with activation vector v, the high ones with v + 4;
// unsigned codes 0..15 (|code * x| pairs stay below 2^15), bias -8 * sum(x) from the activations.
struct Q4_0x16Half {
  static constexpr int kOffset = 8;
  static constexpr int kCodeVectors = 4;
  template <class F>
  static void codes(const uint8_t* half, int prefetch_bytes, F&& dot) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    unroll<kCodeVectors>([&](auto v) {
      prefetch(half + 64 * v, prefetch_bytes);
      const __m256i pairs = load256(half + 64 * v);
      dot(v, _mm256_and_si256(pairs, low_mask), std::false_type{});
      dot(v + 4, _mm256_and_si256(_mm256_srli_epi16(pairs, 4), low_mask), std::false_type{});
    });
  }
};

// Q8_0: codes stored + 128. maddubs would saturate on them, so they go back to signed w and the
// sign moves onto x: |w| * (x * sign(w)) (as Q8_0Weights); no bias.
struct Q8_0x16Half {
  static constexpr int kOffset = 0;
  static constexpr int kCodeVectors = 8;
  template <class F>
  static void codes(const uint8_t* half, int prefetch_bytes, F&& dot) {
    unroll<kCodeVectors>([&](auto v) {
      prefetch(half + 64 * v, prefetch_bytes);
      const __m256i w = _mm256_xor_si256(load256(half + 64 * v), _mm256_set1_epi8(static_cast<char>(0x80)));
      dot(v, w, std::true_type{});
    });
  }
};

template <class Weights, int R, int T>
__attribute__((flatten)) void tile_x16_halves(const Tile& a) {
  constexpr int kGroupBytes = kX16ScaleBytes + Weights::kCodeVectors * 64;
  constexpr int kActGroupBytes = kX16Blocks * kQK;
  const TokenRows<T> x(a);
  const uint8_t* const w = a.w;
  const size_t w_stride = a.w_stride;
  const int prefetch_bytes = a.prefetch_bytes;
  __m256 acc[R][T];
  unroll<R>([&](auto r) { unroll<T>([&](auto t) { acc[r][t] = _mm256_setzero_ps(); }); });
  const int64_t g_end = (a.k1 + kX16GroupCols - 1) / kX16GroupCols;
  for (int64_t g = a.k0 / kX16GroupCols; g < g_end; ++g) {
    for (int h = 0; h < 2; ++h) {                    // blocks 8h .. 8h + 7 of the group
      const int64_t block = kX16Blocks * g + 8 * h;  // of the activations
      __m256i sum[R][T];
      unroll<R>([&](auto r) { unroll<T>([&](auto t) { sum[r][t] = load256(x.bias[t] + block); }); });
      unroll<R>([&](auto r) {
        const uint8_t* half = w + r * w_stride + g * kGroupBytes + kX16ScaleBytes + 32 * h;
        Weights::codes(half, prefetch_bytes, [&](int v, __m256i u, auto is_signed) {
          unroll<T>([&](auto t) {
            const __m256i xv = load256(x.qs[t] + g * kActGroupBytes + 64 * v + 32 * h);
            if constexpr (decltype(is_signed)::value) {
              sum[r][t] = Avx2IntDot::dot_u8s8(sum[r][t], _mm256_abs_epi8(u), _mm256_sign_epi8(xv, u));
            } else {
              sum[r][t] = Avx2IntDot::dot_u8s8(sum[r][t], u, xv);
            }
          });
        });
      });
      unroll<R>([&](auto r) {
        const uint8_t* scales = w + r * w_stride + g * kGroupBytes + 16 * h;
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
        unroll<T>([&](auto t) {
          const __m256 d = _mm256_mul_ps(dw, _mm256_loadu_ps(x.d[t] + block));
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[r][t]), d, acc[r][t]);
        });
      });
    }
  }
  store_tile<R, T>(a, acc, hsum);
}

template <class Weights>
struct X16HalfTiles {
  template <int R, int T>
  struct At {
    static constexpr TileFn fn = tile_x16_halves<Weights, R, T>;
  };
};

}  // namespace

std::span<const MatmulFamily> avx2_matmul_families() {
  constexpr CpuIsa kIsa = CpuIsa::avx2;
  static const MatmulFamily kFamilies[] = {
      make_family<Q8_32Tiles<Q4_0Weights<Avx2IntDot>>::At>(kIsa, {DType::Q4_0, ActLayout::q8_32, 8, 4, 1}),
      make_family<Q8_32Tiles<Q5_0Weights<Avx2IntDot>>::At>(kIsa, {DType::Q5_0, ActLayout::q8_32, 16, 6, 1}),
      make_family<Q8_32Tiles<Q4_1Weights<Avx2IntDot>>::At>(kIsa,
                                                           {DType::Q4_1, ActLayout::q8_32_sum, 0, 5, 1}),
      make_family<Q8_32Tiles<Q5_1Weights<Avx2IntDot>>::At>(kIsa,
                                                           {DType::Q5_1, ActLayout::q8_32_sum, 0, 6, 1}),
      make_family<Q8_32Tiles<Q8_0Weights<Avx2IntDot>>::At>(kIsa, {DType::Q8_0, ActLayout::q8_32, 0, 5, 1}),
      make_family<Q4_KTiles<Avx2IntDot, Q4_KLayout>::At>(kIsa, {DType::Q4_K, ActLayout::q8_256, 0, 7, 1}),
      make_family<Q4_KTiles<Avx2IntDot, Q5_KLayout>::At>(kIsa, {DType::Q5_K, ActLayout::q8_256, 0, 8, 1}),
      make_family<Q6_KTiles<Avx2IntDot>::At>(kIsa, {DType::Q6_K, ActLayout::q8_256, 0, 9, 1}),
      make_family<FloatTiles<Ymm, DType::F32>::At>(kIsa, {DType::F32, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Ymm, DType::F16>::At>(kIsa, {DType::F16, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Ymm, DType::BF16>::At>(kIsa, {DType::BF16, ActLayout::f32, 0, 2, 0}),
      // Registers of the x16 tiles: per (row, token) an integer and a float accumulator; fixed the
      // code vector, its nibbles, the mask and the constant of madd.
      make_family<X16HalfTiles<Q4_0x16Half>::At>(
          kIsa, {DType::Q4_0, ActLayout::q8_x16, Q4_0x16Half::kOffset, 4, 0, 2, WeightLayout::x16}),
      make_family<X16HalfTiles<Q8_0x16Half>::At>(
          kIsa, {DType::Q8_0, ActLayout::q8_x16, Q8_0x16Half::kOffset, 4, 0, 2, WeightLayout::x16}),
  };
  return kFamilies;
}

bool avx2_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
