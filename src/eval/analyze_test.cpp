// The activation analysis: bounds that hold for any model, and exact values where every channel is
// selected.
#include "eval/analyze.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eval/text_file.h"
#include "test_paths.h"

namespace jf::eval {
namespace {

Result<Analysis> analyze_stories(float sparsity) {
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), {});
  EXPECT_TRUE(engine.ok());
  auto text = read_text_file(test::source_path("tests/data/valid-head.txt"));
  EXPECT_TRUE(text.ok());
  AnalyzeOptions options;
  options.ctx = 64;
  options.max_windows = 3;
  options.sparsity = sparsity;
  return analyze_activations(**engine, *text, options);
}

TEST(AnalyzeTest, FiguresAreWithinTheirBounds) {
  auto a = analyze_stories(0.5f);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->n_windows, 3);
  EXPECT_EQ(a->n_tokens, 3 * 64);
  ASSERT_EQ(a->sites.size(), 5u * kSparseSites);
  for (const SiteAnalysis& s : a->sites) {
    SCOPED_TRACE(std::to_string(s.layer) + " " + sparse_site_name(s.site));
    if (s.layer == 0) {
      EXPECT_TRUE(std::isnan(s.cosine_prev));
      EXPECT_TRUE(std::isnan(s.precision_prev));
    } else {
      EXPECT_GE(s.cosine_prev, -1);
      EXPECT_LE(s.cosine_prev, 1);
      EXPECT_GT(s.precision_prev, 0);
      EXPECT_LE(s.precision_prev, 1);
    }
    // The k most selected of n channels hold at least k/n of the selections.
    EXPECT_GE(s.hit_context, 0.5 - 1e-9);
    EXPECT_GE(s.hit_text, 0.5 - 1e-9);
    EXPECT_LE(s.hit_context, 1 + 1e-9);
    EXPECT_GE(s.hit_context, s.hit_text - 1e-9);  // a window's own hot set fits it at least as well
    EXPECT_GE(s.hot_context, 0);
    EXPECT_LE(s.hot_text, 1);
  }
}

TEST(AnalyzeTest, EveryChannelSelectedGivesPerfectPredictionAndHotSets) {
  auto a = analyze_stories(0.001f);  // k = n on the 64 and 172 wide sites
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  for (const SiteAnalysis& s : a->sites) {
    if (s.layer > 0) {
      EXPECT_DOUBLE_EQ(s.precision_prev, 1);
    }
    EXPECT_DOUBLE_EQ(s.hit_context, 1);
    EXPECT_DOUBLE_EQ(s.hot_context, 1);
    EXPECT_DOUBLE_EQ(s.hot_text, 1);
  }
}

}  // namespace
}  // namespace jf::eval
