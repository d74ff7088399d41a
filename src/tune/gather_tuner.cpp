#include "tune/gather_tuner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "base/cpu_features.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "kernels/registry.h"
#include "tune/gather_record.h"
#include "tune/measure.h"

namespace jf::tune {
namespace {

constexpr int kFinalRounds = 3;  // alternating timings of the default and the winner

// One workload's inputs and its timed call (cycling through the tensors of the shape).
class GatherBench {
 public:
  GatherBench(const GatherWorkload& w, double sparsity, uint64_t seed, ThreadPool& pool)
      : w_(w), pool_(pool), y_(static_cast<size_t>(w.n_rows)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    x_.resize(static_cast<size_t>(w.n_cols));
    for (float& v : x_) v = normal(rng);
    std::vector<int32_t> all(static_cast<size_t>(w.n_cols));
    for (int32_t j = 0; j < w.n_cols; ++j) all[j] = j;
    std::shuffle(all.begin(), all.end(), rng);
    const auto n_active = static_cast<size_t>(std::ceil((1.0 - sparsity) * static_cast<double>(w.n_cols)));
    active_.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(1, n_active)));
    std::sort(active_.begin(), active_.end());
    reference_.resize(y_.size());
    cm_gather_ref(w.weights[0], x_.data(), active_, reference_.data());
  }

  // Whether `kernel` computes the reference's outputs on the first tensor (header).
  bool check(const CmKernel& kernel) {
    std::fill(y_.begin(), y_.end(), NAN);
    cm_gather_matvec(w_.weights[0], x_.data(), active_, y_.data(), pool_, scratch_, kernel);
    double err = 0, ref = 0;
    for (size_t o = 0; o < y_.size(); ++o) {
      if (!std::isfinite(y_[o])) return false;
      err += std::pow(static_cast<double>(y_[o]) - reference_[o], 2);
      ref += static_cast<double>(reference_[o]) * reference_[o];
    }
    return std::sqrt(err) <= kGatherCheckTolerance * std::sqrt(ref);
  }

  double time_ns(const CmKernel& kernel, double max_time_ms) {
    MeasureSettings settings;
    settings.min_time_ms = std::min(20.0, max_time_ms);
    settings.max_time_ms = max_time_ms;
    size_t next = 0;
    return measure(settings,
                   [&] {
                     cm_gather_matvec(w_.weights[next++ % w_.weights.size()], x_.data(), active_, y_.data(),
                                      pool_, scratch_, kernel);
                   })
        .median_ns;
  }

