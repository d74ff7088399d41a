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
// Q4_0 and Q8_0 in WeightLayout::x16 (tile_common.h's tile_x16 on Ymm): a 256-bit vector holds
// half of each 64-byte code vector, so a group of 16 blocks runs as two halves of 8 blocks, with
// maddubs/madd steps. The scales are not prefetched (the tiles were measured without).

// Q4_0: the low nibbles of code vector v pair with activation vector v, the high ones with v + 4;
// unsigned codes 0..15 (|code * x| pairs stay below 2^15), bias -8 * sum(x) from the activations.
struct Q4_0x16Half {
  static constexpr int kOffset = 8;
  static constexpr int kCodeVectors = 4;
  static constexpr bool kPrefetchScales = false;
  static __m256i dot(__m256i sum, __m256i u, __m256i x) { return Avx2IntDot::dot_u8s8(sum, u, x); }
  template <class F>
  static void codes(const uint8_t* half, int prefetch_bytes, F&& dot) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    unroll<kCodeVectors>([&](auto v) {
      prefetch(half + 64 * v, prefetch_bytes);
      const __m256i pairs = load256(half + 64 * v);
      dot(v, _mm256_and_si256(pairs, low_mask));
      dot(v + 4, _mm256_and_si256(_mm256_srli_epi16(pairs, 4), low_mask));
    });
  }
};

// Q8_0: codes stored + 128. maddubs would saturate on them, so they go back to signed w and the
// sign moves onto x: |w| * (x * sign(w)) (as Q8_0Weights); no bias.
struct Q8_0x16Half {
  static constexpr int kOffset = 0;
  static constexpr int kCodeVectors = 8;
  static constexpr bool kPrefetchScales = false;
  static __m256i dot(__m256i sum, __m256i w, __m256i x) {
    return Avx2IntDot::dot_u8s8(sum, _mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
  }
  template <class F>
  static void codes(const uint8_t* half, int prefetch_bytes, F&& dot) {
    unroll<kCodeVectors>([&](auto v) {
      prefetch(half + 64 * v, prefetch_bytes);
      const __m256i w = _mm256_xor_si256(load256(half + 64 * v), _mm256_set1_epi8(static_cast<char>(0x80)));
      dot(v, w);
    });
  }
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
      make_family<X16Tiles<Ymm, Q4_0x16Half>::At>(
          kIsa, {DType::Q4_0, ActLayout::q8_x16, Q4_0x16Half::kOffset, 4, 0, 2, WeightLayout::x16}),
      make_family<X16Tiles<Ymm, Q8_0x16Half>::At>(
          kIsa, {DType::Q8_0, ActLayout::q8_x16, Q8_0x16Half::kOffset, 4, 0, 2, WeightLayout::x16}),
  };
  return kFamilies;
}

bool avx2_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
