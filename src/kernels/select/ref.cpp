#include <algorithm>
#include <cmath>
#include <functional>

#include "base/check.h"
#include "kernels/select/select.h"

namespace jf {

int64_t select_at_least_ref(const float* x, int64_t n, float threshold, int32_t* out) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (std::fabs(x[j]) >= threshold) out[count++] = static_cast<int32_t>(j);
  }
  return count;
}

void select_topk_ref(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& /*scratch*/) {
  JF_CHECK(k >= 1 && k <= n);
  // The k-th largest magnitude; every channel above it is in, and of those equal to it the lowest
  // indices fill what is left.
  std::vector<float> magnitude(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) magnitude[j] = std::fabs(x[j]);
  std::vector<float> order = magnitude;
  std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), std::greater<float>());
  const float kth = order[k - 1];
  int64_t above = 0;
  for (int64_t j = 0; j < n; ++j) above += magnitude[j] > kth;
  int64_t ties_left = k - above;
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (magnitude[j] > kth || (magnitude[j] == kth && ties_left-- > 0))
      out[count++] = static_cast<int32_t>(j);
  }
  JF_CHECK(count == k);
}

}  // namespace jf
