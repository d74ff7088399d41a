// AVX2 + FMA + F16C channel-major entries: tiles.h over 256-bit vectors, a block of 32 outputs in
// four, and the integer gathered matvec of Q4_0 and Q8_0 (int8_gather.h) with vpmaddubsw and
// vpmaddwd.
#include <immintrin.h>

#include <cstring>

#include "kernels/channel_major/int8_gather.h"
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
  static void q4_k(const uint8_t* qs, bool high, F* out) {
    for (int i = 0; i < 4; ++i) {
      const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * i)));
      out[i] = _mm256_cvtepi32_ps(_mm256_and_si256(high ? _mm256_srli_epi32(bytes, 4) : bytes, _mm256_set1_epi32(0x0F)));
    }
  }
  static void f16(const uint8_t* p, F* out) {
    for (int i = 0; i < 4; ++i) out[i] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)));
  }
  static void f32(const float* p, F* out) {
    for (int i = 0; i < 4; ++i) out[i] = _mm256_loadu_ps(p + 8 * i);
  }
};

// int8_gather.h's factors: the 16 blocks of a chunk in two vectors.
struct Avx2Factors {
  using F = __m256;
  using I = __m256i;
  static constexpr int kLanes = 8;
  // A chunk's last part may hold fewer than 8 blocks: copied out then (a vector load right after
  // narrow stores waits for them, so not for full parts).
  static F scales(const uint8_t* p, int n) {
    if (n == kLanes) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    uint16_t h[kLanes] = {};
    std::memcpy(h, p, 2 * static_cast<size_t>(n));
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
  }
  static F set1(float f) { return _mm256_set1_ps(f); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F abs(F a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F div_or_zero(F a, F b) {
    return _mm256_and_ps(_mm256_div_ps(a, b), _mm256_cmp_ps(b, _mm256_setzero_ps(), _CMP_NEQ_OQ));
  }
  static I cvt(F a) { return _mm256_cvtps_epi32(a); }
  static I set1_i(int32_t v) { return _mm256_set1_epi32(v); }
  static I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
  static I mul_i(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static I pack4(I t0, I t1, I t2, I t3) {
    const I byte = _mm256_set1_epi32(0xFF);
    const I lo = _mm256_or_si256(_mm256_and_si256(t0, byte), _mm256_slli_epi32(_mm256_and_si256(t1, byte), 8));
    const I hi = _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(t2, byte), 16), _mm256_slli_epi32(t3, 24));
    return _mm256_or_si256(lo, hi);
  }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void store_i(int32_t* p, I v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

  // A block's accumulators, in the order transpose_4x16 leaves the outputs: [0-3 | 8-11],
  // [4-7 | 12-15], then the same for outputs 16-31.
  struct Acc {
    __m256i v[4];
  };
  static Acc start(int32_t lo, int32_t hi) {
    return {{_mm256_set1_epi32(lo), _mm256_set1_epi32(lo), _mm256_set1_epi32(hi), _mm256_set1_epi32(hi)}};
  }
  // acc += Σ over each lane's four bytes of u · t (u unsigned, t signed: pairs within int16).
  static __m256i dot(__m256i acc, __m256i u, __m256i t) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, t), _mm256_set1_epi16(1)));
  }
  static void finish(const Acc& acc, float scale, float* y, bool add) {
    const __m256 s = _mm256_set1_ps(scale);
    for (int half = 0; half < 2; ++half) {
      const __m256 a = _mm256_cvtepi32_ps(acc.v[2 * half]), b = _mm256_cvtepi32_ps(acc.v[2 * half + 1]);
      float* out = y + 16 * half;
      const __m256 first = _mm256_permute2f128_ps(a, b, 0x20), second = _mm256_permute2f128_ps(a, b, 0x31);
      _mm256_storeu_ps(out, _mm256_fmadd_ps(s, first, add ? _mm256_loadu_ps(out) : _mm256_setzero_ps()));
      _mm256_storeu_ps(out + 8, _mm256_fmadd_ps(s, second, add ? _mm256_loadu_ps(out + 8) : _mm256_setzero_ps()));
    }
  }
};

