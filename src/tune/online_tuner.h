// Tuning while the model runs (nnJIT's online tuning, papers/nnjit.md §7 and §10.1): the model's
// matmul workloads are searched one candidate at a time, in slices of time the caller hands over
// between decode tokens or while it is idle, on the thread pool that runs the model (measure where
// inference runs: no second pool competes for the cores). Inference starts at once on the kernels it
// has; the tuner never makes it slower:
//
//   1. baseline: the workload's current kernel (the one the model runs: a default, or a kdb winner)
//      is checked against the reference and timed;
//   2. each candidate of the pruned space (tune/matmul_bench.h; in WebAssembly the emitted kernels
//      first, they are what the page can only have by tuning) is checked, then timed;
//   3. a candidate faster than the current kernel by kAdoptMargin is timed again, alternately with
//      it (a shared machine's speed drifts); when it still wins on the medians it is adopted: the
//      on_adopt callback swaps it into the running model;
//   4. when every candidate was tried, the kdb gets one record: the kernel the model runs, tried =
//      the candidates and the baseline (a complete search; a page closed mid-search keeps the
//      adopted kernels of finished workloads only).
//
// Every workload's baseline is timed first (the model-level estimate needs them), then the searches
// run decode first, biggest matrices first. A workload whose complete search the kdb holds (this
// device, thread count and generator) is not searched again: the engine loaded that winner. Not thread-safe:
// call from the thread that runs the model, between forward passes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kdb/kernel_db.h"
#include "kernels/matmul/matmul.h"
#include "model/weights.h"
#include "tune/microbench.h"
#include "tune/tuner.h"

namespace jf::tune {

// A candidate must beat the current kernel by this factor to be re-timed for adoption: below it,
// gains are within the noise of one measurement.
inline constexpr double kAdoptMargin = 0.97;

struct OnlineTuneOptions {
  std::vector<int> token_counts = {1};  // 1: decode; prefill batches may be added
  DeviceLimits device_limits;           // measured; unknown fields fall back to nominal_limits
  uint64_t seed = 1;                    // random activations
  // Search the full space (tune/matmul_bench.h) instead of the pruned one: what pruning loses, for
  // benchmarks.
  bool full_space = false;
  TimeOverride time_override;  // for tests (null: the measurements stand)
};

// One workload as the online tuner sees it.
struct OnlineWorkloadReport {
  DType dtype = DType::F32;
  WeightLayout layout = WeightLayout::rows;
  int64_t n_rows = 0, n_cols = 0, n_tokens = 0;
  int uses_per_forward = 0;
  int n_full = 0;    // the space before pruning
  int n_pruned = 0;  // the candidates after pruning (emitted ones included)
  int n_tried = 0;   // candidates checked (rejected ones included)
  int n_rejected = 0;
  int n_adopted = 0;         // kernels swapped into the model
  bool from_kdb = false;     // the kdb held a winner: nothing to search
  bool done = false;         // every candidate tried (or from_kdb)
  std::string start_name;    // the kernel the model ran when tuning began
  double start_ns = 0;       // its median
  std::string current_name;  // the kernel the model runs now
  double current_ns = 0;     // its median, from the last comparison
};

// Called when a kernel is adopted for workload `w`, to swap it into the running model.
using AdoptFn = std::function<void(const MatmulWorkload& w, const MatmulKernel& kernel)>;
// The kernel the model runs for workload `w` now.
using CurrentKernelFn = std::function<MatmulKernel(const MatmulWorkload& w)>;

class OnlineTuner {
 public:
  // `weights` and `pool` (and `db`, which may be null: nothing recorded) must outlive the tuner.
  OnlineTuner(const ModelWeights& weights, ThreadPool& pool, const OnlineTuneOptions& options,
              kdb::KernelDb* db, CurrentKernelFn current, AdoptFn adopt);
  ~OnlineTuner();

  // Works until slice_ms has passed (at least one step: a check, a timing or a comparison, each a
  // few calls of one matmul); true while work remains.
  bool step(double slice_ms);
  bool done() const;

  std::vector<OnlineWorkloadReport> workloads() const;  // in tuning order
  int n_candidates() const;                             // over every workload
  int n_tried() const;
  // Estimated matmul time of one forward pass of n_tokens with the kernels the model runs now:
  // uses x median over the workloads of n_tokens whose baseline is timed. The curve of this value
  // over time is what tuning gains.
  double matmul_ns_per_forward(int64_t n_tokens) const;
  // The same with the kernels the model ran when tuning began: where the curve starts.
  double start_matmul_ns_per_forward(int64_t n_tokens) const;
  // Seconds spent in step().
  double busy_s() const { return busy_ms_ / 1000; }

 private:
  struct State;
  void time_baseline(State& s);
  void try_next_candidate(State& s);
  void record(State& s);
  // Uses x the median `median_ns` of the report, over the workloads of n_tokens.
  double ns_per_forward(int64_t n_tokens, double OnlineWorkloadReport::*median_ns) const;

  ThreadPool& pool_;
  OnlineTuneOptions options_;
  kdb::KernelDb* db_;
  CurrentKernelFn current_;
  AdoptFn adopt_;
  std::vector<std::unique_ptr<State>> states_;  // decode first, then biggest matrices first
  size_t next_ = 0;                             // the workload being worked on
  double busy_ms_ = 0;
};

}  // namespace jf::tune
