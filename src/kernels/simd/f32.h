// f32 SIMD vectors for the element-wise kernels and attention: one traits struct per instruction
// set, all with the same static functions, so that one kernel template serves every ISA.
//
//   ScalarF32   1 lane, plain C++     always defined (portable variant of ops that need one)
//   Avx2F32     8 lanes, AVX2 + FMA   defined where the file is compiled with -mavx2 -mfma
//   Avx512F32  16 lanes, AVX-512 F    defined where the file is compiled with -mavx512f
//   NeonF32     4 lanes, NEON         defined on AArch64 (NEON is part of its base ISA)
//   Wasm128F32  4 lanes, SIMD128      defined where the file is compiled with -msimd128
//
// Instantiate a kernel template with a traits type in that ISA's file only (cpu_avx2.cpp, ...):
// template instantiations are weak symbols and the linker keeps any one copy, so Avx2F32 code also
// instantiated in an AVX-512 file could end up, with AVX-512 instructions, on an AVX2-only CPU.
// For the same reason everything here is a member of a traits struct or a template.
//
// exp(x) of the vector ISAs: x clamped to [-104, 89] (beyond, exp is 0 or inf in f32), then
//   exp(x) = 2^n exp(r),  n = round(x log2 e),  r = x - n ln2 in [-ln2/2, ln2/2]
// with ln2 split into a float and a correction, and exp(r) = 1 + r + r² q(r), q of degree 5 with
// coefficients fitted for this file by a Remez exchange on relative error (1.0e-10 before float
// rounding). Max relative error against exp in double: 7.9e-8 (below 1 ulp; simd/exp_test.cpp
// measures it over a sweep of the whole range and holds it to 8.3e-8) wherever the result is a
// normal float; subnormal results are within 1 subnormal ulp. NaN stays NaN, exp(-inf) = 0,
// exp(+inf) = inf. SIMD128 has no fused multiply-add: Wasm128F32 reduces x with ln2 split in three
// (the first part's product with n exact without fusing) and evaluates q(r) with separate roundings.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns about the deliberately undefined upper bits inside its own AVX-512 intrinsics. The
// files that include this with -mavx512f hold nothing else.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace jf::simd {

struct ExpConstants {
  static constexpr float kMin = -104.0f;  // exp < half the smallest subnormal below
  static constexpr float kMax = 89.0f;    // exp > FLT_MAX above
  static constexpr float kLog2e = 0x1.715476p+0f;
  static constexpr float kLn2Hi = 0x1.62e430p-1f;    // float(ln 2)
  static constexpr float kLn2Lo = -0x1.05c610p-29f;  // ln 2 - kLn2Hi
  // q(r) = 1/2 + c3 r + c4 r² + c5 r³ + c6 r⁴ + c7 r⁵
  static constexpr float kC3 = 0x1.555556p-3f;
  static constexpr float kC4 = 0x1.55547p-5f;
  static constexpr float kC5 = 0x1.1110acp-7f;
  static constexpr float kC6 = 0x1.6da76cp-10f;
  static constexpr float kC7 = 0x1.a17e08p-13f;
};

// exp(r) for |r| <= ln2/2 on any traits type V (the polynomial above).
template <typename V>
typename V::Reg exp_reduced(typename V::Reg r) {
  using C = ExpConstants;
  typename V::Reg q = V::fmadd(V::set1(C::kC7), r, V::set1(C::kC6));
  q = V::fmadd(q, r, V::set1(C::kC5));
  q = V::fmadd(q, r, V::set1(C::kC4));
  q = V::fmadd(q, r, V::set1(C::kC3));
  q = V::fmadd(q, r, V::set1(0.5f));
  return V::add(V::fmadd(q, V::mul(r, r), r), V::set1(1.0f));
}

// x clamped to [kMin, kMax] with NaN kept, its n = round(x log2 e) and r = x - n ln 2.
template <typename V>
void exp_reduce(typename V::Reg x, typename V::Reg* n, typename V::Reg* r) {
  using C = ExpConstants;
  // max/min return their second operand when one is NaN: x second keeps NaN.
  x = V::min(V::set1(C::kMax), V::max(V::set1(C::kMin), x));
  *n = V::round(V::mul(x, V::set1(C::kLog2e)));
  *r = V::fnmadd(*n, V::set1(C::kLn2Lo), V::fnmadd(*n, V::set1(C::kLn2Hi), x));
}

