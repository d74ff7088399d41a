// AVX2 + FMA + F16C channel-major entries: tiles.h over 256-bit vectors, a block of 32 outputs in
// four; Q4_0 and Q8_0 codes widened to int32 and converted (no integer dot: each output is a sum
// over channels of x[j] · d · code, with a scale per channel and block).
#include <immintrin.h>

#include "kernels/channel_major/tiles.h"

namespace jf {
namespace {

struct Avx2 {
  using F = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kTokens = 2;  // 8 accumulators, 4 values, 1 broadcast: within 16 registers
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F set1(float f) { return _mm256_set1_ps(f); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
  static F from_i8(__m128i codes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes)); }
  // Bytes 0..7 and 8..15 widened to int32 lanes, each then split: the low nibble of byte i is
  // element i, its high nibble element 16 + i (two widening shuffles per block, not four).
  static void q4_0(const uint8_t* qs, F* out) {
    const __m256i eight = _mm256_set1_epi32(8), mask = _mm256_set1_epi32(0x0F);
    for (int h = 0; h < 2; ++h) {
      const __m256i pairs = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * h)));
      out[h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(pairs, mask), eight));
      out[2 + h] = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(pairs, 4), eight));
    }
  }
  static void q8_0(const int8_t* qs, F* out) {
    for (int i = 0; i < 4; ++i) out[i] = from_i8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * i)));
  }
  static void f16(const uint8_t* p, F* out) {
    for (int i = 0; i < 4; ++i) out[i] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)));
  }
  static void f32(const float* p, F* out) {
    for (int i = 0; i < 4; ++i) out[i] = _mm256_loadu_ps(p + 8 * i);
  }
};

}  // namespace

std::span<const CmFamily> avx2_cm_families() {
  static const std::array<CmFamily, 4> kFamilies = cm_families<Avx2>(CpuIsa::avx2);  // built on first use
  return kFamilies;
}

}  // namespace jf
