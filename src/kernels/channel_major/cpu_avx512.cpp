// AVX-512 channel-major entries: tiles.h over 512-bit vectors, a block of 32 outputs in two, and
// the integer gathered matvec of Q4_0 and Q8_0 (int8_gather.h) with VNNI's vpdpbusd.
#include <immintrin.h>

#include "kernels/channel_major/int8_gather.h"
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
  static void q4_k(const uint8_t* qs, bool high, F* out) {
    for (int i = 0; i < 2; ++i) {
      const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16 * i)));
      out[i] = _mm512_cvtepi32_ps(_mm512_and_si512(high ? _mm512_srli_epi32(bytes, 4) : bytes, _mm512_set1_epi32(0x0F)));
    }
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

// int8_gather.h's factors: the 16 blocks of a chunk in one vector.
struct Avx512Factors {
  using F = __m512;
  using I = __m512i;
  static constexpr int kLanes = 16;
  static F scales(const uint8_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p));
  }
  static F set1(float f) { return _mm512_set1_ps(f); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F div_or_zero(F a, F b) {
    return _mm512_maskz_div_ps(_mm512_cmp_ps_mask(b, _mm512_setzero_ps(), _CMP_NEQ_OQ), a, b);
  }
  static I cvt(F a) { return _mm512_cvtps_epi32(a); }
  static I set1_i(int32_t v) { return _mm512_set1_epi32(v); }
  static I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
  static I mul_i(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static I pack4(I t0, I t1, I t2, I t3) {
    const I byte = _mm512_set1_epi32(0xFF);
    const I lo = _mm512_or_si512(_mm512_and_si512(t0, byte), _mm512_slli_epi32(_mm512_and_si512(t1, byte), 8));
    const I hi = _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(t2, byte), 16), _mm512_slli_epi32(t3, 24));
    return _mm512_or_si512(lo, hi);
  }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void store_i(int32_t* p, I v) { _mm512_storeu_si512(p, v); }

  // A block's accumulators: outputs 0-15 and 16-31.
  struct Acc {
    __m512i lo, hi;
  };
  static Acc start(int32_t lo, int32_t hi) { return {_mm512_set1_epi32(lo), _mm512_set1_epi32(hi)}; }
  static void finish(const Acc& acc, float scale_lo, float scale_hi, float* y, bool add) {
    const __m512 y_lo = add ? _mm512_loadu_ps(y) : _mm512_setzero_ps();
    const __m512 y_hi = add ? _mm512_loadu_ps(y + 16) : _mm512_setzero_ps();
    _mm512_storeu_ps(y, _mm512_fmadd_ps(_mm512_set1_ps(scale_lo), _mm512_cvtepi32_ps(acc.lo), y_lo));
    _mm512_storeu_ps(y + 16, _mm512_fmadd_ps(_mm512_set1_ps(scale_hi), _mm512_cvtepi32_ps(acc.hi), y_hi));
  }
};

// 4 x 16 bytes -> 16 lanes of 4: lane i of the result holds byte i of each 128-bit part of v
// (part k in byte k). The dwords first (lane part L gets dword L of each part), then the bytes
// within each part.
[[gnu::always_inline]] inline __m512i transpose_4x16(__m512i v) {
  const __m512i dwords = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i bytes = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  return _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, v), bytes);
}

// 16 bytes at each of p[0..3] + offset, one per 128-bit part.
[[gnu::always_inline]] inline __m512i load_4x16(const uint8_t* const* p, int64_t offset) {
  const auto at = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[k] + offset)); };
  __m512i v = _mm512_zextsi128_si512(at(0));
  v = _mm512_inserti32x4(v, at(1), 1);
  v = _mm512_inserti32x4(v, at(2), 2);
  return _mm512_inserti32x4(v, at(3), 3);
}

// Q4_0 codes 0..15 against the pattern; the high nibbles stay in place (16 u, offset 128, the sum
// scaled by S / 16): one instruction fewer per quad than shifting them down.
struct Avx512Q4_0 : Avx512Factors {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ4_0::qs);
  static constexpr int32_t kOffset[2] = {8, 128};
  static void quad(Acc& acc, const uint8_t* const* w, int64_t offset, int32_t pattern) {
    const __m512i packed = transpose_4x16(load_4x16(w, offset)), t = _mm512_set1_epi32(pattern);
    acc.lo = _mm512_dpbusd_epi32(acc.lo, _mm512_and_si512(packed, _mm512_set1_epi8(0x0F)), t);
    acc.hi = _mm512_dpbusd_epi32(acc.hi, _mm512_and_si512(packed, _mm512_set1_epi8(static_cast<char>(0xF0))), t);
  }
  static void finish(const Acc& acc, float scale, float* y, bool add) {
    Avx512Factors::finish(acc, scale, scale / 16, y, add);
  }
};

// Q8_0 codes flipped to unsigned c + 128 (offset 128): vpdpbusd multiplies unsigned by signed.
struct Avx512Q8_0 : Avx512Factors {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ8_0::qs);
  static constexpr int32_t kOffset[2] = {128, 128};
  static void quad(Acc& acc, const uint8_t* const* w, int64_t offset, int32_t pattern) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80)), t = _mm512_set1_epi32(pattern);
    acc.lo = _mm512_dpbusd_epi32(acc.lo, _mm512_xor_si512(transpose_4x16(load_4x16(w, offset)), flip), t);
    acc.hi = _mm512_dpbusd_epi32(acc.hi, _mm512_xor_si512(transpose_4x16(load_4x16(w, offset + 16)), flip), t);
  }
  static void finish(const Acc& acc, float scale, float* y, bool add) {
    Avx512Factors::finish(acc, scale, scale, y, add);
  }
};

// F32 and F16 sum in f32 (tiles.h); Q4_0 and Q8_0 gather with integer factors, their dense entries
// are tiles.h's.
std::array<CmFamily, kCmFamilies> families() {
  std::array<CmFamily, kCmFamilies> all = cm_families<Avx512>(CpuIsa::avx512);
  for (CmFamily& f : all) {
    if (f.dtype == DType::Q4_0) f.gather = Int8Gather<Avx512Q4_0>::gather;
    if (f.dtype == DType::Q8_0) f.gather = Int8Gather<Avx512Q8_0>::gather;
    if (f.dtype == DType::Q4_0 || f.dtype == DType::Q8_0) f.rounding = CmRounding::int8_factors;
  }
  return all;
}

}  // namespace

std::span<const CmFamily> avx512_cm_families() {
  static const std::array<CmFamily, kCmFamilies> kFamilies = families();  // built on first use
  return kFamilies;
}

}  // namespace jf
