// The matmul tuner (nnJIT's on-device tuning, papers/nnjit.md §4-§7, for the native kernels):
// for every matmul workload of a model, search the pruned space of every SIMD ISA the CPU has,
// check each candidate against the reference before timing it, time it with tune/measure, and
// write the winner to the kernel database.
//
// Workloads: the distinct (dtype, n_rows, n_cols) of the model's matrices x the token counts to
// tune (1 = decode, the prefill batches) x the thread count. Inputs are random activations of the
// right shape and the model's own weights; a timed call cycles through every tensor of the shape,
// as the forward pass streams them, so decode is timed against DRAM and not a warm cache.
//
// Check: the candidate runs once into a NaN-filled output; every output must be finite, and the
// sampled outputs (every row of the first, middle and last token, every token of ~20 spread rows)
// must agree with the reference (quantize_row + vec_dot_ref, the scalar oracle) within
// kCheckRelTolerance x the rms of the reference values. Kernels differ from the oracle only in the
// f32 order of adding per-block sums (< 1e-5 relative here); a wrong tile or k split is off by O(1).
//
// Budget: the default kernel of every workload is checked and timed first (its median is
// default_ns and gives each workload its share of the model's matmul time). The rest of the budget
// goes to the workloads in order of their share, biggest first; each gets the time left times its
// share of the shares left, so time a small space does not use passes on. Every token count
// weighs the same (decode and prefill are separate scenarios). A candidate starts only when its
// expected time fits, with room kept to time the winner and the default again, alternately, three
// times each (a shared machine's speed drifts within seconds; only times taken together compare):
// the winner must still beat the default on the medians of these rounds, which are recorded. The
// budget is overshot by at most a slower-than-expected candidate, or the reference values and one
// call of the workload whose default is being timed when time ran out.
//
// The scalar variant is the reference, 10-50x slower than SIMD: it is searched only for types
// without a SIMD variant. --full-space then also times the rest of the resolvable space (every
// combination of the knob candidates that resolve_kernel accepts), in random order, under its
// own budget, to measure what pruning loses (its best and the tuned kernel are timed again back
// to back before they are compared).
//
// Threads: call from one thread; the kernels run on a pool of `n_threads` the tuner owns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jitflow/status.h"
#include "kdb/kernel_db.h"
#include "kernels/matmul/matmul.h"
#include "model/weights.h"
#include "tune/microbench.h"

namespace jf::tune {

inline constexpr double kCheckRelTolerance = 1e-3;

// For tests: replaces every measured median (ns) of a kernel with what it returns, so that a test
// decides which kernel wins.
using TimeOverride = std::function<double(const MatmulKernel& kernel, double measured_ns)>;

// One matmul workload of a model.
struct MatmulWorkload {
  DType dtype = DType::F32;
  WeightLayout layout = WeightLayout::rows;  // as the model holds these tensors
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  int64_t n_tokens = 0;
  std::vector<TensorView> weights;  // every tensor of the model with this shape (uses per forward)
};

// The layer matrices' distinct shapes x token_counts, and the output head at one token only
// (prefill computes the logits of its last token). Ascending order of token count, then shape.
std::vector<MatmulWorkload> model_matmul_workloads(const ModelWeights& weights,
                                                   const std::vector<int>& token_counts);

struct WorkloadReport {
  DType dtype = DType::F32;
  int64_t n_rows = 0, n_cols = 0, n_tokens = 0;
  int uses_per_forward = 0;
  double time_share = 0;  // of its token count's matmul time, with the default kernels
  int n_full = 0;         // resolvable configs over the ISAs searched
  int n_pruned = 0;       // configs enumerate_space keeps (measured limits)
  int n_tried = 0;        // candidates checked (the default and the rejected ones included)
  int n_rejected = 0;     // candidates that failed the check (never timed, never recorded)
  bool complete = false;  // every pruned candidate was timed
  std::string default_name;
  double default_ns = 0;  // median of the default kernel
  std::string best_name;  // fastest checked kernel (may be the default)
  double best_ns = 0;
  bool recorded = false;  // a kdb record was written
  // --full-space only:
  int n_full_tried = 0;  // configs of the full space timed (pruned ones included)
  std::string full_best_name;
  double full_best_ns = 0;
  double full_tuned_ns = 0;  // the tuned kernel, timed again beside the full space's best
  bool full_complete = false;

  double gain() const { return best_ns > 0 ? default_ns / best_ns : 0; }
};

// Where the tuner is; passed to the progress callback after every candidate.
struct TuneProgress {
  const char* phase = "";  // "defaults", "search", "full space"
  int n_done = 0;          // workloads finished in this phase
  int n_total = 0;
  const WorkloadReport* current = nullptr;  // the workload being tuned (best so far)
  double elapsed_s = 0;
  double budget_s = 0;
};

// The token counts worth tuning for a model that runs as `kind` (model/arch.h):
//   decoder:          1 (decode), 64 and 512 (prompt batches);
//   encoder:          128 and 384, the sequence lengths of BERT-style encoders (nnJIT's evaluation
//                     runs RoBERTa at 384): an encoder never runs one token, and has no head;
//   encoder-decoder:  1 for the decoder, 256 for the encoder (T5-small's input in nnJIT's
//                     evaluation).
// The kernel selector maps other batches to the tuned one nearest in ratio (runtime/kernel_select.h).
std::vector<int> default_token_counts(ForwardKind kind);
// Online (tune/online_tuner.h), where tuning shares the time inference runs in: decode alone for a
// decoder, the encoder's lengths for an encoder, both for an encoder-decoder.
std::vector<int> default_online_token_counts(ForwardKind kind);

struct TuneOptions {
  std::vector<int> token_counts = {1, 64, 512};  // default_token_counts(ForwardKind::kDecoder)
  int n_threads = 0;        // 0: one per logical CPU, as the Engine
  double budget_s = 30;     // wall time of the search, defaults included
  bool full_space = false;  // then time the full space too (after the search, not in budget_s)
  double full_space_budget_s = 300;
  DeviceLimits device_limits;  // measured; unknown fields fall back to nominal_limits
  uint64_t seed = 1;           // random activations and the full-space order
  std::function<void(const TuneProgress&)> on_progress;
  TimeOverride time_override;  // null: the measurements stand
};

struct TuneReport {
  std::vector<WorkloadReport> workloads;  // in tuning order (biggest share first)
  int n_threads = 0;
  double wall_s = 0;  // the search, defaults included
  double full_space_wall_s = 0;
  int n_records = 0;  // records appended to the kdb
  Status kdb_status;  // the first failed append (tuning goes on without writing)
};

// Tunes the matmuls of a model. `db` (may be null: nothing is written) gets one record per
// workload whose default was checked and timed, as soon as its search ends. Errors: invalid
// options (kInvalidArgument); a failed append is not one (see TuneReport::kdb_status).
Result<TuneReport> tune_model_matmuls(const ModelWeights& weights, const TuneOptions& options,
                                      kdb::KernelDb* db);

}  // namespace jf::tune
