// Softmax and attention variants against softmax_ref and attention_head_ref.
//
// Softmax: odd lengths, large magnitudes, -inf (masked) entries, ties. The variants differ from the
// reference by their exp (8.3e-8 relative) and the order of the double sum: 3e-7 relative.
// Attention: head_dim 32/64/128 and 40 (a partial vector), GQA groups 1/2/4/8, n_kv 1..300 around
// the block size, whole groups and parts of groups, sharp and flat softmaxes, a max that grows from
// block to block (every block rescales), and a long context. The dot products run in another order
// (each score may move by a few ulps of scale * Σ|q_d k_d|, which scales every weight by e^δ) and the
// softmax is online; with |v| <= 1 the outputs agree to kAttentionAbs + 2^-23 max_j scale Σ|q_d k_jd|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/attention/kernels.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

constexpr double kSoftmaxRel = 3e-7;
constexpr double kSoftmaxAbs = 0x1p-148;  // 2 subnormal ulps, for probabilities near 0
constexpr double kAttentionAbs = 2e-7;

class SoftmaxTest : public test::KernelTest<Op::softmax> {
 protected:
  void expect_softmax_matches_ref(const std::vector<float>& x, const std::string& what) {
    std::vector<float> want = x;
    softmax_ref(want.data(), static_cast<int64_t>(x.size()));
    std::vector<float> got = x;
    fn()(got.data(), static_cast<int64_t>(x.size()));
    test::expect_close(got.data(), want.data(), static_cast<int64_t>(x.size()), kSoftmaxRel, kSoftmaxAbs, what);
  }
};

TEST_P(SoftmaxTest, OddLengthsMatchReference) {
  for (int64_t n : test::kOddSizes) {
    expect_softmax_matches_ref(test::random_floats(n, -10.0f, 10.0f, static_cast<uint32_t>(n)),
                               "n=" + std::to_string(n));
    // Most of these underflow to 0 after subtracting the max.
    expect_softmax_matches_ref(test::random_floats(n, -1e4f, 1e4f, static_cast<uint32_t>(n + 1)),
                               "large n=" + std::to_string(n));
  }
}

TEST_P(SoftmaxTest, SpecialValuesMatchReference) {
  expect_softmax_matches_ref({0.0f}, "one element");
  expect_softmax_matches_ref(std::vector<float>(37, 3.0f), "ties");
  expect_softmax_matches_ref(
      {-INFINITY, 1.0f, -INFINITY, -INFINITY, 2.0f, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
       -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 0.5f},
      "masked");
  expect_softmax_matches_ref({1e30f, -1e30f, 0.0f, 3e38f, -3e38f}, "huge");
  expect_softmax_matches_ref({88.0f, 89.0f, 90.0f, 1000.0f, -87.0f, 1e-30f}, "large positive");
  std::vector<float> spread(300);
  for (size_t i = 0; i < spread.size(); ++i) spread[i] = -0.4f * static_cast<float>(i);  // down to e^-120
  expect_softmax_matches_ref(spread, "spread into subnormals");
}

struct AttentionCase {
  int head_dim, group, n_head_kv;
};

struct AttentionData {
  AttentionShape shape;
  std::vector<float> q, k, v;
};

// Random q, k, v in [-1, 1]; q times q_gain; k row j times (1 + ramp j), so that with ramp > 0 the
// largest score keeps growing from block to block. Cache rows are padded (kv_stride > width).
AttentionData make_data(const AttentionCase& c, int64_t n_kv, float q_gain, float ramp, uint32_t seed) {
  AttentionData d;
  d.shape.n_head = c.group * c.n_head_kv;
  d.shape.n_head_kv = c.n_head_kv;
  d.shape.head_dim = c.head_dim;
  d.shape.kv_stride = int64_t{c.n_head_kv} * c.head_dim + 3;
  d.shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  d.q = test::random_floats(int64_t{d.shape.n_head} * c.head_dim, -q_gain, q_gain, seed);
  d.k = test::random_floats(n_kv * d.shape.kv_stride, -1.0f, 1.0f, seed + 1);
  d.v = test::random_floats(n_kv * d.shape.kv_stride, -1.0f, 1.0f, seed + 2);
  for (int64_t j = 0; j < n_kv; ++j) {
    for (int64_t i = 0; i < d.shape.kv_stride; ++i)
      d.k[j * d.shape.kv_stride + i] *= 1.0f + ramp * static_cast<float>(j);
  }
  return d;
}

// Runs `fn` on heads [h_begin, h_end) and compares it with attention_head_ref.
void expect_attention_matches_ref(AttentionHeadsFn fn, const AttentionData& d, int64_t n_kv, int h_begin,
                                  int h_end, const std::string& what) {
  const int hd = d.shape.head_dim;
  const int group = d.shape.n_head / d.shape.n_head_kv;
  double score_bound = 0;  // max over heads and keys of scale * Σ|q_d k_d|
  for (int h = h_begin; h < h_end; ++h) {
    for (int64_t j = 0; j < n_kv; ++j) {
      double sum = 0;
      for (int i = 0; i < hd; ++i) {
        sum += std::fabs(d.q[int64_t{h} * hd + i] * d.k[j * d.shape.kv_stride + int64_t{h / group} * hd + i]);
      }
      score_bound = std::max(score_bound, sum * d.shape.scale);
    }
  }
  const double tolerance = kAttentionAbs + 0x1p-23 * score_bound;
  std::vector<float> want(d.q.size()), scores(n_kv);
  for (int h = h_begin; h < h_end; ++h) {
    attention_head_ref(d.shape, h, d.q.data(), d.k.data(), d.v.data(), n_kv, want.data(), scores.data());
  }
  std::vector<float> got(d.q.size(), NAN);
  fn(d.shape, h_begin, h_end, d.q.data(), d.k.data(), d.v.data(), n_kv, got.data());
  test::expect_close(got.data() + int64_t{h_begin} * hd, want.data() + int64_t{h_begin} * hd,
                     int64_t{h_end - h_begin} * hd, 0, tolerance,
                     what + " heads [" + std::to_string(h_begin) + ", " + std::to_string(h_end) + ")");
  for (int64_t i = 0; i < int64_t{h_begin} * hd; ++i) ASSERT_TRUE(std::isnan(got[i])) << "wrote outside its heads";
}

