#include "tune/tuner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "base/clock.h"
#include "base/cpu_features.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "model/transformer.h"
#include "tune/matmul_bench.h"
#include "tune/matmul_record.h"

namespace jf::tune {
namespace {

using ShapeKey = std::tuple<DType, WeightLayout, int64_t, int64_t>;

void add_tensor(std::map<ShapeKey, std::vector<TensorView>>* shapes, const TensorView& w) {
  if (w.present()) (*shapes)[{w.dtype, w.layout, w.n_rows, w.n_cols}].push_back(w);
}

std::vector<MatmulWorkload> workloads_of(const std::map<ShapeKey, std::vector<TensorView>>& shapes,
                                         int n_tokens) {
  std::vector<MatmulWorkload> out;
  for (const auto& [key, views] : shapes) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), n_tokens, views});
  }
  return out;
}

// Everything the phases know about one workload.
struct WorkloadState {
  MatmulWorkload workload;
  WorkloadReport report;
  CheckSet check_set;
  MatmulKernel default_kernel;
  std::vector<MatmulKernel> pruned;
  Winner best;                  // of the pruned space and the default
  Winner full_best;             // of everything timed, the full space included
  std::set<std::string> timed;  // kernel names
  double weight = 0;            // share of the whole budget (sums to 1 over the timed defaults)
  uint64_t seed = 0;            // of the activations: the check set holds for these only
};

class Tuner {
 public:
  Tuner(const TuneOptions& options, int n_threads, kdb::KernelDb* db)
      : options_(options), pool_(n_threads), db_(db) {}

  TuneReport run(const ModelWeights& weights);

 private:
  double elapsed_ms() const { return now_ms() - start_ms_; }
  void progress(const char* phase, const WorkloadState* current, double budget_s) const;
  void time_defaults();
  void assign_weights();
  void search(WorkloadState& s, double end_ms);
  void retime(WorkloadBench& bench, Winner* a, Winner* b, double end_ms);
  // Time a search keeps for its retime() at the end.
  static double retime_ms(const WorkloadState& s) {
    return 2 * kRetimeRounds * measurement_ms(s.report.default_ns / 1e6);
  }
  void search_full(WorkloadState& s, double end_ms);
  // Checks and times `kernel` unless its expected cost passes end_ms, and offers it to `winner`;
  // false when it did not start.
  bool try_candidate(WorkloadState& s, WorkloadBench& bench, const MatmulKernel& kernel, double end_ms,
                     Winner* winner);
  void write_record(WorkloadState& s, TuneReport* report);
  double run_full_space();

  const TuneOptions& options_;
  ThreadPool pool_;
  kdb::KernelDb* db_;
  std::vector<WorkloadState> states_;
  int n_done_ = 0;  // workloads finished in the current phase
  double start_ms_ = 0;
  double phase_start_ms_ = 0;  // elapsed_ms() when the phase the budget counts from began
};

void Tuner::progress(const char* phase, const WorkloadState* current, double budget_s) const {
  if (!options_.on_progress) return;
  TuneProgress p;
  p.phase = phase;
  p.n_done = n_done_;
  p.n_total = static_cast<int>(states_.size());
  p.current = current != nullptr ? &current->report : nullptr;
  p.elapsed_s = (elapsed_ms() - phase_start_ms_) / 1000;
  p.budget_s = budget_s;
  options_.on_progress(p);
}

bool Tuner::try_candidate(WorkloadState& s, WorkloadBench& bench, const MatmulKernel& kernel, double end_ms,
                          Winner* winner) {
  // Expected: the check call and the samples, at the default's speed (a candidate much slower
  // than the default is cut by max_time_ms after its first sample).
  const double call_ms = s.report.default_ns / 1e6;
  if (elapsed_ms() + call_ms + measurement_ms(call_ms) > end_ms) return false;
  s.timed.insert(kernel.name);
  if (!bench.check(kernel, s.check_set)) {
    ++s.report.n_rejected;
    JF_LOG_WARN("tune: %s fails the check against the reference on %s %lldx%lld, %lld tokens; not timed",
                kernel.name.c_str(), dtype_name(s.workload.dtype), static_cast<long long>(s.workload.n_rows),
                static_cast<long long>(s.workload.n_cols), static_cast<long long>(s.workload.n_tokens));
    return true;
  }
  const double budget_ms = std::clamp(end_ms - elapsed_ms(), 1e-3, kMaxCandidateMs);
  winner->offer(kernel, bench.time_ns(kernel, budget_ms));
  return true;
}