struct ScalarF32 {
  using Reg = float;
  using DAcc = double;
  static constexpr int kLanes = 1;

  static Reg load(const float* p) { return *p; }
  static void store(float* p, Reg v) { *p = v; }
  static Reg load_partial(const float* p, int n, float fill) { return n > 0 ? *p : fill; }
  static void store_partial(float* p, Reg v, int n) {
    if (n > 0) *p = v;
  }
  static Reg set1(float v) { return v; }
  static Reg zero() { return 0.0f; }
  static Reg add(Reg a, Reg b) { return a + b; }
  static Reg sub(Reg a, Reg b) { return a - b; }
  static Reg mul(Reg a, Reg b) { return a * b; }
  static Reg div(Reg a, Reg b) { return a / b; }
  static Reg max(Reg a, Reg b) { return a > b ? a : b; }
  static Reg fmadd(Reg a, Reg b, Reg c) { return a * b + c; }
  static Reg exp(Reg x) { return std::exp(x); }
  static float reduce_add(Reg v) { return v; }
  static float reduce_max(Reg v) { return v; }
  static void reduce_add4(Reg a, Reg b, Reg c, Reg d, float* out) {
    out[0] = a, out[1] = b, out[2] = c, out[3] = d;
  }
  static DAcc dzero() { return 0.0; }
  static DAcc add_widened(DAcc acc, Reg v) { return acc + v; }
  static DAcc add_sq_widened(DAcc acc, Reg v) { return acc + static_cast<double>(v) * v; }
  static double dreduce(DAcc acc) { return acc; }
};

