#include "model/sparsity.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace jf {

const char* sparse_site_name(SparseSite site) {
  switch (site) {
    case SparseSite::attn_in:
      return "attn_in";
    case SparseSite::attn_out:
      return "attn_out";
    case SparseSite::ffn_in:
      return "ffn_in";
    case SparseSite::ffn_down:
      return "ffn_down";
  }
  return "?";
}

int64_t topk_count(float sparsity, int64_t n) {
  // In double, less a hair, so that e.g. (1 - 0.75) * 512 is 128 and not 129 by rounding.
  const double kept = std::ceil((1.0 - static_cast<double>(sparsity)) * static_cast<double>(n) - 1e-6);
  return std::clamp<int64_t>(static_cast<int64_t>(kept), 1, n);
}

Sparsifier Sparsifier::topk(float sparsity) {
  JF_CHECK(sparsity >= 0 && sparsity < 1);
  return Sparsifier(SparsityMode::topk, sparsity, {});
}

Sparsifier Sparsifier::threshold(std::vector<SiteThresholds> thresholds) {
  return Sparsifier(SparsityMode::threshold, 0, std::move(thresholds));
}

int64_t Sparsifier::select(int layer, SparseSite site, const float* x, int64_t width, int32_t* out) {
  if (mode_ == SparsityMode::topk) {
    const int64_t k = topk_count(sparsity_, width);
    select_topk(x, width, k, out, topk_scratch_);
    return k;
  }
  JF_CHECK(layer >= 0 && layer < static_cast<int>(thresholds_.size()));
  return select_at_least(x, width, thresholds_[layer][static_cast<int>(site)], out);
}

LinearInput Sparsifier::at_site(int layer, SparseSite site, const float* x, int64_t n_tokens, int64_t width) {
  masked_.assign(static_cast<size_t>(n_tokens * width), 0.0f);
  channels_.resize(static_cast<size_t>(width));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* row = x + t * width;
    float* masked = masked_.data() + t * width;
    const int64_t kept = select(layer, site, row, width, channels_.data());
    for (int64_t i = 0; i < kept; ++i) masked[channels_[i]] = row[channels_[i]];
    n_kept_ += kept;
    n_seen_ += width;
    if (n_tokens == 1) channels_.resize(static_cast<size_t>(kept));
  }
  if (n_tokens != 1) return {masked_.data(), nullptr};
  active_.channels = channels_;
  return {masked_.data(), &active_};
}

}  // namespace jf
