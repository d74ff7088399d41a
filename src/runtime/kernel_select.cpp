#include "runtime/kernel_select.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/check.h"
#include "base/log.h"
#include "kdb/fingerprint.h"
#include "kernels/registry.h"
#include "tune/gather_record.h"
#include "tune/matmul_record.h"

namespace jf {
namespace {

std::string describe(const kdb::Workload& w) {
  return str_printf("%s %lldx%lld, %lld tokens, %d threads", w.dtype.c_str(), static_cast<long long>(w.n),
                    static_cast<long long>(w.k), static_cast<long long>(w.batch), w.threads);
}

// The distinct workloads of `op` of this device and thread count in `db`, whatever their generator
// (KernelDb::lookup tells a stale one from a missing one).
std::set<std::tuple<std::string, int64_t, int64_t, int64_t>> workloads_in(const kdb::KernelDb& db,
                                                                          const char* op, int n_threads) {
  const std::string& fingerprint = kdb::current_device().hash();
  std::set<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
  for (const kdb::Record& r : db.records()) {
    if (r.fingerprint == fingerprint && r.op == op && r.workload.threads == n_threads) {
      out.insert({r.workload.dtype, r.workload.n, r.workload.k, r.workload.batch});
    }
  }
  return out;
}

}  // namespace

size_t KernelSelector::CacheKeyHash::operator()(const CacheKey& k) const {
  size_t h = static_cast<size_t>(k.dtype) * 2 + static_cast<size_t>(k.layout);
  for (int64_t v : {k.n_rows, k.n_cols, k.n_tokens}) h = h * 1000003u ^ std::hash<int64_t>()(v);
  return h;
}

KernelSelector::KernelSelector(const kdb::KernelDb& db, int n_threads) {
  const std::string& fingerprint = kdb::current_device().hash();
  for (const auto& [dtype_text, n, k, batch] : workloads_in(db, tune::kMatmulOp, n_threads)) {
    const kdb::Workload workload{dtype_text, n, k, batch, n_threads};
    const kdb::Record* record = db.lookup(fingerprint, kMatmulGenerator, tune::kMatmulOp, workload);
    if (record == nullptr) continue;  // stale: lookup warned
    std::string why;
    MatmulKernel kernel = tune::kernel_from_record(*record, &why);
    if (!kernel.valid()) {
      JF_LOG_WARN("kdb %s: record for %s unusable (%s); using the default kernel", db.path().c_str(),
                  describe(workload).c_str(), why.c_str());
      continue;
    }
    JF_LOG_INFO(
        "kdb: %s -> %s (%.2fx the default when tuned)", describe(workload).c_str(), kernel.name.c_str(),
        record->median_ns > 0 && record->default_ns > 0 ? record->default_ns / record->median_ns : 1.0);
    std::vector<Tuned>& tuned = tuned_[{*dtype_from_name(dtype_text), n, k}];  // parsed: the kernel is valid
    tuned.push_back({batch, std::move(kernel)});
    std::sort(tuned.begin(), tuned.end(), [](const Tuned& a, const Tuned& b) { return a.batch < b.batch; });
    ++n_tuned_;
  }
  for (const auto& [dtype_text, n, k, batch] : workloads_in(db, tune::kGatherOp, n_threads)) {
    const kdb::Workload workload{dtype_text, n, k, batch, n_threads};
    const kdb::Record* record = db.lookup(fingerprint, kChannelMajorGenerator, tune::kGatherOp, workload);
    if (record == nullptr) continue;  // stale: lookup warned
    std::string why;
    CmKernel kernel = tune::cm_kernel_from_record(*record, &why);
    if (!kernel.valid()) {
      JF_LOG_WARN("kdb %s: gather record for %s unusable (%s); using the default config", db.path().c_str(),
                  describe(workload).c_str(), why.c_str());
      continue;
    }
    JF_LOG_INFO("kdb: gather %s -> %s %s", describe(workload).c_str(), kernel.gather->name.c_str(),
                cm_config_name(kernel.config).c_str());
    tuned_cm_[{*dtype_from_name(dtype_text), n, k}] = kernel;
    ++n_tuned_;
  }
}

const MatmulKernel* KernelSelector::tuned_kernel(const CacheKey& key) const {
  const auto it = tuned_.find({key.dtype, key.n_rows, key.n_cols});
  if (it == tuned_.end()) return nullptr;
  const MatmulKernel* best = nullptr;
  double best_distance = 0;
  for (const Tuned& t : it->second) {
    if ((t.batch == 1) != (key.n_tokens == 1) || t.kernel.layout != key.layout) continue;
    const double distance =
        std::fabs(std::log(static_cast<double>(t.batch) / static_cast<double>(key.n_tokens)));
    if (best == nullptr || distance < best_distance) {
      best = &t.kernel;
      best_distance = distance;
    }
  }
  return best;
}

void KernelSelector::adopt(DType dtype, WeightLayout layout, int64_t n_rows, int64_t n_cols, int64_t n_tokens,
                           const MatmulKernel& kernel) {
  std::vector<Tuned>& tuned = tuned_[{dtype, n_rows, n_cols}];
  const auto same = std::find_if(tuned.begin(), tuned.end(), [&](const Tuned& t) {
    return t.batch == n_tokens && t.kernel.layout == layout;
  });
  if (same != tuned.end()) {
    same->kernel = kernel;
  } else {
    tuned.push_back({n_tokens, kernel});
    std::sort(tuned.begin(), tuned.end(), [](const Tuned& a, const Tuned& b) { return a.batch < b.batch; });
  }
  for (auto& [key, cached] : cache_) {
    if (key.dtype != dtype || key.layout != layout || key.n_rows != n_rows || key.n_cols != n_cols) continue;
    if (const MatmulKernel* now = tuned_kernel(key)) cached = *now;
  }
}

const MatmulKernel& KernelSelector::select_kernel(const TensorView& w, int64_t n_tokens) {
  const CacheKey key{w.dtype, w.layout, w.n_rows, w.n_cols, n_tokens};
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  const MatmulKernel* tuned = tuned_kernel(key);
  MatmulKernel kernel =
      tuned != nullptr ? *tuned : select_default_kernel(w.dtype, w.layout, w.n_rows, w.n_cols, n_tokens);
  JF_LOG_DEBUG("matmul %s %lldx%lld, %lld token(s): %s (%s)", dtype_name(w.dtype),
               static_cast<long long>(w.n_rows), static_cast<long long>(w.n_cols),
               static_cast<long long>(n_tokens), kernel.name.c_str(), tuned != nullptr ? "tuned" : "default");
  return cache_.emplace(key, std::move(kernel)).first->second;
}

const CmKernel& KernelSelector::select_cm_kernel(const TensorView& w) {
  const Shape shape{w.dtype, w.n_rows, w.n_cols};
  const auto [it, inserted] = cm_cache_.try_emplace(shape);
  if (inserted) {
    const auto tuned = tuned_cm_.find(shape);
    it->second = tuned != tuned_cm_.end() ? tuned->second : jf::select_cm_kernel(w.dtype);
    JF_CHECK_MSG(it->second.valid(),
                 "no channel-major kernel for this weight type (the loader refuses such files)");
    JF_LOG_DEBUG("channel-major %s %lldx%lld: %s, %s (%s, %s)", dtype_name(w.dtype),
                 static_cast<long long>(w.n_rows), static_cast<long long>(w.n_cols),
                 it->second.gather->name.c_str(), it->second.matmul->name.c_str(),
                 cm_config_name(it->second.config).c_str(), tuned != tuned_cm_.end() ? "tuned" : "default");
  }
  return it->second;
}

}  // namespace jf
