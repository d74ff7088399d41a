#include "kernels/rope/rope.h"

#include "kernels/rope/kernels.h"

namespace jf {

const std::vector<OpVariant<RopeApplyFn>>& rope_apply_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<RopeApplyFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = rope_apply_avx512;
    e.avx2 = rope_apply_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = rope_apply_neon;
#endif
    return compiled_variants(e);
  }();
  return kVariants;
}

void rope_apply(const RopeParams& params, const float* cos_sin, float* x, int n_heads, int head_dim) {
  static const RopeApplyFn kBest = best_variant(rope_apply_variants(), rope_apply_ref);
  kBest(params, cos_sin, x, n_heads, head_dim);
}

}  // namespace jf
