// select_kernel: the kdb's winner when there is a usable one, the default otherwise (no file, a
// corrupt file, stale or foreign records, a kernel this build cannot run).
#include "runtime/kernel_select.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kdb/fingerprint.h"
#include "tune/matmul_record.h"
#include "test_env.h"

namespace jf {
namespace {

constexpr int kThreads = 2;
const TensorView kWeights{"w", DType::Q4_0, 512, 64, nullptr};  // 64 rows of 512 columns

std::string temp_kdb_path(const char* name) { return test::temp_path(std::string(name) + ".jsonl"); }

// A kernel for the weights, named by its k_block, that is not the default one at n_tokens.
MatmulKernel other_kernel(int64_t n_tokens, int k_block) {
  const std::string default_name =
      select_default_kernel(kWeights.dtype, kWeights.layout, kWeights.n_rows, kWeights.n_cols, n_tokens).name;
  for (CpuIsa isa : compiled_isas()) {
    MatmulKernel k = resolve_kernel(kWeights.dtype, kWeights.layout, isa,
                                    {.row_tile = 1, .token_tile = 1, .k_block = k_block});
    if (k.valid() && k.name != default_name) return k;
  }
  return {};
}

kdb::Record record_for(const MatmulKernel& kernel, int64_t batch) {
  return tune::matmul_record(
      kernel, tune::matmul_workload(kWeights.dtype, kWeights.n_rows, kWeights.n_cols, batch, kThreads), 100,
      200, 3);
}

std::string default_name(int64_t n_tokens) {
  return select_default_kernel(kWeights.dtype, kWeights.layout, kWeights.n_rows, kWeights.n_cols, n_tokens)
      .name;
}

TEST(KernelSelectTest, WithoutKdbEveryKernelIsTheDefault) {
  KernelSelector selector;
  for (int64_t n : {1, 7, 64, 512}) EXPECT_EQ(selector.select_kernel(kWeights, n).name, default_name(n));
  const std::string path = temp_kdb_path("missing");
  KernelSelector from_missing(kdb::KernelDb::load(path), kThreads);
  EXPECT_EQ(from_missing.n_tuned(), 0);
  EXPECT_EQ(from_missing.select_kernel(kWeights, 1).name, default_name(1));
}

TEST(KernelSelectTest, WinnersByNearestTunedBatch) {
  const MatmulKernel decode = other_kernel(1, 256);
  const MatmulKernel small = other_kernel(16, 0);
  const MatmulKernel large = other_kernel(256, 384);
  ASSERT_TRUE(decode.valid() && small.valid() && large.valid());
  kdb::KernelDb db = kdb::KernelDb::load(temp_kdb_path("winners"));
  ASSERT_TRUE(db.append(record_for(decode, 1)).ok());
  ASSERT_TRUE(db.append(record_for(small, 16)).ok());
  ASSERT_TRUE(db.append(record_for(large, 256)).ok());
  KernelSelector selector(db, kThreads);
  EXPECT_EQ(selector.n_tuned(), 3);
  EXPECT_EQ(selector.select_kernel(kWeights, 1).name, decode.name);
  EXPECT_EQ(selector.select_kernel(kWeights, 2).name, small.name);   // prefill never takes the decode kernel
  EXPECT_EQ(selector.select_kernel(kWeights, 63).name, small.name);  // 63/16 < 256/63
  EXPECT_EQ(selector.select_kernel(kWeights, 65).name, large.name);
  EXPECT_EQ(selector.select_kernel(kWeights, 512).name, large.name);
  // Another shape, another thread count: defaults.
  const TensorView other{"v", DType::Q4_0, 512, 32, nullptr};
  EXPECT_EQ(selector.select_kernel(other, 1).name,
            select_default_kernel(DType::Q4_0, WeightLayout::rows, 32, 512, 1).name);
  KernelSelector one_thread(db, 1);
  EXPECT_EQ(one_thread.select_kernel(kWeights, 1).name, default_name(1));
  // The second call is the cached kernel itself.
  EXPECT_EQ(&selector.select_kernel(kWeights, 63), &selector.select_kernel(kWeights, 63));
}

TEST(KernelSelectTest, DecodeOnlyKdbLeavesPrefillToTheDefault) {
  kdb::KernelDb db = kdb::KernelDb::load(temp_kdb_path("decode_only"));
  ASSERT_TRUE(db.append(record_for(other_kernel(1, 256), 1)).ok());
  KernelSelector selector(db, kThreads);
  EXPECT_EQ(selector.select_kernel(kWeights, 64).name, default_name(64));
}

TEST(KernelSelectTest, UnusableRecordsAreMisses) {
  const MatmulKernel kernel = other_kernel(1, 256);
  kdb::Record stale = record_for(kernel, 1);
  stale.generator = "native-matmul-0";
  kdb::Record unknown = record_for(kernel, 1);
  unknown.canonical_name = "q4_0-f32-matmul-r1t1k256p0__riscv";
  kdb::Record foreign = record_for(kernel, 1);
  foreign.device.cpu_model = "some other CPU";
  foreign.fingerprint = foreign.device.hash();
  for (const kdb::Record& r : {stale, unknown, foreign}) {
    kdb::KernelDb db = kdb::KernelDb::load(temp_kdb_path("unusable"));
    ASSERT_TRUE(db.append(r).ok());
    KernelSelector selector(db, kThreads);
    EXPECT_EQ(selector.n_tuned(), 0) << r.canonical_name;
    EXPECT_EQ(selector.select_kernel(kWeights, 1).name, default_name(1));
  }
}

TEST(KernelSelectTest, CorruptFileIsAMissButGoodLinesCount) {
  const std::string path = temp_kdb_path("corrupt");
  const MatmulKernel kernel = other_kernel(1, 256);
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"v\":1,\"generator\":\n\x01\x02garbage\n"
        << kdb::record_to_json_line(record_for(kernel, 1)) << "\n{";
  }
  KernelSelector selector(kdb::KernelDb::load(path), kThreads);
  EXPECT_EQ(selector.select_kernel(kWeights, 1).name, kernel.name);
  EXPECT_EQ(selector.select_kernel(kWeights, 64).name, default_name(64));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(1000, '\0');
  }
  KernelSelector from_garbage(kdb::KernelDb::load(path), kThreads);
  EXPECT_EQ(from_garbage.select_kernel(kWeights, 1).name, default_name(1));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace jf
