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

// attention_rows: n_q query rows (row stride padded past n_head * head_dim), each with its own key
// count, against attention_head_ref row by row and head by head.
struct RowsData {
  AttentionShape shape;
  int64_t q_stride = 0;
  std::vector<float> q, k, v, bias;
};

RowsData make_rows_data(const AttentionCase& c, int n_q, int64_t max_kv, float q_gain, float ramp,
                        uint32_t seed) {
  const AttentionData one = make_data(c, max_kv, q_gain, ramp, seed);
  RowsData d;
  d.shape = one.shape;
  d.k = one.k;
  d.v = one.v;
  d.q_stride = int64_t{d.shape.n_head} * c.head_dim + 5;
  d.q = test::random_floats(n_q * d.q_stride, -q_gain, q_gain, seed + 3);
  return d;
}

// Runs `fn` on rows [0, n_q) and heads [h_begin, h_end), and compares with attention_rows_ref; the
// tolerance is attention_heads' with the bound taken over every row.
void expect_rows_match_ref(AttentionRowsFn fn, const RowsData& d, int n_q, const std::vector<int64_t>& n_kv,
                           int h_begin, int h_end, const std::string& what) {
  const AttentionShape& s = d.shape;
  const int hd = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  double score_bound = 0;
  for (int i = 0; i < n_q; ++i) {
    for (int h = h_begin; h < h_end; ++h) {
      for (int64_t j = 0; j < n_kv[i]; ++j) {
        double sum = 0;
        for (int x = 0; x < hd; ++x) {
          sum += std::fabs(d.q[i * d.q_stride + int64_t{h} * hd + x] *
                           d.k[j * s.kv_stride + int64_t{h / group} * hd + x]);
        }
        score_bound = std::max(score_bound, sum * s.scale);
      }
    }
  }
  const double tolerance = kAttentionAbs + 0x1p-23 * score_bound;
  const int64_t out_stride = int64_t{s.n_head} * hd + 2;
  std::vector<float> want(n_q * out_stride, NAN), got(n_q * out_stride, NAN);
  std::vector<float> scores(*std::max_element(n_kv.begin(), n_kv.end()));
  attention_rows_ref(s, h_begin, h_end, d.q.data(), d.q_stride, n_q, d.k.data(), d.v.data(), n_kv.data(),
                     want.data(), out_stride, scores.data());
  fn(s, h_begin, h_end, d.q.data(), d.q_stride, n_q, d.k.data(), d.v.data(), n_kv.data(), got.data(),
     out_stride);
  for (int i = 0; i < n_q; ++i) {
    const int64_t first = i * out_stride + int64_t{h_begin} * hd;
    test::expect_close(got.data() + first, want.data() + first, int64_t{h_end - h_begin} * hd, 0, tolerance,
                       what + " row " + std::to_string(i) + " heads [" + std::to_string(h_begin) + ", " +
                           std::to_string(h_end) + ")");
    for (int64_t x = i * out_stride; x < (i + 1) * out_stride; ++x) {
      if (x < first || x >= first + int64_t{h_end - h_begin} * hd) {
        ASSERT_TRUE(std::isnan(got[x])) << what << ": wrote outside its rows and heads at " << x;
      }
    }
  }
}

class AttentionRowsTest : public test::KernelTest<Op::attention_rows> {};

constexpr int kNQ[] = {1, 2, 3, 7, 16, 17, 33, 50};

// Encoder: every row over the same keys.
TEST_P(AttentionRowsTest, EqualKeyCountsMatchReference) {
  for (const AttentionCase& c : kCases) {
    for (int n_q : kNQ) {
      for (int64_t n_kv : {int64_t{1}, int64_t{5}, int64_t{32}, int64_t{33}, int64_t{100}}) {
        const std::string what = "head_dim=" + std::to_string(c.head_dim) +
                                 " group=" + std::to_string(c.group) + " n_q=" + std::to_string(n_q) +
                                 " n_kv=" + std::to_string(n_kv);
        const RowsData d = make_rows_data(c, n_q, n_kv, 1.0f, 0.0f, static_cast<uint32_t>(n_q * 7 + n_kv));
        const std::vector<int64_t> counts(n_q, n_kv);
        expect_rows_match_ref(fn(), d, n_q, counts, 0, d.shape.n_head, what);
        expect_rows_match_ref(fn(), d, n_q, counts, d.shape.n_head - 1, d.shape.n_head, what);
        if (c.group >= 2 && c.n_head_kv >= 2) {
          expect_rows_match_ref(fn(), d, n_q, counts, 1, c.group + 1, what);  // across groups
        }
      }
    }
  }
}

// Causal prefill: row i after n_past cached tokens attends to n_past + i + 1 keys.
TEST_P(AttentionRowsTest, CausalKeyCountsMatchReference) {
  for (const AttentionCase& c : kCases) {
    for (int n_q : kNQ) {
      for (int64_t n_past : {int64_t{0}, int64_t{1}, int64_t{30}, int64_t{70}}) {
        const std::string what = "causal head_dim=" + std::to_string(c.head_dim) +
                                 " group=" + std::to_string(c.group) + " n_q=" + std::to_string(n_q) +
                                 " n_past=" + std::to_string(n_past);
        const RowsData d =
            make_rows_data(c, n_q, n_past + n_q, 1.0f, 0.0f, static_cast<uint32_t>(n_q + n_past));
        std::vector<int64_t> counts(n_q);
        for (int i = 0; i < n_q; ++i) counts[i] = n_past + i + 1;
        expect_rows_match_ref(fn(), d, n_q, counts, 0, d.shape.n_head, what);
        // Unordered counts (any row may end anywhere).
        std::reverse(counts.begin(), counts.end());
        expect_rows_match_ref(fn(), d, n_q, counts, 0, c.group, what + " reversed");
      }
    }
  }
}

