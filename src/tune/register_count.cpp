// The SIMD register count: time per op of the accumulator sweep (register_sweep.h) and its knee.
#include <algorithm>
#include <cstring>

#include "base/cpu_features.h"
#include "tune/measure.h"
#include "tune/microbench.h"
#include "tune/register_sweep.h"

namespace jf::tune {
namespace {

using detail::SweepTable;

const SweepTable* table_for(const std::string& isa) {
  const CpuFeatures& cpu = cpu_features();
#if defined(__x86_64__) || defined(__i386__)
  if (isa == "avx512" && cpu.avx512f) return detail::avx512_sweep_table();
  if (isa == "avx2" && cpu.avx2 && cpu.fma) return detail::avx2_sweep_table();
#else
  (void)cpu;
  if (isa == "simd128") return detail::simd128_sweep_table();
#endif
  return nullptr;
}

// Median ns per op of one sweep function. A call does ~1M (quick) or ~2M ops: 0.1-1 ms, long
// enough for the clock, short enough that a preemption spoils one sample, not the median.
double time_per_op_ns(detail::SweepFn fn, int n_accumulators, bool quick) {
  static const float kZeros[detail::kMaxAccumulators] = {};
  const int64_t ops_per_call = quick ? (1 << 20) : (1 << 21);
  const int64_t rounds = ops_per_call / n_accumulators;
  volatile float sink = 0;
  MeasureSettings settings;
  settings.warmup_runs = 1;
  settings.min_samples = 5;
  settings.min_time_ms = quick ? 1.0 : 4.0;
  settings.max_time_ms = 50.0;
  const Measurement m = measure(settings, [&] { sink = sink + fn(kZeros, rounds); });
  return m.median_ns / static_cast<double>(rounds * n_accumulators);
}

}  // namespace

std::vector<std::string> available_vector_isas() {
  std::vector<std::string> isas;
  for (const char* isa : {"avx512", "avx2", "simd128"}) {
    if (table_for(isa) != nullptr) isas.emplace_back(isa);
  }
  return isas;
}

int find_register_knee(const std::vector<SweepPoint>& points, double tolerance) {
  if (points.empty()) return 0;
  double best_ns = points.front().ns_per_op;
  for (const SweepPoint& p : points) best_ns = std::min(best_ns, p.ns_per_op);
  const double limit_ns = best_ns * (1.0 + tolerance);
  size_t i = 0;
  while (points[i].ns_per_op > limit_ns) ++i;  // too few accumulators to hide the FMA latency
  while (i + 1 < points.size() && points[i + 1].ns_per_op <= limit_ns) ++i;
  return points[i].n_accumulators;
}

Limit<int> register_limit_from_sweep(const RegisterSweep& sweep) {
  if (sweep.knee > 0 && (sweep.isa_registers == 0 || sweep.knee <= sweep.isa_registers)) {
    return {sweep.knee, Source::kMeasured};
  }
  if (sweep.isa_registers > 0) return {sweep.isa_registers, Source::kDetected};
  return {};
}

RegisterSweep sweep_vector_registers(const std::string& isa, int n_sweeps, bool quick) {
  RegisterSweep sweep;
  sweep.isa = isa;
  const SweepTable* table = table_for(isa);
  if (table == nullptr) return sweep;
  sweep.vector_bits = table->vector_bits;
  sweep.isa_registers = table->isa_registers;
  for (int i = 0; i < detail::kSweepSize; ++i) sweep.points.push_back({detail::kMinAccumulators + i, 0.0});
  // Whole sweeps are repeated (rather than one point many times) so that a burst of load from
  // another process hits a few points of one sweep; noise only slows, so the fastest wins.
  for (int s = 0; s < std::max(1, n_sweeps); ++s) {
    for (int i = 0; i < detail::kSweepSize; ++i) {
      const double ns = time_per_op_ns(table->fn[i], sweep.points[i].n_accumulators, quick);
      double& kept = sweep.points[i].ns_per_op;
      kept = (s == 0) ? ns : std::min(kept, ns);
    }
  }
  sweep.knee = find_register_knee(sweep.points);
  return sweep;
}

}  // namespace jf::tune