// The 16 bytes at p[k] + offset of four channels A, B, C, D, as 32-bit lanes of one byte per
// channel: *t0 = outputs [0-3 | 8-11], *t1 = [4-7 | 12-15].
[[gnu::always_inline]] inline void transpose_4x16(const uint8_t* const* p, int64_t offset, __m256i* t0, __m256i* t1) {
  const auto at = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[k] + offset)); };
  const __m256i ac = _mm256_inserti128_si256(_mm256_castsi128_si256(at(0)), at(2), 1);
  const __m256i bd = _mm256_inserti128_si256(_mm256_castsi128_si256(at(1)), at(3), 1);
  const __m256i lo = _mm256_unpacklo_epi8(ac, bd), hi = _mm256_unpackhi_epi8(ac, bd);  // [AB 0-7 | CD 0-7], [.. 8-15]
  const __m256i ab = _mm256_permute2x128_si256(lo, hi, 0x20), cd = _mm256_permute2x128_si256(lo, hi, 0x31);
  *t0 = _mm256_unpacklo_epi16(ab, cd);
  *t1 = _mm256_unpackhi_epi16(ab, cd);
}

// Q4_0 codes 0..15 (offset 8), both nibbles shifted down: 16 u · t pairs would overflow int16.
struct Avx2Q4_0 : Avx2Factors {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ4_0::qs);
  static constexpr int32_t kOffset[2] = {8, 8};
  static void quad(Acc& acc, const uint8_t* const* w, int64_t offset, int32_t pattern) {
    __m256i packed[2];
    transpose_4x16(w, offset, &packed[0], &packed[1]);
    const __m256i nibble = _mm256_set1_epi8(0x0F), t = _mm256_set1_epi32(pattern);
    for (int i = 0; i < 2; ++i) {
      acc.v[i] = dot(acc.v[i], _mm256_and_si256(packed[i], nibble), t);
      acc.v[2 + i] = dot(acc.v[2 + i], _mm256_and_si256(_mm256_srli_epi16(packed[i], 4), nibble), t);
    }
  }
};

// Q8_0 codes signed (offset 0): |t| · (code with t's sign), vpmaddubsw's unsigned-by-signed.
struct Avx2Q8_0 : Avx2Factors {
  static constexpr int64_t kCodeBytes = sizeof(BlockQ8_0::qs);
  static constexpr int32_t kOffset[2] = {0, 0};
  static void quad(Acc& acc, const uint8_t* const* w, int64_t offset, int32_t pattern) {
    const __m256i t = _mm256_set1_epi32(pattern), magnitude = _mm256_abs_epi8(t);
    for (int half = 0; half < 2; ++half) {
      __m256i codes[2];
      transpose_4x16(w, offset + 16 * half, &codes[0], &codes[1]);
      for (int i = 0; i < 2; ++i) acc.v[2 * half + i] = dot(acc.v[2 * half + i], magnitude, _mm256_sign_epi8(codes[i], t));
    }
  }
};

// F32 and F16 sum in f32 (tiles.h); Q4_0 and Q8_0 gather with integer factors, their dense entries
// are tiles.h's.
std::array<CmFamily, kCmFamilies> families() {
  std::array<CmFamily, kCmFamilies> all = cm_families<Avx2>(CpuIsa::avx2);
  for (CmFamily& f : all) {
    if (f.dtype == DType::Q4_0) f.gather = Int8Gather<Avx2Q4_0>::gather;
    if (f.dtype == DType::Q8_0) f.gather = Int8Gather<Avx2Q8_0>::gather;
    if (f.dtype == DType::Q4_0 || f.dtype == DType::Q8_0) f.rounding = CmRounding::int8_factors;
  }
  return all;
}

}  // namespace

std::span<const CmFamily> avx2_cm_families() {
  static const std::array<CmFamily, kCmFamilies> kFamilies = families();  // built on first use
  return kFamilies;
}

}  // namespace jf
