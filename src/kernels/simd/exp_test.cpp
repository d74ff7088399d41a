// The vector exp of simd/f32.h (every variant this CPU runs) against exp in double: the relative
// error stated in f32.h over a sweep of the whole range, subnormal results, special values, and
// lengths that end in a partial vector.
#include <gtest/gtest.h>

#include "base/bit_cast.h"
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/simd/exp.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

constexpr double kMaxRelError = 8.3e-8;  // stated in simd/f32.h
constexpr double kSubnormalUlp = 0x1p-149;

// Every step-th float of [lo, hi) (by bit pattern, so every exponent is visited), lo < 0 < hi.
std::vector<float> float_sweep(float lo, float hi, uint32_t step) {
  std::vector<float> xs;
  for (uint32_t b = jf::bit_cast<uint32_t>(-0.0f); b < jf::bit_cast<uint32_t>(lo); b += step) {
    xs.push_back(jf::bit_cast<float>(b));
  }
  for (uint32_t b = 0; b < jf::bit_cast<uint32_t>(hi); b += step) xs.push_back(jf::bit_cast<float>(b));
  return xs;
}

class ExpTest : public test::KernelTest<Op::exp> {};

TEST_P(ExpTest, RelativeErrorOverTheNormalRange) {
  // exp(x) is a normal float for x in [-87.33, 88.72].
  const std::vector<float> xs = float_sweep(-87.33f, 88.72f, 997);
  std::vector<float> ys(xs.size());
  fn()(xs.data(), ys.data(), static_cast<int64_t>(xs.size()));
  double worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = std::exp(static_cast<double>(xs[i]));
    const double rel = std::fabs(ys[i] - want) / want;
    if (rel > worst) worst = rel, worst_x = xs[i];
  }
  std::printf("exp %s: max relative error %.3g at x = %.9g over %zu values\n", isa().c_str(), worst, worst_x,
              xs.size());
  EXPECT_LE(worst, kMaxRelError) << "at x = " << worst_x;
}

TEST_P(ExpTest, SubnormalResultsWithinOneUlp) {
  std::vector<float> sub;  // every float where exp is subnormal or rounds to 0
  for (float x = -104.0f; x < -87.34f; x = std::nextafter(x, 0.0f)) sub.push_back(x);
  std::vector<float> ys(sub.size());
  fn()(sub.data(), ys.data(), static_cast<int64_t>(sub.size()));
  for (size_t i = 0; i < sub.size(); ++i) {
    const double want = std::exp(static_cast<double>(sub[i]));
    ASSERT_LE(std::fabs(ys[i] - want), kSubnormalUlp + kMaxRelError * want) << "x = " << sub[i];
  }
}

TEST_P(ExpTest, SpecialValues) {
  const std::vector<float> xs = {0.0f,   -0.0f,   -INFINITY, INFINITY, NAN,
                                 88.73f, 1000.0f, -104.0f,   -1e30f,   1.0f};
  std::vector<float> ys(xs.size());
  fn()(xs.data(), ys.data(), static_cast<int64_t>(xs.size()));
  EXPECT_EQ(ys[0], 1.0f);
  EXPECT_EQ(ys[1], 1.0f);
  EXPECT_EQ(ys[2], 0.0f);
  EXPECT_EQ(ys[3], INFINITY);
  EXPECT_TRUE(std::isnan(ys[4]));
  EXPECT_EQ(ys[5], INFINITY);
  EXPECT_EQ(ys[6], INFINITY);
  EXPECT_EQ(ys[7], 0.0f);
  EXPECT_EQ(ys[8], 0.0f);
  EXPECT_NEAR(ys[9], std::exp(1.0), kMaxRelError * std::exp(1.0));
}

TEST_P(ExpTest, OddLengthsInPlaceAndNothingPastTheEnd) {
  for (int64_t n : test::kOddSizes) {
    std::vector<float> x = test::random_floats(n + 16, -20.0f, 20.0f, static_cast<uint32_t>(n));
    std::vector<float> want(x.size());
    exp_ref(x.data(), want.data(), n);
    std::copy(x.begin() + n, x.end(), want.begin() + n);  // past n: untouched
    fn()(x.data(), x.data(), n);
    test::expect_close(x.data(), want.data(), n + 16, kMaxRelError + 6e-8, 0, "n=" + std::to_string(n));
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, ExpTest, ::testing::ValuesIn(kernels_of(Op::exp)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ExpTest);  // a build without vector variants

}  // namespace
}  // namespace jf
