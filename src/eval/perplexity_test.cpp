// Perplexity, KL and top-1 against a token-by-token reference, and their behaviour under sparsity.
#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eval/text_file.h"
#include "test_paths.h"

namespace jf::eval {
namespace {

struct Fixture {
  std::unique_ptr<Engine> engine;
  std::string text;
};

Fixture stories_and_text() {
  Fixture f;
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), {});
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  if (engine.ok()) f.engine = std::move(*engine);
  auto text = read_text_file(test::source_path("tests/data/valid-head.txt"));
  EXPECT_TRUE(text.ok());
  if (text.ok()) f.text = *text;
  return f;
}

// exp(mean NLL) of the windows, each token fed alone (decode) and scored in double precision.
double reference_perplexity(Engine& engine, const std::vector<ScoringWindow>& windows) {
  double nll = 0;
  int64_t n = 0;
  const int64_t n_vocab = engine.info().n_vocab;
  for (const ScoringWindow& w : windows) {
    std::unique_ptr<Session> session = engine.new_session();
    for (int j = 0; j < w.n_inputs(); ++j) {
      auto logits = session->eval(std::span<const int32_t>(&w.tokens[j], 1));
      EXPECT_TRUE(logits.ok());
      if (j < w.first_scored) continue;
      double max = -INFINITY, sum = 0;
      for (int64_t v = 0; v < n_vocab; ++v) max = std::max(max, static_cast<double>((*logits)[v]));
      for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp((*logits)[v] - max);
      nll -= (*logits)[w.tokens[j + 1]] - max - std::log(sum);
      ++n;
    }
  }
  return std::exp(nll / static_cast<double>(n));
}

TEST(PerplexityTest, DenseEqualsTokenByTokenReference) {
  Fixture f = stories_and_text();
  ASSERT_NE(f.engine, nullptr);
  for (TextProtocol protocol : {TextProtocol::corpus, TextProtocol::llama}) {
    PerplexityOptions options;
    options.ctx = 32;
    options.max_windows = 3;
    options.protocol = protocol;
    auto results = evaluate_perplexity(*f.engine, f.text, options);
    ASSERT_TRUE(results.ok()) << results.status().to_string();
    ASSERT_EQ(results->size(), 1u);
    const PerplexityResult& dense = (*results)[0];
    const std::vector<ScoringWindow> windows = make_windows(*f.engine, f.text, protocol, 32, 3);
    EXPECT_EQ(dense.n_windows, 3);
    EXPECT_EQ(dense.n_scored, protocol == TextProtocol::corpus ? 3 * 32 : 3 * 15);
    EXPECT_NEAR(dense.perplexity, reference_perplexity(*f.engine, windows), 1e-4 * dense.perplexity);
    EXPECT_EQ(dense.kl, 0);
    EXPECT_EQ(dense.top1, 1);
    EXPECT_GT(dense.perplexity, 1);
  }
}

TEST(PerplexityTest, KeepingEveryChannelIsTheDenseModel) {
  Fixture f = stories_and_text();
  ASSERT_NE(f.engine, nullptr);
  PerplexityOptions options;
  options.ctx = 48;
  options.max_windows = 2;
  options.sparse = {
      SparsityOptions{0.001f, SparsityMode::topk, ""}};  // keeps ceil(0.999 n) = n of 64 and 172
  auto results = evaluate_perplexity(*f.engine, f.text, options);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[1].perplexity, (*results)[0].perplexity);
  EXPECT_EQ((*results)[1].kl, 0);
  EXPECT_EQ((*results)[1].top1, 1);
  EXPECT_EQ((*results)[1].realised_sparsity, 0);
}

TEST(PerplexityTest, MoreSparsityMovesFurtherFromDense) {
  Fixture f = stories_and_text();
  ASSERT_NE(f.engine, nullptr);
  PerplexityOptions options;
  options.ctx = 64;
  options.max_windows = 4;
  options.sparse = {SparsityOptions{0.3f, SparsityMode::topk, ""},
                    SparsityOptions{0.8f, SparsityMode::topk, ""}};
  auto results = evaluate_perplexity(*f.engine, f.text, options);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  const PerplexityResult &light = (*results)[1], &heavy = (*results)[2];
  EXPECT_GT(light.kl, 0);
  EXPECT_GT(heavy.kl, 2 * light.kl);
  EXPECT_LT(heavy.top1, light.top1);
  EXPECT_LT(light.top1, 1);
  EXPECT_GT(heavy.perplexity, (*results)[0].perplexity);
  // Realised sparsity of top-k is the level, up to the rounding of ceil((1 - s) n) on 64 and 172 wide sites.
  EXPECT_NEAR(light.realised_sparsity, 0.3, 0.01);
  EXPECT_NEAR(heavy.realised_sparsity, 0.8, 0.01);
}

TEST(PerplexityTest, TextShorterThanOneWindowIsAnError) {
  Fixture f = stories_and_text();
  ASSERT_NE(f.engine, nullptr);
  PerplexityOptions options;
  options.ctx = 256;
  auto results = evaluate_perplexity(*f.engine, "Too short.", options);
  ASSERT_FALSE(results.ok());
  EXPECT_NE(results.status().message().find("too short for one window of 257 tokens"), std::string::npos)
      << results.status().message();
}

}  // namespace
}  // namespace jf::eval
