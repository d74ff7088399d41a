#include "tune/microbench.h"

#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "base/clock.h"
#include "base/cpu_features.h"

namespace jf::tune {
namespace {

// The measured boundary closest to `reported` (in log scale) within a factor of 2; 0 if none.
// The one found is removed so that two levels never claim the same jump.
uint64_t take_matching_boundary(uint64_t reported, std::vector<uint64_t>* boundaries) {
  auto best = boundaries->end();
  double best_distance = 1.0;  // log2 units: a factor of 2
  for (auto it = boundaries->begin(); it != boundaries->end(); ++it) {
    const double distance = std::fabs(std::log2(static_cast<double>(*it) / static_cast<double>(reported)));
    if (distance <= best_distance) {
      best_distance = distance;
      best = it;
    }
  }
  if (best == boundaries->end()) return 0;
  const uint64_t found = *best;
  boundaries->erase(best);
  return found;
}

void set_level(Limit<uint64_t>* level, uint64_t reported, std::vector<uint64_t>* boundaries) {
  if (reported == 0) return;
  const uint64_t measured = take_matching_boundary(reported, boundaries);
  *level = measured != 0 ? Limit<uint64_t>{measured, Source::kMeasured} : Limit<uint64_t>{reported, Source::kSysfs};
}

// Widest ISA's register knee, and optionally the other ISAs' for the report.
void measure_registers(bool quick, DeviceLimits* limits) {
  const std::vector<std::string> isas = available_vector_isas();
  for (const std::string& isa : isas) {
    limits->register_sweeps.push_back(sweep_vector_registers(isa, quick ? 2 : 3, quick));
    if (quick) break;
  }
  if (limits->register_sweeps.empty()) return;
  const RegisterSweep& widest = limits->register_sweeps.front();
  limits->vector_bits = {widest.vector_bits, Source::kDetected};
  limits->vector_registers = register_limit_from_sweep(widest);
}

void measure_caches(bool quick, DeviceLimits* limits) {
  limits->sysfs = read_sysfs_cache_sizes();
  limits->latency_curve = sweep_load_latency(quick ? (64ull << 20) : (256ull << 20), quick ? 1 : 2, quick);
  limits->latency_boundaries = find_latency_boundaries(limits->latency_curve);
  assign_cache_levels(limits->latency_boundaries, limits->sysfs, limits);
}

void measure_bandwidth(bool quick, DeviceLimits* limits) {
  // Far larger than the LLC, so that the stream comes from DRAM.
  const uint64_t buffer_bytes = std::max<uint64_t>(quick ? (128ull << 20) : (512ull << 20), 4 * limits->sysfs.l3_bytes);
  const double one = measure_read_bandwidth_gbps(buffer_bytes, 1, quick);
  const double all = measure_read_bandwidth_gbps(buffer_bytes, limits->n_cores.value, quick);
  if (one > 0) limits->dram_bandwidth_one_thread_gbps = {one, Source::kMeasured};
  if (all > 0) limits->dram_bandwidth_all_threads_gbps = {all, Source::kMeasured};
}

}  // namespace

const char* source_name(Source source) {
  switch (source) {
    case Source::kUnknown: return "unknown";
    case Source::kMeasured: return "measured";
    case Source::kSysfs: return "sysfs";
    case Source::kDetected: return "detected";
  }
  return "unknown";
}

int available_cpu_count() {
#if defined(__EMSCRIPTEN__)
  return cpu_features().n_logical_cpus;  // no affinity in WebAssembly: the page's hardwareConcurrency
#else
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return cpu_features().n_logical_cpus;
#endif
}

void assign_cache_levels(const std::vector<uint64_t>& boundaries, const CacheSizes& sysfs, DeviceLimits* limits) {
  std::vector<uint64_t> unclaimed = boundaries;
  if (sysfs.l1d_bytes != 0 || sysfs.l2_bytes != 0 || sysfs.l3_bytes != 0) {
    set_level(&limits->l1d_bytes, sysfs.l1d_bytes, &unclaimed);
    set_level(&limits->l2_bytes, sysfs.l2_bytes, &unclaimed);
    set_level(&limits->llc_bytes, sysfs.l3_bytes, &unclaimed);
    // A clear jump between L2 and DRAM far from the reported L3 is still the last level this
    // process gets (a VM or neighbours sharing the L3, TLB reach): measured wins.
    if (limits->llc_bytes.source != Source::kMeasured) {
      for (uint64_t b : unclaimed) {  // ascending: the last one before DRAM wins
        if (b > limits->l2_bytes.value) limits->llc_bytes = {b, Source::kMeasured};
      }
    }
    if (!limits->llc_bytes.known()) limits->llc_bytes = limits->l2_bytes;  // no L3: L2 is the last level
    return;
  }
  // No OS report: the first jump is L1, the second L2, the last one the LLC.
  if (boundaries.size() >= 1) limits->l1d_bytes = {boundaries[0], Source::kMeasured};
  if (boundaries.size() >= 2) {
    limits->l2_bytes = {boundaries[1], Source::kMeasured};
    limits->llc_bytes = {boundaries.back(), Source::kMeasured};
  }
}

DeviceLimits run_microbenchmarks(const MicrobenchOptions& options) {
  const double start_ms = now_ms();
  DeviceLimits limits;
  limits.n_cores = {available_cpu_count(), Source::kDetected};
  measure_registers(options.quick, &limits);
  measure_caches(options.quick, &limits);
  measure_bandwidth(options.quick, &limits);
  limits.elapsed_ms = now_ms() - start_ms;
  return limits;
}

}  // namespace jf::tune