#if defined(__AVX2__) && defined(__FMA__)
struct Avx2F32 {
  using Reg = __m256;
  struct DAcc {
    __m256d lo, hi;
  };
  static constexpr int kLanes = 8;

  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  // Lanes [0, n) of p (masked: nothing past them is read), `fill` in the others.
  static Reg load_partial(const float* p, int n, float fill) {
    const __m256i mask = lanes_below(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
  }
  static void store_partial(float* p, Reg v, int n) { _mm256_maskstore_ps(p, lanes_below(n), v); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg fnmadd(Reg a, Reg b, Reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static Reg round(Reg v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // [a0 a0 a2 a2 ...], [a1 a1 a3 a3 ...], [a1 a0 a3 a2 ...]
  static Reg dup_even(Reg v) { return _mm256_moveldup_ps(v); }
  static Reg dup_odd(Reg v) { return _mm256_movehdup_ps(v); }
  static Reg swap_pairs(Reg v) { return _mm256_permute_ps(v, 0xB1); }
  // The even and odd elements of p[0, 16).
  static void deinterleave(const float* p, Reg* even, Reg* odd) {
    const Reg a = load(p), b = load(p + 8);
    // shuffle_ps works per 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6]; the 64-bit permute orders it.
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
  }

  static Reg exp(Reg x) {
    Reg n, r;
    exp_reduce<Avx2F32>(x, &n, &r);
    // 2^n as two factors 2^(n/2) 2^(n - n/2), each a normal float over the clamped range, so that
    // results in the subnormal range round once, at the last multiplication.
    const __m256i ni = _mm256_cvttps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const Reg s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const Reg s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return mul(mul(exp_reduced<Avx2F32>(r), s1), s2);
  }

  static float reduce_add(Reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static float reduce_max(Reg v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
  }
  // out[i] = sum of the lanes of the i-th argument.
  static void reduce_add4(Reg a, Reg b, Reg c, Reg d, float* out) {
    // hadd twice leaves [a b c d] partial sums in each 128-bit half; adding the halves finishes.
    const Reg s = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
  }

  static DAcc dzero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static DAcc add_widened(DAcc acc, Reg v) {
    return {_mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
            _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)))};
  }
  static DAcc add_sq_widened(DAcc acc, Reg v) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    return {_mm256_fmadd_pd(lo, lo, acc.lo), _mm256_fmadd_pd(hi, hi, acc.hi)};
  }
  static double dreduce(DAcc acc) {
    const __m256d s = _mm256_add_pd(acc.lo, acc.hi);
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }

 private:
  static __m256i lanes_below(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
#endif  // AVX2 + FMA

#if defined(__AVX512F__)
struct Avx512F32 {
  using Reg = __m512;
  struct DAcc {
    __m512d lo, hi;
  };
  static constexpr int kLanes = 16;

  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg load_partial(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), lanes_below(n), p);
  }
  static void store_partial(float* p, Reg v, int n) { _mm512_mask_storeu_ps(p, lanes_below(n), v); }
  static Reg set1(float v) { return _mm512_set1_ps(v); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg fnmadd(Reg a, Reg b, Reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static Reg round(Reg v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static Reg dup_even(Reg v) { return _mm512_moveldup_ps(v); }
  static Reg dup_odd(Reg v) { return _mm512_movehdup_ps(v); }
  static Reg swap_pairs(Reg v) { return _mm512_permute_ps(v, 0xB1); }
  static void deinterleave(const float* p, Reg* even, Reg* odd) {
    const __m512i even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd_idx = _mm512_add_epi32(even_idx, _mm512_set1_epi32(1));
    const Reg a = load(p), b = load(p + 16);
    *even = _mm512_permutex2var_ps(a, even_idx, b);
    *odd = _mm512_permutex2var_ps(a, odd_idx, b);
  }

  static Reg exp(Reg x) {
    Reg n, r;
    exp_reduce<Avx512F32>(x, &n, &r);
    // scalef multiplies by 2^n with one rounding, subnormal and overflowing results included.
    return _mm512_scalef_ps(exp_reduced<Avx512F32>(r), n);
  }

  static float reduce_add(Reg v) { return _mm512_reduce_add_ps(v); }
  static float reduce_max(Reg v) { return _mm512_reduce_max_ps(v); }
  static void reduce_add4(Reg a, Reg b, Reg c, Reg d, float* out) {
    // Fold each to 256 bits, then as Avx2F32 does.
    const __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), upper_half(a));
    const __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), upper_half(b));
    const __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), upper_half(c));
    const __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), upper_half(d));
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
  }

  static DAcc dzero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static DAcc add_widened(DAcc acc, Reg v) {
    return {_mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v))),
            _mm512_add_pd(acc.hi, _mm512_cvtps_pd(upper_half(v)))};
  }
  static DAcc add_sq_widened(DAcc acc, Reg v) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(upper_half(v));
    return {_mm512_fmadd_pd(lo, lo, acc.lo), _mm512_fmadd_pd(hi, hi, acc.hi)};
  }
  static double dreduce(DAcc acc) { return _mm512_reduce_add_pd(_mm512_add_pd(acc.lo, acc.hi)); }

 private:
  static __mmask16 lanes_below(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  // Lanes 8..15 (extractf32x8 would need AVX-512 DQ).
  static __m256 upper_half(Reg v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }
};
#endif  // AVX-512 F

#if defined(__aarch64__)
struct NeonF32 {
  using Reg = float32x4_t;
  struct DAcc {
    float64x2_t lo, hi;
  };
  static constexpr int kLanes = 4;

