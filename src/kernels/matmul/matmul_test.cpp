// Every matmul variant and every config of its space against a reference matmul built from
// vec_dot_ref, over odd shapes and special values; the SIMD activation encoders against
// quantize_row byte for byte. Each ISA is its own test case (MatmulIsaTest/avx2, ...), skipped as a
// whole when the CPU lacks it.
//
// Tolerance: |y - y_ref| <= kRelTol * (sum of the magnitudes of the terms that are added up), in
// double: sum_i |x_i| * (|w_i| + |d_i * offset| + |dmin_i * min_i|), where offset is the code offset
// of the type (8 for Q4_0, 128 for Q8_0, 32 for Q6_K) that the SIMD kernels multiply through and take
// back with the activation sums, and dmin * min the K-quant min term that the reference too subtracts
// from the scaled sum. (Relative to sum |w_i * x_i| alone this cannot hold when those terms cancel:
// an all-zero product row then comes out as a rounding residue of the cancelled terms.) The integer
// types compute the same exact integer sums per block as the reference and differ only in the f32
// order of adding the scaled blocks; the float types also round their FMA chains in f32 (K / lanes
// terms: at most 2^-24 * 800 / 8 ~ 6e-6 relative for the K used here).
#include "kernels/matmul/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "kernels/matmul/emit_wasm.h"
#include "kernels/matmul/kernels.h"
#include "kernels/matmul/ref.h"
#include "kernels/registry.h"
#include "kernels/simd/op_test_util.h"
#include "tensor/quant.h"

