#include "kernels/attention/attention.h"

#include "base/check.h"
#include "kernels/attention/kernels.h"
#include "kernels/registry.h"

namespace jf {

void attention_heads(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                     const float* v, int64_t n_kv, float* out) {
  static const AttentionHeadsFn kBest = select_native<Op::attention_heads>(attention_heads_generic);
  const int group = shape.n_head / shape.n_head_kv;
  JF_CHECK(n_kv >= 1 && h_begin < h_end && h_begin / group == (h_end - 1) / group);
  kBest(shape, h_begin, h_end, q, k, v, n_kv, out);
}

void attention_rows(const AttentionShape& shape, int h_begin, int h_end, const float* q, int64_t q_stride,
                    int n_q, const float* k, const float* v, const int64_t* n_kv, float* out,
                    int64_t out_stride) {
  static const AttentionRowsFn kBest = select_native<Op::attention_rows>(attention_rows_generic);
  JF_CHECK(n_q >= 1 && h_begin < h_end && h_end <= shape.n_head);
  kBest(shape, h_begin, h_end, q, q_stride, n_q, k, v, n_kv, out, out_stride);
}

void softmax(float* x, int64_t n) {
  static const SoftmaxFn kBest = select_native<Op::softmax>(softmax_ref);
  kBest(x, n);
}

}  // namespace jf