 private:
  const GatherWorkload& w_;
  ThreadPool& pool_;
  std::vector<float> x_, y_, reference_;
  std::vector<int32_t> active_;
  CmScratch scratch_;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Searches one workload until `end_s`; fills `report` and returns the winner (the default when
// nothing beat it).
CmKernel search(const GatherWorkload& w, const GatherTuneOptions& options, ThreadPool& pool, double end_s,
                GatherWorkloadReport* report) {
  const CmKernel fallback = select_cm_kernel(w.dtype);
  report->entry = fallback.gather->name;
  report->default_config = report->best_config = cm_config_name(fallback.config);
  GatherBench bench(w, options.sparsity, options.seed, pool);
  const std::vector<CmGatherConfig> space = gather_space();
  CmKernel best = fallback;
  double best_ns = 0;
  size_t i = 0;
  for (; i < space.size(); ++i) {
    const double left_ms = (end_s - now_s()) * 1000;
    if (i > 0 && left_ms < 4 * 25.0 * kFinalRounds) break;  // keep time for the final rounds
    const CmKernel k = resolve_cm_kernel(w.dtype, fallback.gather->key.isa, space[i]);
    ++report->n_tried;
    if (!k.valid() || !bench.check(k)) {
      ++report->n_rejected;
      JF_LOG_WARN("tune: %s %s failed the check against the reference", report->entry.c_str(),
                  cm_config_name(space[i]).c_str());
      continue;
    }
    const double ns = bench.time_ns(k, 100);
    if (best_ns == 0 || ns < best_ns) {
      best = k;
      best_ns = ns;
    }
  }
  report->complete = i == space.size();
  std::vector<double> default_ns, winner_ns;
  for (int round = 0; round < kFinalRounds; ++round) {
    default_ns.push_back(bench.time_ns(fallback, 50));
    winner_ns.push_back(best.config == fallback.config ? default_ns.back() : bench.time_ns(best, 50));
  }
  report->default_ns = median_of(default_ns);
  report->best_ns = median_of(winner_ns);
  if (report->best_ns >= report->default_ns) {
    report->best_ns = report->default_ns;
    return fallback;
  }
  report->best_config = cm_config_name(best.config);
  return best;
}

}  // namespace

std::vector<CmGatherConfig> gather_space() {
  const CmGatherConfig fallback{};
  std::vector<CmGatherConfig> out = {fallback};
  for (CmSplit split : {CmSplit::channels, CmSplit::outputs}) {
    for (int step : {16, 8, 4}) {
      for (int64_t tile : {8192, 1024}) {
        for (bool prefetch : {true, false}) {
          const CmGatherConfig c{split, step, tile, prefetch};
          if (!(c == fallback)) out.push_back(c);
        }
      }
    }
  }
  return out;
}

std::vector<GatherWorkload> model_gather_workloads(const ModelWeights& weights) {
  std::map<std::tuple<DType, int64_t, int64_t>, GatherWorkload> shapes;
  for (const NamedLinear& linear : model_linears(weights)) {
    const TensorView& w = *linear.weight;
    if (w.layout != WeightLayout::channel_major) continue;
    GatherWorkload& g = shapes[{w.dtype, w.n_rows, w.n_cols}];
    g.dtype = w.dtype;
    g.n_rows = w.n_rows;
    g.n_cols = w.n_cols;
    g.weights.push_back(w);
  }
  std::vector<GatherWorkload> out;
  for (auto& [key, g] : shapes) out.push_back(std::move(g));
  return out;
}

Result<GatherTuneReport> tune_gathers(const std::vector<GatherWorkload>& workloads,
                                      const GatherTuneOptions& options, kdb::KernelDb* db) {
  if (!(options.sparsity >= 0 && options.sparsity < 1)) {
    return error(StatusCode::kInvalidArgument, "sparsity %g is outside [0, 1)", options.sparsity);
  }
  if (!(options.budget_s > 0)) return error(StatusCode::kInvalidArgument, "the budget must be > 0 s");
  if (options.n_threads < 0 || options.n_threads > 1024) {
    return error(StatusCode::kInvalidArgument, "thread count %d is outside 0..1024", options.n_threads);
  }
  GatherTuneReport report;
  report.n_threads = options.n_threads > 0 ? options.n_threads : cpu_features().n_logical_cpus;
  ThreadPool pool(report.n_threads);
  const double start_s = now_s();
  for (size_t i = 0; i < workloads.size(); ++i) {
    const GatherWorkload& w = workloads[i];
    GatherWorkloadReport r;
    r.dtype = w.dtype;
    r.n_rows = w.n_rows;
    r.n_cols = w.n_cols;
    r.uses_per_forward = static_cast<int>(w.weights.size());
    if (!select_cm_kernel(w.dtype).valid()) continue;  // the loader refuses such weights
    const double share_s = (start_s + options.budget_s - now_s()) / static_cast<double>(workloads.size() - i);
    const CmKernel winner = search(w, options, pool, now_s() + share_s, &r);
    if (db != nullptr && report.kdb_status.ok() && !(winner.config == select_cm_kernel(w.dtype).config)) {
      report.kdb_status =
          db->append(gather_record(winner, gather_workload(w.dtype, w.n_rows, w.n_cols, report.n_threads),
                                   r.best_ns, r.default_ns, r.n_tried));
      r.recorded = report.kdb_status.ok();
      report.n_records += r.recorded;
    }
    report.workloads.push_back(std::move(r));
  }
  report.wall_s = now_s() - start_s;
  return report;
}

}  // namespace jf::tune
