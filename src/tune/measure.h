// The one timing protocol of jitflow: everything that times anything (microbenchmarks, the tuner,
// benchmarks) goes through measure(), so numbers from different places are comparable.
//
// Protocol: `warmup_runs` untimed calls (page faults, caches, branch predictors, lazy binding),
// then timed samples until at least `min_samples` samples AND `min_time_ms` of timed work are
// reached, stopping early only at `max_time_ms` (always at least one sample). A sample is
// `calls_per_sample` back-to-back calls; every statistic is reported per call. The median is
// the figure of merit: it ignores the preemptions and frequency dips of a loaded machine.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace jf::tune {

struct MeasureSettings {
  int warmup_runs = 2;
  int min_samples = 5;
  double min_time_ms = 20.0;
  double max_time_ms = 1000.0;  // bounds a slow or preempted function; wins over the two minimums
  int calls_per_sample = 1;     // > 1 for functions too short to time one by one (clock overhead)
};

// Per-call statistics of one measurement, in nanoseconds.
struct Measurement {
  double median_ns = 0;
  double min_ns = 0;
  double p10_ns = 0;
  double p90_ns = 0;
  int n_samples = 0;
  double total_ms = 0;  // timed work, warm-up excluded
};

// A monotonic clock in nanoseconds; tests substitute a fake one.
using NowNsFn = std::function<double()>;
double steady_now_ns();

// Times `run_once` with the protocol above. `run_once` must do the same work on every call.
Measurement measure(const MeasureSettings& settings, const std::function<void()>& run_once,
                    const NowNsFn& now_ns = steady_now_ns);

// Statistics of per-call samples (any order): median and p10/p90 interpolate linearly between
// the nearest ranks. Empty input gives an all-zero Measurement.
Measurement summarize_samples(std::vector<double> samples_ns);

}  // namespace jf::tune