namespace jf {
namespace {

constexpr double kRelTol = 1e-5;

constexpr DType kAllTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                               DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

enum class Values { gaussian, zeros, outliers, negative, tiny };

std::vector<float> make_activations(int64_t n, uint32_t seed, Values kind) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  switch (kind) {
    case Values::gaussian:
      break;
    case Values::zeros:
      std::fill(x.begin(), x.end(), 0.0f);
      break;
    case Values::outliers:
      for (int64_t i = 0; i < n; i += 97) x[i] = (i % 2 ? -1 : 1) * 3e4f;
      break;
    case Values::negative:
      for (float& v : x) v = -std::fabs(v);
      break;
    case Values::tiny:  // Q8_0 scales underflow to fp16 subnormals or zero
      for (float& v : x) v *= 1e-7f;
      break;
  }
  return x;
}

// A weight matrix of random codes (the full code range, which the quantisers rarely reach) with
// finite scales. Block scale fields are overwritten with fp16 values of magnitude 1e-3..1e-1.
std::vector<uint8_t> make_weights(DType dtype, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(1e-3f, 1e-1f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t n_bytes = row_bytes(dtype, n_cols) * n_rows;
  std::vector<uint8_t> w(n_bytes);
  for (uint8_t& b : w) b = static_cast<uint8_t>(byte(rng));
  auto put_fp16 = [&](size_t offset, float v) {
    const uint16_t h = f32_to_fp16(v);
    std::memcpy(w.data() + offset, &h, 2);
  };
  auto signed_scale = [&] { return (byte(rng) & 1 ? -1 : 1) * scale(rng); };
  const DTypeInfo& info = dtype_info(dtype);
  const size_t n_blocks = n_bytes / info.block_bytes;
  for (size_t b = 0; b < n_blocks; ++b) {
    const size_t at = b * info.block_bytes;
    switch (dtype) {
      case DType::F32: {
        const float v = normal(rng);
        std::memcpy(w.data() + at, &v, 4);
        break;
      }
      case DType::F16:
        put_fp16(at, normal(rng));
        break;
      case DType::BF16: {
        const uint16_t h = f32_to_bf16(normal(rng));
        std::memcpy(w.data() + at, &h, 2);
        break;
      }
      case DType::Q4_1:
      case DType::Q5_1:
      case DType::Q4_K:
      case DType::Q5_K:
        put_fp16(at, signed_scale());
        put_fp16(at + 2, signed_scale());
        break;
      case DType::Q6_K:
        put_fp16(at + offsetof(BlockQ6_K, d), signed_scale());
        break;
      default:
        put_fp16(at, signed_scale());
        break;  // Q4_0, Q5_0, Q8_0: d first
    }
  }
  return w;
}

struct Problem {
  DType dtype;
  WeightLayout layout;
  int64_t n_rows, n_cols, n_tokens;
  std::vector<uint8_t> w;       // GGUF rows (what the reference reads)
  std::vector<uint8_t> packed;  // w in `layout` when that is not rows
  std::vector<float> x;
  std::vector<float> y_ref;       // [n_tokens][n_rows]
  std::vector<double> magnitude;  // sum of term magnitudes per output (see the tolerance above)

  TensorView view() const {
    if (layout == WeightLayout::rows) return TensorView{"w", dtype, n_cols, n_rows, w.data()};
    return TensorView{"w", dtype, n_cols, n_rows, packed.data(), layout};
  }
};

// The code offset a kernel may multiply through (see the tolerance).
int code_offset(DType dtype) {
  switch (dtype) {
    case DType::Q4_0:
      return 8;
    case DType::Q5_0:
      return 16;
    case DType::Q8_0:
      return 128;
    case DType::Q6_K:
      return 32;
    default:
      return 0;
  }
}

// Per element of one weight row: |w_i| + |d_i * offset| + |dmin_i * min_i|.
std::vector<double> term_weights(DType dtype, const uint8_t* row, int64_t n_cols) {
  std::vector<double> out(n_cols);
  const DTypeInfo& info = dtype_info(dtype);
  if (info.block_size == 1) {
    std::vector<float> w(n_cols);
    dequantize_row(dtype, row, w.data(), n_cols);
    for (int64_t i = 0; i < n_cols; ++i) out[i] = std::fabs(w[i]);
    return out;
  }
  BlockCodes c;
  for (int64_t b = 0; b < n_cols / info.block_size; ++b) {
    unpack_block(dtype, row + b * info.block_bytes, &c);
    for (uint32_t i = 0; i < info.block_size; ++i) {
      const int s = static_cast<int>(i) / c.sub_size;
      const double scale = static_cast<double>(c.d) * c.scale[s];
      out[b * info.block_size + i] = std::fabs(scale * c.q[i]) + std::fabs(scale * code_offset(dtype)) +
                                     std::fabs(static_cast<double>(c.dmin) * c.min[s]);
    }
  }
  return out;
}

// The reference: quantize_row (the scalar oracle) for the activations, vec_dot_ref per output.
Problem make_problem(DType dtype, WeightLayout layout, int64_t n_rows, int64_t n_cols, int64_t n_tokens,
                     uint32_t seed, Values kind) {
  Problem p{dtype,    layout,
            n_rows,   n_cols,
            n_tokens, make_weights(dtype, n_rows, n_cols, seed),
            {},       make_activations(n_tokens * n_cols, seed + 7, kind),
            {},       {}};
  if (layout != WeightLayout::rows) {
    p.packed.resize(layout_row_bytes(dtype, layout, n_cols) * n_rows);
    pack_rows(dtype, layout, p.w.data(), n_rows, n_cols, p.packed.data());
  }
  const DType x_type = vec_dot_type(dtype);
  const TensorView w{"w", dtype, n_cols, n_rows, p.w.data()};
  std::vector<uint8_t> x_enc(row_bytes(x_type, n_cols));
  std::vector<float> x_deq(n_cols);
  p.y_ref.resize(n_tokens * n_rows);
  p.magnitude.resize(n_tokens * n_rows);
  for (int64_t t = 0; t < n_tokens; ++t) {
    quantize_row(x_type, p.x.data() + t * n_cols, x_enc.data(), n_cols);
    dequantize_row(x_type, x_enc.data(), x_deq.data(), n_cols);
    for (int64_t r = 0; r < n_rows; ++r) {
      const std::vector<double> w_terms = term_weights(dtype, w.row(r), n_cols);
      double m = 0;
      for (int64_t i = 0; i < n_cols; ++i) m += w_terms[i] * std::fabs(x_deq[i]);
      p.y_ref[t * n_rows + r] = vec_dot_ref(dtype, n_cols, w.row(r), x_enc.data());
      p.magnitude[t * n_rows + r] = m;
    }
  }
  return p;
}

// Runs `kernel` on `p` and returns how many outputs are out of tolerance (reporting the first).
int count_mismatches(const Problem& p, const MatmulKernel& kernel, ThreadPool& pool, MatmulScratch& scratch) {
  std::vector<float> y(p.n_tokens * p.n_rows, std::nanf(""));
  matmul(p.view(), p.x.data(), p.n_tokens, y.data(), pool, scratch, kernel);
  int bad = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(static_cast<double>(y[i]) - p.y_ref[i]);
    if (!(err <= kRelTol * p.magnitude[i])) {
      if (bad++ == 0) {
        ADD_FAILURE() << kernel.name << " rows=" << p.n_rows << " cols=" << p.n_cols
                      << " tokens=" << p.n_tokens << " token " << i / p.n_rows << " row " << i % p.n_rows
                      << ": got " << y[i] << ", want " << p.y_ref[i] << " (term magnitude " << p.magnitude[i]
                      << ")";
      }
    }
  }
  return bad;
}

// A case per compiled ISA (test::begin_isa_case skips the ones this CPU lacks).
class MatmulIsaTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override { test::begin_isa_case(GetParam()); }
};

