// SwiGLU variants against swiglu_ref: odd lengths, in place, and gates where e^-x overflows or
// vanishes. The variants differ from the reference only by their exp (8.3e-8 relative): 3e-7 of
// relative tolerance covers it and the rounding of the division.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/simd/op_test_util.h"
#include "kernels/swiglu/swiglu.h"

namespace jf {
namespace {

constexpr double kRel = 3e-7;
constexpr double kAbs = 1e-36;  // where 1 + e^-x is near FLT_MAX, one side may round to inf

class SwigluTest : public test::KernelTest<Op::swiglu> {
 protected:
  void expect_matches_ref(const std::vector<float>& gate, const std::vector<float>& up, const std::string& what) {
    const int64_t n = static_cast<int64_t>(gate.size());
    std::vector<float> want(gate.size());
    swiglu_ref(gate.data(), up.data(), want.data(), n);
    std::vector<float> got(gate.size(), NAN);
    fn()(gate.data(), up.data(), got.data(), n);
    test::expect_close(got.data(), want.data(), n, kRel, kAbs, what);
    std::vector<float> in_place = gate;
    fn()(in_place.data(), up.data(), in_place.data(), n);
    test::expect_close(in_place.data(), want.data(), n, kRel, kAbs, "in place " + what);
  }
};

TEST_P(SwigluTest, OddLengthsMatchReference) {
  for (int64_t n : test::kOddSizes) {
    const auto gate = test::random_floats(n, -12.0f, 12.0f, static_cast<uint32_t>(n));
    const auto up = test::random_floats(n, -3.0f, 3.0f, static_cast<uint32_t>(n + 1));
    expect_matches_ref(gate, up, "n=" + std::to_string(n));
  }
}

TEST_P(SwigluTest, SpecialValuesMatchReference) {
  // Zeros, e^-x overflowing (x < -88.7: silu is -0), vanishing (x > 104: silu is x), huge values,
  // and infinities.
  const std::vector<float> gate = {0.0f,    -0.0f,    -88.0f,    -88.7f, -88.8f, -89.0f,
                                   -100.0f, -1e4f,    -1e30f,    88.0f,  104.0f, 1e4f,
                                   1e30f,   INFINITY, -INFINITY, 1e-30f, -1e-30f};
  expect_matches_ref(gate, std::vector<float>(gate.size(), 1.5f), "special gates");
  expect_matches_ref(gate, std::vector<float>(gate.size(), 0.0f), "special gates, up 0");
}

INSTANTIATE_TEST_SUITE_P(Isa, SwigluTest, ::testing::ValuesIn(kernels_of(Op::swiglu)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SwigluTest);  // a build without vector variants

}  // namespace
}  // namespace jf
