// Device limits measured on the machine we run on: the inputs of the kernels' occupancy rules
// (nnJIT's register and L1 rules, DESIGN.md "Measure, don't guess"). Nothing here is a table of
// device names: every number is measured, or read from the OS, and says which.
//
//   - vector registers: the spill knee of an accumulator-count sweep (4..40 live accumulators);
//   - L1d / L2 / LLC: latency jumps of a pointer chase over working sets of 4 KiB..256 MiB,
//     cross-checked with sysfs (/sys/devices/system/cpu/cpu0/cache): a jump within a factor of 2
//     of a reported level is that level, measured; a jump between L2 and DRAM with no reported
//     L3 near it is the effective LLC (VMs, shared L3); sysfs fills a level with no jump;
//   - DRAM bandwidth: streaming vectorised read of a buffer far larger than the LLC, with one
//     thread and with all of them (jf::ThreadPool);
//   - cores: the CPUs this process may run on.
//
// All timing goes through tune/measure.h. A full run takes ~5-10 s; `quick` ~1-2 s.
// Not thread-safe with other heavy work: run it on an otherwise idle process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/cpu_features.h"  // CacheSizes

namespace jf::tune {

// Where a value comes from.
enum class Source {
  kUnknown,   // not measured and not reported by the OS: rules that need it must not prune
  kMeasured,  // timed on this device just now
  kSysfs,     // reported by the OS (sysfs), used because the measurement was ambiguous
  kDetected,  // queried from the CPU or OS (cpuid, sched_getaffinity): exact, nothing to time
};
const char* source_name(Source source);

template <typename T>
struct Limit {
  T value{};
  Source source = Source::kUnknown;
  bool known() const { return source != Source::kUnknown; }
};

struct SweepPoint {
  int n_accumulators = 0;
  double ns_per_op = 0;  // fastest median over the repeated sweeps
};

struct RegisterSweep {
  std::string isa;        // "avx512", "avx2", "simd128"
  int vector_bits = 0;
  int isa_registers = 0;  // architectural count of the ISA (0 = unknown), printed beside the knee
  std::vector<SweepPoint> points;
  int knee = 0;           // largest accumulator count at full speed; 0 = no plateau found
};

struct LatencyPoint {
  uint64_t working_set_bytes = 0;
  double ns_per_load = 0;
};

struct DeviceLimits {
  Limit<int> vector_registers;  // knee of the widest ISA's sweep
  Limit<int> vector_bits;       // width of that ISA
  Limit<uint64_t> l1d_bytes;
  Limit<uint64_t> l2_bytes;
  Limit<uint64_t> llc_bytes;
  Limit<double> dram_bandwidth_one_thread_gbps;
  Limit<double> dram_bandwidth_all_threads_gbps;
  Limit<int> n_cores;

  CacheSizes sysfs;                           // shown beside the measured sizes
  std::vector<uint64_t> latency_boundaries;   // every latency jump found, ascending
  std::vector<RegisterSweep> register_sweeps;  // widest ISA first
  std::vector<LatencyPoint> latency_curve;
  double elapsed_ms = 0;
};

struct MicrobenchOptions {
  bool quick = false;  // ~1-2 s: fewer sweeps, 64 MiB chase, 128 MiB stream, widest ISA only
};

// Runs every microbenchmark. Never fails: what cannot be measured stays Source::kUnknown.
DeviceLimits run_microbenchmarks(const MicrobenchOptions& options);

// --- The pieces, for tests and for callers that need one number. ---

// ISAs whose sweep this build has and this CPU runs, widest first ("avx512", "avx2", "simd128").
std::vector<std::string> available_vector_isas();

// Sweeps 4..40 accumulators `n_sweeps` times with the given ISA (one of available_vector_isas())
// and finds the knee. An ISA this build or CPU lacks gives an empty sweep.
RegisterSweep sweep_vector_registers(const std::string& isa, int n_sweeps, bool quick);

// The largest accumulator count whose time per op is within `tolerance` of the fastest point,
// counting only the run of such points that starts at the first one: the first slow point after
// the plateau is where spilling starts. 0 when `points` is empty.
int find_register_knee(const std::vector<SweepPoint>& points, double tolerance = 0.15);

// The register count a sweep supports: its knee when the knee is within the ISA's register file
// (spilling starts there, or earlier where the core runs short of something else); the ISA's
// count (Source::kDetected) when the knee lies beyond it, which means the core hid the spill
// cost (cheap stack traffic beside a slow FMA) and timing cannot see the limit.
Limit<int> register_limit_from_sweep(const RegisterSweep& sweep);

// Pointer-chase latency at working sets 4 KiB, 6 KiB, 8 KiB, 12 KiB, ... up to max_bytes, the
// fastest of `n_sweeps` sweeps.
std::vector<LatencyPoint> sweep_load_latency(uint64_t max_bytes, int n_sweeps, bool quick);

// Working-set sizes after which latency jumps (the last size of each plateau), ascending.
std::vector<uint64_t> find_latency_boundaries(const std::vector<LatencyPoint>& curve);

// Fills l1d/l2/llc of `limits` from measured boundaries and the OS's sizes (see the file comment).
void assign_cache_levels(const std::vector<uint64_t>& boundaries, const CacheSizes& sysfs, DeviceLimits* limits);

// GB/s (1e9 bytes/s) of a vectorised streaming read of `buffer_bytes` split over `n_threads`;
// 0 when the buffer cannot be allocated.
double measure_read_bandwidth_gbps(uint64_t buffer_bytes, int n_threads, bool quick);

// CPUs this process may run on (affinity mask), at least 1.
int available_cpu_count();

}  // namespace jf::tune
