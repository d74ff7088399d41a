#include <cmath>

#include "kernels/attention/attention.h"

namespace jf {

void softmax_ref(float* x, int64_t n) {
  float max_value = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max_value = x[i] > max_value ? x[i] : max_value;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attention_head_ref(const AttentionShape& s, int h, const float* q, const float* k, const float* v,
                        int64_t n_kv, float* out, float* scores) {
  const int group = s.n_head / s.n_head_kv;
  const float* qh = q + static_cast<int64_t>(h) * s.head_dim;
  const int64_t kv_offset = static_cast<int64_t>(h / group) * s.head_dim;
  for (int64_t j = 0; j < n_kv; ++j) {
    const float* kj = k + j * s.kv_stride + kv_offset;
    float dot = 0.0f;
    for (int d = 0; d < s.head_dim; ++d) dot += qh[d] * kj[d];
    scores[j] = dot * s.scale;
    if (s.bias != nullptr) scores[j] += s.bias[h * s.bias_stride + j];
  }
  softmax_ref(scores, n_kv);
  float* oh = out + static_cast<int64_t>(h) * s.head_dim;
  for (int d = 0; d < s.head_dim; ++d) oh[d] = 0.0f;
  for (int64_t j = 0; j < n_kv; ++j) {
    const float* vj = v + j * s.kv_stride + kv_offset;
    const float p = scores[j];
    for (int d = 0; d < s.head_dim; ++d) oh[d] += p * vj[d];
  }
}

void attention_rows_ref(const AttentionShape& s, int h_begin, int h_end, const float* q, int64_t q_stride,
                        int n_q, const float* k, const float* v, const int64_t* n_kv, float* out,
                        int64_t out_stride, float* scores) {
  for (int i = 0; i < n_q; ++i) {
    AttentionShape row = s;
    if (s.bias != nullptr) row.bias = s.bias + i * s.bias_row_stride;
    for (int h = h_begin; h < h_end; ++h)
      attention_head_ref(row, h, q + i * q_stride, k, v, n_kv[i], out + i * out_stride, scores);
  }
}

}  // namespace jf
