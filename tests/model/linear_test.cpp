// The linear seam: the active-channel path against the dense kernels (input zeroed outside the
// active set) and against a double-precision reference, for F32, F16, Q8_0 and Q4_0 weights held as
// the loader holds them; biases; and the shared-input call.
#include "model/linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "runtime/kernel_select.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// A weight [n_rows x n_cols] of `dtype` in the layout the loader would pack it into, with the f32
// values it encodes.
struct Weight {
  AlignedBuffer bytes;
  LinearWeight linear;
  std::vector<float> values;  // dequantized, [n_rows][n_cols]
};

Weight make_weight(DType dtype, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> src(n_rows * n_cols);
  for (float& v : src) v = normal(rng);
  std::vector<uint8_t> rows(row_bytes(dtype, n_cols) * n_rows);
  Weight w;
  w.values.resize(src.size());
  for (int64_t r = 0; r < n_rows; ++r) {
    uint8_t* row = rows.data() + r * row_bytes(dtype, n_cols);
    quantize_weight_row(dtype, src.data() + r * n_cols, row, n_cols);
    dequantize_row(dtype, row, w.values.data() + r * n_cols, n_cols);
  }
  const WeightLayout layout = preferred_layout(dtype);
  w.bytes = AlignedBuffer(layout_row_bytes(dtype, layout, n_cols) * n_rows);
  pack_rows(dtype, layout, rows.data(), n_rows, n_cols, w.bytes.data());
  TensorView& t = w.linear.weight;
  t.name = "w";
  t.dtype = dtype;
  t.n_rows = n_rows;
  t.n_cols = n_cols;
  t.layout = layout;
  t.data = w.bytes.data();
  return w;
}

std::vector<float> random_input(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// About a third of [0, n_cols), ascending; always the first and the last channel.
std::vector<int32_t> random_channels(int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> channels;
  for (int32_t c = 0; c < n_cols; ++c) {
    if (c == 0 || c == n_cols - 1 || rng() % 3 == 0) channels.push_back(c);
  }
  return channels;
}

double rms(const std::vector<float>& v) {
  double sum = 0;
  for (float f : v) sum += static_cast<double>(f) * f;
  return std::sqrt(sum / static_cast<double>(v.size()));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d;
}

struct Case {
  DType dtype;
  double dense_tolerance;  // relative to the rms of y: the dense kernels encode x (F16, Q8_0)
};

class LinearTest : public testing::TestWithParam<Case> {
 protected:
  ThreadPool pool_{2};
  KernelSelector kernels_;
  LinearRunner linears_{pool_, kernels_};
};

// k = 576: a packed x16 group of 512 and a tail; 37 rows: not a multiple of any row tile.
TEST_P(LinearTest, ActiveChannelsMatchDenseOnMaskedInput) {
  const Case c = GetParam();
  const int64_t n_rows = 37, n_cols = 576, n_tokens = 3;
  const Weight w = make_weight(c.dtype, n_rows, n_cols, 1);
  const std::vector<float> x = random_input(n_tokens * n_cols, 2);
  const std::vector<int32_t> channels = random_channels(n_cols, 3);
  std::vector<float> masked(x.size(), 0.0f);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int32_t ch : channels) masked[t * n_cols + ch] = x[t * n_cols + ch];
  }

  std::vector<float> dense(n_tokens * n_rows), sparse(n_tokens * n_rows);
  linears_.forward(w.linear, masked.data(), n_tokens, dense.data());
  const ActiveChannels active{channels};
  linears_.forward(w.linear, masked.data(), n_tokens, sparse.data(), &active);

  // Against the exact sum over the active channels of the weight's values.
  std::vector<float> exact(n_tokens * n_rows);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < n_rows; ++r) {
      double sum = 0;
      for (int32_t ch : channels) sum += static_cast<double>(w.values[r * n_cols + ch]) * x[t * n_cols + ch];
      exact[t * n_rows + r] = static_cast<float>(sum);
    }
  }
  const double scale = rms(exact);
  EXPECT_LE(max_abs_diff(sparse, exact), c.dense_tolerance * scale);
  EXPECT_LE(max_abs_diff(sparse, dense), c.dense_tolerance * scale);
}

TEST_P(LinearTest, EveryChannelActiveIsTheDenseProduct) {
  const Case c = GetParam();
  const int64_t n_rows = 16, n_cols = 64, n_tokens = 1;
  const Weight w = make_weight(c.dtype, n_rows, n_cols, 4);
  const std::vector<float> x = random_input(n_cols, 5);
  std::vector<int32_t> all(n_cols);
  for (int32_t i = 0; i < n_cols; ++i) all[i] = i;
  std::vector<float> dense(n_rows), sparse(n_rows);
  linears_.forward(w.linear, x.data(), n_tokens, dense.data());
  const ActiveChannels active{all};
  linears_.forward(w.linear, x.data(), n_tokens, sparse.data(), &active);
  EXPECT_LE(max_abs_diff(sparse, dense), c.dense_tolerance * rms(dense));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LinearTest,
                         testing::Values(Case{DType::F32, 1e-5}, Case{DType::F16, 3e-3},
                                         Case{DType::Q8_0, 3e-2}, Case{DType::Q4_0, 3e-2}),
                         [](const testing::TestParamInfo<Case>& p) {
                           return std::string(dtype_name(p.param.dtype));
                         });

// A bias is added on both paths; q/k/v through one shared call give what three single calls give.
TEST(LinearSeamTest, BiasAndSharedInput) {
  ThreadPool pool(2);
  KernelSelector kernels;
  LinearRunner linears(pool, kernels);
  const int64_t n_cols = 64, n_tokens = 2;
  Weight q = make_weight(DType::Q8_0, 32, n_cols, 6), k = make_weight(DType::Q8_0, 16, n_cols, 7);
  std::vector<float> bias(32);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = static_cast<float>(i);
  TensorView& b = q.linear.bias;
  b.n_cols = 32;
  b.n_rows = 1;
  b.data = bias.data();
  const std::vector<float> x = random_input(n_tokens * n_cols, 8);

  std::vector<float> yq(n_tokens * 32), yk(n_tokens * 16), yq1(yq.size()), yk1(yk.size());
  linears.forward({{&q.linear, yq.data()}, {&k.linear, yk.data()}}, x.data(), n_tokens);
  linears.forward(q.linear, x.data(), n_tokens, yq1.data());
  linears.forward(k.linear, x.data(), n_tokens, yk1.data());
  EXPECT_EQ(yq, yq1);
  EXPECT_EQ(yk, yk1);

  std::vector<float> unbiased(yq.size());
  const LinearWeight no_bias{q.linear.weight, {}};
  linears.forward(no_bias, x.data(), n_tokens, unbiased.data());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < 32; ++r) EXPECT_EQ(yq[t * 32 + r], unbiased[t * 32 + r] + bias[r]);
  }

  const std::vector<int32_t> channels = {1, 5, 63};
  const ActiveChannels active{channels};
  std::vector<float> masked(n_cols, 0.0f);
  for (int32_t c : channels) masked[c] = x[c];
  std::vector<float> sparse(32), sparse_unbiased(32);
  linears.forward(q.linear, masked.data(), 1, sparse.data(), &active);
  linears.forward(no_bias, masked.data(), 1, sparse_unbiased.data(), &active);
  for (size_t i = 0; i < sparse.size(); ++i) EXPECT_EQ(sparse[i], sparse_unbiased[i] + bias[i % 32]);
}

}  // namespace
}  // namespace jf
