#include "eval/analyze.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/engine_impl.h"

namespace jf::eval {
namespace {

double cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

// The share of all selections that fall on the k most selected channels.
double top_share(const std::vector<int64_t>& counts, int64_t k) {
  std::vector<int64_t> sorted = counts;
  std::sort(sorted.begin(), sorted.end(), std::greater<int64_t>());
  const int64_t total = std::accumulate(sorted.begin(), sorted.end(), int64_t{0});
  const int64_t top = std::accumulate(sorted.begin(), sorted.begin() + k, int64_t{0});
  return total > 0 ? static_cast<double>(top) / total : 0;
}

double share_at_least(const std::vector<int64_t>& counts, int64_t n_tokens, double fraction) {
  int64_t hot = 0;
  for (int64_t c : counts) hot += c >= fraction * n_tokens;
  return static_cast<double>(hot) / counts.size();
}

// Keeps every site's input of one window (the dense model's), then folds it into the sums.
class Recorder final : public ActivationSites {
 public:
  Recorder(int n_layer, float sparsity)
      : inputs_(n_layer * kSparseSites), widths_(inputs_.size(), 0), sparsity_(sparsity) {}

  LinearInput at_site(int layer, SparseSite site, const float* x, int64_t n_tokens, int64_t width) override {
    const size_t i = static_cast<size_t>(layer) * kSparseSites + static_cast<int>(site);
    inputs_[i].assign(x, x + n_tokens * width);
    widths_[i] = width;
    n_tokens_ = n_tokens;
    return {x, nullptr};
  }

  // Adds the window's figures to a's sums and its selections to the text's counts per channel.
  void fold(Analysis* a, std::vector<std::vector<int64_t>>* text_counts) {
    const int n_layer = static_cast<int>(inputs_.size()) / kSparseSites;
    for (int layer = 0; layer < n_layer; ++layer) {
      for (int s = 0; s < kSparseSites; ++s) {
        const size_t i = static_cast<size_t>(layer) * kSparseSites + s;
        fold_site(layer, s, &a->sites[i], &(*text_counts)[i]);
      }
    }
    a->n_tokens += n_tokens_;
  }

 private:
  void fold_site(int layer, int s, SiteAnalysis* out, std::vector<int64_t>* text_counts) {
    const size_t i = static_cast<size_t>(layer) * kSparseSites + s;
    const int64_t width = widths_[i];
    const int64_t k = topk_count(sparsity_, width);
    std::vector<int64_t> counts(width, 0);
    std::vector<int32_t> now(width), before(width);
    for (int64_t t = 0; t < n_tokens_; ++t) {
      const float* x = inputs_[i].data() + t * width;
      select_topk(x, width, k, now.data(), scratch_);
      for (int64_t c = 0; c < k; ++c) ++counts[now[c]];
      if (layer == 0) continue;
      const float* x_prev = inputs_[i - kSparseSites].data() + t * width;
      select_topk(x_prev, width, k, before.data(), scratch_);
      std::vector<int32_t> common;
      std::set_intersection(now.begin(), now.begin() + k, before.begin(), before.begin() + k,
                            std::back_inserter(common));
      out->cosine_prev += cosine(x_prev, x, width);
      out->precision_prev += static_cast<double>(common.size()) / k;
    }
    out->hot_context += share_at_least(counts, n_tokens_, 0.7);
    out->hit_context += top_share(counts, k);
    if (text_counts->empty()) text_counts->assign(width, 0);
    for (int64_t c = 0; c < width; ++c) (*text_counts)[c] += counts[c];
  }

  std::vector<std::vector<float>> inputs_;  // [layer * kSparseSites + site]: n_tokens rows
  std::vector<int64_t> widths_;
  float sparsity_;
  TopkScratch scratch_;
  int64_t n_tokens_ = 0;
};

}  // namespace

Result<Analysis> analyze_activations(Engine& engine, std::string_view text, const AnalyzeOptions& options) {
  if (!(options.sparsity > 0 && options.sparsity < 1)) {
    return error(StatusCode::kInvalidArgument, "sparsity %g is outside (0, 1)", options.sparsity);
  }
  const std::vector<ScoringWindow> windows =
      make_windows(engine, text, TextProtocol::corpus, options.ctx, options.max_windows);
  if (windows.empty()) {
    return error(StatusCode::kInvalidArgument, "the text is too short for one window of %d tokens",
                 options.ctx + 1);
  }
  const int n_layer = engine_impl(engine).config.n_layer;
  std::unique_ptr<Session> session = engine.new_session();
  Recorder recorder(n_layer, options.sparsity);
  session_transformer(*session).set_activation_sites(&recorder);
  Analysis a;
  a.sites.resize(static_cast<size_t>(n_layer) * kSparseSites);
  std::vector<std::vector<int64_t>> text_counts(a.sites.size());
  for (const ScoringWindow& w : windows) {
    session->reset();
    // Every position's logits, so that the last layer also runs its FFN for every token.
    JF_RETURN_IF_ERROR(session->eval(std::span<const int32_t>(w.tokens.data(), w.n_inputs()), true).status());
    recorder.fold(&a, &text_counts);
    ++a.n_windows;
  }
  for (size_t i = 0; i < a.sites.size(); ++i) {
    SiteAnalysis& s = a.sites[i];
    s.layer = static_cast<int>(i) / kSparseSites;
    s.site = static_cast<SparseSite>(i % kSparseSites);
    s.hot_context /= a.n_windows;
    s.hit_context /= a.n_windows;
    const int64_t width = static_cast<int64_t>(text_counts[i].size());
    s.hot_text = share_at_least(text_counts[i], a.n_tokens, 0.5);
    s.hit_text = top_share(text_counts[i], topk_count(options.sparsity, width));
    s.cosine_prev = s.layer == 0 ? NAN : s.cosine_prev / a.n_tokens;
    s.precision_prev = s.layer == 0 ? NAN : s.precision_prev / a.n_tokens;
  }
  return a;
}

}  // namespace jf::eval
