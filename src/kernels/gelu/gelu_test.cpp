// GELU variants against gelu_ref (odd lengths, with and without the GeGLU `up`, in place, inputs
// where e^(-2u) overflows or vanishes), and gelu_ref against the tanh form it rewrites. The
// variants differ from the reference by their exp (8.3e-8 relative) and by how the compiler fuses
// the argument's multiply-adds: one rounding of t = -2u moves e^t by |t| * 2^-24 relative, and |t|
// reaches 30 for x = -8, where gelu(x) is 1e-13. 1e-5 relative covers both.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/gelu/gelu.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

constexpr double kRel = 1e-5;
constexpr double kAbs = 1e-36;

TEST(GeluRef, IsTheTanhForm) {
  for (double x = -12.0; x <= 12.0; x += 0.0625) {
    const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
    const double want = 0.5 * x * (1.0 + std::tanh(u));
    const float in = static_cast<float>(x);
    float got = 0;
    gelu_ref(&in, nullptr, &got, 1);
    EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::fabs(want))) << "x=" << x;
  }
}

TEST(GeluRef, MultipliesByUp) {
  const std::vector<float> x = {-3.0f, -0.5f, 0.0f, 0.7f, 2.5f};
  const std::vector<float> up = {2.0f, -1.0f, 5.0f, 3.0f, 0.5f};
  std::vector<float> plain(x.size()), gated(x.size());
  gelu_ref(x.data(), nullptr, plain.data(), 5);
  gelu_ref(x.data(), up.data(), gated.data(), 5);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(gated[i], plain[i] * up[i]);
}

class GeluTest : public test::KernelTest<Op::gelu> {
 protected:
  void expect_matches_ref(const std::vector<float>& x, const std::vector<float>* up,
                          const std::string& what) {
    const int64_t n = static_cast<int64_t>(x.size());
    const float* up_data = up != nullptr ? up->data() : nullptr;
    std::vector<float> want(x.size());
    gelu_ref(x.data(), up_data, want.data(), n);
    std::vector<float> got(x.size(), NAN);
    fn()(x.data(), up_data, got.data(), n);
    test::expect_close(got.data(), want.data(), n, kRel, kAbs, what);
    std::vector<float> in_place = x;
    fn()(in_place.data(), up_data, in_place.data(), n);
    test::expect_close(in_place.data(), want.data(), n, kRel, kAbs, "in place " + what);
  }
};

TEST_P(GeluTest, OddLengthsMatchReference) {
  for (int64_t n : test::kOddSizes) {
    const auto x = test::random_floats(n, -8.0f, 8.0f, static_cast<uint32_t>(n));
    const auto up = test::random_floats(n, -3.0f, 3.0f, static_cast<uint32_t>(n + 1));
    expect_matches_ref(x, nullptr, "n=" + std::to_string(n));
    expect_matches_ref(x, &up, "gated n=" + std::to_string(n));
  }
}

TEST_P(GeluTest, SpecialValuesMatchReference) {
  // Zeros, e^(-2u) overflowing (x below about -5.5: gelu is -0), vanishing (gelu is x), huge values.
  const std::vector<float> x = {0.0f, -0.0f, -5.0f, -6.0f, -10.0f, -30.0f, -1e4f,  -1e30f,
                                5.0f, 10.0f, 30.0f, 1e4f,  1e30f,  1e-30f, -1e-30f};
  expect_matches_ref(x, nullptr, "special inputs");
  const std::vector<float> up(x.size(), 1.5f);
  expect_matches_ref(x, &up, "special inputs, gated");
}

INSTANTIATE_TEST_SUITE_P(Isa, GeluTest, ::testing::ValuesIn(kernels_of(Op::gelu)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GeluTest);  // a build without vector variants

}  // namespace
}  // namespace jf
