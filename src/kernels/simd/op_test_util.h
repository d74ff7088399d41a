// Helpers for the kernel tests (matmul, exp, RMSNorm, RoPE, softmax, attention, SwiGLU): a test case
// per ISA, random inputs, and comparison with stated tolerances.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "kernels/registry.h"

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

// Starts the test case of one ISA: skips the whole case when this CPU cannot run the ISA (or
// JITFLOW_MAX_ISA caps it), and fails it at once when JITFLOW_TEST_FAIL_ISA names it, which
// tests/check_failure_is_not_skip.sh uses to prove that a failing case is reported as failed.
// Skipping a whole case is the only skip: CMake's gtest discovery reports any case whose output
// holds GoogleTest's skip marker as skipped whatever its exit code, so one case must never test
// several ISAs and print that marker for some of them.
inline void begin_isa_case(CpuIsa isa) {
  if (!cpu_has_isa(isa)) {
    GTEST_SKIP() << isa_name(isa) << ": this CPU lacks it or JITFLOW_MAX_ISA caps it ("
                 << cpu_features().feature_list() << ")";
  }
  const char* fail = std::getenv("JITFLOW_TEST_FAIL_ISA");
  if (fail != nullptr && std::string(fail) == isa_name(isa)) {
    GTEST_FAIL() << "JITFLOW_TEST_FAIL_ISA=" << fail << ": failing this case on request";
  }
}

// A case per registered kernel of an op (one per ISA): TEST_P(SomeTest, ...) calls fn(); instantiate
// with INSTANTIATE_TEST_SUITE_P(Isa, SomeTest, ValuesIn(kernels_of(Op::some)), test::IsaName()).
template <Op op>
class KernelTest : public ::testing::TestWithParam<const KernelArtifact*> {
 protected:
  void SetUp() override { begin_isa_case(this->GetParam()->key.isa); }
  OpFn<op> fn() const { return this->GetParam()->template native<op>(); }
  std::string isa() const { return isa_name(this->GetParam()->key.isa); }
};

// Names each case by its ISA: RmsnormTest/avx2, not RmsnormTest/1.
struct IsaName {
  std::string operator()(const ::testing::TestParamInfo<const KernelArtifact*>& info) const {
    return isa_name(info.param->key.isa);
  }
};

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

namespace jf {
// How GoogleTest prints an ISA or a kernel parameter.
inline void PrintTo(CpuIsa isa, std::ostream* os) { *os << isa_name(isa); }

inline void PrintTo(const KernelArtifact* k, std::ostream* os) {
  *os << k->name;
}
}  // namespace jf
