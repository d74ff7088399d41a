// Threshold calibration: the histogram's quantiles against a sort, and calibrated thresholds that
// give the level they were calibrated for.
#include "eval/calibrate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "eval/perplexity.h"
#include "eval/text_file.h"
#include "test_env.h"
#include "test_paths.h"

namespace jf::eval {
namespace {

TEST(CalibrateTest, HistogramQuantilesAreWithinABinOfTheSortedValues) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> x(100000);
  for (float& v : x) v = normal(rng);
  x[17] = 0;  // zeros fall in the lowest bin
  MagnitudeHistogram h;
  h.add(x.data(), static_cast<int64_t>(x.size()));
  std::vector<float> magnitude(x.size());
  for (size_t i = 0; i < x.size(); ++i) magnitude[i] = std::fabs(x[i]);
  std::sort(magnitude.begin(), magnitude.end());
  for (double q : {0.1, 0.25, 0.4, 0.5, 0.7, 0.9, 0.99}) {
    const float exact = magnitude[static_cast<size_t>(q * x.size())];
    EXPECT_NEAR(h.quantile(q), exact, 0.003 * exact) << "q=" << q;  // 256 bins per octave: 0.27 % wide
  }
  EXPECT_EQ(h.count(), 100000);
}

TEST(CalibrateTest, ThresholdsSplitTheCalibrationActivationsAtTheLevel) {
  ThresholdCalibrator calibrator(2);
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  std::vector<float> x(64 * 100);
  for (float& v : x) v = normal(rng);
  calibrator.at_site(1, SparseSite::ffn_in, x.data(), 100, 64);
  const std::vector<SiteThresholds> t = calibrator.thresholds(0.6f);
  ASSERT_EQ(t.size(), 2u);
  const float threshold = t[1][static_cast<int>(SparseSite::ffn_in)];
  int64_t below = 0;
  for (float v : x) below += std::fabs(v) < threshold;
  EXPECT_NEAR(static_cast<double>(below) / x.size(), 0.6, 0.002);
  EXPECT_EQ(t[0][0], 0);  // a site that saw nothing
}

TEST(CalibrateTest, CalibratedModelRunsInThresholdModeNearTheLevel) {
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), {});
  ASSERT_TRUE(engine.ok());
  auto text = read_text_file(test::source_path("tests/data/valid-head.txt"));
  ASSERT_TRUE(text.ok());
  CalibrationOptions options;
  options.levels = {0.7f, 0.4f};
  options.ctx = 64;
  options.max_windows = 0;
  auto thresholds = calibrate_thresholds(**engine, *text, options);
  ASSERT_TRUE(thresholds.ok()) << thresholds.status().to_string();
  ASSERT_EQ(thresholds->levels.size(), 2u);
  EXPECT_EQ(thresholds->levels[0].sparsity, 0.4f);  // sorted
  EXPECT_EQ(thresholds->n_layer, 5);
  EXPECT_EQ(thresholds->model_file, "stories260K.gguf");
  for (int s = 0; s < kSparseSites; ++s) {
    EXPECT_LT(thresholds->levels[0].layers[2][s],
              thresholds->levels[1].layers[2][s]);  // higher level, higher bar
  }
  const std::string path = test::temp_path("stories.thresholds.json");
  ASSERT_TRUE(write_thresholds(*thresholds, path).ok());

  PerplexityOptions ppl;
  ppl.ctx = 64;
  ppl.sparse = {SparsityOptions{0.4f, SparsityMode::threshold, path},
                SparsityOptions{0.7f, SparsityMode::threshold, path}};
  auto results = evaluate_perplexity(**engine, *text, ppl);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  // On the calibration text itself; the sparse layers' inputs drift from the dense ones, hence 0.05.
  EXPECT_NEAR((*results)[1].realised_sparsity, 0.4, 0.05);
  EXPECT_NEAR((*results)[2].realised_sparsity, 0.7, 0.05);
  EXPECT_GT((*results)[2].kl, (*results)[1].kl);
}

TEST(CalibrateTest, LevelOutsideTheOpenUnitIntervalIsRefused) {
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), {});
  ASSERT_TRUE(engine.ok());
  CalibrationOptions options;
  options.levels = {0.5f, 1.0f};
  auto thresholds = calibrate_thresholds(**engine, "text", options);
  ASSERT_FALSE(thresholds.ok());
  EXPECT_NE(thresholds.status().message().find("sparsity level 1 is outside (0, 1)"), std::string::npos);
}

}  // namespace
}  // namespace jf::eval