// Columns that exercise one block, a k_block boundary that is not a tile multiple, and a remainder
// of the float vector width (x16: a padded group, and k blocks of whole groups before it).
std::vector<int64_t> odd_cols(DType dtype, WeightLayout layout) {
  const int64_t block = dtype_info(dtype).block_size;
  if (layout == WeightLayout::x16)
    return block == kQK_K ? std::vector<int64_t>{256, 768, 1280} : std::vector<int64_t>{32, 800, 1568};
  if (block == 1) return {5, 777};
  if (block == kQK) return {32, 800};
  return {256, 768};
}

// Every runnable config of every variant: each compiled tile with each k_block shorter than the
// row and each prefetch distance (a superset of what enumerate_space keeps for any machine).
std::vector<MatmulConfig> runnable_configs(DType dtype, WeightLayout layout, CpuIsa isa, int64_t n_cols) {
  std::vector<MatmulConfig> out;
  for (const MatmulConfig& c : candidate_configs()) {
    if (c.k_block < n_cols && resolve_kernel(dtype, layout, isa, c).valid()) out.push_back(c);
  }
  return out;
}

TEST_P(MatmulIsaTest, EveryConfigMatchesReference) {
  const CpuIsa isa = GetParam();
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (const KernelArtifact* kernel : kernels_of(Op::matmul, isa)) {
    const DType dtype = kernel->key.dtype;
    const WeightLayout layout = kernel->key.layout;
    for (int64_t n_cols : odd_cols(dtype, layout)) {
      const std::vector<MatmulConfig> configs = runnable_configs(dtype, layout, isa, n_cols);
      for (auto [n_rows, n_tokens] : {std::pair<int64_t, int64_t>{67, 17}, {7, 5}}) {
        const Problem p = make_problem(dtype, layout, n_rows, n_cols, n_tokens, 11, Values::gaussian);
        for (const MatmulConfig& c : configs) {
          const MatmulKernel k = resolve_kernel(dtype, layout, isa, c);
          EXPECT_EQ(count_mismatches(p, k, pool, scratch), 0) << k.name;
        }
      }
    }
  }
}

// GGUF rows, and the layout the loader packs `dtype` into when that differs.
std::vector<WeightLayout> layouts_to_test(DType dtype) {
  if (preferred_layout(dtype) == WeightLayout::rows) return {WeightLayout::rows};
  return {WeightLayout::rows, preferred_layout(dtype)};
}

// The default kernel of each type, in GGUF rows and in the layout the loader packs into, over
// prime row counts, token counts 1..64 and special values.
TEST(MatmulTest, DefaultKernelOddShapesAndSpecialValues) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  for (DType dtype : kAllTypes) {
    for (WeightLayout layout : layouts_to_test(dtype)) {
      for (int64_t n_cols : odd_cols(dtype, layout)) {
        for (int64_t n_rows : {1, 3, 7, 67}) {
          for (int64_t n_tokens : {1, 2, 5, 17, 64}) {
            for (Values kind :
                 {Values::gaussian, Values::zeros, Values::outliers, Values::negative, Values::tiny}) {
              if (kind != Values::gaussian && n_tokens > 5) continue;
              const Problem p = make_problem(dtype, layout, n_rows, n_cols, n_tokens, 3, kind);
              const MatmulKernel k = select_default_kernel(dtype, layout, n_rows, n_cols, n_tokens);
              EXPECT_EQ(count_mismatches(p, k, pool, scratch), 0)
                  << k.name << " values " << static_cast<int>(kind);
            }
          }
        }
      }
    }
  }
}

