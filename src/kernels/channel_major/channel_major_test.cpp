// The channel-major entries (gather_matvec, cm_matmul), one case per registered entry (dtype and
// ISA), against their references (cm_gather_ref, cm_matmul_ref: double sums of dequantized
// channels), and the gathered matvec against the dense row-major matmul on an input that is zero
// outside the active set.
//
// Tolerance: an entry sums n products (x[j] · d) · q in f32, one after the other; with
// u = 2^-24 that is within (n + 2) · u · Σ_j |x[j] · w[j, o]| of the exact sum (the classic bound
// of recursive summation, two more roundings for the product), which is what `bound` computes per
// output (the references are exact up to one final rounding, covered by the +2; Q4_K's separate sum
// of biases adds one more). Entries that
// quantize the factors x[j] · d to int8 (CmRounding::int8_factors, int8_gather.h) may be
// further off by (m / 254) · Σ_j |code[j, o]| with m the largest |x[j] · d| of the active channels
// (a step's scale is the largest of its channels, at most m), code = w / d the signed code.
#include "kernels/channel_major/channel_major.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/fp16.h"
#include "kernels/matmul/matmul.h"
#include "kernels/registry.h"
#include "kernels/simd/op_test_util.h"
#include "tensor/channel_major.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// A channel-major weight of n_out outputs x n_in inputs with normal random values, and the f32
// values it encodes, [n_in][n_out] (channel after channel).
struct CmWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  TensorView view;
};

CmWeight make_cm_weight(DType dtype, int64_t n_out, int64_t n_in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  CmWeight w;
  const size_t channel = channel_bytes(dtype, n_out);
  w.bytes.resize(channel * n_in);
  w.values.resize(n_out * n_in);
  std::vector<float> src(n_out);
  for (int64_t j = 0; j < n_in; ++j) {
    for (float& v : src) v = normal(rng);
    quantize_channel(dtype, src.data(), n_out, w.bytes.data() + j * channel);
    dequantize_channel(dtype, w.bytes.data() + j * channel, n_out, w.values.data() + j * n_out);
  }
  w.view = {.name = "w", .dtype = dtype, .n_cols = n_in, .n_rows = n_out, .data = w.bytes.data(),
            .layout = WeightLayout::channel_major};
  return w;
}

std::vector<float> random_input(int64_t n, uint32_t seed) {
  return test::random_floats(n, -2.0f, 2.0f, seed);
}

// About `fraction` of [0, n), ascending.
std::vector<int32_t> random_active(int64_t n, double fraction, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u;
  std::vector<int32_t> active;
  for (int32_t j = 0; j < n; ++j) {
    if (u(rng) < fraction) active.push_back(j);
  }
  return active;
}

// The scale d of the block of channel j holding output o (Q4_0 and Q8_0 channels start with their
// blocks' scales, tensor/channel_major.h).
// The addresses of w's channels `channels` (the entries' CmGatherArgs / CmMatmulArgs::channels).
std::vector<const uint8_t*> addresses(const CmWeight& w, std::span<const int32_t> channels) {
  std::vector<const uint8_t*> at;
  for (const int32_t j : channels) at.push_back(w.view.channel(j));
  return at;
}

std::vector<int32_t> all_channels(int64_t n_in) {
  std::vector<int32_t> all(static_cast<size_t>(n_in));
  for (int32_t j = 0; j < n_in; ++j) all[j] = j;
  return all;
}

double block_scale(const CmWeight& w, int64_t j, int64_t o) {
  uint16_t d;
  std::memcpy(&d, w.bytes.data() + j * channel_bytes(w.view.dtype, w.view.n_rows) + 2 * (o / kChannelMajorTile), 2);
  return fp16_to_f32(d);
}

// The constant term of output o's block in channel j: -dmin · min for Q4_K (value = scale · q +
// bias), 0 for the other types.
double block_bias(const CmWeight& w, int64_t j, int64_t o) {
  if (w.view.dtype != DType::Q4_K) return 0;
  const uint8_t* super =
      w.bytes.data() + j * channel_bytes(DType::Q4_K, w.view.n_rows) + (o / kQK_K) * sizeof(BlockQ4_K);
  int scale = 0, min = 0;
  k_scale_min(super + offsetof(BlockQ4_K, scales), static_cast<int>(o % kQK_K / kChannelMajorTile), &scale, &min);
  uint16_t dmin;
  std::memcpy(&dmin, super + offsetof(BlockQ4_K, dmin), 2);
  return -fp16_to_f32(dmin) * min;
}

