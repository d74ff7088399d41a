// Our formats against real llama.cpp files: the synthetic models of ../shared/models/synth were made by
// llama-quantize from synth-F32.gguf, so
//   - dequantising each of their tensors must land within the type's error bound of the F32 master
//     (which proves the bit layouts), and
//   - quantising the master must reproduce the legacy types' bytes exactly, and for the K-quants give
//     an error within 1.1x of llama-quantize's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "quant_test_util.h"
#include "tensor/quant.h"
#include "test_paths.h"

namespace jf {
namespace {

constexpr const char* kMaster = "models/synth/synth-F32.gguf";

std::string synth(const std::string& type) {
  return "models/synth/synth-" + type + ".gguf";
}

GgufFile open_or_die(const std::string& relative) {
  auto file = GgufFile::open_path(test::shared_path(relative));
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  return std::move(file).value();
}

std::vector<uint8_t> read_bytes(const GgufFile& file, const TensorInfo& info) {
  std::vector<uint8_t> bytes(info.n_bytes);
  const Status status = file.read_tensor(info, bytes.data());
  EXPECT_TRUE(status.ok()) << status.to_string();
  return bytes;
}

std::vector<float> read_master(const GgufFile& master, const std::string& name) {
  const TensorInfo* info = master.find_tensor(name);
  EXPECT_NE(info, nullptr) << name;
  EXPECT_EQ(info->dtype, DType::F32);
  const std::vector<uint8_t> bytes = read_bytes(master, *info);
  std::vector<float> values(info->n_elements());
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::vector<float> dequantize_tensor(const TensorInfo& info, const std::vector<uint8_t>& bytes) {
  std::vector<float> values(info.n_elements());
  dequantize_row(info.dtype, bytes.data(), values.data(), info.n_elements());
  return values;
}

// Our weight quantiser applied row by row, as llama-quantize does.
std::vector<uint8_t> quantize_tensor(DType dtype, const std::vector<float>& values, int64_t n_cols) {
  const size_t bytes_per_row = row_bytes(dtype, n_cols);
  const int64_t n_rows = static_cast<int64_t>(values.size()) / n_cols;
  std::vector<uint8_t> out(bytes_per_row * n_rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    quantize_weight_row(dtype, values.data() + r * n_cols, out.data() + r * bytes_per_row, n_cols);
  }
  return out;
}

// Every tensor of the file decodes to within its type's bound of the master.
void expect_close_to_master(const std::string& type) {
  const GgufFile master = open_or_die(kMaster);
  const GgufFile file = open_or_die(synth(type));
  ASSERT_EQ(file.tensors().size(), master.tensors().size());
  for (const TensorInfo& info : file.tensors()) {
    SCOPED_TRACE(type + " " + info.name + " " + dtype_name(info.dtype));
    const std::vector<float> want = read_master(master, info.name);
    const std::vector<float> got = dequantize_tensor(info, read_bytes(file, info));
    ASSERT_EQ(got.size(), want.size());
    const int block = static_cast<int>(dtype_info(info.dtype).block_size);
    if (test::is_k_weight(info.dtype)) {
      EXPECT_LE(test::rel_rmse(want.data(), got.data(), want.size()), test::k_max_rel_rmse(info.dtype));
      continue;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      const size_t b = i / block * block;
      ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]),
                test::element_bound(info.dtype, want.data() + b, block, want[i]) + 1e-30)
          << "element " << i;
    }
  }
}

class SynthFileTest : public testing::TestWithParam<const char*> {};

TEST_P(SynthFileTest, DequantisesCloseToTheF32Master) {
  JF_REQUIRE_SHARED(kMaster);
  JF_REQUIRE_SHARED(synth(GetParam()));
  expect_close_to_master(GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllTypes, SynthFileTest,
                         testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K",
                                         "F16", "BF16"));

// Quantising the master reproduces llama-quantize's bytes for every tensor of the file's main type
// (the file's Q6_K output.weight is a K-quant, checked by KQuantErrorIsCloseToLlamaQuantize).
class ByteExactTest : public testing::TestWithParam<std::pair<const char*, DType>> {};

