#include "kernels/simd/exp.h"

#include "kernels/simd/kernels.h"

namespace jf {

const std::vector<OpVariant<ExpFn>>& exp_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<ExpFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = exp_avx512;
    e.avx2 = exp_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = exp_neon;
#endif
    return compiled_variants(e);
  }();
  return kVariants;
}

void exp_f32(const float* x, float* y, int64_t n) {
  static const ExpFn kBest = best_variant(exp_variants(), exp_ref);
  kBest(x, y, n);
}

}  // namespace jf
