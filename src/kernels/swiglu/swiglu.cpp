#include "kernels/swiglu/swiglu.h"

#include "kernels/registry.h"

namespace jf {

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  static const SwigluFn kBest = select_native<Op::swiglu>(swiglu_ref);
  kBest(gate, up, out, n);
}

}  // namespace jf
