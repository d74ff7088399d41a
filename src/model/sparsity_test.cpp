// Active-set selection against brute force, and the Sparsifier's masking per token.
#include "model/sparsity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/select/select_test_util.h"

namespace jf {
namespace {

TEST(SparsityTest, TopkCountIsCeilOfKeptFraction) {
  EXPECT_EQ(topk_count(0.5f, 512), 256);
  EXPECT_EQ(topk_count(0.7f, 512), 154);   // 153.6
  EXPECT_EQ(topk_count(0.75f, 512), 128);  // exactly 128, not 129 by float rounding
  EXPECT_EQ(topk_count(0.4f, 1408), 845);  // 844.8
  EXPECT_EQ(topk_count(0.0f, 64), 64);
  EXPECT_EQ(topk_count(0.999f, 64), 1);
}

TEST(SparsityTest, TopkSparsifierMasksEachTokenOnItsOwn) {
  const int64_t width = 64, n_tokens = 3;
  const std::vector<float> x = test::random_row(width * n_tokens, 11);
  Sparsifier sparsifier = Sparsifier::topk(0.75f);
  const LinearInput in = sparsifier.at_site(0, SparseSite::attn_in, x.data(), n_tokens, width);
  EXPECT_EQ(in.active, nullptr);  // a batch: each token has its own set
  for (int64_t t = 0; t < n_tokens; ++t) {
    const std::vector<float> row(x.begin() + t * width, x.begin() + (t + 1) * width);
    const std::vector<int32_t> kept = test::topk_by_sort(row, 16);
    for (int64_t j = 0; j < width; ++j) {
      const bool active = std::binary_search(kept.begin(), kept.end(), static_cast<int32_t>(j));
      EXPECT_EQ(in.x[t * width + j], active ? row[j] : 0.0f) << "token " << t << " channel " << j;
    }
  }
  EXPECT_EQ(sparsifier.n_kept(), 3 * 16);
  EXPECT_EQ(sparsifier.n_seen(), 3 * 64);
}

TEST(SparsityTest, SingleTokenGetsItsActiveChannels) {
  const int64_t width = 172;
  const std::vector<float> x = test::random_row(width, 5);
  Sparsifier sparsifier = Sparsifier::topk(0.5f);
  const LinearInput in = sparsifier.at_site(2, SparseSite::ffn_down, x.data(), 1, width);
  ASSERT_NE(in.active, nullptr);
  const std::vector<int32_t> channels(in.active->channels.begin(), in.active->channels.end());
  EXPECT_EQ(channels, test::topk_by_sort(x, 86));
  for (int32_t c : channels) EXPECT_EQ(in.x[c], x[c]);
}

TEST(SparsityTest, ThresholdSparsifierUsesTheLayerAndSiteThreshold) {
  const std::vector<float> x = {0.1f, -0.6f, 0.3f, 0.9f};
  // Layer 1, site attn_out has threshold 0.5; the others would keep everything or nothing.
  Sparsifier sparsifier = Sparsifier::threshold({{0, 0, 0, 0}, {9, 0.5f, 9, 9}});
  const LinearInput in = sparsifier.at_site(1, SparseSite::attn_out, x.data(), 1, 4);
  ASSERT_NE(in.active, nullptr);
  EXPECT_EQ(std::vector<int32_t>(in.active->channels.begin(), in.active->channels.end()),
            (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(std::vector<float>(in.x, in.x + 4), (std::vector<float>{0, -0.6f, 0, 0.9f}));
}

}  // namespace
}  // namespace jf
