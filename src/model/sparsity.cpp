#include "model/sparsity.h"

#include <algorithm>
#include <bit>
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

void select_topk(const float* x, int64_t n, int64_t k, int32_t* out) {
  JF_CHECK(k >= 1 && k <= n);
  // The k-th largest magnitude; every channel above it is in, and of those equal to it the lowest
  // indices fill what is left.
  std::vector<float> magnitude(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) magnitude[j] = std::fabs(x[j]);
  std::vector<float> order = magnitude;
  std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), std::greater<float>());
  const float kth = order[k - 1];
  int64_t above = 0;
  for (int64_t j = 0; j < n; ++j) above += magnitude[j] > kth;
  int64_t ties_left = k - above;
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    const bool in = magnitude[j] > kth || (magnitude[j] == kth && ties_left-- > 0);
    if (in) out[count++] = static_cast<int32_t>(j);
  }
  JF_CHECK(count == k);
}

void TopkSelector::select(const float* x, int64_t n, int64_t k, int32_t* out) {
  JF_CHECK(k >= 1 && k <= n);
  keys_.resize(static_cast<size_t>(n));
  histogram_.assign(size_t{1} << (31 - kShift), 0);
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t key = std::bit_cast<uint32_t>(x[j]) & 0x7fffffffu;
    keys_[j] = key;
    ++histogram_[key >> kShift];
  }
  // The bin of the k-th largest key: `above` keys lie in higher bins.
  int64_t above = 0;
  uint32_t bin = static_cast<uint32_t>(histogram_.size());
  while (above + histogram_[--bin] < static_cast<uint64_t>(k)) above += histogram_[bin];
  // The k-th largest key itself, among the bin's members.
  candidates_.clear();
  for (int64_t j = 0; j < n; ++j) {
    if ((keys_[j] >> kShift) == bin) candidates_.push_back(keys_[j]);
  }
  const int64_t rank = k - above - 1;  // 0: the bin's largest
  std::nth_element(candidates_.begin(), candidates_.begin() + rank, candidates_.end(), std::greater<uint32_t>());
  const uint32_t kth = candidates_[rank];
  int64_t ties_left = 1;  // of the keys equal to kth, those among the top k: 1 + the equal ones ranked before it
  for (int64_t i = 0; i < rank; ++i) ties_left += candidates_[i] == kth;
  // Branch-free: about half the channels are in, in no pattern a predictor could learn.
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t key = keys_[j];
    const bool tie = key == kth;
    const bool in = key > kth || (tie && ties_left > 0);
    ties_left -= tie && in;
    out[count] = static_cast<int32_t>(j);
    count += in;
  }
  JF_CHECK(count == k);
}

int64_t select_at_least(const float* x, int64_t n, float threshold, int32_t* out) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    out[count] = static_cast<int32_t>(j);
    count += std::fabs(x[j]) >= threshold;  // branch-free, as in TopkSelector::select
  }
  return count;
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
    topk_.select(x, width, k, out);
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
