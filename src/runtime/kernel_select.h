// The one place that chooses a kernel at run time (DESIGN.md, "One place per concern"): the kernel
// database's winner for this device, generator and workload when there is one this build can run,
// else the default kernel (select_default_kernel).
//
// Token counts map to the tuned ones: one token (decode) to a batch-1 record only; a prefill batch
// to the tuned batch > 1 nearest in ratio (tile choices scale with the ratio, not the difference).
// A workload with no such record, a stale one (another generator) or one naming a kernel this
// build or CPU cannot run gets the default; the kdb file itself never fails (kdb/kernel_db.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "kdb/kernel_db.h"
#include "kernels/matmul/matmul.h"
#include "model/linear.h"
#include "tensor/tensor_view.h"

namespace jf {

// The one KernelChooser of the linear seam (model/linear.h): every linear's kernel comes from here.
class KernelSelector final : public KernelChooser {
 public:
  // Defaults only.
  KernelSelector() = default;
  // The winners in `db` for this device (kdb::current_device()), kMatmulGenerator and
  // `n_threads`; logs each at info level and every unusable record at warning level.
  KernelSelector(const kdb::KernelDb& db, int n_threads);

  // The kernel for a matmul of weights `w` with a batch of n_tokens >= 1. After the first call for
  // a (type, shape, n_tokens) this is one hash lookup; that first call logs the choice at debug
  // level (JITFLOW_LOG=debug). The reference stays valid for the selector's lifetime. Not thread-safe: one
  // caller at a time (the forward pass).
  const MatmulKernel& select_kernel(const TensorView& w, int64_t n_tokens) override;

  // The channel-major entries for w's dtype with the kdb's gather config for its shape at this
  // thread count when there is one this build runs, else the default config; cached per shape.
  const CmKernel& select_cm_kernel(const TensorView& w) override;

  // Runs `kernel` from now on for the matmuls of weights of this type, layout and shape at the
  // batches nearest n_tokens, as a kdb winner for n_tokens would run: the online tuner's hot swap
  // (tune/online_tuner.h), called between forward passes. References select_kernel returned stay
  // valid and name the new kernel where it applies.
  void adopt(DType dtype, WeightLayout layout, int64_t n_rows, int64_t n_cols, int64_t n_tokens,
             const MatmulKernel& kernel);

  int n_tuned() const { return n_tuned_; }  // kdb winners this selector can use (matmul and gather)

 private:
  using Shape = std::tuple<DType, int64_t, int64_t>;  // dtype, n_rows, n_cols
  struct Tuned {
    int64_t batch = 0;
    MatmulKernel kernel;
  };
  struct CacheKey {
    DType dtype;
    WeightLayout layout;
    int64_t n_rows, n_cols, n_tokens;
    bool operator==(const CacheKey&) const = default;
  };
  struct CacheKeyHash {
    size_t operator()(const CacheKey& k) const;
  };

  const MatmulKernel* tuned_kernel(const CacheKey& key) const;

  std::map<Shape, std::vector<Tuned>> tuned_;  // by shape, ascending batch
  std::unordered_map<CacheKey, MatmulKernel, CacheKeyHash> cache_;
  std::map<Shape, CmKernel> tuned_cm_;  // gather winners by shape
  std::map<Shape, CmKernel> cm_cache_;
  int n_tuned_ = 0;
};

}  // namespace jf
