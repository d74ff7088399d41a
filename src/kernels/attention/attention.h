// Causal multi-head attention of one query token over the KV cache, with grouped-query heads.
//   q:   [n_head, head_dim]                   (already rotated)
//   k,v: [n_kv, kv_stride] rows of the cache; head g occupies [g*head_dim, (g+1)*head_dim)
//   out: [n_head, head_dim]
// Query head h reads KV head h / (n_head / n_head_kv). scores = q·k * scale (+ bias); softmax;
// out = Σ p v.
#pragma once

#include <cstdint>

namespace jf {

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int64_t kv_stride = 0;  // floats between consecutive cache rows
  float scale = 1.0f;     // usually 1/sqrt(head_dim); T5: 1
  // Added to the scaled scores, one row per query head: head h's score of key j gets
  // bias[h * bias_stride + j] (T5's relative-position bias for this query). Null: none.
  const float* bias = nullptr;
  int64_t bias_stride = 0;
  // attention_rows() only: query row i's bias rows start at bias + i * bias_row_stride.
  int64_t bias_row_stride = 0;
};

// Computes query head `h` only (callers spread heads over threads). scores: scratch of n_kv floats.
void attention_head_ref(const AttentionShape& shape, int h, const float* q, const float* k, const float* v,
                        int64_t n_kv, float* out, float* scores);

// Query heads [h_begin, h_end) of one token, which must all read the same KV head, so that its K and
// V rows are read once for all of them (GQA). n_kv >= 1. Keys are taken in blocks with an online
// (flash-attention) softmax: no scratch, and any n_kv. Within float rounding of attention_head_ref:
// the dot products and sums run in another order, the exp is simd/f32.h's (the softmax sum is
// still accumulated in double).
using AttentionHeadsFn = void (*)(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                                  const float* k, const float* v, int64_t n_kv, float* out);

// The fastest variant this CPU runs, chosen once.
void attention_heads(const AttentionShape& shape, int h_begin, int h_end, const float* q, const float* k,
                     const float* v, int64_t n_kv, float* out);

// Several query tokens (prefill): rows i in [0, n_q) of q and out, row i at q + i * q_stride and
// out + i * out_stride, each [n_head, head_dim] as above; query heads [h_begin, h_end) (any heads).
// Row i attends to keys [0, n_kv[i]) of k and v (causal prefill: each row's own count; an encoder:
// all equal), n_kv[i] >= 1. Bias (may be null): head h of row i gets
// bias[h * bias_stride + i * bias_row_stride + j]. Several rows share each block of K and V (the
// rows are vector lanes), with the same online softmax and the same contract as attention_heads.
using AttentionRowsFn = void (*)(const AttentionShape& shape, int h_begin, int h_end, const float* q,
                                 int64_t q_stride, int n_q, const float* k, const float* v,
                                 const int64_t* n_kv, float* out, int64_t out_stride);

// The fastest variant this CPU runs, chosen once.
void attention_rows(const AttentionShape& shape, int h_begin, int h_end, const float* q, int64_t q_stride,
                    int n_q, const float* k, const float* v, const int64_t* n_kv, float* out,
                    int64_t out_stride);

// attention_rows by attention_head_ref, row by row (tests). scores: scratch of max n_kv floats.
void attention_rows_ref(const AttentionShape& shape, int h_begin, int h_end, const float* q, int64_t q_stride,
                        int n_q, const float* k, const float* v, const int64_t* n_kv, float* out,
                        int64_t out_stride, float* scores);

// In-place softmax of x[0..n): exp(x - max) / sum, the sum accumulated in double as ggml does.
void softmax_ref(float* x, int64_t n);

using SoftmaxFn = void (*)(float* x, int64_t n);

// The fastest variant this CPU runs (chosen once), else softmax_ref. Same contract; the exp is
// simd/f32.h's (max relative error 8.3e-8), the sum is accumulated in double.
void softmax(float* x, int64_t n);

}  // namespace jf