void Tuner::time_defaults() {
  const double end_ms = options_.budget_s * 1000;
  for (n_done_ = 0; n_done_ < static_cast<int>(states_.size()); ++n_done_) {
    WorkloadState& s = states_[n_done_];
    progress("defaults", &s, options_.budget_s);
    if (elapsed_ms() >= end_ms) return;
    WorkloadBench bench(s.workload, pool_, s.seed, options_.time_override);
    s.check_set = make_check_set(s.workload, bench.x(), pool_);
    s.default_kernel = select_default_kernel(s.workload.dtype, s.workload.layout, s.workload.n_rows,
                                             s.workload.n_cols, s.workload.n_tokens);
    s.report.default_name = s.default_kernel.name;
    s.timed.insert(s.default_kernel.name);
    if (!bench.check(s.default_kernel, s.check_set)) {
      ++s.report.n_rejected;
      JF_LOG_ERROR("tune: the default kernel %s fails the check against the reference; workload skipped",
                   s.default_kernel.name.c_str());
      continue;
    }
    // A default that cannot be timed in full gets no record: its gain would be noise.
    if (elapsed_ms() + measurement_ms(bench.last_call_ns() / 1e6) > end_ms) return;
    s.report.default_ns =
        bench.time_ns(s.default_kernel, std::clamp(end_ms - elapsed_ms(), 1e-3, kMaxCandidateMs));
    s.best.offer(s.default_kernel, s.report.default_ns);
    s.report.best_name = s.best.kernel.name;
    s.report.best_ns = s.best.ns;
  }
}

// Each token count weighs 1 / (token counts); within one, a workload weighs its share of the
// default kernels' time (uses per forward x median).
void Tuner::assign_weights() {
  std::map<int64_t, double> bucket_ns;
  for (const WorkloadState& s : states_)
    bucket_ns[s.workload.n_tokens] += s.report.uses_per_forward * s.report.default_ns;
  int n_buckets = 0;
  for (const auto& [n_tokens, ns] : bucket_ns) n_buckets += ns > 0;
  for (WorkloadState& s : states_) {
    const double total = bucket_ns[s.workload.n_tokens];
    s.report.time_share = total > 0 ? s.report.uses_per_forward * s.report.default_ns / total : 0;
    s.weight = n_buckets > 0 ? s.report.time_share / n_buckets : 0;
  }
}

void Tuner::search(WorkloadState& s, double end_ms) {
  // The default's neighbours first: when the slice cannot time the whole space, the steps away from a
  // good kernel are the likeliest wins.
  std::stable_sort(s.pruned.begin(), s.pruned.end(), [&](const MatmulKernel& a, const MatmulKernel& b) {
    return distance(a, s.default_kernel) < distance(b, s.default_kernel);
  });
  WorkloadBench bench(s.workload, pool_, s.seed, options_.time_override);
  s.report.complete = true;
  for (const MatmulKernel& kernel : s.pruned) {
    if (s.timed.count(kernel.name) != 0) continue;
    if (!try_candidate(s, bench, kernel, end_ms - retime_ms(s), &s.best)) {
      s.report.complete = false;
      break;
    }
    s.report.best_name = s.best.kernel.name;
    s.report.best_ns = s.best.ns;
    progress("search", &s, options_.budget_s);
  }
  if (s.best.kernel.name != s.default_kernel.name) {
    Winner by_default{s.default_kernel, s.report.default_ns};
    retime(bench, &by_default, &s.best, options_.budget_s * 1000);
    s.report.default_ns = by_default.ns;
    if (s.best.ns >= by_default.ns) s.best = by_default;  // the winner must still beat the default
  }
  s.report.best_name = s.best.kernel.name;
  s.report.best_ns = s.best.ns;
  s.report.n_tried = static_cast<int>(s.timed.size());
}

