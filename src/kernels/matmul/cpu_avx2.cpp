// AVX2 + FMA + F16C variants (this file is compiled with -mavx2 -mfma -mf16c; the driver calls it
// only when cpu_features() reports all three).
#include "kernels/matmul/x86_tiles.h"

namespace jf {
namespace {

// Integer dot-product steps without VNNI: u8 x s8 products summed pairwise to int16 by maddubs
// (callers keep |u * s| pairs below 2^15), then to int32 by madd.
struct Avx2IntDot {
  static constexpr bool kVnni = false;
  // acc + sum of groups of 4 adjacent u8 * s8 products, per int32 lane.
  static __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  // acc + sum of pairs of adjacent int16 products, per int32 lane.
  static __m256i madd_i16(__m256i acc, __m256i a, __m256i b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
};

}  // namespace

const MatmulFamily* avx2_family(DType weight) {
  static const auto kFamilies = x86_families<Avx2IntDot, Ymm>(CpuIsa::avx2);
  return find_family(kFamilies, weight);
}

bool avx2_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
