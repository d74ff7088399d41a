#include "kernels/gelu/gelu.h"

#include "kernels/registry.h"

namespace jf {

void gelu(const float* x, const float* up, float* out, int64_t n) {
  static const GeluFn kBest = select_native<Op::gelu>(gelu_ref);
  kBest(x, up, out, n);
}

}  // namespace jf
