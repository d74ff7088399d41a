#include "tune/measure.h"

#include <gtest/gtest.h>

namespace jf::tune {
namespace {

// A fake clock that advances only when the timed function "runs": call i takes durations[i] ns
// (the last duration repeats).
struct FakeWorkload {
  std::vector<double> durations_ns;
  double now_ns = 0;
  int calls = 0;
  void run() {
    const size_t i = std::min<size_t>(calls, durations_ns.size() - 1);
    now_ns += durations_ns[i];
    ++calls;
  }
  Measurement measure_with(const MeasureSettings& settings) {
    return measure(settings, [this] { run(); }, [this] { return now_ns; });
  }
};

TEST(Measure, WarmupIsNotTimedAndMinSamplesStop) {
  FakeWorkload w{{1e9, 1e9, 100, 200, 300, 400, 500}};  // two slow warm-up calls
  MeasureSettings s;
  s.warmup_runs = 2;
  s.min_samples = 5;
  s.min_time_ms = 0;
  const Measurement m = w.measure_with(s);
  EXPECT_EQ(w.calls, 7);
  EXPECT_EQ(m.n_samples, 5);
  EXPECT_DOUBLE_EQ(m.median_ns, 300);
  EXPECT_DOUBLE_EQ(m.min_ns, 100);
  EXPECT_DOUBLE_EQ(m.p10_ns, 140);  // 0.1 * 4 = rank 0.4 between 100 and 200
  EXPECT_DOUBLE_EQ(m.p90_ns, 460);
  EXPECT_NEAR(m.total_ms, 1500e-6, 1e-12);
}

TEST(Measure, KeepsGoingUntilMinTime) {
  FakeWorkload w{{1e6}};  // 1 ms per call
  MeasureSettings s;
  s.warmup_runs = 0;
  s.min_samples = 3;
  s.min_time_ms = 10;
  const Measurement m = w.measure_with(s);
  EXPECT_EQ(m.n_samples, 10);
  EXPECT_DOUBLE_EQ(m.median_ns, 1e6);
}

TEST(Measure, MaxTimeBoundsSlowFunctionsButTakesOneSample) {
  FakeWorkload w{{5e9}};  // 5 s per call
  MeasureSettings s;
  s.warmup_runs = 0;
  s.min_samples = 10;
  s.max_time_ms = 1000;
  const Measurement m = w.measure_with(s);
  EXPECT_EQ(m.n_samples, 1);
  EXPECT_EQ(w.calls, 1);
  EXPECT_DOUBLE_EQ(m.median_ns, 5e9);
}

TEST(Measure, MedianIgnoresOutliers) {
  FakeWorkload w{{100, 100, 1e7, 100, 100, 100, 5e6, 100, 100}};
  MeasureSettings s;
  s.warmup_runs = 0;
  s.min_samples = 9;
  s.min_time_ms = 0;
  EXPECT_DOUBLE_EQ(w.measure_with(s).median_ns, 100);
}

TEST(Measure, CallsPerSampleReportsPerCall) {
  FakeWorkload w{{50}};
  MeasureSettings s;
  s.warmup_runs = 0;
  s.min_samples = 4;
  s.min_time_ms = 0;
  s.calls_per_sample = 8;
  const Measurement m = w.measure_with(s);
  EXPECT_EQ(w.calls, 32);
  EXPECT_EQ(m.n_samples, 4);
  EXPECT_DOUBLE_EQ(m.median_ns, 50);
}

TEST(Measure, SummarizeEvenCountAndEmpty) {
  const Measurement m = summarize_samples({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(m.median_ns, 2.5);
  EXPECT_DOUBLE_EQ(m.min_ns, 1);
  EXPECT_EQ(m.n_samples, 4);
  EXPECT_EQ(summarize_samples({}).n_samples, 0);
}

TEST(Measure, RealClockTimesAKnownWorkload) {
  MeasureSettings s;
  s.min_samples = 3;
  s.min_time_ms = 1;
  volatile uint64_t sink = 0;
  const Measurement m = measure(s, [&] {
    for (int i = 0; i < 10000; ++i) sink = sink + i;
  });
  EXPECT_GE(m.n_samples, 3);
  EXPECT_GT(m.median_ns, 0);
  EXPECT_LE(m.min_ns, m.p10_ns);
  EXPECT_LE(m.p10_ns, m.median_ns);
  EXPECT_LE(m.median_ns, m.p90_ns);
}

}  // namespace
}  // namespace jf::tune
