// Selection on AVX-512: the threshold scan compares 16 magnitudes at once and compress-stores the
// indices of those kept; top-k is the portable radix selection built with these flags.
#include <immintrin.h>

#include "kernels/select/kernels.h"

namespace jf {

int64_t select_at_least_avx512(const float* x, int64_t n, float threshold, int32_t* out) {
  const __m512 t = _mm512_set1_ps(threshold);
  const __m512i step = _mm512_set1_epi32(16);
  __m512i index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int64_t count = 0, j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 magnitude = _mm512_abs_ps(_mm512_loadu_ps(x + j));
    const __mmask16 keep = _mm512_cmp_ps_mask(magnitude, t, _CMP_GE_OQ);
    _mm512_mask_compressstoreu_epi32(out + count, keep, index);
    count += __builtin_popcount(keep);
    index = _mm512_add_epi32(index, step);
  }
  for (; j < n; ++j) {
    out[count] = static_cast<int32_t>(j);
    count += std::fabs(x[j]) >= threshold;
  }
  return count;
}

void select_topk_avx512(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch) {
  select_topk_radix(x, n, k, out, scratch);
}

}  // namespace jf
