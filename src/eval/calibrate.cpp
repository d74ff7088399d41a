#include "eval/calibrate.h"

#include <algorithm>
#include "base/bit_cast.h"
#include <cmath>
#include <filesystem>

#include "runtime/engine_impl.h"

namespace jf::eval {

void MagnitudeHistogram::add(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t magnitude_bits = jf::bit_cast<uint32_t>(x[i]) & 0x7fffffffu;
    ++counts_[magnitude_bits >> kDroppedBits];
  }
  total_ += n;
}

float MagnitudeHistogram::quantile(double q) const {
  if (total_ == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total_);
  double below = 0;
  for (int bin = 0; bin < kBins; ++bin) {
    const double count = static_cast<double>(counts_[bin]);
    if (count == 0 || below + count < rank) {
      below += count;
      continue;
    }
    // Linear within the bin: its values are spread between its two edges.
    const float low = jf::bit_cast<float>(static_cast<uint32_t>(bin) << kDroppedBits);
    const float high = jf::bit_cast<float>(static_cast<uint32_t>(bin + 1) << kDroppedBits);
    return low + static_cast<float>((rank - below) / count) * (high - low);
  }
  return jf::bit_cast<float>(0x7f7fffffu);
}

LinearInput ThresholdCalibrator::at_site(int layer, SparseSite site, const float* x, int64_t n_tokens,
                                         int64_t width) {
  histograms_[static_cast<size_t>(layer) * kSparseSites + static_cast<int>(site)].add(x, n_tokens * width);
  return {x, nullptr};
}

std::vector<SiteThresholds> ThresholdCalibrator::thresholds(float sparsity) const {
  std::vector<SiteThresholds> layers(histograms_.size() / kSparseSites);
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int s = 0; s < kSparseSites; ++s)
      layers[l][s] = histograms_[l * kSparseSites + s].quantile(sparsity);
  }
  return layers;
}

Result<SparsityThresholds> calibrate_thresholds(Engine& engine, std::string_view text,
                                                const CalibrationOptions& options,
                                                const std::function<void(int, int)>& progress) {
  for (float level : options.levels) {
    if (!(level > 0 && level < 1)) {
      return error(StatusCode::kInvalidArgument, "sparsity level %g is outside (0, 1)", level);
    }
  }
  const std::vector<ScoringWindow> windows =
      make_windows(engine, text, TextProtocol::corpus, options.ctx, options.max_windows);
  if (windows.empty()) {
    return error(StatusCode::kInvalidArgument,
                 "the calibration text is too short for one window of %d tokens", options.ctx + 1);
  }
  const Engine::Impl& model = engine_impl(engine);
  std::unique_ptr<Session> session = engine.new_session();
  if (windows[0].n_inputs() > session->n_ctx()) {
    return error(StatusCode::kInvalidArgument,
                 "a window of %d positions does not fit the context of %d (raise -c)", windows[0].n_inputs(),
                 session->n_ctx());
  }
  ThresholdCalibrator calibrator(model.config.n_layer);
  session_transformer(*session).set_activation_sites(&calibrator);
  SparsityThresholds result;
  for (size_t w = 0; w < windows.size(); ++w) {
    session->reset();
    // Every position's logits, so that the last layer also runs its FFN for every token.
    JF_RETURN_IF_ERROR(
        session->eval(std::span<const int32_t>(windows[w].tokens.data(), windows[w].n_inputs()), true)
            .status());
    result.calibration_tokens += windows[w].n_inputs();
    if (progress) progress(static_cast<int>(w), static_cast<int>(windows.size()));
  }
  result.model_file = std::filesystem::path(model.info.path).filename().string();
  result.model_fingerprint = model.fingerprint;
  result.n_layer = model.config.n_layer;
  result.calibration_text = options.text_name;
  std::vector<float> levels = options.levels;
  std::sort(levels.begin(), levels.end());
  for (float level : levels) result.levels.push_back({level, calibrator.thresholds(level)});
  return result;
}

}  // namespace jf::eval
