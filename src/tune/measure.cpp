#include "tune/measure.h"

#include <algorithm>
#include <chrono>

namespace jf::tune {
namespace {

// Value at fraction q in [0, 1] of sorted samples, linear between the two nearest ranks.
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

bool enough_samples(const MeasureSettings& s, int n_samples, double elapsed_ms) {
  if (n_samples == 0) return false;
  if (elapsed_ms >= s.max_time_ms) return true;
  return n_samples >= s.min_samples && elapsed_ms >= s.min_time_ms;
}

}  // namespace

double steady_now_ns() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::nano>(Clock::now().time_since_epoch()).count();
}

Measurement summarize_samples(std::vector<double> samples_ns) {
  Measurement m;
  if (samples_ns.empty()) return m;
  std::sort(samples_ns.begin(), samples_ns.end());
  m.median_ns = quantile_sorted(samples_ns, 0.5);
  m.min_ns = samples_ns.front();
  m.p10_ns = quantile_sorted(samples_ns, 0.1);
  m.p90_ns = quantile_sorted(samples_ns, 0.9);
  m.n_samples = static_cast<int>(samples_ns.size());
  return m;
}

Measurement measure(const MeasureSettings& settings, const std::function<void()>& run_once, const NowNsFn& now_ns) {
  for (int i = 0; i < settings.warmup_runs; ++i) run_once();
  const int calls = std::max(1, settings.calls_per_sample);
  std::vector<double> per_call_ns;
  double elapsed_ns = 0;
  while (!enough_samples(settings, static_cast<int>(per_call_ns.size()), elapsed_ns * 1e-6)) {
    const double start = now_ns();
    for (int c = 0; c < calls; ++c) run_once();
    const double sample_ns = now_ns() - start;
    elapsed_ns += sample_ns;
    per_call_ns.push_back(sample_ns / calls);
  }
  Measurement m = summarize_samples(std::move(per_call_ns));
  m.total_ms = elapsed_ns * 1e-6;
  return m;
}

}  // namespace jf::tune
