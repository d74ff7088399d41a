#include "kernels/swiglu/swiglu.h"

#include "kernels/swiglu/kernels.h"

namespace jf {

const std::vector<OpVariant<SwigluFn>>& swiglu_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<SwigluFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = swiglu_avx512;
    e.avx2 = swiglu_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = swiglu_neon;
#endif
    return compiled_variants(e);
  }();
  return kVariants;
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  static const SwigluFn kBest = best_variant(swiglu_variants(), swiglu_ref);
  kBest(gate, up, out, n);
}

}  // namespace jf
