// Test helpers shared by the selection kernels' tests and the sparsity tests (model/): activations
// with optional ties and the top-k oracle.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace jf::test {

// n normal activations; with distinct_values > 0, rounded to 1/distinct_values (many ties).
inline std::vector<float> random_row(int64_t n, uint32_t seed, int distinct_values = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) {
    v = normal(rng);
    if (distinct_values > 0) v = std::round(v * distinct_values) / distinct_values;
  }
  return x;
}

// The k channels of largest |x|, ties to the lower index, by a full sort; ascending.
inline std::vector<int32_t> topk_by_sort(const std::vector<float>& x, int64_t k) {
  std::vector<int32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace jf::test
