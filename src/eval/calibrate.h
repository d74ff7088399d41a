// Sparsity thresholds calibrated on text (TEAL's method, as ActiveFlow's release does it): the dense
// model reads the calibration windows; per layer and site, the distribution of |x| over every
// channel of every token is recorded; the threshold of level s is its s-quantile.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "eval/corpus.h"
#include "jitflow/engine.h"
#include "model/sparsity.h"
#include "model/thresholds.h"

namespace jf::eval {

// The distribution of |x| at one site of one layer, in bins of the float's own exponent and top 8
// mantissa bits (256 bins per octave: a bin is 0.27 % wide, and any quantile is within one bin).
class MagnitudeHistogram {
 public:
  MagnitudeHistogram() : counts_(kBins, 0) {}
  void add(const float* x, int64_t n);
  int64_t count() const { return total_; }
  // The value below which a fraction q of the |x| seen lies (interpolated within its bin); q in [0, 1].
  float quantile(double q) const;

 private:
  static constexpr int kDroppedBits = 15;  // of the 31 bits of |x|: 8 exponent + 8 mantissa remain
  static constexpr int kBins = 1 << (31 - kDroppedBits);
  std::vector<uint64_t> counts_;
  int64_t total_ = 0;
};

// Watches every site of every layer and records |x| there; changes nothing.
class ThresholdCalibrator final : public ActivationSites {
 public:
  explicit ThresholdCalibrator(int n_layer) : histograms_(static_cast<size_t>(n_layer) * kSparseSites) {}
  LinearInput at_site(int layer, SparseSite site, const float* x, int64_t n_tokens, int64_t width) override;
  // thresholds[layer][site] of level `sparsity`.
  std::vector<SiteThresholds> thresholds(float sparsity) const;

 private:
  std::vector<MagnitudeHistogram> histograms_;  // [layer * kSparseSites + site]
};

struct CalibrationOptions {
  std::vector<float> levels = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  int ctx = 1024;
  int max_windows = 256;  // of the corpus protocol; 0: every window of the text
  std::string text_name;  // recorded in the file
};

// Thresholds for every level, over the text's windows (corpus protocol). `progress` is called after
// each window. Errors: a level outside (0, 1) or a text too short for one window (kInvalidArgument).
Result<SparsityThresholds> calibrate_thresholds(
    Engine& engine, std::string_view text, const CalibrationOptions& options,
    const std::function<void(int window, int n_windows)>& progress = {});

}  // namespace jf::eval
