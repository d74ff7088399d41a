#include "kernels/rmsnorm/rmsnorm.h"

#include "kernels/rmsnorm/kernels.h"

namespace jf {

const std::vector<OpVariant<RmsnormFn>>& rmsnorm_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<RmsnormFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = rmsnorm_avx512;
    e.avx2 = rmsnorm_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = rmsnorm_neon;
#endif
    return compiled_variants(e);
  }();
  return kVariants;
}

void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  static const RmsnormFn kBest = best_variant(rmsnorm_variants(), rmsnorm_ref);
  kBest(x, weight, y, n, eps);
}

}  // namespace jf