// Times two winners again, alternately, within end_ms; their earlier times are dropped.
void Tuner::retime(WorkloadBench& bench, Winner* a, Winner* b, double end_ms) {
  const double cap_ms = std::clamp((end_ms - elapsed_ms()) / (2 * kRetimeRounds), 1e-3, kMaxCandidateMs);
  const AlternateNs ns = bench.time_alternately(a->kernel, b->kernel, cap_ms);
  a->ns = ns.a_ns;
  b->ns = ns.b_ns;
}

void Tuner::search_full(WorkloadState& s, double end_ms) {
  std::vector<MatmulKernel> rest;
  for (MatmulKernel& kernel : full_space(s.workload.dtype, s.workload.layout)) {
    if (s.timed.count(kernel.name) == 0) rest.push_back(std::move(kernel));
  }
  // Random order: a cut-short run still samples the whole space evenly.
  std::shuffle(rest.begin(), rest.end(), std::mt19937_64(options_.seed));
  WorkloadBench bench(s.workload, pool_, s.seed, options_.time_override);
  s.report.full_complete = true;
  s.full_best = s.best;
  for (const MatmulKernel& kernel : rest) {
    if (!try_candidate(s, bench, kernel, end_ms - retime_ms(s), &s.full_best)) {
      s.report.full_complete = false;
      break;
    }
    progress("full space", &s, options_.full_space_budget_s);
  }
  Winner tuned = s.best;
  if (s.full_best.kernel.name != tuned.kernel.name) {
    retime(bench, &tuned, &s.full_best, end_ms);
    if (s.full_best.ns >= tuned.ns) s.full_best = tuned;
  }
  s.report.full_tuned_ns = tuned.ns;
  s.report.n_full_tried = static_cast<int>(s.timed.size());
  s.report.full_best_name = s.full_best.kernel.name;
  s.report.full_best_ns = s.full_best.ns;
}

void Tuner::write_record(WorkloadState& s, TuneReport* report) {
  if (db_ == nullptr || !s.best.kernel.valid() || !report->kdb_status.ok()) return;
  const kdb::Workload key = matmul_workload(s.workload.dtype, s.workload.n_rows, s.workload.n_cols,
                                            s.workload.n_tokens, pool_.n_threads());
  Status status =
      db_->append(matmul_record(s.best.kernel, key, s.best.ns, s.report.default_ns, s.report.n_tried));
  if (!status.ok()) {
    JF_LOG_WARN("tune: %s; the remaining winners are not written", status.message().c_str());
    report->kdb_status = std::move(status);
    return;
  }
  s.report.recorded = true;
  ++report->n_records;
}

// Returns its wall time in seconds. Every workload gets an equal part of the time left.
double Tuner::run_full_space() {
  const double start_ms = phase_start_ms_ = elapsed_ms();
  const double end_ms = start_ms + options_.full_space_budget_s * 1000;
  for (n_done_ = 0; n_done_ < static_cast<int>(states_.size());) {
    WorkloadState& s = states_[n_done_];
    const double slice_ms = (end_ms - elapsed_ms()) / static_cast<double>(states_.size() - n_done_);
    if (s.report.default_ns > 0) search_full(s, elapsed_ms() + slice_ms);
    ++n_done_;
    progress("full space", &s, options_.full_space_budget_s);
  }
  return (elapsed_ms() - start_ms) / 1000;
}

