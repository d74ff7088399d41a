// Helpers for the tests of exp, RMSNorm, RoPE, softmax, attention and SwiGLU (tests only).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "kernels/simd/variant.h"

namespace jf::test {

// Lengths around the vector widths (4, 8, 16) and their multiples, and a long row.
inline constexpr int64_t kOddSizes[] = {1, 3, 17, 64, 65, 257, 4096 + 3};

// n floats uniform in [lo, hi), the same for the same seed.
inline std::vector<float> random_floats(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// Variants for ISAs the CPU lacks are not listed by *_variants(), so they go untested: say which
// (x86 builds carry AVX2 and AVX-512 variants; NEON, the only ARM one, is in every AArch64 CPU).
inline void note_missing_isas() {
#if defined(JITFLOW_MATMUL_X86)
  for (CpuIsa isa : {CpuIsa::avx2, CpuIsa::avx512}) {
    if (!cpu_has_isa(isa)) {
      std::printf("[  SKIPPED ] %s variants: this CPU lacks it (%s)\n", isa_name(isa),
                  cpu_features().feature_list().c_str());
    }
  }
#endif
}

// Expects |got[i] - want[i]| <= rel |want[i]| + abs for every i (NaN matches NaN, inf the same inf),
// and reports only the worst element, so that a broken kernel prints one line, not thousands.
inline void expect_close(const float* got, const float* want, int64_t n, double rel, double abs,
                         const std::string& what) {
  double worst = 0;  // error over allowed error
  int64_t worst_i = -1;
  for (int64_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i];
    if ((std::isnan(g) && std::isnan(w)) || g == w) continue;
    const double ratio = std::fabs(g - w) / (rel * std::fabs(w) + abs);
    if (std::isnan(ratio) || ratio > worst) worst = std::isnan(ratio) ? INFINITY : ratio, worst_i = i;
  }
  if (worst_i >= 0) {
    EXPECT_LE(worst, 1.0) << what << ": element " << worst_i << " is " << got[worst_i] << ", want "
                          << want[worst_i] << " (tolerance " << rel << " relative + " << abs << ")";
  }
}

}  // namespace jf::test