TEST_P(ByteExactTest, QuantisingTheMasterReproducesTheFile) {
  const auto [type, dtype] = GetParam();
  JF_REQUIRE_SHARED(kMaster);
  JF_REQUIRE_SHARED(synth(type));
  const GgufFile master = open_or_die(kMaster);
  const GgufFile file = open_or_die(synth(type));
  int n_checked = 0;
  for (const TensorInfo& info : file.tensors()) {
    if (info.dtype != dtype) continue;
    SCOPED_TRACE(info.name);
    const std::vector<uint8_t> want = read_bytes(file, info);
    const std::vector<uint8_t> got = quantize_tensor(dtype, read_master(master, info.name), info.ne[0]);
    ASSERT_EQ(got.size(), want.size());
    size_t n_diff = 0, first_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i] && n_diff++ == 0) first_diff = i;
    }
    EXPECT_EQ(n_diff, 0u) << "first differing byte " << first_diff << " of " << got.size();
    ++n_checked;
  }
  EXPECT_GE(n_checked, 29);
}

INSTANTIATE_TEST_SUITE_P(LegacyTypes, ByteExactTest,
                         testing::Values(std::pair{"Q4_0", DType::Q4_0}, std::pair{"Q4_1", DType::Q4_1},
                                         std::pair{"Q5_0", DType::Q5_0}, std::pair{"Q5_1", DType::Q5_1},
                                         std::pair{"Q8_0", DType::Q8_0}, std::pair{"F16", DType::F16},
                                         std::pair{"BF16", DType::BF16}));

// Our K-quant search against llama-quantize's on the same tensors: per tensor, our ||error|| may be at
// most 1.1x theirs.
class KQuantErrorTest : public testing::TestWithParam<std::pair<const char*, DType>> {};

TEST_P(KQuantErrorTest, ErrorIsCloseToLlamaQuantize) {
  const auto [type, dtype] = GetParam();
  JF_REQUIRE_SHARED(kMaster);
  JF_REQUIRE_SHARED(synth(type));
  const GgufFile master = open_or_die(kMaster);
  const GgufFile file = open_or_die(synth(type));
  double ours_sum = 0, theirs_sum = 0;
  int n_checked = 0;
  for (const TensorInfo& info : file.tensors()) {
    if (info.dtype != dtype) continue;
    SCOPED_TRACE(info.name);
    const std::vector<float> want = read_master(master, info.name);
    const std::vector<float> theirs = dequantize_tensor(info, read_bytes(file, info));
    const std::vector<uint8_t> our_bytes = quantize_tensor(dtype, want, info.ne[0]);
    std::vector<float> ours(want.size());
    dequantize_row(dtype, our_bytes.data(), ours.data(), static_cast<int64_t>(ours.size()));
    const double ours_err = test::rel_rmse(want.data(), ours.data(), want.size());
    const double theirs_err = test::rel_rmse(want.data(), theirs.data(), want.size());
    EXPECT_LE(ours_err, 1.1 * theirs_err) << "ours " << ours_err << " llama-quantize " << theirs_err;
    ours_sum += ours_err;
    theirs_sum += theirs_err;
    ++n_checked;
  }
  EXPECT_GE(n_checked, 1);
  std::printf("%s %s: mean relative rms error ours %.5f, llama-quantize %.5f (ratio %.3f) over %d tensors\n",
              type, dtype_name(dtype), ours_sum / n_checked, theirs_sum / n_checked, ours_sum / theirs_sum,
              n_checked);
}

INSTANTIATE_TEST_SUITE_P(KQuants, KQuantErrorTest,
                         testing::Values(std::pair{"Q4_K_M", DType::Q4_K}, std::pair{"Q5_K_M", DType::Q5_K},
                                         std::pair{"Q6_K", DType::Q6_K}));

}  // namespace
}  // namespace jf
