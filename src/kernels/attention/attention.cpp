#include "kernels/attention/attention.h"

#include "base/check.h"
#include "kernels/attention/kernels.h"

namespace jf {

const std::vector<OpVariant<AttentionHeadsFn>>& attention_heads_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<AttentionHeadsFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = attention_heads_avx512;
    e.avx2 = attention_heads_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = attention_heads_neon;
#endif
    e.generic = attention_heads_generic;
    return compiled_variants(e);
  }();
  return kVariants;
}

void attention_heads(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                     const float* v, int64_t n_kv, float* out) {
  static const AttentionHeadsFn kBest = best_variant(attention_heads_variants(), attention_heads_generic);
  const int group = shape.n_head / shape.n_head_kv;
  JF_CHECK(n_kv >= 1 && h_begin < h_end && h_begin / group == (h_end - 1) / group);
  kBest(shape, h_begin, h_end, q, k, v, n_kv, out);
}

const std::vector<OpVariant<SoftmaxFn>>& softmax_variants() {
  static const auto kVariants = [] {
    OpEntryPoints<SoftmaxFn> e;
#if defined(JITFLOW_SIMD_X86)
    e.avx512 = softmax_avx512;
    e.avx2 = softmax_avx2;
#elif defined(JITFLOW_SIMD_NEON)
    e.neon = softmax_neon;
#endif
    return compiled_variants(e);
  }();
  return kVariants;
}

void softmax(float* x, int64_t n) {
  static const SoftmaxFn kBest = best_variant(softmax_variants(), softmax_ref);
  kBest(x, n);
}

}  // namespace jf
