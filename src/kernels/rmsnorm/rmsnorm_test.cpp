// RMSNorm variants against rmsnorm_ref: odd lengths, in place, zeros, huge and tiny magnitudes.
// Both sum the squares in double, so the scale agrees to the last bit (or nearly): 1 ulp of
// tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

constexpr double kRel = 0x1p-23;  // 1 ulp
constexpr float kEps = 1e-5f;

class RmsnormTest : public test::KernelTest<Op::rmsnorm> {
 protected:
  void expect_matches_ref(const std::vector<float>& x, const std::vector<float>& w, const std::string& what) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<float> want(x.size());
    rmsnorm_ref(x.data(), w.data(), want.data(), n, kEps);
    std::vector<float> got(x.size(), NAN);
    fn()(x.data(), w.data(), got.data(), n, kEps);
    test::expect_close(got.data(), want.data(), n, kRel, 0, what);
    std::vector<float> in_place = x;
    fn()(in_place.data(), w.data(), in_place.data(), n, kEps);
    test::expect_close(in_place.data(), want.data(), n, kRel, 0, "in place " + what);
  }
};

TEST_P(RmsnormTest, OddLengthsMatchReference) {
  for (int64_t n : test::kOddSizes) {
    const auto x = test::random_floats(n, -3.0f, 3.0f, static_cast<uint32_t>(n));
    const auto w = test::random_floats(n, 0.5f, 1.5f, static_cast<uint32_t>(n + 1));
    expect_matches_ref(x, w, "n=" + std::to_string(n));
  }
}

TEST_P(RmsnormTest, SpecialValuesMatchReference) {
  for (int64_t n : {int64_t{5}, int64_t{2048}, int64_t{4099}}) {
    const auto w = test::random_floats(n, -2.0f, 2.0f, 7);
    const auto r = test::random_floats(n, -1.0f, 1.0f, 8);
    std::vector<float> zeros(n, 0.0f), huge(n), tiny(n), spiky(n, 1e-3f);
    for (int64_t i = 0; i < n; ++i) huge[i] = r[i] * 1e18f, tiny[i] = r[i] * 1e-25f;
    spiky[n / 2] = 3e4f;  // one outlier dominates the mean
    expect_matches_ref(zeros, w, "zeros n=" + std::to_string(n));
    expect_matches_ref(huge, w, "1e18 n=" + std::to_string(n));
    expect_matches_ref(tiny, w, "1e-25 n=" + std::to_string(n));
    expect_matches_ref(spiky, w, "outlier n=" + std::to_string(n));
  }
}

TEST(RmsnormDispatch, UsesTheFirstVariantThisCpuRuns) {
  const auto x = test::random_floats(100, -1.0f, 1.0f, 1), w = test::random_floats(100, -1.0f, 1.0f, 2);
  std::vector<float> got(100), want(100);
  rmsnorm(x.data(), w.data(), got.data(), 100, kEps);
  const RmsnormFn best = select_native<Op::rmsnorm>(rmsnorm_ref);
  best(x.data(), w.data(), want.data(), 100, kEps);
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Isa, RmsnormTest, ::testing::ValuesIn(kernels_of(Op::rmsnorm)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RmsnormTest);  // a build without vector variants

}  // namespace
}  // namespace jf