class AttentionTest : public test::KernelTest<Op::attention_heads> {};

constexpr AttentionCase kCases[] = {{32, 1, 2}, {64, 2, 2}, {128, 4, 1}, {64, 8, 2}, {40, 4, 2}, {128, 1, 1}};
constexpr int64_t kNKv[] = {1, 2, 3, 4, 5, 17, 31, 32, 33, 64, 65, 100, 255, 256, 300};

TEST_P(AttentionTest, GroupsMatchReference) {
  for (const AttentionCase& c : kCases) {
    for (int64_t n_kv : kNKv) {
      const std::string what = "head_dim=" + std::to_string(c.head_dim) +
                               " group=" + std::to_string(c.group) + " n_kv=" + std::to_string(n_kv);
      const AttentionData d = make_data(c, n_kv, 1.0f, 0.0f, static_cast<uint32_t>(n_kv));
      for (int g = 0; g < c.n_head_kv; ++g)
        expect_attention_matches_ref(fn(), d, n_kv, g * c.group, (g + 1) * c.group, what);
      // One head, and a part of the last group (callers split groups over threads).
      const int last = c.n_head_kv * c.group;
      expect_attention_matches_ref(fn(), d, n_kv, last - 1, last, what);
      if (c.group >= 4) expect_attention_matches_ref(fn(), d, n_kv, last - c.group / 2, last, what);
    }
  }
}

TEST_P(AttentionTest, SharpFlatAndGrowingScoresMatchReference) {
  for (const AttentionCase& c : {AttentionCase{64, 8, 1}, AttentionCase{128, 2, 1}}) {
    for (int64_t n_kv : {int64_t{33}, int64_t{300}}) {
      const std::string what = "head_dim=" + std::to_string(c.head_dim) + " n_kv=" + std::to_string(n_kv);
      // Sharp: scores up to ~±80 (most weights are e^-100 or less); flat: q = 0, every score 0.
      expect_attention_matches_ref(fn(), make_data(c, n_kv, 20.0f, 0.0f, 11), n_kv, 0, c.group, "sharp " + what);
      expect_attention_matches_ref(fn(), make_data(c, n_kv, 0.0f, 0.0f, 12), n_kv, 0, c.group, "flat " + what);
      // Growing: the max moves to a later block again and again, so earlier sums get rescaled.
      expect_attention_matches_ref(fn(), make_data(c, n_kv, 2.0f, 0.05f, 13), n_kv, 0, c.group, "growing " + what);
    }
  }
}

// T5's relative-position bias: a row per head added to the scaled scores (here scale 1, as T5),
// values as large as the scores so that the bias moves the softmax.
TEST_P(AttentionTest, BiasedScoresMatchReference) {
  for (const AttentionCase& c : {AttentionCase{64, 1, 8}, AttentionCase{32, 4, 2}}) {
    for (int64_t n_kv : {int64_t{1}, int64_t{31}, int64_t{33}, int64_t{100}}) {
      AttentionData d = make_data(c, n_kv, 1.0f, 0.0f, static_cast<uint32_t>(n_kv + 40));
      d.shape.scale = 1.0f;
      d.shape.bias_stride = n_kv + 5;
      const std::vector<float> bias =
          test::random_floats(d.shape.n_head * d.shape.bias_stride, -4.0f, 4.0f, static_cast<uint32_t>(n_kv));
      d.shape.bias = bias.data();
      const std::string what = "biased head_dim=" + std::to_string(c.head_dim) + " n_kv=" + std::to_string(n_kv);
      for (int g = 0; g < c.n_head_kv; ++g)
        expect_attention_matches_ref(fn(), d, n_kv, g * c.group, (g + 1) * c.group, what);
    }
  }
}

TEST_P(AttentionTest, LongContextMatchesReference) {
  const AttentionCase c{64, 8, 1};
  const int64_t n_kv = 4096;
  expect_attention_matches_ref(fn(), make_data(c, n_kv, 1.0f, 0.0f, 21), n_kv, 0, c.group, "n_kv=4096");
}

TEST(AttentionDispatch, UsesTheFirstVariantThisCpuRuns) {
  const AttentionCase c{64, 4, 2};
  const AttentionData d = make_data(c, 50, 1.0f, 0.0f, 31);
  std::vector<float> got(d.q.size()), want(d.q.size());
  attention_heads(d.shape, 4, 8, d.q.data(), d.k.data(), d.v.data(), 50, got.data());
  select_native<Op::attention_heads>(attention_heads_generic)(d.shape, 4, 8, d.q.data(), d.k.data(),
                                                              d.v.data(), 50, want.data());
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Isa, SoftmaxTest, ::testing::ValuesIn(kernels_of(Op::softmax)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SoftmaxTest);  // a build without vector variants
INSTANTIATE_TEST_SUITE_P(Isa, AttentionTest, ::testing::ValuesIn(kernels_of(Op::attention_heads)),
                         test::IsaName());

}  // namespace
}  // namespace jf