// In WebAssembly F16 and BF16 matrices are widened to F32 unless the widened weights would take more
// than kMaxWidenedWeightBytes; natively, and for the other types, every type stays as it is.
TEST(MatmulTest, ResidentDtype) {
  for (DType dtype : kAllTypes) {
#if defined(JITFLOW_SIMD_WASM)
    const DType widened = dtype == DType::F16 || dtype == DType::BF16 ? DType::F32 : dtype;
#else
    const DType widened = dtype;
#endif
    EXPECT_EQ(resident_dtype(dtype, 0), widened) << dtype_name(dtype);
    EXPECT_EQ(resident_dtype(dtype, kMaxWidenedWeightBytes), widened) << dtype_name(dtype);
    EXPECT_EQ(resident_dtype(dtype, kMaxWidenedWeightBytes + 1), dtype) << dtype_name(dtype);
  }
}

// Rows are split between threads, never sums: any thread count gives the same bits.
TEST(MatmulTest, ThreadCountDoesNotChangeResults) {
  ThreadPool one(1), three(3);
  MatmulScratch scratch;
  for (DType dtype : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16}) {
    const WeightLayout layout = preferred_layout(dtype);
    const Problem p = make_problem(dtype, layout, 67, odd_cols(dtype, layout)[1], 9, 5, Values::gaussian);
    const MatmulKernel k = select_default_kernel(dtype, layout, p.n_rows, p.n_cols, p.n_tokens);
    std::vector<float> y1(p.n_tokens * p.n_rows), y3(y1.size());
    matmul(p.view(), p.x.data(), p.n_tokens, y1.data(), one, scratch, k);
    matmul(p.view(), p.x.data(), p.n_tokens, y3.data(), three, scratch, k);
    EXPECT_EQ(std::memcmp(y1.data(), y3.data(), y1.size() * sizeof(float)), 0) << k.name;
  }
}

// matmul_shared_input gives each output the bits matmul() gives it, with one shared encoding (Q, K,
// V of one type, different row counts) and without (types that encode X differently).
TEST(MatmulTest, SharedInputEqualsSeparateProducts) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  const int64_t n_cols = 1280, n_tokens = 5;  // whole Q6_K blocks, half an x16 group at the end
  for (const std::vector<DType>& types :
       {std::vector<DType>{DType::Q4_0, DType::Q4_0, DType::Q4_0}, {DType::Q4_0, DType::Q6_K, DType::F16}}) {
    std::vector<Problem> problems;
    for (size_t i = 0; i < types.size(); ++i) {
      const WeightLayout layout = preferred_layout(types[i]);
      problems.push_back(make_problem(types[i], layout, 37 + 16 * static_cast<int64_t>(i), n_cols, n_tokens,
                                      9, Values::gaussian));
    }
    std::vector<TensorView> views;
    std::vector<MatmulKernel> kernels;
    std::vector<std::vector<float>> separate, shared;
    for (const Problem& p : problems) {
      views.push_back(p.view());
      kernels.push_back(select_default_kernel(p.dtype, p.layout, p.n_rows, n_cols, n_tokens));
      separate.emplace_back(n_tokens * p.n_rows);
      shared.emplace_back(n_tokens * p.n_rows, std::nanf(""));
    }
    std::vector<MatmulOutput> outputs;
    for (size_t i = 0; i < problems.size(); ++i) {
      matmul(views[i], problems[0].x.data(), n_tokens, separate[i].data(), pool, scratch, kernels[i]);
      outputs.push_back({&views[i], &kernels[i], shared[i].data()});
    }
    matmul_shared_input(outputs, problems[0].x.data(), n_tokens, pool, scratch);
    for (size_t i = 0; i < problems.size(); ++i) {
      EXPECT_EQ(std::memcmp(separate[i].data(), shared[i].data(), separate[i].size() * sizeof(float)), 0)
          << kernels[i].name;
    }
  }
}

