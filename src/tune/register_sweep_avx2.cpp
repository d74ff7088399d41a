// Compiled with -mavx2 -mfma (see CMakeLists.txt): only called when cpu_features() has both.
// Without AVX-512 flags the compiler can use ymm0-15 only, which is what an AVX2 kernel gets.
#include <immintrin.h>

#include "tune/register_sweep.h"

namespace jf::tune::detail {
namespace {

struct Avx2Op {
  static __m256 splat(float x) { return _mm256_set1_ps(x); }
  static __m256 fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
  static float first_lane(__m256 v) { return _mm256_cvtss_f32(v); }
};

constexpr SweepTable kTable = make_sweep_table<__m256, Avx2Op>(
    "avx2", 256, 16, std::make_integer_sequence<int, kSweepSize>{});

}  // namespace

const SweepTable* avx2_sweep_table() { return &kTable; }

}  // namespace jf::tune::detail
