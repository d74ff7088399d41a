// Compiled with -mavx512f (see CMakeLists.txt): only called when cpu_features().avx512f.
#include <immintrin.h>

#include "tune/register_sweep.h"

namespace jf::tune::detail {
namespace {

struct Avx512Op {
  static __m512 splat(float x) { return _mm512_set1_ps(x); }
  static __m512 fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
  static float first_lane(__m512 v) { return _mm512_cvtss_f32(v); }
};

constexpr SweepTable kTable = make_sweep_table<__m512, Avx512Op>(
    "avx512", 512, 32, std::make_integer_sequence<int, kSweepSize>{});

}  // namespace

const SweepTable* avx512_sweep_table() { return &kTable; }

}  // namespace jf::tune::detail
