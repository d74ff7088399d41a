// Built with -ffp-contract=off (see CMakeLists.txt): a fused multiply-add rounds once instead of
// twice, and compilers fuse on some targets only, which would make draws differ between machines.
#include "model/sampler.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/check.h"

namespace jf {
namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// Higher logit first, then the lower id: a total order, so every selection and sort below has one
// possible outcome whatever the algorithm inside the standard library.
bool ranks_before(const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// NaN carries no evidence for a token, so it ranks with -inf. +inf becomes the largest float so
// that differences between logits stay finite (several +inf tokens then share the mass equally).
float clean_logit(float logit) {
  if (std::isnan(logit)) return kMinusInf;
  return std::min(logit, std::numeric_limits<float>::max());
}

// llama.cpp's rule: dividing a negative logit would raise it, so negative logits are multiplied.
float penalize(float logit, float penalty) { return logit > 0 ? logit / penalty : logit * penalty; }

// 1/n! for n = 0..13, folded at compile time (IEEE division, the same bits on every compiler).
constexpr std::array<double, 14> kInverseFactorials = [] {
  std::array<double, 14> c{};
  c[0] = 1.0;
  for (int n = 1; n < 14; ++n) c[n] = c[n - 1] / n;
  return c;
}();

// e^x for x <= 0 with IEEE double +, -, * and exact scaling by 2^k only, so the result has the
// same bits everywhere (libm exp may differ in the last bit between platforms). Relative error
// about 1e-16: x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^13.
double exp_nonpositive(double x) {
  if (x < -700.0) return 0.0;  // < 1e-304 next to the top token's weight of 1: nothing
  constexpr double kLog2e = 1.4426950408889634;
  // ln 2 split in two: kLn2High has 21 trailing zero bits, so k * kLn2High is exact for |k| < 2^21.
  constexpr double kLn2High = 6.93147180369123816490e-01;
  constexpr double kLn2Low = 1.90821492927058770002e-10;
  const double k = std::floor(x * kLog2e + 0.5);
  const double r = (x - k * kLn2High) - k * kLn2Low;
  double poly = kInverseFactorials[13];
  for (int n = 12; n >= 0; --n) poly = poly * r + kInverseFactorials[n];
  // 2^k built from its bits: k is in [-1010, 0], a normal double.
  const uint64_t scale_bits = static_cast<uint64_t>(static_cast<int64_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof(scale));
  return poly * scale;
}

}  // namespace

Status check_sampler_params(const SamplingOptions& params) {
  // Written as !(in range) so that NaN fails too.
  if (!(params.temperature >= 0 && std::isfinite(params.temperature))) {
    return error(StatusCode::kInvalidArgument, "sampler: temperature %g must be a number >= 0 (0: greedy)",
                 params.temperature);
  }
  if (params.top_k < 0) {
    return error(StatusCode::kInvalidArgument, "sampler: top_k %d must be >= 0 (0: off)", params.top_k);
  }
  if (!(params.top_p >= 0 && params.top_p <= 1)) {
    return error(StatusCode::kInvalidArgument, "sampler: top_p %g must be in [0, 1] (1: off)", params.top_p);
  }
  if (!(params.min_p >= 0 && params.min_p <= 1)) {
    return error(StatusCode::kInvalidArgument, "sampler: min_p %g must be in [0, 1] (0: off)", params.min_p);
  }
  if (!(params.repeat_penalty > 0 && std::isfinite(params.repeat_penalty))) {
    return error(StatusCode::kInvalidArgument, "sampler: repeat_penalty %g must be a number > 0 (1: off)",
                 params.repeat_penalty);
  }
  if (params.repeat_last_n < -1) {
    return error(StatusCode::kInvalidArgument, "sampler: repeat_last_n %d must be >= -1 (0: off, -1: all)",
                 params.repeat_last_n);
  }
  return Status::ok_status();
}

Sampler::Sampler(const SamplingOptions& params) : params_(params), rng_state_(params.seed) {
  JF_CHECK_MSG(check_sampler_params(params).ok(), "validate user input with check_sampler_params()");
}

void Sampler::accept(TokenId token) {
  history_.push_back(token);
  // Trimming only once the history holds twice the window keeps accept() O(1) amortised.
  const int window = params_.repeat_last_n;
  if (window > 0 && history_.size() >= 2 * static_cast<size_t>(window)) {
    history_.erase(history_.begin(), history_.end() - window);
  }
}

void Sampler::reset() {
  history_.clear();
  rng_state_ = params_.seed;
}

TokenId Sampler::sample(std::span<const float> logits) {
  JF_CHECK(!logits.empty());
  JF_CHECK(logits.size() <= static_cast<size_t>(std::numeric_limits<TokenId>::max()));
  load_candidates(logits);
  if (params_.temperature <= 0) {
    return std::min_element(candidates_.begin(), candidates_.end(), ranks_before)->second;
  }
  std::erase_if(candidates_, [](const Candidate& c) { return c.first == kMinusInf; });
  // Every logit -inf or NaN: no token has any probability; the lowest id is what greedy would say.
  if (candidates_.empty()) return 0;
  keep_top_k();
  keep_top_p();
  keep_min_p();
  return draw();
}

// candidates_[id] = (penalised logit, id) for every token of the vocabulary.
void Sampler::load_candidates(std::span<const float> logits) {
  const size_t n_vocab = logits.size();
  candidates_.resize(n_vocab);
  for (size_t id = 0; id < n_vocab; ++id) candidates_[id] = {clean_logit(logits[id]), static_cast<TokenId>(id)};
  const int window = params_.repeat_last_n;
  if (params_.repeat_penalty == 1.0f || window == 0) return;
  const size_t n_recent = window < 0 ? history_.size() : std::min(history_.size(), static_cast<size_t>(window));
  for (auto it = history_.end() - static_cast<ptrdiff_t>(n_recent); it != history_.end(); ++it) {
    if (*it < 0 || static_cast<size_t>(*it) >= n_vocab) continue;
    // From the input logit, not the running value: a token seen several times in the window is
    // penalised once, as in llama.cpp.
    candidates_[*it].first = penalize(clean_logit(logits[*it]), params_.repeat_penalty);
  }
}

// Leaves the top_k best candidates, best first. Without top_k only the best candidate is moved to
// the front, which the later steps rely on.
void Sampler::keep_top_k() {
  const size_t k = params_.top_k > 0 ? static_cast<size_t>(params_.top_k) : candidates_.size();
  if (k < candidates_.size()) {
    // Heap selection: one comparison against the k-th best for most of a 150k vocabulary, about
    // 10x faster here than nth_element followed by a sort of the k survivors.
    std::partial_sort(candidates_.begin(), candidates_.begin() + k, candidates_.end(), ranks_before);
    candidates_.resize(k);
  } else {
    std::iter_swap(candidates_.begin(), std::min_element(candidates_.begin(), candidates_.end(), ranks_before));
  }
}

// Keeps the shortest run of best candidates whose probability (at temperature 1) reaches top_p,
// sorted best first.
void Sampler::keep_top_p() {
  if (params_.top_p >= 1.0f) return;
  const double top = candidates_.front().first;
  double total = 0;
  for (const Candidate& c : candidates_) total += exp_nonpositive(c.first - top);
  const double target = static_cast<double>(params_.top_p) * total;
  // Sorts prefixes of growing length only as far as the mass needs: LLM logits are peaked, so
  // top_p is reached within a few thousand tokens, and sorting all of a 150k vocabulary costs
  // ~20 ms (17 -> 5 ms per token on normal-like logits; 19 -> 16 ms on flat ones).
  const auto begin = candidates_.begin();
  double mass = 0;
  size_t n_sorted = 0;
  for (size_t chunk = 64; n_sorted < candidates_.size(); chunk *= 8) {
    const size_t n_next = std::min(candidates_.size(), n_sorted + chunk);
    std::partial_sort(begin + n_sorted, begin + n_next, candidates_.end(), ranks_before);
    for (; n_sorted < n_next; ++n_sorted) {
      mass += exp_nonpositive(candidates_[n_sorted].first - top);
      if (mass >= target) {
        candidates_.resize(n_sorted + 1);
        return;
      }
    }
  }
  // Only rounding (top_p within an ulp of 1) gets here: every candidate stays.
}

// Drops candidates whose probability (at temperature 1) is below min_p times the best one's:
// p_i / p_best = e^(logit_i - logit_best). The best candidate (at the front) always stays.
void Sampler::keep_min_p() {
  if (params_.min_p <= 0.0f) return;
  const double top = candidates_.front().first;
  const double min_ratio = params_.min_p;
  const auto too_unlikely = [&](const Candidate& c) { return exp_nonpositive(c.first - top) < min_ratio; };
  candidates_.erase(std::remove_if(candidates_.begin() + 1, candidates_.end(), too_unlikely), candidates_.end());
}

// Softmax at the temperature over the surviving candidates, then one uniform draw.
TokenId Sampler::draw() {
  const double top = candidates_.front().first;
  const double temperature = params_.temperature;
  double total = 0;
  for (const Candidate& c : candidates_) total += exp_nonpositive((c.first - top) / temperature);
  const double target = next_uniform() * total;
  double mass = 0;
  TokenId last_possible = candidates_.front().second;
  for (const Candidate& c : candidates_) {
    const double weight = exp_nonpositive((c.first - top) / temperature);
    if (weight == 0) continue;
    mass += weight;
    last_possible = c.second;
    if (target < mass) return c.second;
  }
  // u * total rounded up to total (u within 2^-53 of 1): the last token that has any weight.
  return last_possible;
}

// splitmix64 (Steele, Lea and Flood; the constants of Vigna's reference version), top 53 bits.
double Sampler::next_uniform() {
  rng_state_ += 0x9e3779b97f4a7c15ull;
  uint64_t z = rng_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

}  // namespace jf
