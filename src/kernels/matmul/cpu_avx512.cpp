// AVX-512 (F, BW, VL, VNNI) variants (this file is compiled with the AVX-512 flags plus AVX2/FMA/F16C;
// the driver calls it only when cpu_features() reports all of them). The integer kernels are the
// 256-bit tiles of x86_tiles.h with VNNI dot products (vpdpbusd, vpdpwssd: one instruction where
// AVX2 needs maddubs + madd + add); float kernels use 512-bit vectors.

// GCC 12 warns about the deliberately undefined upper bits inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/matmul/x86_tiles.h"

namespace jf {
namespace {

struct VnniIntDot {
  static constexpr bool kVnni = true;
  // acc + sum of groups of 4 adjacent u8 * s8 products, per int32 lane (no intermediate saturation).
  static __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  // acc + sum of pairs of adjacent int16 products, per int32 lane.
  static __m256i madd_i16(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
};

struct Zmm {
  using F = __m512;
  static constexpr int kLanes = 16;
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F load_f16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static F load_bf16(const uint8_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static float sum(F v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace

const MatmulFamily* avx512_family(DType weight) {
  static const auto kFamilies = x86_families<VnniIntDot, Zmm>(CpuIsa::avx512);
  return find_family(kFamilies, weight);
}

bool avx512_quantize_row(DType act_type, const float* x, void* dst, int64_t n) {
  return quantize_row_x86(act_type, x, dst, n);
}

}  // namespace jf
