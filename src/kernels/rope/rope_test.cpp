// RoPE variants against rope_apply_ref: both pairings, head_dim 32/64/128, n_rot = head_dim and
// n_rot < head_dim (including rotations shorter than one vector), 1 to 32 heads, positions up to
// 2^20, with and without frequency factors. The variants form the reference's products and sums,
// so they agree to within 1 ulp of the inputs (exactly, unless the compiler fused the reference).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/rope/rope.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

constexpr float kMaxInput = 2.0f;
constexpr double kAbs = 0x1p-23 * kMaxInput;  // 1 ulp of the largest input

struct RopeCase {
  int head_dim, n_rot;
};
constexpr RopeCase kCases[] = {{32, 32}, {64, 64}, {128, 128}, {64, 32},  {128, 64},
                               {64, 24}, {32, 6},  {64, 2},    {128, 100}};

class RopeTest : public test::KernelTest<Op::rope_apply> {};

TEST_P(RopeTest, MatchesReference) {
  for (const RopeCase& c : kCases) {
    const std::vector<float> factors = test::random_floats(c.n_rot / 2, 1.0f, 8.0f, 3);
    for (RopePairing pairing : {RopePairing::kAdjacent, RopePairing::kHalves}) {
      for (bool with_factors : {false, true}) {
        RopeParams params;
        params.n_rot = c.n_rot;
        params.pairing = pairing;
        params.freq_base = 500000.0f;
        params.freq_factors = with_factors ? factors.data() : nullptr;
        for (int n_heads : {1, 3, 32}) {
          for (int64_t position : {0, 1, 7, 1000, 1 << 20}) {
            std::vector<float> cos_sin(c.n_rot);
            rope_angles(params, position, cos_sin.data());
            const auto x = test::random_floats(int64_t{n_heads} * c.head_dim, -kMaxInput, kMaxInput,
                                               static_cast<uint32_t>(position + n_heads));
            std::vector<float> want = x;
            rope_apply_ref(params, cos_sin.data(), want.data(), n_heads, c.head_dim);
            std::vector<float> got = x;
            fn()(params, cos_sin.data(), got.data(), n_heads, c.head_dim);
            test::expect_close(got.data(), want.data(), static_cast<int64_t>(x.size()), 0, kAbs,
                               std::string(pairing == RopePairing::kAdjacent ? "adjacent" : "halves") +
                                   " head_dim=" + std::to_string(c.head_dim) + " n_rot=" + std::to_string(c.n_rot) +
                                   " heads=" + std::to_string(n_heads) + " pos=" + std::to_string(position) +
                                   (with_factors ? " factors" : ""));
          }
        }
      }
    }
  }
}

TEST(RopeDispatch, UsesTheFirstVariantThisCpuRuns) {
  RopeParams params;
  params.n_rot = 64;
  std::vector<float> cos_sin(64);
  rope_angles(params, 5, cos_sin.data());
  const auto x = test::random_floats(4 * 64, -1.0f, 1.0f, 9);
  std::vector<float> got = x, want = x;
  rope_apply(params, cos_sin.data(), got.data(), 4, 64);
  const RopeApplyFn best = select_native<Op::rope_apply>(rope_apply_ref);
  best(params, cos_sin.data(), want.data(), 4, 64);
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Isa, RopeTest, ::testing::ValuesIn(kernels_of(Op::rope_apply)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RopeTest);  // a build without vector variants

}  // namespace
}  // namespace jf
