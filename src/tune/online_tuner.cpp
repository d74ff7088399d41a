#include "tune/online_tuner.h"

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "kdb/fingerprint.h"
#include "kernels/matmul/emit_wasm.h"
#include "tune/matmul_bench.h"
#include "tune/matmul_record.h"

namespace jf::tune {

struct OnlineTuner::State {
  MatmulWorkload workload;
  OnlineWorkloadReport report;
  std::vector<MatmulKernel> candidates;  // in the order they are tried
  size_t next_candidate = 0;
  MatmulKernel current;                  // what the model runs
  std::unique_ptr<WorkloadBench> bench;  // made at the baseline
  CheckSet check_set;
  uint64_t seed = 0;
};

namespace {

bool is_emitted(const MatmulKernel& k) {
  DType dtype;
  WasmMatmulConfig config;
  return parse_wasm_matmul_name(k.name, &dtype, &config);
}

std::string describe(const MatmulWorkload& w) {
  return str_printf("%s %lldx%lld, %lld token(s)", dtype_name(w.dtype), static_cast<long long>(w.n_rows),
                    static_cast<long long>(w.n_cols), static_cast<long long>(w.n_tokens));
}

}  // namespace

OnlineTuner::OnlineTuner(const ModelWeights& weights, ThreadPool& pool, const OnlineTuneOptions& options,
                         kdb::KernelDb* db, CurrentKernelFn current, AdoptFn adopt)
    : pool_(pool), options_(options), db_(db), current_(std::move(current)), adopt_(std::move(adopt)) {
  for (MatmulWorkload& w : model_matmul_workloads(weights, options_.token_counts)) {
    auto s = std::make_unique<State>();
    s->seed = options_.seed + states_.size();
    s->report.dtype = w.dtype;
    s->report.layout = w.layout;
    s->report.n_rows = w.n_rows;
    s->report.n_cols = w.n_cols;
    s->report.n_tokens = w.n_tokens;
    s->report.uses_per_forward = static_cast<int>(w.weights.size());
    s->report.n_full = full_space_size(w.dtype, w.layout);
    s->current = current_(w);
    s->report.start_name = s->report.current_name = s->current.name;
    s->candidates = options_.full_space ? full_space(w.dtype, w.layout)
                                        : pruned_space(w, pool_.n_threads(), options_.device_limits);
    s->report.n_pruned = static_cast<int>(s->candidates.size());
    // Emitted kernels first (the page has them only by tuning), then the current kernel's neighbours.
    std::stable_sort(s->candidates.begin(), s->candidates.end(),
                     [&](const MatmulKernel& a, const MatmulKernel& b) {
                       const int ea = !is_emitted(a), eb = !is_emitted(b);
                       return ea != eb ? ea < eb : distance(a, s->current) < distance(b, s->current);
                     });
    if (db_ != nullptr) {
      const kdb::Record* r =
          db_->lookup(kdb::current_device().hash(), kMatmulGenerator, kMatmulOp,
                      matmul_workload(w.dtype, w.n_rows, w.n_cols, w.n_tokens, pool_.n_threads()));
      // A complete search (every candidate and the baseline tried; what this tuner records) is not
      // repeated; a partial one (`jitflow tune` under a short budget) is searched again from its
      // winner, which the model runs now.
      s->report.from_kdb = s->report.done = r != nullptr && r->tried > s->report.n_pruned;
    }
    s->workload = std::move(w);
    states_.push_back(std::move(s));
  }
  std::stable_sort(states_.begin(), states_.end(), [](const auto& a, const auto& b) {
    const MatmulWorkload &x = a->workload, &y = b->workload;
    if (x.n_tokens != y.n_tokens) return x.n_tokens < y.n_tokens;
    return static_cast<int64_t>(x.weights.size()) * x.n_rows * x.n_cols >
           static_cast<int64_t>(y.weights.size()) * y.n_rows * y.n_cols;
  });
}

OnlineTuner::~OnlineTuner() = default;

void OnlineTuner::time_baseline(State& s) {
  s.bench = std::make_unique<WorkloadBench>(s.workload, pool_, s.seed, options_.time_override);
  s.check_set = make_check_set(s.workload, s.bench->x(), pool_);
  if (!s.bench->check(s.current, s.check_set)) {
    JF_LOG_ERROR("tune: the running kernel %s fails the check against the reference on %s; not tuned",
                 s.current.name.c_str(), describe(s.workload).c_str());
    ++s.report.n_rejected;
    s.report.done = true;
    return;
  }
  s.report.start_ns = s.report.current_ns = s.bench->time_ns(s.current, kMaxCandidateMs);
}

void OnlineTuner::try_next_candidate(State& s) {
  const MatmulKernel& kernel = s.candidates[s.next_candidate++];
  if (kernel.name == s.current.name) return;
  ++s.report.n_tried;
  if (!s.bench->check(kernel, s.check_set)) {
    ++s.report.n_rejected;
    JF_LOG_WARN("tune: %s fails the check against the reference on %s; not timed", kernel.name.c_str(),
                describe(s.workload).c_str());
    return;
  }
  if (s.bench->time_ns(kernel, kMaxCandidateMs) >= kAdoptMargin * s.report.current_ns) return;
  // Timed again, alternately with the current kernel: only times taken together compare.
  const AlternateNs ns = s.bench->time_alternately(s.current, kernel, kMaxCandidateMs);
  const double current_median = ns.a_ns, candidate_median = ns.b_ns;
  s.report.current_ns = current_median;
  if (candidate_median >= current_median) return;
  JF_LOG_INFO("tune: %s: %s -> %s (%.2fx)", describe(s.workload).c_str(), s.current.name.c_str(),
              kernel.name.c_str(), current_median / candidate_median);
  s.current = kernel;
  s.report.current_name = kernel.name;
  s.report.current_ns = candidate_median;
  ++s.report.n_adopted;
  adopt_(s.workload, s.current);
}

void OnlineTuner::record(State& s) {
  if (db_ == nullptr) return;
  const kdb::Workload key = matmul_workload(s.workload.dtype, s.workload.n_rows, s.workload.n_cols,
                                            s.workload.n_tokens, pool_.n_threads());
  const Status status = db_->append(
      matmul_record(s.current, key, s.report.current_ns, s.report.start_ns, s.report.n_pruned + 1));
  if (!status.ok()) JF_LOG_WARN("tune: %s", status.to_string().c_str());
}

bool OnlineTuner::step(double slice_ms) {
  const double start_ms = now_ms();
  do {
    // Every baseline first (searched or not): the model-level estimate needs them all.
    auto untimed =
        std::find_if(states_.begin(), states_.end(), [](const auto& s) { return s->bench == nullptr; });
    if (untimed != states_.end()) {
      time_baseline(**untimed);
      continue;
    }
    while (next_ < states_.size() && states_[next_]->report.done) ++next_;
    if (next_ == states_.size()) break;
    State& s = *states_[next_];
    if (s.next_candidate < s.candidates.size()) {
      try_next_candidate(s);
    } else {
      s.report.done = true;
      record(s);
    }
  } while (now_ms() - start_ms < slice_ms);
  busy_ms_ += now_ms() - start_ms;
  return !done();
}

bool OnlineTuner::done() const {
  return std::all_of(states_.begin(), states_.end(),
                     [](const auto& s) { return s->report.done && s->bench != nullptr; });
}

std::vector<OnlineWorkloadReport> OnlineTuner::workloads() const {
  std::vector<OnlineWorkloadReport> out;
  for (const auto& s : states_) out.push_back(s->report);
  return out;
}

int OnlineTuner::n_candidates() const {
  int n = 0;
  for (const auto& s : states_) n += s->report.from_kdb ? 0 : s->report.n_pruned;
  return n;
}

int OnlineTuner::n_tried() const {
  int n = 0;
  for (const auto& s : states_) n += s->report.n_tried;
  return n;
}

double OnlineTuner::matmul_ns_per_forward(int64_t n_tokens) const {
  return ns_per_forward(n_tokens, &OnlineWorkloadReport::current_ns);
}

double OnlineTuner::start_matmul_ns_per_forward(int64_t n_tokens) const {
  return ns_per_forward(n_tokens, &OnlineWorkloadReport::start_ns);
}

double OnlineTuner::ns_per_forward(int64_t n_tokens, double OnlineWorkloadReport::*median_ns) const {
  double ns = 0;
  for (const auto& s : states_) {
    if (s->workload.n_tokens == n_tokens) ns += s->report.uses_per_forward * s->report.*median_ns;
  }
  return ns;
}

}  // namespace jf::tune