TuneReport Tuner::run(const ModelWeights& weights) {
  start_ms_ = now_ms();
  for (const MatmulWorkload& w : model_matmul_workloads(weights, options_.token_counts)) {
    WorkloadState s;
    s.seed = options_.seed + states_.size();
    s.workload = w;
    s.report.dtype = w.dtype;
    s.report.n_rows = w.n_rows;
    s.report.n_cols = w.n_cols;
    s.report.n_tokens = w.n_tokens;
    s.report.uses_per_forward = static_cast<int>(w.weights.size());
    s.report.n_full = full_space_size(w.dtype, w.layout);
    s.pruned = pruned_space(w, pool_.n_threads(), options_.device_limits);
    s.report.n_pruned = static_cast<int>(s.pruned.size());
    states_.push_back(std::move(s));
  }
  // Big matrices first, so a budget too small for every default still covers the costly ones.
  std::stable_sort(states_.begin(), states_.end(), [](const WorkloadState& a, const WorkloadState& b) {
    return a.report.uses_per_forward * a.workload.n_rows * a.workload.n_cols >
           b.report.uses_per_forward * b.workload.n_rows * b.workload.n_cols;
  });
  time_defaults();
  assign_weights();
  std::stable_sort(states_.begin(), states_.end(),
                   [](const WorkloadState& a, const WorkloadState& b) { return a.weight > b.weight; });

  TuneReport report;
  report.n_threads = pool_.n_threads();
  double weight_left = 0;
  for (const WorkloadState& s : states_) weight_left += s.weight;
  const double end_ms = options_.budget_s * 1000;
  for (n_done_ = 0; n_done_ < static_cast<int>(states_.size());) {
    WorkloadState& s = states_[n_done_];
    const double slice_ms = (end_ms - elapsed_ms()) * (weight_left > 0 ? s.weight / weight_left : 0);
    weight_left -= s.weight;
    if (s.report.default_ns > 0) {
      search(s, elapsed_ms() + slice_ms);
      write_record(s, &report);
    }
    ++n_done_;
    progress("search", &s, options_.budget_s);
  }
  report.wall_s = elapsed_ms() / 1000;
  if (options_.full_space) report.full_space_wall_s = run_full_space();
  for (WorkloadState& s : states_) report.workloads.push_back(std::move(s.report));
  return report;
}

Status check_options(const TuneOptions& options) {
  if (options.token_counts.empty()) return error(StatusCode::kInvalidArgument, "no token counts to tune");
  for (int n : options.token_counts) {
    if (n < 1 || n > kMaxBatchTokens) {
      return error(StatusCode::kInvalidArgument, "token count %d is outside 1..%d (the forward pass's batch)",
                   n, kMaxBatchTokens);
    }
  }
  if (options.n_threads < 0 || options.n_threads > 1024) {
    return error(StatusCode::kInvalidArgument, "thread count %d is outside 0..1024", options.n_threads);
  }
  if (!(options.budget_s > 0)) return error(StatusCode::kInvalidArgument, "the budget must be > 0 s");
  if (options.full_space && !(options.full_space_budget_s > 0)) {
    return error(StatusCode::kInvalidArgument, "the full-space budget must be > 0 s");
  }
  return Status();
}

}  // namespace

std::vector<int> default_token_counts(ForwardKind kind) {
  switch (kind) {
    case ForwardKind::kDecoder:
      return {1, 64, 512};
    case ForwardKind::kEncoder:
      return {128, 384};
    case ForwardKind::kEncoderDecoder:
      return {1, 256};
  }
  return {1, 64, 512};
}

std::vector<int> default_online_token_counts(ForwardKind kind) {
  switch (kind) {
    case ForwardKind::kDecoder:
      return {1};
    case ForwardKind::kEncoder:
      return {128, 384};
    case ForwardKind::kEncoderDecoder:
      return {1, 256};
  }
  return {1};
}

std::vector<MatmulWorkload> model_matmul_workloads(const ModelWeights& weights,
                                                   const std::vector<int>& token_counts) {
  std::map<ShapeKey, std::vector<TensorView>> layer_shapes, head_shape;
  for (const NamedLinear& linear : model_linears(weights)) {
    // Channel-major linears run the channel-major kernels, which the tuner does not search yet.
    if (linear.weight->layout == WeightLayout::channel_major) continue;
    add_tensor(linear.layer >= 0 ? &layer_shapes : &head_shape, *linear.weight);
  }
  std::vector<int> counts = token_counts;
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  std::vector<MatmulWorkload> out;
  for (int n_tokens : counts) {
    std::map<ShapeKey, std::vector<TensorView>> shapes = layer_shapes;
    if (n_tokens == 1) {
      for (const auto& [key, views] : head_shape)
        shapes[key].insert(shapes[key].end(), views.begin(), views.end());
    }
    for (MatmulWorkload& w : workloads_of(shapes, n_tokens)) out.push_back(std::move(w));
  }
  return out;
}

Result<TuneReport> tune_model_matmuls(const ModelWeights& weights, const TuneOptions& options,
                                      kdb::KernelDb* db) {
  JF_RETURN_IF_ERROR(check_options(options));
  const int n_threads = options.n_threads > 0 ? options.n_threads : cpu_features().n_logical_cpus;
  Tuner tuner(options, n_threads, db);
  return tuner.run(weights);
}

}  // namespace jf::tune