// The activation encoder of `isa`, or null where it has none of its own.
QuantizeActivationFn activation_encoder(CpuIsa isa) {
  if (isa == CpuIsa::scalar) {
    return [](DType t, const float* x, void* dst, int64_t n) {
      quantize_activation_row(t, x, dst, n);
      return true;
    };
  }
  const std::vector<const KernelArtifact*> encoders = kernels_of(Op::quantize_activation, isa);
  return encoders.empty() ? nullptr : encoders[0]->native<Op::quantize_activation>();
}

// The SIMD encoders write exactly quantize_row's bytes (codes, fp16/f32 scales, sums).
TEST_P(MatmulIsaTest, ActivationEncodersAreByteIdentical) {
  const CpuIsa isa = GetParam();
  const QuantizeActivationFn quantize = activation_encoder(isa);
  if (quantize == nullptr) GTEST_SKIP() << isa_name(isa) << " has no activation encoder of its own";
  for (DType type : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16}) {
    for (Values kind :
         {Values::gaussian, Values::zeros, Values::outliers, Values::negative, Values::tiny}) {
      for (uint32_t seed = 1; seed <= 20; ++seed) {
        const int64_t n = 4096;
        std::vector<float> x = make_activations(n, seed, kind);
        if (seed % 2 == 0) {  // ties of the largest magnitude with both signs: the first one wins
          x[300] = -50.0f;
          x[301] = 50.0f;
        }
        if (seed % 3 == 0) {  // values on rounding midpoints of the codes
          for (int64_t i = 0; i < n; ++i) x[i] = std::round(x[i] * 4) / 4;
        }
        std::vector<uint8_t> want(row_bytes(type, n)), got(want.size(), 0xAB);
        quantize_row(type, x.data(), want.data(), n);
        ASSERT_TRUE(quantize(type, x.data(), got.data(), n));
        ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size()), 0)
            << isa_name(isa) << " " << dtype_name(type) << " values " << static_cast<int>(kind) << " seed "
            << seed;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, MatmulIsaTest, ::testing::ValuesIn(compiled_isas().begin(), compiled_isas().end()),
                         [](const ::testing::TestParamInfo<CpuIsa>& p) { return std::string(isa_name(p.param)); });

// JITFLOW_MAX_ISA caps the ISAs (ctest runs this once with the cap at avx2 and once at scalar; the
// AArch64 script at neon): no ISA above the cap (before it in compiled_isas()) is reported and no
// default kernel uses one.
TEST(MatmulTest, IsaCapFromEnvironment) {
  const char* cap = std::getenv("JITFLOW_MAX_ISA");
  if (cap == nullptr) GTEST_SKIP() << "JITFLOW_MAX_ISA is not set";
  const std::span<const CpuIsa> isas = compiled_isas();  // fastest first
  const auto max =
      std::find_if(isas.begin(), isas.end(), [&](CpuIsa isa) { return std::string(cap) == isa_name(isa); });
  ASSERT_NE(max, isas.end()) << cap << " is not an ISA of this build";
  for (auto above = isas.begin(); above != max; ++above)
    EXPECT_FALSE(cpu_has_isa(*above)) << isa_name(*above);
  for (DType dtype : kAllTypes) {
    const MatmulKernel k = select_default_kernel(dtype, preferred_layout(dtype), 64, 2048, 1);
    EXPECT_NE(std::find(max, isas.end(), k.family->isa), isas.end()) << k.name;
  }
}