TEST_P(AttentionRowsTest, SharpFlatAndGrowingScoresMatchReference) {
  for (const AttentionCase& c :
       {AttentionCase{64, 8, 1}, AttentionCase{128, 2, 1}, AttentionCase{40, 1, 3}}) {
    for (int64_t n_kv : {int64_t{33}, int64_t{300}}) {
      const int n_q = 37;
      const std::vector<int64_t> counts(n_q, n_kv);
      const std::string what = "head_dim=" + std::to_string(c.head_dim) + " n_kv=" + std::to_string(n_kv);
      expect_rows_match_ref(fn(), make_rows_data(c, n_q, n_kv, 20.0f, 0.0f, 11), n_q, counts, 0, c.group,
                            "sharp " + what);
      expect_rows_match_ref(fn(), make_rows_data(c, n_q, n_kv, 0.0f, 0.0f, 12), n_q, counts, 0, c.group,
                            "flat " + what);
      expect_rows_match_ref(fn(), make_rows_data(c, n_q, n_kv, 2.0f, 0.05f, 13), n_q, counts, 0, c.group,
                            "growing " + what);
    }
  }
}

// T5's relative-position bias: a row per (head, query row), scale 1, equal and causal key counts.
TEST_P(AttentionRowsTest, BiasedScoresMatchReference) {
  for (const AttentionCase& c : {AttentionCase{64, 1, 8}, AttentionCase{32, 4, 2}}) {
    for (int n_q : {1, 9, 40}) {
      for (bool causal : {false, true}) {
        const int64_t max_kv = causal ? n_q + 3 : 45;
        RowsData d = make_rows_data(c, n_q, max_kv, 1.0f, 0.0f, static_cast<uint32_t>(n_q + 40));
        d.shape.scale = 1.0f;
        d.shape.bias_stride = max_kv + 5;
        d.shape.bias_row_stride = d.shape.n_head * d.shape.bias_stride + 1;
        d.bias = test::random_floats(n_q * d.shape.bias_row_stride, -4.0f, 4.0f, static_cast<uint32_t>(n_q));
        d.shape.bias = d.bias.data();
        std::vector<int64_t> counts(n_q, max_kv);
        if (causal) {
          for (int i = 0; i < n_q; ++i) counts[i] = 3 + i + 1;
        }
        const std::string what = std::string(causal ? "causal " : "") +
                                 "biased head_dim=" + std::to_string(c.head_dim) +
                                 " n_q=" + std::to_string(n_q);
        expect_rows_match_ref(fn(), d, n_q, counts, 0, d.shape.n_head, what);
        expect_rows_match_ref(fn(), d, n_q, counts, 1, 3, what);
      }
    }
  }
}

TEST_P(AttentionRowsTest, LongContextMatchesReference) {
  const AttentionCase c{64, 4, 1};
  const int n_q = 40;
  const int64_t n_kv = 4096;
  std::vector<int64_t> counts(n_q);
  for (int i = 0; i < n_q; ++i) counts[i] = n_kv - n_q + i + 1;
  expect_rows_match_ref(fn(), make_rows_data(c, n_q, n_kv, 1.0f, 0.0f, 21), n_q, counts, 0, c.group,
                        "n_kv=4096");
}

TEST(AttentionRowsDispatch, UsesTheFirstVariantThisCpuRuns) {
  const AttentionCase c{64, 4, 2};
  const int n_q = 20;
  const RowsData d = make_rows_data(c, n_q, 50, 1.0f, 0.0f, 31);
  const std::vector<int64_t> counts(n_q, 50);
  const int64_t out_stride = int64_t{d.shape.n_head} * c.head_dim;
  std::vector<float> got(n_q * out_stride), want(n_q * out_stride);
  attention_rows(d.shape, 0, 8, d.q.data(), d.q_stride, n_q, d.k.data(), d.v.data(), counts.data(),
                 got.data(), out_stride);
  select_native<Op::attention_rows>(attention_rows_generic)(d.shape, 0, 8, d.q.data(), d.q_stride, n_q,
                                                            d.k.data(), d.v.data(), counts.data(),
                                                            want.data(), out_stride);
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Isa, SoftmaxTest, ::testing::ValuesIn(kernels_of(Op::softmax)), test::IsaName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SoftmaxTest);  // a build without vector variants
INSTANTIATE_TEST_SUITE_P(Isa, AttentionTest, ::testing::ValuesIn(kernels_of(Op::attention_heads)),
                         test::IsaName());
INSTANTIATE_TEST_SUITE_P(Isa, AttentionRowsTest, ::testing::ValuesIn(kernels_of(Op::attention_rows)),
                         test::IsaName());

}  // namespace
}  // namespace jf
