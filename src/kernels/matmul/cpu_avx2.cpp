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

}  // namespace

const MatmulFamily* avx2_family(DType weight, WeightLayout layout) {
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
  };
  return find_family(kFamilies, weight, layout);
}

bool avx2_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
