#include <vector>

#include "kernels/channel_major/channel_major.h"
#include "tensor/channel_major.h"

namespace jf {

void cm_gather_ref(const TensorView& w, const float* x, std::span<const int32_t> active, float* y) {
  std::vector<float> values(static_cast<size_t>(w.n_rows));
  std::vector<double> sum(values.size(), 0.0);
  for (const int32_t j : active) {
    dequantize_channel(w.dtype, w.channel(j), w.n_rows, values.data());
    for (int64_t o = 0; o < w.n_rows; ++o) sum[o] += static_cast<double>(x[j]) * values[o];
  }
  for (int64_t o = 0; o < w.n_rows; ++o) y[o] = static_cast<float>(sum[o]);
}

void cm_matmul_ref(const TensorView& w, const float* x, int64_t n_tokens, float* y) {
  std::vector<int32_t> all(static_cast<size_t>(w.n_cols));
  for (int32_t j = 0; j < w.n_cols; ++j) all[j] = j;
  for (int64_t t = 0; t < n_tokens; ++t) cm_gather_ref(w, x + t * w.n_cols, all, y + t * w.n_rows);
}

}  // namespace jf
