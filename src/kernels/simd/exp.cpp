#include "kernels/simd/exp.h"

#include "kernels/simd/kernels.h"

namespace jf {

const std::vector<OpVariant<ExpFn>>& exp_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<ExpFn> e;
#if defined(JITFLOW_OPS_X86)
    e.avx512 = exp_avx512;
    e.avx2 = exp_avx2;
#elif defined(JITFLOW_OPS_NEON)
    e.neon = exp_neon;
#endif
    return runnable_variants(e);
  }();
  return kVariants;
}

void exp_f32(const float* x, float* y, int64_t n) {
  static const ExpFn kBest = exp_variants().empty() ? exp_ref : exp_variants().front().fn;
  kBest(x, y, n);
}

}  // namespace jf
