// The pieces both matmul tuners share (tune/tuner.h searches under a budget, tune/online_tuner.h
// while a model runs): the candidate spaces, the check against the reference and the timing of one
// workload's kernels. Internal to src/tune.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul/matmul.h"
#include "tune/measure.h"
#include "tune/microbench.h"
#include "tune/tuner.h"

namespace jf::tune {

// Timing of one kernel: samples of >= 50 us (below that the clock and the pool's wake-up
// dominate), at least 10 ms of them, and at most 150 ms, so a decode call gets dozens of samples
// and a slow prefill call one or two (the budget buys more candidates instead). In WebAssembly
// samples of >= 500 us: browsers coarsen performance.now() to 5 us in cross-origin isolated pages
// (100 us in others), which would quantise a 50 us sample by 10%, more than the gains compared.
#if defined(__EMSCRIPTEN__)
constexpr double kMinSampleNs = 500e3;
#else
constexpr double kMinSampleNs = 50e3;
#endif
constexpr double kMinTimeMs = 10;
constexpr double kMaxCandidateMs = 150;
constexpr int kMinSamples = 5;
// Rows whose every token is checked, spread over the matrix.
constexpr int64_t kCheckedRows = 20;
// Alternating measurements of two kernels when they are compared back to back.
constexpr int kRetimeRounds = 3;

// The medians of two kernels timed together (WorkloadBench::time_alternately).
struct AlternateNs {
  double a_ns = 0;
  double b_ns = 0;
};

// Expected wall time of one measurement of a kernel whose call takes call_ms.
double measurement_ms(double call_ms);

// The candidates of a workload: every ISA's space pruned by enumerate_space under `limits` (nominal
// where unmeasured), and in WebAssembly the emitted kernels' space (kernels/matmul/emit_wasm.h),
// pruned by the same vector registers and by the relaxed SIMD the engine computes right; each
// emitted module is emitted and installed here.
std::vector<MatmulKernel> pruned_space(const MatmulWorkload& w, int n_threads, const DeviceLimits& limits);

// Every combination of the knob candidates that resolves: the space before the rules (the emitted
// kernels' included, in WebAssembly).
std::vector<MatmulKernel> full_space(DType dtype, WeightLayout layout);
// full_space(dtype, layout).size(), without emitting anything.
int full_space_size(DType dtype, WeightLayout layout);

// Knobs (and the ISA or emitter) in which `k` differs from `from`.
int distance(const MatmulKernel& k, const MatmulKernel& from);

// The outputs a check compares, and their reference values.
struct CheckSet {
  std::vector<int64_t> index;  // t * n_rows + r
  std::vector<float> value;
  double tolerance = 0;
};

// The oracle on the sampled outputs: activations through quantize_row, then vec_dot_ref.
CheckSet make_check_set(const MatmulWorkload& w, const std::vector<float>& x, ThreadPool& pool);

// One workload's inputs and outputs, for checking and timing its candidates.
class WorkloadBench {
 public:
  // Random activations from `seed`, as rmsnorm hands them to the projections. `w` must outlive
  // the bench. `time_override` (may be null) replaces every median the bench returns.
  WorkloadBench(const MatmulWorkload& w, ThreadPool& pool, uint64_t seed, TimeOverride time_override);

  const std::vector<float>& x() const { return x_; }

  // One call on the first weight tensor; true when every output is finite and the sampled ones
  // agree with `set`. Sets last_call_ns().
  bool check(const MatmulKernel& kernel, const CheckSet& set);

  // The median ns of `kernel` by the protocol of tune/measure, through the override; each call takes
  // the next tensor of the shape. A check of the same kernel just before is its warm-up.
  double time_ns(const MatmulKernel& kernel, double max_time_ms);

  // Times two kernels again, alternately, kRetimeRounds times each (max_time_ms per measurement),
  // and returns the median of each: on a shared machine the load, and with it the DRAM bandwidth
  // left to us, changes within seconds (decode times jump by 2x), so only times taken together
  // compare fairly and earlier ones are to be dropped.
  AlternateNs time_alternately(const MatmulKernel& a, const MatmulKernel& b, double max_time_ms);

  double last_call_ns() const { return last_call_ns_; }

 private:
  const MatmulWorkload& w_;
  ThreadPool& pool_;
  TimeOverride time_override_;
  MatmulScratch scratch_;
  std::vector<float> x_, y_;
  double last_call_ns_ = 0;
  std::string last_kernel_;  // name of the kernel that ran last
  size_t next_weight_ = 0;
};

// The fastest kernel timed so far.
struct Winner {
  MatmulKernel kernel;
  double ns = 0;

  void offer(const MatmulKernel& k, double k_ns) {
    if (kernel.valid() && k_ns >= ns) return;
    kernel = k;
    ns = k_ns;
  }
};

}  // namespace jf::tune