  static Reg load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, Reg v) { vst1q_f32(p, v); }
  // NEON has no masked loads: partial vectors go through a buffer.
  static Reg load_partial(const float* p, int n, float fill) {
    float lanes[4] = {fill, fill, fill, fill};
    std::memcpy(lanes, p, static_cast<size_t>(n) * sizeof(float));
    return vld1q_f32(lanes);
  }
  static void store_partial(float* p, Reg v, int n) {
    float lanes[4];
    vst1q_f32(lanes, v);
    std::memcpy(p, lanes, static_cast<size_t>(n) * sizeof(float));
  }
  static Reg set1(float v) { return vdupq_n_f32(v); }
  static Reg zero() { return vdupq_n_f32(0.0f); }
  static Reg add(Reg a, Reg b) { return vaddq_f32(a, b); }
  static Reg sub(Reg a, Reg b) { return vsubq_f32(a, b); }
  static Reg mul(Reg a, Reg b) { return vmulq_f32(a, b); }
  static Reg div(Reg a, Reg b) { return vdivq_f32(a, b); }
  static Reg max(Reg a, Reg b) { return vmaxq_f32(a, b); }  // NaN if either is NaN
  static Reg min(Reg a, Reg b) { return vminq_f32(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return vfmaq_f32(c, a, b); }
  static Reg fnmadd(Reg a, Reg b, Reg c) { return vfmsq_f32(c, a, b); }
  static Reg round(Reg v) { return vrndnq_f32(v); }
  static Reg dup_even(Reg v) { return vtrn1q_f32(v, v); }
  static Reg dup_odd(Reg v) { return vtrn2q_f32(v, v); }
  static Reg swap_pairs(Reg v) { return vrev64q_f32(v); }
  static void deinterleave(const float* p, Reg* even, Reg* odd) {
    const float32x4x2_t v = vld2q_f32(p);
    *even = v.val[0];
    *odd = v.val[1];
  }

  static Reg exp(Reg x) {
    Reg n, r;
    exp_reduce<NeonF32>(x, &n, &r);
    // 2^n in two normal factors, as in Avx2F32::exp.
    const int32x4_t ni = vcvtq_s32_f32(n);
    const int32x4_t n1 = vshrq_n_s32(ni, 1);
    const int32x4_t n2 = vsubq_s32(ni, n1);
    const int32x4_t bias = vdupq_n_s32(127);
    const Reg s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    const Reg s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return mul(mul(exp_reduced<NeonF32>(r), s1), s2);
  }

  static float reduce_add(Reg v) { return vaddvq_f32(v); }
  static float reduce_max(Reg v) { return vmaxvq_f32(v); }
  static void reduce_add4(Reg a, Reg b, Reg c, Reg d, float* out) {
    vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
  }

  static DAcc dzero() { return {vdupq_n_f64(0.0), vdupq_n_f64(0.0)}; }
  static DAcc add_widened(DAcc acc, Reg v) {
    return {vaddq_f64(acc.lo, vcvt_f64_f32(vget_low_f32(v))), vaddq_f64(acc.hi, vcvt_high_f64_f32(v))};
  }
  static DAcc add_sq_widened(DAcc acc, Reg v) {
    const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
    return {vfmaq_f64(acc.lo, lo, lo), vfmaq_f64(acc.hi, hi, hi)};
  }
  static double dreduce(DAcc acc) { return vaddvq_f64(vaddq_f64(acc.lo, acc.hi)); }
};
#endif  // AArch64

#if defined(__wasm_simd128__)
struct Wasm128F32 {
  using Reg = v128_t;  // f32x4
  struct DAcc {
    v128_t lo, hi;  // f64x2 each
  };
  static constexpr int kLanes = 4;

  static Reg load(const float* p) { return wasm_v128_load(p); }
  static void store(float* p, Reg v) { wasm_v128_store(p, v); }
  // SIMD128 has no masked loads: partial vectors go through a buffer, as on NEON.
  static Reg load_partial(const float* p, int n, float fill) {
    float lanes[4] = {fill, fill, fill, fill};
    std::memcpy(lanes, p, static_cast<size_t>(n) * sizeof(float));
    return wasm_v128_load(lanes);
  }
  static void store_partial(float* p, Reg v, int n) {
    float lanes[4];
    wasm_v128_store(lanes, v);
    std::memcpy(p, lanes, static_cast<size_t>(n) * sizeof(float));
  }
  static Reg set1(float v) { return wasm_f32x4_splat(v); }
  static Reg zero() { return wasm_f32x4_splat(0.0f); }
  static Reg add(Reg a, Reg b) { return wasm_f32x4_add(a, b); }
  static Reg sub(Reg a, Reg b) { return wasm_f32x4_sub(a, b); }
  static Reg mul(Reg a, Reg b) { return wasm_f32x4_mul(a, b); }
  static Reg div(Reg a, Reg b) { return wasm_f32x4_div(a, b); }
  static Reg max(Reg a, Reg b) { return wasm_f32x4_max(a, b); }  // NaN if either is NaN
  static Reg min(Reg a, Reg b) { return wasm_f32x4_min(a, b); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return add(mul(a, b), c); }  // two roundings
  static Reg fnmadd(Reg a, Reg b, Reg c) { return sub(c, mul(a, b)); }
  static Reg round(Reg v) { return wasm_f32x4_nearest(v); }
  static Reg dup_even(Reg v) { return wasm_i32x4_shuffle(v, v, 0, 0, 2, 2); }
  static Reg dup_odd(Reg v) { return wasm_i32x4_shuffle(v, v, 1, 1, 3, 3); }
  static Reg swap_pairs(Reg v) { return wasm_i32x4_shuffle(v, v, 1, 0, 3, 2); }
  static void deinterleave(const float* p, Reg* even, Reg* odd) {
    const Reg a = load(p), b = load(p + 4);
    *even = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
    *odd = wasm_i32x4_shuffle(a, b, 1, 3, 5, 7);
  }

