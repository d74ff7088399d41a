#include "model/moe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace jf {
namespace {

// Probabilities worked out by hand: logits log(1), log(2), log(3), log(4) give softmax 0.1..0.4.
TEST(MoeTest, RouteTokenPicksTheMostProbableAndRenormalises) {
  std::vector<float> logits = {std::log(1.0f), std::log(4.0f), std::log(2.0f), std::log(3.0f)};
  ExpertChoice out[2];
  route_token(logits, 0, out);
  EXPECT_EQ(out[0].expert, 1);
  EXPECT_EQ(out[1].expert, 3);
  EXPECT_NEAR(out[0].weight, 4.0f / 7.0f, 1e-6f);
  EXPECT_NEAR(out[1].weight, 3.0f / 7.0f, 1e-6f);
}

TEST(MoeTest, RouteTokenScalesAndBreaksTiesByIndex) {
  std::vector<float> logits = {0.5f, 0.5f, 0.5f};
  ExpertChoice out[2];
  route_token(logits, 2.0f, out);
  EXPECT_EQ(out[0].expert, 0);
  EXPECT_EQ(out[1].expert, 1);
  EXPECT_NEAR(out[0].weight, 1.0f, 1e-6f);  // 0.5 of the pair, times 2
  std::vector<float> one = {3.0f, -1.0f};
  ExpertChoice top[1];
  route_token(one, 1.0f, top);  // a scale of 1 scales nothing; one expert takes all the weight
  EXPECT_EQ(top[0].expert, 0);
  EXPECT_FLOAT_EQ(top[0].weight, 1.0f);
}

}  // namespace
}  // namespace jf
