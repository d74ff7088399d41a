#include "model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace jf {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

SamplingOptions greedy_params() {
  SamplingOptions p;
  p.temperature = 0;
  return p;
}

// Temperature 1 and every filter off: draws follow softmax(logits) exactly.
SamplingOptions plain_params(uint64_t seed = 1) {
  SamplingOptions p;
  p.temperature = 1;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  p.seed = seed;
  return p;
}

// Pseudo-random logits in [-4, 4] from integer hashing and one IEEE division, so they are the
// same bits on every platform (std::sin would not be).
std::vector<float> test_logits(int n) {
  std::vector<float> logits(n);
  uint32_t x = 12345;
  for (int i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    logits[i] = static_cast<float>((x >> 8) % 8001) / 1000.0f - 4.0f;
  }
  return logits;
}

std::vector<TokenId> draw_many(Sampler& sampler, const std::vector<float>& logits, int n) {
  std::vector<TokenId> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(sampler.sample(logits));
  return tokens;
}

std::vector<float> logits_of_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

std::set<TokenId> distinct_draws(const SamplingOptions& params, const std::vector<float>& logits, int n) {
  Sampler sampler(params);
  const std::vector<TokenId> tokens = draw_many(sampler, logits, n);
  return std::set<TokenId>(tokens.begin(), tokens.end());
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
  Sampler sampler(greedy_params());
  EXPECT_EQ(sampler.sample(std::vector<float>{1, 5, 3, 5}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{-2, -1, -3}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{7, 7, 7}), 0);
  EXPECT_EQ(sampler.sample(std::vector<float>{0.5f}), 0);
  EXPECT_EQ(sampler.sample(std::vector<float>{kNaN, 2, kNaN, 2.5f}), 3);
  const std::vector<float> logits = test_logits(1000);
  EXPECT_EQ(sampler.sample(logits), std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDifferent) {
  const std::vector<float> logits = test_logits(100);
  Sampler a(plain_params(42));
  Sampler b(plain_params(42));
  Sampler c(plain_params(43));
  const std::vector<TokenId> seq_a = draw_many(a, logits, 1000);
  EXPECT_EQ(seq_a, draw_many(b, logits, 1000));
  EXPECT_NE(seq_a, draw_many(c, logits, 1000));
  a.reset();
  EXPECT_EQ(seq_a, draw_many(a, logits, 1000));
}

// Pins the generator, the exp and the walk over the candidates: the same ids must come out on
// every platform and compiler (x86, ARM, WebAssembly). sampler_reference.py, an independent Python
// model of the contract in sampler.h, recomputes these lists (ctest: sampler_reference).
TEST(Sampler, FixedSeedGivesTheSameTokensEverywhere) {
  SamplingOptions params;  // the defaults: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8
  params.seed = 1234;
  Sampler with_filters(params);
  const std::vector<TokenId> expected_with_filters = {4499, 3137, 1162, 363, 4499, 3509,
                                                      2330, 14,   1213, 1678, 4422, 1908};
  EXPECT_EQ(draw_many(with_filters, test_logits(5000), 12), expected_with_filters);
  Sampler plain(plain_params(1234));
  const std::vector<TokenId> expected_plain = {3647, 2922, 979, 1438, 3614, 3448, 2405, 1074, 1742, 3986, 499, 1300};
  EXPECT_EQ(draw_many(plain, test_logits(5000), 12), expected_plain);
  // Top-p alone keeps 2189 of the 5000 tokens: the partial sort grows over several steps.
  SamplingOptions top_p_only = plain_params(99);
  top_p_only.top_p = 0.97f;
  top_p_only.temperature = 1.5f;
  Sampler nucleus(top_p_only);
  const std::vector<TokenId> expected_nucleus = {1745, 4499, 439, 950, 2473, 2983, 4354, 2779, 382, 3348, 3178, 122};
  EXPECT_EQ(draw_many(nucleus, test_logits(5000), 12), expected_nucleus);
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  std::vector<float> logits = test_logits(3000);
  logits[2000] = logits[100] = 10.0f;  // a tie: the lower id wins
  for (float temperature : {0.1f, 1.0f, 5.0f, 1000.0f}) {
    SamplingOptions params = plain_params(7);
    params.top_k = 1;
    params.temperature = temperature;
    EXPECT_EQ(distinct_draws(params, logits, 200), std::set<TokenId>{100}) << temperature;
  }
}

TEST(Sampler, TopKKeepsTheKBest) {
  const std::vector<float> logits = {0.0f, 3.0f, 1.0f, 2.9f, -1.0f, 2.8f};
  SamplingOptions params = plain_params(3);
  params.top_k = 3;
  params.temperature = 100;  // nearly uniform over the survivors
  EXPECT_EQ(distinct_draws(params, logits, 2000), (std::set<TokenId>{1, 3, 5}));
}

TEST(Sampler, TinyTopPKeepsOnlyTheTopToken) {
  for (float temperature : {0.5f, 1.0f, 50.0f}) {
    SamplingOptions params = plain_params(5);
    params.top_p = 1e-6f;
    params.temperature = temperature;
    EXPECT_EQ(distinct_draws(params, test_logits(500), 300).size(), 1u);
    params.top_p = 0;
    EXPECT_EQ(distinct_draws(params, std::vector<float>{1, 4, 2}, 300), std::set<TokenId>{1});
  }
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const std::vector<float> logits = logits_of_probs({0.2, 0.5, 0.3});  // sorted: 1, 2, 0
  SamplingOptions params = plain_params(11);
  params.temperature = 10;  // spreads the survivors so that all of them show up
  params.top_p = 0.45f;
  EXPECT_EQ(distinct_draws(params, logits, 2000), std::set<TokenId>{1});
  params.top_p = 0.7f;
  EXPECT_EQ(distinct_draws(params, logits, 2000), (std::set<TokenId>{1, 2}));
  params.top_p = 0.85f;
  EXPECT_EQ(distinct_draws(params, logits, 2000), (std::set<TokenId>{0, 1, 2}));
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  const std::vector<float> logits = logits_of_probs({0.05, 0.5, 0.3, 0.15});
  SamplingOptions params = plain_params(13);
  params.temperature = 10;  // filters see temperature-1 probabilities, so this cannot revive token 0
  params.min_p = 0.2f;      // keeps p >= 0.1
  EXPECT_EQ(distinct_draws(params, logits, 3000), (std::set<TokenId>{1, 2, 3}));
  params.min_p = 0.5f;  // keeps p >= 0.25
  EXPECT_EQ(distinct_draws(params, logits, 3000), (std::set<TokenId>{1, 2}));
  params.min_p = 1.0f;  // only tokens as likely as the best stay
  EXPECT_EQ(distinct_draws(params, logits, 300), std::set<TokenId>{1});
}

TEST(Sampler, RepetitionPenaltyChangesTheArgmax) {
  SamplingOptions params = greedy_params();
  params.repeat_penalty = 1.5f;
  Sampler sampler(params);
  const std::vector<float> positive = {2.0f, 1.9f, -1.0f};
  EXPECT_EQ(sampler.sample(positive), 0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(positive), 1);  // 2.0 / 1.5 < 1.9
  const std::vector<float> negative = {-1.0f, -1.2f, -5.0f};
  EXPECT_EQ(sampler.sample(negative), 1);  // -1.0 * 1.5 < -1.2: negative logits are not raised

  // The sampling chain applies it too.
  params.temperature = 1;
  params.top_k = 1;
  Sampler chain(params);
  chain.accept(0);
  EXPECT_EQ(chain.sample(positive), 1);
}

TEST(Sampler, RepetitionPenaltyWindowAndRepeats) {
  SamplingOptions params = greedy_params();
  params.repeat_penalty = 1.5f;
  params.repeat_last_n = 2;
  Sampler sampler(params);
  const std::vector<float> logits = {2.0f, 1.2f, 0.0f, 0.0f};
  sampler.accept(0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(logits), 0);  // penalised once (2.0 / 1.5 > 1.2), not twice
  sampler.accept(0);
  sampler.accept(7);  // outside this vocabulary: ignored
  EXPECT_EQ(sampler.sample(logits), 0);
  sampler.accept(2);
  sampler.accept(3);  // token 0 has left the window of 2
  EXPECT_EQ(sampler.sample(logits), 0);

  params.repeat_penalty = 2.0f;
  params.repeat_last_n = 0;  // off
  Sampler off(params);
  off.accept(0);
  EXPECT_EQ(off.sample(logits), 0);

  params.repeat_last_n = -1;  // whole history
  Sampler all(params);
  all.accept(0);
  for (int i = 0; i < 1000; ++i) all.accept(3);
  EXPECT_EQ(all.sample(logits), 1);
  all.reset();
  EXPECT_EQ(all.sample(logits), 0);
}

// Chi-by-token check: each token's count is binomial(N, p); 4 sigma per token with a fixed seed,
// so the test is deterministic and still sensitive to a biased generator or a wrong softmax.
TEST(Sampler, FrequenciesMatchSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 2.5f, 0.0f, -3.0f};
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l));
  constexpr int kDraws = 200000;
  std::vector<int> counts(logits.size(), 0);
  Sampler sampler(plain_params(2024));
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.sample(logits)];
  for (size_t id = 0; id < logits.size(); ++id) {
    const double p = std::exp(static_cast<double>(logits[id])) / sum;
    const double sigma = std::sqrt(kDraws * p * (1 - p));
    EXPECT_NEAR(counts[id], kDraws * p, 4 * sigma) << "token " << id << " p=" << p;
  }
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  const std::vector<float> logits = {0.0f, 1.0f, 0.5f};
  SamplingOptions params = plain_params(9);
  params.temperature = 1e-3f;
  EXPECT_EQ(distinct_draws(params, logits, 500), std::set<TokenId>{1});
  params.temperature = 1e4f;
  EXPECT_EQ(distinct_draws(params, logits, 500).size(), 3u);
}

