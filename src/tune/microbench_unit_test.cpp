// Deterministic parts of the microbenchmarks: knee and boundary detection on synthetic curves,
// level assignment, sysfs parsing.
#include <gtest/gtest.h>

#include "tune/limits_json.h"
#include "tune/machine_limits.h"
#include "tune/microbench.h"

namespace jf::tune {
namespace {

std::vector<SweepPoint> sweep_curve(int knee, double slow_factor) {
  std::vector<SweepPoint> points;
  for (int n = 4; n <= 40; ++n) {
    double ns = n < 8 ? 0.27 * 4 / n : 0.135;  // latency-bound below 8 accumulators
    if (n > knee) ns *= slow_factor;
    points.push_back({n, ns});
  }
  return points;
}

TEST(RegisterKnee, FindsTheLastPointBeforeSpilling) {
  EXPECT_EQ(find_register_knee(sweep_curve(16, 1.6)), 16);
  EXPECT_EQ(find_register_knee(sweep_curve(32, 1.3)), 32);
  EXPECT_EQ(find_register_knee(sweep_curve(40, 2.0)), 40);  // no spill inside the sweep
}

TEST(RegisterKnee, SmallNoiseInsideThePlateauIsTolerated) {
  std::vector<SweepPoint> points = sweep_curve(16, 1.6);
  points[10].ns_per_op *= 1.08;
  EXPECT_EQ(find_register_knee(points), 16);
}

TEST(RegisterKnee, RecoveryAfterSpillingDoesNotMoveTheKnee) {
  // Wide out-of-order cores hide spills again at high counts: the first slow point decides.
  std::vector<SweepPoint> points = sweep_curve(16, 1.6);
  for (SweepPoint& p : points) {
    if (p.n_accumulators >= 28) p.ns_per_op = 0.137;
  }
  EXPECT_EQ(find_register_knee(points), 16);
  EXPECT_EQ(find_register_knee({}), 0);
}

TEST(RegisterKnee, KneeBeyondTheRegisterFileFallsBackToTheIsaCount) {
  RegisterSweep sweep;
  sweep.isa_registers = 32;
  sweep.knee = 40;  // spills hidden by the core
  Limit<int> limit = register_limit_from_sweep(sweep);
  EXPECT_EQ(limit.value, 32);
  EXPECT_EQ(limit.source, Source::kDetected);
  sweep.knee = 16;  // the core slows down before the register file is full: the measurement wins
  limit = register_limit_from_sweep(sweep);
  EXPECT_EQ(limit.value, 16);
  EXPECT_EQ(limit.source, Source::kMeasured);
  sweep.isa_registers = 0;  // unknown ISA count (WebAssembly): the knee is all there is
  sweep.knee = 40;
  EXPECT_EQ(register_limit_from_sweep(sweep).value, 40);
  EXPECT_FALSE(register_limit_from_sweep(RegisterSweep{}).known());
}

std::vector<LatencyPoint> latency_curve(const std::vector<std::pair<uint64_t, double>>& levels,
                                        double dram_ns) {
  // Random chase: hit rate of a level of size C at working set S > C is about C / S.
  std::vector<LatencyPoint> curve;
  for (uint64_t size = 4096; size <= (256ull << 20); size *= 2) {
    for (uint64_t s : {size, size + size / 2}) {
      double ns = dram_ns;
      for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
        const double hit = std::min(1.0, double(it->first) / double(s));
        ns = hit * it->second + (1 - hit) * ns;
      }
      curve.push_back({s, ns});
    }
  }
  return curve;
}

TEST(CacheBoundaries, ThreeLevelsFromAnIdealCurve) {
  const auto curve = latency_curve({{32 << 10, 1.1}, {1 << 20, 4.0}, {32 << 20, 12.0}}, 95.0);
  const std::vector<uint64_t> expected = {32 << 10, 1 << 20, 32 << 20};
  EXPECT_EQ(find_latency_boundaries(curve), expected);
}

TEST(CacheBoundaries, NoiseAndCreepAreNotLevels) {
  auto curve = latency_curve({{48 << 10, 1.2}, {2 << 20, 5.0}}, 80.0);
  for (size_t i = 0; i < curve.size(); ++i) curve[i].ns_per_load *= 1.0 + 0.03 * (i % 3);  // +-3% jitter
  const std::vector<uint64_t> expected = {48 << 10, 2 << 20};
  EXPECT_EQ(find_latency_boundaries(curve), expected);
}

TEST(CacheLevels, MeasuredWinsAndSysfsFillsGaps) {
  DeviceLimits limits;
  assign_cache_levels({32 << 10, 1 << 20}, {32 << 10, 1 << 20, 32 << 20}, &limits);
  EXPECT_EQ(limits.l1d_bytes.value, 32u << 10);
  EXPECT_EQ(limits.l1d_bytes.source, Source::kMeasured);
  EXPECT_EQ(limits.l2_bytes.source, Source::kMeasured);
  EXPECT_EQ(limits.llc_bytes.value, 32u << 20);
  EXPECT_EQ(limits.llc_bytes.source, Source::kSysfs);
}

TEST(CacheLevels, MeasuredValueNearTheReportedOneIsKept) {
  DeviceLimits limits;
  assign_cache_levels({48 << 10, 768 << 10, 24 << 20}, {32 << 10, 1 << 20, 32 << 20}, &limits);
  EXPECT_EQ(limits.l1d_bytes.value, 48u << 10);
  EXPECT_EQ(limits.l2_bytes.value, 768u << 10);
  EXPECT_EQ(limits.llc_bytes.value, 24u << 20);
  EXPECT_EQ(limits.llc_bytes.source, Source::kMeasured);
}

TEST(CacheLevels, AClearJumpFarBelowTheReportedL3IsTheMeasuredLlc) {
  DeviceLimits limits;
  assign_cache_levels({32 << 10, 1 << 20, 8 << 20}, {32 << 10, 1 << 20, 32 << 20}, &limits);
  EXPECT_EQ(limits.llc_bytes.value, 8u << 20);
  EXPECT_EQ(limits.llc_bytes.source, Source::kMeasured);
}

TEST(CacheLevels, WithoutSysfsBoundariesAreTakenInOrder) {
  DeviceLimits limits;
  assign_cache_levels({64 << 10, 2 << 20}, {}, &limits);
  EXPECT_EQ(limits.l1d_bytes.value, 64u << 10);
  EXPECT_EQ(limits.l2_bytes.value, 2u << 20);
  EXPECT_EQ(limits.llc_bytes.value, 2u << 20);  // two levels: L2 is the last one
  DeviceLimits none;
  assign_cache_levels({}, {}, &none);
  EXPECT_FALSE(none.l1d_bytes.known());
  EXPECT_FALSE(none.llc_bytes.known());
}

// What the page keeps of its microbenchmarks reads back to the same limits and the same rules.
TEST(LimitsJson, RoundTrips) {
  DeviceLimits limits;
  limits.vector_registers = {28, Source::kMeasured};
  limits.vector_bits = {128, Source::kDetected};
  limits.l1d_bytes = {48 << 10, Source::kMeasured};
  limits.l2_bytes = {1 << 20, Source::kSysfs};
  limits.dram_bandwidth_one_thread_gbps = {12.5, Source::kMeasured};
  limits.n_cores = {2, Source::kDetected};
  limits.sysfs = {32 << 10, 1 << 20, 32 << 20};
  limits.latency_boundaries = {48 << 10, 1 << 20};
  RegisterSweep sweep;
  sweep.isa = "simd128";
  sweep.vector_bits = 128;
  sweep.isa_registers = 16;
  sweep.knee = 12;
  sweep.points = {{4, 1.0}, {12, 1.1}};
  limits.register_sweeps.push_back(sweep);
  limits.latency_curve = {{4096, 1.2}};
  limits.elapsed_ms = 1234;
  Result<Json> parsed = parse_json(to_json(device_limits_json(limits)));
  ASSERT_TRUE(parsed.ok());
  Result<DeviceLimits> back = device_limits_from_json(*parsed);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(to_json(device_limits_json(*back)), to_json(device_limits_json(limits)));
  EXPECT_FALSE(back->llc_bytes.known());
  for (CpuIsa isa : {CpuIsa::wasm_simd128, CpuIsa::avx2}) {
    EXPECT_EQ(machine_limits(*back, isa).n_vec_regs, machine_limits(limits, isa).n_vec_regs);
    EXPECT_EQ(machine_limits(*back, isa).l1d_bytes, machine_limits(limits, isa).l1d_bytes);
  }
}

TEST(LimitsJson, BadFieldsAreNamed) {
  for (const char* text : {R"({"limits":{"l1d_bytes":{"value":1,"source":"guessed"}}})",
                           R"({"limits":{"l1d_bytes":{"value":"big","source":"measured"}}})",
                           R"({"nolimits":1})", R"({"limits":{},"register_sweeps":[{"knee":3}]})"}) {
    Result<DeviceLimits> limits = device_limits_from_json(*parse_json(text));
    ASSERT_FALSE(limits.ok()) << text;
    EXPECT_EQ(limits.status().code(), StatusCode::kCorruptFile);
  }
  EXPECT_NE(device_limits_from_json(*parse_json(R"({"limits":{"l1d_bytes":{"value":1,"source":"guessed"}}})"))
                .status()
                .message()
                .find("guessed"),
            std::string::npos);
}

}  // namespace
}  // namespace jf::tune
