#include "model/moe.h"

#include <algorithm>
#include <numeric>

#include "base/check.h"
#include "kernels/attention/attention.h"

namespace jf {

void route_token(std::span<float> logits, float scale, std::span<ExpertChoice> out) {
  const size_t n = logits.size(), k = out.size();
  JF_CHECK(k >= 1 && k <= n);
  softmax_ref(logits.data(), static_cast<int64_t>(n));
  // A router has a few dozen experts at most: a partial sort of their indices is cheap.
  int32_t order[kMaxExperts];
  JF_CHECK(n <= std::size(order));
  std::iota(order, order + n, 0);
  std::partial_sort(order, order + k, order + n, [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  float sum = 0;
  for (size_t i = 0; i < k; ++i) sum += logits[order[i]];
  sum = std::max(sum, 6.103515625e-5f);  // the smallest normal f16: llama.cpp's clamp
  const float factor = scale != 0 && scale != 1 ? scale : 1.0f;
  for (size_t i = 0; i < k; ++i) out[i] = {order[i], logits[order[i]] / sum * factor};
}

}  // namespace jf