// Expects |got[o] - want[o]| <= (n + 3) u Σ_j |x[j]| (|w[j, o] - bias| + |bias|) over the channels
// `active` (Q4_K sums the scaled codes and the biases apart, then adds them), plus the factors'
// quantization for int8_factors (header).
void expect_within_bound(const CmWeight& w, const float* x, std::span<const int32_t> active, const float* got,
                         const float* want, const std::string& what, CmRounding rounding = CmRounding::f32) {
  const int64_t n_out = w.view.n_rows;
  const double u = std::ldexp(1.0, -24);
  for (int64_t o = 0; o < n_out; ++o) {
    double magnitude = 0, max_factor = 0, codes = 0;
    for (const int32_t j : active) {
      const double bias = block_bias(w, j, o);
      magnitude += std::fabs(static_cast<double>(x[j])) * (std::fabs(w.values[j * n_out + o] - bias) + std::fabs(bias));
      if (rounding == CmRounding::int8_factors) {
        const double d = block_scale(w, j, o);
        max_factor = std::max(max_factor, std::fabs(x[j] * d));
        codes += d != 0 ? std::fabs(w.values[j * n_out + o] / d) : 0;
      }
    }
    const double bound = (static_cast<double>(active.size()) + 3) * u * magnitude + max_factor / 254 * codes + 1e-30;
    ASSERT_LE(std::fabs(static_cast<double>(got[o]) - want[o]), bound)
        << what << ": output " << o << " is " << got[o] << ", want " << want[o];
  }
}

// Case names: <dtype>_<isa>, e.g. q4_0_avx2 (several entries per ISA).
struct EntryName {
  std::string operator()(const ::testing::TestParamInfo<const KernelArtifact*>& info) const {
    return std::string(dtype_name(info.param->key.dtype)) + "_" + isa_name(info.param->key.isa);
  }
};

constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0, DType::Q4_K};

TEST(ChannelMajorRegistry, EveryIsaHasEveryDtype) {
  for (const CpuIsa isa : compiled_isas()) {
    if (kernels_of(Op::gather_matvec, isa).empty()) continue;  // NEON runs the scalar entries
    for (const DType dtype : kDtypes) {
      for (const Op op : {Op::gather_matvec, Op::cm_matmul}) {
        const KernelArtifact* k = find_kernel({.op = op, .isa = isa, .dtype = dtype, .layout = WeightLayout::channel_major});
        ASSERT_NE(k, nullptr) << op_name(op) << " " << dtype_name(dtype) << " on " << isa_name(isa);
      }
    }
  }
  const KernelArtifact* k = find_kernel(
      {.op = Op::gather_matvec, .isa = CpuIsa::scalar, .dtype = DType::Q4_0, .layout = WeightLayout::channel_major});
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "q4_0cm-f32-gather_matvec__scalar");
}

class GatherTest : public test::KernelTest<Op::gather_matvec> {};

// 4 tiles of outputs, 300 channels; every channels_per_step, active sets from empty to all, and
// output ranges that start past 0.
TEST_P(GatherTest, MatchesReference) {
  const DType dtype = GetParam()->key.dtype;
  const int64_t n_out = 512, n_in = 300;  // two Q4_K super-blocks
  const CmWeight w = make_cm_weight(dtype, n_out, n_in, 1);
  const std::vector<float> x = random_input(n_in, 2);
  for (const double fraction : {0.0, 0.01, 0.3, 0.5, 1.0}) {
    const std::vector<int32_t> active = random_active(n_in, fraction, 3);
    std::vector<float> want(n_out);
    cm_gather_ref(w.view, x.data(), active, want.data());
    const std::vector<const uint8_t*> at = addresses(w, active);
    for (const int step : {1, 2, 4, 8, 16}) {
      const CmGatherArgs g{at.data(), channel_bytes(dtype, n_out), x.data(), active.data(), step, step != 2};
      std::vector<float> got(n_out, NAN);
      fn()(g, 0, static_cast<int64_t>(active.size()), 0, n_out, got.data());
      const std::string what = "active " + std::to_string(active.size()) + ", step " + std::to_string(step);
      expect_within_bound(w, x.data(), active, got.data(), want.data(), what, cm_gather_rounding(*GetParam()));
      std::vector<float> part(n_out, NAN);
      fn()(g, 0, static_cast<int64_t>(active.size()), 64, 96, part.data());
      for (int64_t o = 0; o < n_out; ++o) {
        if (o < 64 || o >= 96) {
          EXPECT_TRUE(std::isnan(part[o])) << what << ": wrote output " << o;
        } else {
          EXPECT_EQ(part[o], got[o]) << what << ": output " << o << " of outputs [64, 96)";
        }
      }
    }
  }
}

