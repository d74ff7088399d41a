#include "kernels/rope/rope.h"

#include "kernels/registry.h"

namespace jf {

void rope_apply(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim) {
  static const RopeApplyFn kBest = select_native<Op::rope_apply>(rope_apply_ref);
  kBest(params, cos_sin, x, n_heads, head_dim);
}

}  // namespace jf
