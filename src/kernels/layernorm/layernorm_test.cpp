// LayerNorm against its definition, computed in long double, on rows of several widths and
// offsets (a large mean is where a one-pass variance would lose the digits).
#include "kernels/layernorm/layernorm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

void expect_matches_definition(const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>* b, float eps) {
  const int64_t n = static_cast<int64_t>(x.size());
  long double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= n;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= n;
  std::vector<float> y(x.size());
  layernorm(x.data(), w.data(), b != nullptr ? b->data() : nullptr, y.data(), n, eps);
  for (int64_t i = 0; i < n; ++i) {
    const long double want = (x[i] - mean) / std::sqrt(var + eps) * w[i] + (b != nullptr ? (*b)[i] : 0.0f);
    EXPECT_NEAR(y[i], static_cast<double>(want), 2e-5 * std::max(1.0, std::fabs(static_cast<double>(want))))
        << "n=" << n << " i=" << i;
  }
}

TEST(Layernorm, MatchesDefinition) {
  for (int64_t n : {1, 7, 64, 768, 1031}) {
    for (float offset : {0.0f, 100.0f}) {
      auto x = test::random_floats(n, -2.0f, 2.0f, static_cast<uint32_t>(n));
      for (float& v : x) v += offset;
      const auto w = test::random_floats(n, 0.5f, 1.5f, static_cast<uint32_t>(n + 1));
      const auto b = test::random_floats(n, -1.0f, 1.0f, static_cast<uint32_t>(n + 2));
      expect_matches_definition(x, w, &b, 1e-5f);
      expect_matches_definition(x, w, nullptr, 1e-12f);
    }
  }
}

TEST(Layernorm, InPlaceAndConstantRow) {
  std::vector<float> x(16, 3.0f), w(16, 2.0f), b(16, 0.5f);
  layernorm(x.data(), w.data(), b.data(), x.data(), 16, 1e-5f);
  for (float v : x) EXPECT_FLOAT_EQ(v, 0.5f);  // zero deviation: only the bias remains
}

}  // namespace
}  // namespace jf