// The space: rules prune, the defaults are inside it, invalid configs do not resolve.
TEST(MatmulSpaceTest, RulesAndDefaults) {
  VariantInfo info;
  constexpr WeightLayout kRows = WeightLayout::rows;
  ASSERT_TRUE(variant_info(DType::Q4_0, kRows, CpuIsa::scalar, &info));
  EXPECT_FALSE(variant_info(DType::Q4_0, WeightLayout::x16, CpuIsa::scalar, &info));          // rows only
  EXPECT_FALSE(resolve_kernel(DType::Q4_0, kRows, CpuIsa::scalar, {.row_tile = 2}).valid());  // not compiled
  EXPECT_FALSE(
      resolve_kernel(DType::Q4_K, kRows, CpuIsa::scalar, {.k_block = 512 + 32}).valid());          // multiple
  EXPECT_FALSE(resolve_kernel(DType::Q4_0, kRows, CpuIsa::scalar, {.prefetch_rows = 4}).valid());  // prefetch
  EXPECT_TRUE(resolve_kernel(DType::Q4_0, kRows, CpuIsa::scalar, {.k_block = 512}).valid());

  // A 16-register machine cannot hold a 4 x 4 tile of accumulators plus operands; 32 registers can.
  const VariantInfo quant{.k_step = 32,
                          .regs_fixed = 4,
                          .regs_per_token = 1,
                          .x_bytes_per_col = 1.25,
                          .tile_mask = 0xFFFF,
                          .prefetches = true};
  const MatmulShape prefill{DType::Q4_0, 2048, 2048, 64, 2};
  const MatmulConfig c44{.row_tile = 4, .token_tile = 4};
  EXPECT_FALSE(is_valid(prefill, quant, c44, {.n_vec_regs = 16}));
  EXPECT_TRUE(is_valid(prefill, quant, c44, {.n_vec_regs = 32}));
  // L1: 8 rows of 5632 F16 columns (11 KiB each) exceed 32 KiB, 2 rows do not; with one token
  // tile nothing is reused and the rule does not apply.
  const VariantInfo floats{.k_step = 1, .regs_fixed = 2, .tile_mask = 0xFFFF};
  const MatmulShape wide{DType::F16, 2048, 5632, 64, 2};
  EXPECT_FALSE(is_valid(wide, floats, {.row_tile = 8, .token_tile = 2}, {.l1d_bytes = 32768}));
  EXPECT_TRUE(is_valid(wide, floats, {.row_tile = 2, .token_tile = 2}, {.l1d_bytes = 32768}));
  EXPECT_TRUE(is_valid({DType::F16, 2048, 5632, 2, 2}, floats, {.row_tile = 8, .token_tile = 2},
                       {.l1d_bytes = 32768}));
  // L2: split K only when the activation panel does not fit.
  EXPECT_FALSE(
      is_valid(prefill, quant, {.row_tile = 2, .token_tile = 2, .k_block = 512}, {.l2_bytes = 1 << 20}));
  EXPECT_TRUE(
      is_valid(prefill, quant, {.row_tile = 2, .token_tile = 2, .k_block = 512}, {.l2_bytes = 64 << 10}));
  EXPECT_FALSE(is_valid(prefill, quant, {.row_tile = 2, .token_tile = 2}, {.l2_bytes = 64 << 10}));
  // No duplicates: a token tile larger than the tokens, a k block as long as the row.
  const MatmulShape decode{DType::Q4_0, 2048, 2048, 1, 2};
  EXPECT_FALSE(is_valid(decode, quant, {.row_tile = 4, .token_tile = 2}, {}));
  EXPECT_FALSE(is_valid(decode, quant, {.row_tile = 4, .k_block = 2048}, {}));
  // Prefetch: rows beyond the tile, not inside it.
  EXPECT_TRUE(is_valid(decode, quant, {.row_tile = 4, .prefetch_rows = 4}, {}));
  EXPECT_FALSE(is_valid(decode, quant, {.row_tile = 8, .prefetch_rows = 4}, {}));

  // The default of each type on TinyLlama shapes is in the pruned space of the machine.
  for (DType dtype : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16, DType::F32}) {
    for (int64_t n_tokens : {1, 64}) {
      const MatmulKernel k = select_default_kernel(dtype, preferred_layout(dtype), 2048, 2048, n_tokens);
      const MatmulShape shape{dtype, 2048, 2048, n_tokens, 2};
      EXPECT_TRUE(is_valid(shape, k.family->info, k.config, nominal_limits(k.family->isa))) << k.name;
      const std::vector<MatmulConfig> space =
          enumerate_space(shape, k.family->info, nominal_limits(k.family->isa));
      EXPECT_GE(space.size(), 1u) << k.name;
      EXPECT_LE(space.size(), 128u) << k.name;
    }
  }
}