TEST(Sampler, NeverDrawsMinusInfinityOrNaN) {
  const std::vector<float> logits = {-kInf, 0.0f, kNaN, -kInf, -20.0f, kNaN, 0.1f};
  SamplingOptions params = plain_params(17);
  params.temperature = 1e6f;  // makes every finite token about equally likely
  EXPECT_EQ(distinct_draws(params, logits, 20000), (std::set<TokenId>{1, 4, 6}));
}

TEST(Sampler, AllMinusInfinityGivesAValidId) {
  const std::vector<float> logits(50, -kInf);
  const std::vector<float> nans(50, kNaN);
  for (const SamplingOptions& params : {greedy_params(), plain_params(), SamplingOptions{}}) {
    Sampler sampler(params);
    EXPECT_EQ(sampler.sample(logits), 0);
    EXPECT_EQ(sampler.sample(nans), 0);
  }
}

TEST(Sampler, PlusInfinityTakesAllTheMass) {
  const std::vector<float> logits = {1.0f, kInf, 50.0f, kInf, kNaN};
  EXPECT_EQ(distinct_draws(plain_params(19), logits, 2000), (std::set<TokenId>{1, 3}));
  EXPECT_EQ(distinct_draws(greedy_params(), logits, 10), std::set<TokenId>{1});
}