// The gathered product equals the dense row-major matmul (F32 rows holding the same values) on the
// input zeroed outside the active set: both within the bound of the exact sum, so within twice it
// of each other.
TEST_P(GatherTest, EqualsDenseRowMajorOnMaskedInput) {
  const DType dtype = GetParam()->key.dtype;
  const int64_t n_out = 256, n_in = 256;
  const CmWeight w = make_cm_weight(dtype, n_out, n_in, 4);
  const std::vector<float> x = random_input(n_in, 5);
  const std::vector<int32_t> active = random_active(n_in, 0.4, 6);
  std::vector<float> masked(n_in, 0.0f);
  for (const int32_t j : active) masked[j] = x[j];

  AlignedBuffer rows(n_out * n_in * sizeof(float));  // W [n_out][n_in], the values of the channels
  float* r = reinterpret_cast<float*>(rows.data());
  for (int64_t o = 0; o < n_out; ++o) {
    for (int64_t j = 0; j < n_in; ++j) r[o * n_in + j] = w.values[j * n_out + o];
  }
  const TensorView dense_w{.name = "w", .dtype = DType::F32, .n_cols = n_in, .n_rows = n_out, .data = r};
  ThreadPool pool(2);
  MatmulScratch scratch;
  std::vector<float> dense(n_out), gathered(n_out);
  matmul(dense_w, masked.data(), 1, dense.data(), pool, scratch,
         select_default_kernel(DType::F32, WeightLayout::rows, n_out, n_in, 1));
  const std::vector<const uint8_t*> at = addresses(w, active);
  const CmGatherArgs g{at.data(), channel_bytes(dtype, n_out), x.data(), active.data(), 4};
  fn()(g, 0, static_cast<int64_t>(active.size()), 0, n_out, gathered.data());

  std::vector<float> exact(n_out);
  cm_gather_ref(w.view, x.data(), active, exact.data());
  expect_within_bound(w, x.data(), active, gathered.data(), exact.data(), "gathered", cm_gather_rounding(*GetParam()));
  expect_within_bound(w, masked.data(), all_channels(n_in), dense.data(), exact.data(), "dense row-major");
}

INSTANTIATE_TEST_SUITE_P(Entry, GatherTest, ::testing::ValuesIn(kernels_of(Op::gather_matvec)), EntryName());

class CmMatmulTest : public test::KernelTest<Op::cm_matmul> {};