  static Reg exp(Reg x) {
    using C = ExpConstants;
    // ln 2 = kLn2A + kLn2B + kLn2C: kLn2A has 9 significant bits, so n kLn2A (|n| <= 151) is exact
    // and so is x - n kLn2A (Sterbenz); the rest is below the rounding of r.
    constexpr float kLn2A = 0x1.63p-1f;
    constexpr float kLn2B = -0x1.bd0106p-13f;
    constexpr float kLn2C = 0x1.cf79acp-40f;
    x = min(set1(C::kMax), max(set1(C::kMin), x));
    const Reg n = round(mul(x, set1(C::kLog2e)));
    const Reg r = fnmadd(n, set1(kLn2C), fnmadd(n, set1(kLn2B), fnmadd(n, set1(kLn2A), x)));
    // 2^n in two normal factors, as in Avx2F32::exp.
    const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
    const v128_t n1 = wasm_i32x4_shr(ni, 1);
    const v128_t n2 = wasm_i32x4_sub(ni, n1);
    const v128_t bias = wasm_i32x4_splat(127);
    const Reg s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, bias), 23);
    const Reg s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, bias), 23);
    return mul(mul(exp_reduced<Wasm128F32>(r), s1), s2);
  }

  static float reduce_add(Reg v) {
    const Reg s = add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2)), 0);
  }
  static float reduce_max(Reg v) {
    const Reg s = max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    return wasm_f32x4_extract_lane(max(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2)), 0);
  }
  static void reduce_add4(Reg a, Reg b, Reg c, Reg d, float* out) {
    // [a0+a1 b0+b1 a2+a3 b2+b3], the same for c and d, then the halves added.
    const Reg ab = add(wasm_i32x4_shuffle(a, b, 0, 4, 2, 6), wasm_i32x4_shuffle(a, b, 1, 5, 3, 7));
    const Reg cd = add(wasm_i32x4_shuffle(c, d, 0, 4, 2, 6), wasm_i32x4_shuffle(c, d, 1, 5, 3, 7));
    store(out, add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7)));
  }

  static DAcc dzero() { return {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)}; }
  static DAcc add_widened(DAcc acc, Reg v) {
    return {wasm_f64x2_add(acc.lo, low_f64(v)), wasm_f64x2_add(acc.hi, high_f64(v))};
  }
  static DAcc add_sq_widened(DAcc acc, Reg v) {
    const v128_t lo = low_f64(v), hi = high_f64(v);
    return {wasm_f64x2_add(acc.lo, wasm_f64x2_mul(lo, lo)), wasm_f64x2_add(acc.hi, wasm_f64x2_mul(hi, hi))};
  }
  static double dreduce(DAcc acc) {
    const v128_t s = wasm_f64x2_add(acc.lo, acc.hi);
    return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  }

 private:
  static v128_t low_f64(Reg v) { return wasm_f64x2_promote_low_f32x4(v); }
  static v128_t high_f64(Reg v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)); }
};
#endif  // SIMD128

}  // namespace jf::simd
