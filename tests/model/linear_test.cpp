// The linear seam: row-major weights ignore the active set (their dense kernels already give the
// product on the masked input); channel-major weights take the gathered kernel with an active set
// and the dense channel-major kernel without, both against a double-precision reference, for F32,
// F16, Q8_0 and Q4_0; biases; the shared-input call with mixed layouts; the bytes-read counter.
#include "model/linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "runtime/kernel_select.h"
#include "tensor/channel_major.h"
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

// A channel-major weight [n_rows x n_cols] of `dtype` (n_rows a multiple of 32), with its values.
Weight make_cm_weight(DType dtype, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  const size_t channel = channel_bytes(dtype, n_rows);
  Weight w;
  w.bytes = AlignedBuffer(channel * n_cols);
  w.values.resize(n_rows * n_cols);
  std::vector<float> src(n_rows), values(n_rows);
  for (int64_t c = 0; c < n_cols; ++c) {
    for (float& v : src) v = normal(rng);
    uint8_t* dst = reinterpret_cast<uint8_t*>(w.bytes.data()) + c * channel;
    quantize_channel(dtype, src.data(), n_rows, dst);
    dequantize_channel(dtype, dst, n_rows, values.data());
    for (int64_t r = 0; r < n_rows; ++r) w.values[r * n_cols + c] = values[r];
  }
  TensorView& t = w.linear.weight;
  t.name = "w";
  t.dtype = dtype;
  t.n_rows = n_rows;
  t.n_cols = n_cols;
  t.layout = WeightLayout::channel_major;
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

// x zeroed outside `channels`, token after token.
std::vector<float> masked(const std::vector<float>& x, int64_t n_cols, const std::vector<int32_t>& channels) {
  std::vector<float> out(x.size(), 0.0f);
  for (size_t t = 0; t < x.size() / n_cols; ++t) {
    for (int32_t ch : channels) out[t * n_cols + ch] = x[t * n_cols + ch];
  }
  return out;
}

// y = W · x in double over the weight's values, token after token.
std::vector<float> exact_product(const Weight& w, const std::vector<float>& x, int64_t n_tokens) {
  const int64_t n_rows = w.linear.weight.n_rows, n_cols = w.linear.weight.n_cols;
  std::vector<float> y(n_tokens * n_rows);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < n_rows; ++r) {
      double sum = 0;
      for (int64_t c = 0; c < n_cols; ++c) sum += static_cast<double>(w.values[r * n_cols + c]) * x[t * n_cols + c];
      y[t * n_rows + r] = static_cast<float>(sum);
    }
  }
  return y;
}

class LinearTest : public testing::TestWithParam<Case> {
 protected:
  ThreadPool pool_{2};
  KernelSelector kernels_;
  LinearRunner linears_{pool_, kernels_};
};

// k = 576: a packed x16 group of 512 and a tail; 37 rows: not a multiple of any row tile. The active
// set changes nothing for a row-major weight.
TEST_P(LinearTest, RowMajorIgnoresTheActiveSet) {
  const Case c = GetParam();
  const int64_t n_rows = 37, n_cols = 576;
  const Weight w = make_weight(c.dtype, n_rows, n_cols, 1);
  const std::vector<int32_t> channels = random_channels(n_cols, 3);
  const std::vector<float> x = masked(random_input(n_cols, 2), n_cols, channels);
  std::vector<float> dense(n_rows), with_active(n_rows);
  ASSERT_TRUE(linears_.forward(w.linear, x.data(), 1, dense.data()).ok());
  const ActiveChannels active{channels};
  ASSERT_TRUE(linears_.forward(w.linear, x.data(), 1, with_active.data(), &active).ok());
  EXPECT_EQ(with_active, dense);
  EXPECT_LE(max_abs_diff(dense, exact_product(w, x, 1)), c.dense_tolerance * rms(dense));
}

