// AVX-512 channel-major entries: tiles.h over 512-bit vectors, a block of 32 outputs in two, and
// the integer gathered matvec of Q4_0 and Q8_0 (int8_gather_avx512.h).
#include <immintrin.h>

#include "kernels/channel_major/int8_gather_avx512.h"
#include "kernels/channel_major/tiles.h"

namespace jf {
namespace {

struct Avx512 {
  using F = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kTokens = 6;  // 12 accumulators, 2 values, broadcasts: within 32 registers
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float f) { return _mm512_set1_ps(f); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static float half(uint16_t h) { return _cvtsh_ss(h); }
  static F from_i8(__m128i codes) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(codes)); }
  // Each byte widened once to an int32 lane, then split: its low nibble is element i, its high
  // nibble element 16 + i (one widening shuffle per block, not two).
  static void q4_0(const uint8_t* qs, F* out) {
    const __m512i pairs = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    const __m512i eight = _mm512_set1_epi32(8);
    out[0] = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(pairs, _mm512_set1_epi32(0x0F)), eight));
    out[1] = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(pairs, 4), eight));
  }
  static void q8_0(const int8_t* qs, F* out) {
    out[0] = from_i8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    out[1] = from_i8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16)));
  }
  static void f16(const uint8_t* p, F* out) {
    out[0] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    out[1] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
  }
  static void f32(const float* p, F* out) {
    out[0] = _mm512_loadu_ps(p);
    out[1] = _mm512_loadu_ps(p + 16);
  }
};

// F32 and F16 sum in f32 (tiles.h); Q4_0 and Q8_0 gather with integer factors, their dense entries
// are tiles.h's.
std::array<CmFamily, 4> families() {
  std::array<CmFamily, 4> all = cm_families<Avx512>(CpuIsa::avx512);
  for (CmFamily& f : all) {
    if (f.dtype == DType::Q4_0) f.gather = Int8Gather<Int8Q4_0>::gather;
    if (f.dtype == DType::Q8_0) f.gather = Int8Gather<Int8Q8_0>::gather;
    if (f.dtype == DType::Q4_0 || f.dtype == DType::Q8_0) f.rounding = CmRounding::int8_factors;
  }
  return all;
}

}  // namespace

std::span<const CmFamily> avx512_cm_families() {
  static const std::array<CmFamily, 4> kFamilies = families();  // built on first use
  return kFamilies;
}

}  // namespace jf
