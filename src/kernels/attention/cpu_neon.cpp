// Softmax and attention on NEON (built with this ISA's flags, called only where the CPU has it).
#include "kernels/attention/kernels.h"

namespace jf {

void softmax_neon(float* x, int64_t n) {
  softmax_simd<simd::NeonF32>(x, n);
}

void attention_heads_neon(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                          const float* v, int64_t n_kv, float* out) {
  attention_heads_simd<simd::NeonF32>(shape, h_begin, h_end, q, k, v, n_kv, out);
}

void attention_rows_neon(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                         int64_t q_stride, int n_q, const float* k, const float* v, const int64_t* n_kv,
                         float* out, int64_t out_stride) {
  attention_rows_simd<simd::NeonF32>(shape, h_begin, h_end, q, q_stride, n_q, k, v, n_kv, out, out_stride);
}

}  // namespace jf