// Token counts around the tiles of tokens (2 on AVX2 and scalar, 6 on AVX-512) and output ranges.
TEST_P(CmMatmulTest, MatchesReference) {
  const DType dtype = GetParam()->key.dtype;
  const int64_t n_out = 256, n_in = 200;
  const CmWeight w = make_cm_weight(dtype, n_out, n_in, 7);
  const std::vector<int32_t> all = all_channels(n_in);
  const std::vector<const uint8_t*> at = addresses(w, all);
  for (const int64_t n_tokens : {1, 2, 5, 6, 7, 13}) {
    const std::vector<float> x = random_input(n_tokens * n_in, 8);
    std::vector<float> want(n_tokens * n_out), got(n_tokens * n_out, NAN);
    cm_matmul_ref(w.view, x.data(), n_tokens, want.data());
    const CmMatmulArgs m{at.data(), channel_bytes(dtype, n_out), n_in, n_out, x.data(), n_tokens, got.data()};
    fn()(m, 0, 32);
    fn()(m, 32, n_out);
    for (int64_t t = 0; t < n_tokens; ++t) {
      expect_within_bound(w, x.data() + t * n_in, all, got.data() + t * n_out, want.data() + t * n_out,
                          std::to_string(n_tokens) + " tokens, token " + std::to_string(t));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Entry, CmMatmulTest, ::testing::ValuesIn(kernels_of(Op::cm_matmul)), EntryName());

// The drivers: every config and thread count gives the reference (within the bound); the output
// split is bit-identical to one call of the entry.
TEST(ChannelMajorDriver, ConfigsAndThreadsMatchReference) {
  for (const DType dtype : kDtypes) {
    const int64_t n_out = 768, n_in = 200;  // 24 blocks: a chunk of 16 and part of another
    const CmWeight w = make_cm_weight(dtype, n_out, n_in, 9);
    const std::vector<float> x = random_input(n_in, 10);
    const std::vector<int32_t> active = random_active(n_in, 0.5, 11);
    std::vector<float> want(n_out);
    cm_gather_ref(w.view, x.data(), active, want.data());
    const CmKernel best = select_cm_kernel(dtype);
    ASSERT_TRUE(best.valid()) << dtype_name(dtype);
    for (const int n_threads : {1, 2, 3}) {
      ThreadPool pool(n_threads);
      CmScratch scratch;
      for (const CmSplit split : {CmSplit::outputs, CmSplit::channels}) {
        for (const int64_t out_tile : {32, 96, 1024}) {
          const CmKernel k = resolve_cm_kernel(dtype, best.gather->key.isa, {split, 4, out_tile, out_tile != 96});
          ASSERT_TRUE(k.valid());
          std::vector<float> got(n_out, NAN);
          cm_gather_matvec(w.view, x.data(), active, got.data(), pool, scratch, k);
          expect_within_bound(w, x.data(), active, got.data(), want.data(),
                              std::string(dtype_name(dtype)) + " " + cm_config_name(k.config) + ", " +
                                  std::to_string(n_threads) + " threads",
                              cm_gather_rounding(*k.gather));
        }
      }
      const std::vector<float> xs = random_input(3 * n_in, 12);
      std::vector<float> dense(3 * n_out), dense_ref(3 * n_out);
      cm_matmul(w.view, xs.data(), 3, dense.data(), pool, scratch, best);
      cm_matmul_ref(w.view, xs.data(), 3, dense_ref.data());
      for (int64_t t = 0; t < 3; ++t) {
        expect_within_bound(w, xs.data() + t * n_in, all_channels(n_in), dense.data() + t * n_out,
                            dense_ref.data() + t * n_out, "cm_matmul");
      }
    }
  }
}

// Channels held elsewhere (a streamed weight's load buffers: here a copy with the channels in reverse
// order) give the resident weight's sums bit for bit, gathered and dense.
TEST(ChannelMajorDriver, ChannelsAnywhereGiveTheResidentSums) {
  for (const DType dtype : kDtypes) {
    const int64_t n_out = 256, n_in = 100;
    const CmWeight w = make_cm_weight(dtype, n_out, n_in, 13);
    const size_t channel = channel_bytes(dtype, n_out);
    std::vector<uint8_t> reversed(w.bytes.size());
    std::vector<const uint8_t*> at(static_cast<size_t>(n_in));
    for (int64_t j = 0; j < n_in; ++j) {
      uint8_t* slot = reversed.data() + (n_in - 1 - j) * channel;
      std::memcpy(slot, w.view.channel(j), channel);
      at[j] = slot;
    }
    const std::vector<float> x = random_input(2 * n_in, 14);
    const std::vector<int32_t> active = random_active(n_in, 0.4, 15);
    std::vector<const uint8_t*> active_at;
    for (const int32_t j : active) active_at.push_back(at[j]);
    const CmKernel k = select_cm_kernel(dtype);
    ThreadPool pool(2);
    CmScratch scratch;
    std::vector<float> want(2 * n_out), got(2 * n_out);
    cm_gather_matvec(w.view, x.data(), active, want.data(), pool, scratch, k);
    cm_gather_matvec(CmChannels{dtype, n_out, active_at}, x.data(), active, got.data(), pool, scratch, k);
    EXPECT_EQ(got, want) << dtype_name(dtype) << " gather";
    cm_matmul(w.view, x.data(), 2, want.data(), pool, scratch, k);
    cm_matmul(CmChannels{dtype, n_out, at}, x.data(), 2, got.data(), pool, k);
    EXPECT_EQ(got, want) << dtype_name(dtype) << " dense";
  }
}

TEST(ChannelMajorDriver, ConfigNamesAndValidity) {
  EXPECT_EQ(cm_config_name({CmSplit::outputs, 4, 1024, false}), "o4t1024");
  EXPECT_EQ(cm_config_name({CmSplit::channels, 8, 256, true}), "c8t256p");
  EXPECT_TRUE(cm_config_valid({CmSplit::outputs, 1, 32}));
  EXPECT_FALSE(cm_config_valid({CmSplit::outputs, 3, 32}));
  EXPECT_FALSE(cm_config_valid({CmSplit::outputs, 4, 48}));
  EXPECT_FALSE(resolve_cm_kernel(DType::Q6_K, CpuIsa::scalar, {}).valid());
}

}  // namespace
}  // namespace jf