// Channel-major: gathered (active set, one token) and dense (no set, one and several tokens) against
// the double sum. Summing in f32 channel by channel is within (n + 2) 2^-24 of the sum of magnitudes
// (kernels/channel_major/channel_major_test.cpp), bounded here by 1e-6 · rms(y) · n. A gathered
// kernel that quantizes its factors to int8 (CmRounding::int8_factors) rounds as the row-major
// kernels' Q8 activations do: their tolerance (one token, dense or not, runs the gathered kernel).
TEST_P(LinearTest, ChannelMajorGatheredAndDenseMatchExact) {
  const Case c = GetParam();
  const int64_t n_rows = 64, n_cols = 576;
  const Weight w = make_cm_weight(c.dtype, n_rows, n_cols, 4);
  const std::vector<int32_t> channels = random_channels(n_cols, 5);
  const std::vector<float> x = masked(random_input(n_cols, 6), n_cols, channels);
  const std::vector<float> exact = exact_product(w, x, 1);
  const double tolerance = 1e-6 * rms(exact) * static_cast<double>(n_cols);
  const bool int8_factors = cm_gather_rounding(*select_cm_kernel(c.dtype).gather) == CmRounding::int8_factors;
  const double gather_tolerance = int8_factors ? c.dense_tolerance * rms(exact) : tolerance;

  std::vector<float> gathered(n_rows), dense(n_rows);
  const ActiveChannels active{channels};
  const uint64_t before = linears_.bytes_read();
  ASSERT_TRUE(linears_.forward(w.linear, x.data(), 1, gathered.data(), &active).ok());
  EXPECT_EQ(linears_.bytes_read() - before, channels.size() * channel_bytes(c.dtype, n_rows));
  ASSERT_TRUE(linears_.forward(w.linear, x.data(), 1, dense.data()).ok());
  EXPECT_EQ(linears_.bytes_read() - before, (channels.size() + n_cols) * channel_bytes(c.dtype, n_rows));
  EXPECT_LE(max_abs_diff(gathered, exact), gather_tolerance);
  EXPECT_LE(max_abs_diff(dense, exact), gather_tolerance);

  const int64_t n_tokens = 7;
  const std::vector<float> xs = random_input(n_tokens * n_cols, 7);
  const std::vector<float> exact_batch = exact_product(w, xs, n_tokens);
  std::vector<float> batch(n_tokens * n_rows);
  ASSERT_TRUE(linears_.forward(w.linear, xs.data(), n_tokens, batch.data()).ok());
  EXPECT_LE(max_abs_diff(batch, exact_batch), 1e-6 * rms(exact_batch) * static_cast<double>(n_cols));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LinearTest,
                         testing::Values(Case{DType::F32, 1e-5}, Case{DType::F16, 3e-3},
                                         Case{DType::Q8_0, 3e-2}, Case{DType::Q4_0, 3e-2}),
                         [](const testing::TestParamInfo<Case>& p) {
                           return std::string(dtype_name(p.param.dtype));
                         });

// A bias is added on every path; q/k/v through one shared call give what three single calls give.
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
  ASSERT_TRUE(linears.forward({{&q.linear, yq.data()}, {&k.linear, yk.data()}}, x.data(), n_tokens).ok());
  ASSERT_TRUE(linears.forward(q.linear, x.data(), n_tokens, yq1.data()).ok());
  ASSERT_TRUE(linears.forward(k.linear, x.data(), n_tokens, yk1.data()).ok());
  EXPECT_EQ(yq, yq1);
  EXPECT_EQ(yk, yk1);

  std::vector<float> unbiased(yq.size());
  const LinearWeight no_bias{q.linear.weight, {}};
  ASSERT_TRUE(linears.forward(no_bias, x.data(), n_tokens, unbiased.data()).ok());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < 32; ++r) EXPECT_EQ(yq[t * 32 + r], unbiased[t * 32 + r] + bias[r]);
  }

  // A channel-major weight beside a row-major one in one shared call, with a bias, gathered and
  // dense: the bias is added once on each path.
  Weight cm = make_cm_weight(DType::Q8_0, 32, n_cols, 9);
  cm.linear.bias = b;
  const LinearWeight cm_no_bias{cm.linear.weight, {}};
  const std::vector<int32_t> channels = {1, 5, 63};
  const std::vector<float> x1 = masked(std::vector<float>(x.begin(), x.begin() + n_cols), n_cols, channels);
  const ActiveChannels active{channels};
  std::vector<float> ycm(32), ycm_unbiased(32), yk2(16), yk_alone(16);
  ASSERT_TRUE(linears.forward({{&cm.linear, ycm.data()}, {&k.linear, yk2.data()}}, x1.data(), 1, &active).ok());
  ASSERT_TRUE(linears.forward(cm_no_bias, x1.data(), 1, ycm_unbiased.data(), &active).ok());
  ASSERT_TRUE(linears.forward(k.linear, x1.data(), 1, yk_alone.data()).ok());
  EXPECT_EQ(yk2, yk_alone);
  for (size_t i = 0; i < ycm.size(); ++i) EXPECT_EQ(ycm[i], ycm_unbiased[i] + bias[i]);
  std::vector<float> ycm_dense(n_tokens * 32), ycm_dense_unbiased(n_tokens * 32);
  ASSERT_TRUE(linears.forward(cm.linear, x.data(), n_tokens, ycm_dense.data()).ok());
  ASSERT_TRUE(linears.forward(cm_no_bias, x.data(), n_tokens, ycm_dense_unbiased.data()).ok());
  for (size_t i = 0; i < ycm_dense.size(); ++i) EXPECT_EQ(ycm_dense[i], ycm_dense_unbiased[i] + bias[i % 32]);
}

}  // namespace
}  // namespace jf