TEST(Sampler, LargeVocabularyWithDefaults) {
  std::vector<float> logits = test_logits(151936);
  logits[150000] = 40.0f;  // dominant
  Sampler sampler(SamplingOptions{});
  EXPECT_EQ(sampler.sample(logits), 150000);
}

TEST(SamplingOptions, RejectsValuesOutsideTheirRange) {
  EXPECT_TRUE(check_sampler_params(SamplingOptions{}).ok());
  struct Case {
    const char* field;
    void (*set)(SamplingOptions&);
  };
  const Case bad[] = {
      {"temperature", [](SamplingOptions& p) { p.temperature = kNaN; }},
      {"temperature", [](SamplingOptions& p) { p.temperature = -1; }},
      {"top_k", [](SamplingOptions& p) { p.top_k = -1; }},
      {"top_p", [](SamplingOptions& p) { p.top_p = kInf; }},
      {"top_p", [](SamplingOptions& p) { p.top_p = 5; }},
      {"top_p", [](SamplingOptions& p) { p.top_p = -0.1f; }},
      {"min_p", [](SamplingOptions& p) { p.min_p = -kInf; }},
      {"min_p", [](SamplingOptions& p) { p.min_p = 2; }},
      {"repeat_penalty", [](SamplingOptions& p) { p.repeat_penalty = 0; }},
      {"repeat_last_n", [](SamplingOptions& p) { p.repeat_last_n = -2; }},
  };
  for (const Case& c : bad) {
    SamplingOptions p;
    c.set(p);
    const Status s = check_sampler_params(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s.message();
  }
  // The ends of each range are valid.
  SamplingOptions edges;
  edges.temperature = 0, edges.top_k = 0, edges.top_p = 0, edges.min_p = 1, edges.repeat_last_n = -1;
  EXPECT_TRUE(check_sampler_params(edges).ok());
  edges.top_p = 1, edges.min_p = 0;
  EXPECT_TRUE(check_sampler_params(edges).ok());
}

}  // namespace
}  // namespace jf