// The emitter's names parse back to their configs; nothing else parses.
TEST(MatmulEmittedWasmSpaceTest, NamesRoundTrip) {
  for (DType dtype : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    const std::vector<WasmMatmulConfig> full = wasm_matmul_full_space(dtype);
    EXPECT_EQ(full.size(), 96u);
    for (const WasmMatmulConfig& c : full) {
      DType parsed_type;
      WasmMatmulConfig parsed;
      ASSERT_TRUE(parse_wasm_matmul_name(wasm_matmul_name(dtype, c), &parsed_type, &parsed))
          << wasm_matmul_name(dtype, c);
      EXPECT_EQ(parsed_type, dtype);
      EXPECT_EQ(parsed, c);
    }
  }
  DType t;
  WasmMatmulConfig c;
  for (const char* other : {"q4_0-f32-matmul-r4t1k0p0__avx2", "q4_0-f32-matmul-r3t1u1__wasm_emit",
                            "q6_k-f32-matmul-r1t1u1__wasm_emit", "q4_0-f32-matmul-r1t1u1__wasm_emitx", ""}) {
    EXPECT_FALSE(parse_wasm_matmul_name(other, &t, &c)) << other;
  }
}

// Pruning: token tiles no larger than the tokens need, register tiles within the registers, relaxed
// variants only where the engine runs them.
TEST(MatmulEmittedWasmSpaceTest, PruningRules) {
  const WasmSpaceLimits none{0, false, false}, sixteen{16, true, false}, all{16, true, true};
  for (DType dtype : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    const std::vector<WasmMatmulConfig> decode = wasm_matmul_space(dtype, 1, sixteen);
    ASSERT_FALSE(decode.empty());
    for (const WasmMatmulConfig& c : decode) {
      EXPECT_EQ(c.token_tile, 1);
      EXPECT_TRUE(!c.relaxed || dtype != DType::Q4_0);  // Q4_0's relaxed kernel needs the dot
    }
    EXPECT_LT(wasm_matmul_space(dtype, 64, sixteen).size(), wasm_matmul_space(dtype, 64, {0, true, true}).size());
    for (const WasmMatmulConfig& c : wasm_matmul_space(dtype, 64, none)) EXPECT_FALSE(c.relaxed);
    for (const WasmMatmulConfig& c : wasm_matmul_space(dtype, 3, all)) EXPECT_LE(c.token_tile, 4);
    // 8 x 8 accumulators never fit 16 registers; 1 x 1 always does.
    const std::vector<WasmMatmulConfig> prefill = wasm_matmul_space(dtype, 64, all);
    EXPECT_TRUE(std::none_of(prefill.begin(), prefill.end(),
                             [](const WasmMatmulConfig& c) { return c.row_tile * c.token_tile == 64; }));
    EXPECT_TRUE(std::any_of(prefill.begin(), prefill.end(),
                            [](const WasmMatmulConfig& c) { return c.row_tile * c.token_tile == 1; }));
  }
}

#if defined(__EMSCRIPTEN__)
// Emitted Wasm tiles (emit_wasm.h): every config of the emitter, plain and relaxed, through the same
// driver and checks as the compiled variants. Three threads: each worker installs the module into
// its own function table before it runs the tiles.
TEST(MatmulEmittedWasmTest, EveryConfigMatchesReference) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  for (DType dtype : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    for (int64_t n_cols : odd_cols(dtype, WeightLayout::rows)) {
      for (auto [n_rows, n_tokens] : {std::pair<int64_t, int64_t>{67, 17}, {7, 5}}) {
        const Problem p = make_problem(dtype, WeightLayout::rows, n_rows, n_cols, n_tokens, 11, Values::gaussian);
        for (int row_tile : {1, 2, 4, 8}) {
          for (int token_tile : {1, 2, 4}) {
            for (int unroll : {1, 2, 4}) {
              for (bool relaxed : {false, true}) {
                const Result<MatmulKernel> k = load_wasm_matmul(dtype, {row_tile, token_tile, unroll, relaxed});
                if (relaxed && k.status().code() == StatusCode::kUnsupported) continue;  // the engine's (Node 20)
                ASSERT_TRUE(k.ok()) << k.status().to_string();
                EXPECT_EQ(count_mismatches(p, *k, pool, scratch), 0) << k->name;
              }
            }
          }
        }
      }
    }
  }
}

