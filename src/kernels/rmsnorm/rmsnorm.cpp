#include "kernels/rmsnorm/rmsnorm.h"

#include "kernels/registry.h"

namespace jf {

void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  static const RmsnormFn kBest = select_native<Op::rmsnorm>(rmsnorm_ref);
  kBest(x, weight, y, n, eps);
}

}  // namespace jf