// Special values (zero rows, outliers, fp16 subnormal activation scales) and k blocks shorter than
// the row (accumulate), on the largest tiles.
TEST(MatmulEmittedWasmTest, SpecialValuesAndKBlocks) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (DType dtype : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    const int64_t n_cols = odd_cols(dtype, WeightLayout::rows).back();
    for (bool relaxed : {false, true}) {
      Result<MatmulKernel> k = load_wasm_matmul(dtype, {8, 4, 2, relaxed});
      if (relaxed && k.status().code() == StatusCode::kUnsupported) continue;  // the engine's (Node 20)
      ASSERT_TRUE(k.ok()) << k.status().to_string();
      for (Values kind : {Values::zeros, Values::outliers, Values::negative, Values::tiny}) {
        const Problem p = make_problem(dtype, WeightLayout::rows, 13, n_cols, 6, 5, kind);
        EXPECT_EQ(count_mismatches(p, *k, pool, scratch), 0) << k->name << " values " << static_cast<int>(kind);
      }
      k->config.k_block = 2 * kQK;
      const Problem p = make_problem(dtype, WeightLayout::rows, 13, n_cols, 6, 5, Values::gaussian);
      EXPECT_EQ(count_mismatches(p, *k, pool, scratch), 0) << k->name << " k_block 64";
    }
  }
}

// Emitted F16 tiles convert every finite half exactly, in the 8-column steps and in the scalar tail
// (15 columns: one step, then 7): column c of weight row r holds the half r * 15 + c (every finite
// one once, zeros after them), token t is the one-hot row e_t, so y[t][r] is weight (r, t) converted.
TEST(MatmulEmittedWasmTest, F16EveryFiniteHalfConvertsExactly) {
  constexpr int64_t n_cols = 15;
  std::vector<uint16_t> halves;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) != 0x7c00) halves.push_back(static_cast<uint16_t>(h));
  }
  const int64_t n_rows = (static_cast<int64_t>(halves.size()) + n_cols - 1) / n_cols;
  std::vector<uint16_t> w(n_rows * n_cols, 0);
  std::copy(halves.begin(), halves.end(), w.begin());
  std::vector<float> x(n_cols * n_cols, 0.0f);
  for (int64_t t = 0; t < n_cols; ++t) x[t * n_cols + t] = 1.0f;
  const TensorView view{"w", DType::F16, n_cols, n_rows, reinterpret_cast<const uint8_t*>(w.data())};
  ThreadPool pool(2);
  MatmulScratch scratch;
  for (const WasmMatmulConfig& c : {WasmMatmulConfig{1, 1, 1, false}, {4, 8, 2, false}, {8, 4, 4, true}}) {
    Result<MatmulKernel> k = load_wasm_matmul(DType::F16, c);
    if (c.relaxed && k.status().code() == StatusCode::kUnsupported) continue;  // the engine's (Node 20)
    ASSERT_TRUE(k.ok()) << k.status().to_string();
    std::vector<float> y(n_cols * n_rows, std::nanf(""));
    matmul(view, x.data(), n_cols, y.data(), pool, scratch, *k);
    int bad = 0;
    for (int64_t t = 0; t < n_cols; ++t) {
      for (int64_t r = 0; r < n_rows; ++r) {
        const uint16_t h = w[r * n_cols + t];
        const float got = y[t * n_rows + r];
        if (got != fp16_to_f32(h) && bad++ == 0) {
          ADD_FAILURE() << k->name << ": half 0x" << std::hex << h << " gave " << got << ", want "
                        << fp16_to_f32(h);
        }
      }
    }
    EXPECT_EQ(bad, 0) << k->name;
  }
}

TEST(MatmulEmittedWasmTest, UnsupportedTypeAndConfigAreErrors) {
  EXPECT_EQ(load_wasm_matmul(DType::Q6_K, {}).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(load_wasm_matmul(DType::Q4_0, {3, 1, 1, false}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(load_wasm_matmul(DType::Q4_0, {1, 1, 3, false}).status().code(), StatusCode::kInvalidArgument);
}
#endif

}  // namespace
}  // namespace jf
