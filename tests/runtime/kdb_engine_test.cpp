// The engine with a kernel database: kernels tuned for stories260K (or forced onto another ISA)
// keep the teacher-forced logits within the golden tolerance of tests/golden/golden_test.cpp, and a
// corrupt kdb runs exactly the default kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "gguf/gguf.h"
#include "jitflow/engine.h"
#include "golden_files.h"
#include "json_lite.h"
#include "kdb/kernel_db.h"
#include "model/hparams.h"
#include "base/log.h"
#include "test_env.h"
#include "test_paths.h"
#include "tune/matmul_record.h"
#include "tune/tuner.h"

namespace jf {
namespace {

using test::ids_of;
using test::read_f32;

constexpr int kThreads = 2;
constexpr float kGoldenMaxAbs = 1e-3f;  // stories260K's tolerance in golden_test.cpp
const char* const kModel = "models/stories260K.gguf";

std::string temp_kdb_path(const char* name) { return test::temp_path(std::string(name) + ".jsonl"); }

std::unique_ptr<Engine> load_engine(bool use_kdb, const std::string& kdb_path) {
  EngineOptions options;
  options.n_threads = kThreads;
  options.n_ctx = 256;
  options.use_kdb = use_kdb;
  options.kdb_path = kdb_path;
  auto engine = Engine::load(test::source_path(kModel), options);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  return engine.ok() ? std::move(*engine) : nullptr;
}

// Teacher-forced logits of every golden prompt, rows concatenated (golden_test.cpp's protocol).
std::vector<float> teacher_forced_logits(Engine& engine, std::vector<float>* golden) {
  std::string err;
  auto tokens = json_lite::parse_file(test::shared_path("golden/stories260K/tokens.json"), &err);
  auto logits = json_lite::parse_file(test::shared_path("golden/stories260K/logits.json"), &err);
  EXPECT_TRUE(tokens && logits) << err;
  std::vector<float> out;
  if (!tokens || !logits) return out;
  for (const auto& file : (*logits)["files"].as_array()) {
    const std::vector<float> want =
        read_f32(test::shared_path("golden/stories260K/" + file["file"].as_string()));
    golden->insert(golden->end(), want.begin(), want.end());
    const std::vector<int32_t> fed = ids_of(file["fed_tokens"]);
    auto session = engine.new_session();
    for (size_t row = 0; row < fed.size(); ++row) {
      std::vector<int32_t> input{fed[row]};
      if (row == 0) {
        for (const auto& p : (*tokens)["prompts"].as_array()) {
          if (p["id"].as_string() == file["id"].as_string()) input = ids_of(p["tokens"]);
        }
      }
      auto row_logits = session->eval(input);
      EXPECT_TRUE(row_logits.ok()) << row_logits.status().to_string();
      if (!row_logits.ok()) return out;
      out.insert(out.end(), row_logits->begin(), row_logits->end());
    }
  }
  return out;
}

void expect_golden_logits(Engine& engine) {
  std::vector<float> golden;
  const std::vector<float> got = teacher_forced_logits(engine, &golden);
  ASSERT_EQ(got.size(), golden.size());
  ASSERT_FALSE(got.empty());
  double max_abs = 0;
  for (size_t i = 0; i < got.size(); ++i)
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(got[i]) - golden[i]));
  EXPECT_LE(max_abs, kGoldenMaxAbs);
}

ModelWeights load_weights_of(const std::string& path) {
  Result<GgufFile> file = GgufFile::open_path(path);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return {};
  Result<ModelConfig> config = read_model_config(*file);
  EXPECT_TRUE(config.ok());
  if (!config.ok()) return {};
  Result<ModelWeights> weights = load_weights(*file, *config);
  EXPECT_TRUE(weights.ok());
  return weights.ok() ? std::move(weights).value() : ModelWeights{};
}

TEST(KdbEngineTest, TunedKernelsKeepTheGoldenLogits) {
  JF_REQUIRE_SHARED("golden/stories260K/logits.json");
  const std::string path = temp_kdb_path("tuned");
  {
    const ModelWeights weights = load_weights_of(test::source_path(kModel));
    kdb::KernelDb db = kdb::KernelDb::load(path);
    tune::TuneOptions options;
    options.token_counts = {1, 8};  // the golden prompts are a few tokens long
    options.n_threads = kThreads;
    options.budget_s = 2;
    Result<tune::TuneReport> report = tune::tune_model_matmuls(weights, options, &db);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_GT(report->n_records, 0);
  }
  std::unique_ptr<Engine> engine = load_engine(true, path);
  ASSERT_NE(engine, nullptr);
  expect_golden_logits(*engine);
  std::filesystem::remove(path);
}

// Every matmul on the ISA the default does not use: other lanes, another order of adding, so
// the logits change in their last bits, and must stay within the golden tolerance.
TEST(KdbEngineTest, ForcedKernelsOfAnotherIsaKeepTheGoldenLogits) {
  JF_REQUIRE_SHARED("golden/stories260K/logits.json");
  if (!cpu_has_isa(CpuIsa::avx512) || !cpu_has_isa(CpuIsa::avx2))
    GTEST_SKIP() << "needs both avx2 and avx512";
  const std::string path = temp_kdb_path("forced");
  {
    const ModelWeights weights = load_weights_of(test::source_path(kModel));
    kdb::KernelDb db = kdb::KernelDb::load(path);
    for (const tune::MatmulWorkload& w : tune::model_matmul_workloads(weights, {1, 8})) {
      const MatmulKernel kernel =
          resolve_kernel(w.dtype, w.layout, CpuIsa::avx2, {.row_tile = 2, .token_tile = 2});
      ASSERT_TRUE(kernel.valid());
      const kdb::Workload key = tune::matmul_workload(w.dtype, w.n_rows, w.n_cols, w.n_tokens, kThreads);
      ASSERT_TRUE(db.append(tune::matmul_record(kernel, key, 1, 2, 1)).ok());
    }
  }
  std::unique_ptr<Engine> forced = load_engine(true, path);
  std::unique_ptr<Engine> plain = load_engine(false, "");
  ASSERT_TRUE(forced && plain);
  expect_golden_logits(*forced);
  std::vector<float> golden;
  EXPECT_NE(teacher_forced_logits(*forced, &golden), teacher_forced_logits(*plain, &golden))
      << "the forced kernels did not run";
  std::filesystem::remove(path);
}

TEST(KdbEngineTest, CorruptKdbRunsTheDefaultKernels) {
  JF_REQUIRE_SHARED("golden/stories260K/logits.json");
  const std::string path = temp_kdb_path("corrupt");
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"v\":1,\"generator\":\"native-matmul-1\",\"op\":\"matmul\"\n\xff\xfe not json\n";
  }
  std::unique_ptr<Engine> corrupt = load_engine(true, path);
  std::unique_ptr<Engine> plain = load_engine(false, "");
  ASSERT_TRUE(corrupt && plain);
  std::vector<float> golden;
  EXPECT_EQ(teacher_forced_logits(*corrupt, &golden), teacher_forced_logits(*plain, &golden));
  std::filesystem::remove(path);
}

// The tuner keeps the kernel that times fastest, and the engine then runs it. A fake timer decides
// the race: the first non-default kernel the tuner times takes 1 ns, every other kernel (the
// defaults included) 1 ms; so that kernel must be recorded, with no other non-default one, and
// the forward pass, which logs each kernel it first uses at debug level, must name it.
TEST(KdbEngineTest, TheFastestKernelIsRecordedAndRun) {
  const std::string path = test::temp_path("fastest.jsonl");
  std::string winner;
  {
    const ModelWeights weights = load_weights_of(test::source_path(kModel));
    kdb::KernelDb db = kdb::KernelDb::load(path);
    std::set<std::string> defaults;
    for (const tune::MatmulWorkload& w : tune::model_matmul_workloads(weights, {1})) {
      defaults.insert(select_default_kernel(w.dtype, w.layout, w.n_rows, w.n_cols, w.n_tokens).name);
    }
    tune::TuneOptions options;
    options.token_counts = {1};
    options.n_threads = kThreads;
    options.budget_s = 2;
    options.time_override = [&](const MatmulKernel& kernel, double) {
      if (winner.empty() && !defaults.count(kernel.name)) winner = kernel.name;
      return kernel.name == winner ? 1.0 : 1e6;
    };
    Result<tune::TuneReport> report = tune::tune_model_matmuls(weights, options, &db);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_FALSE(winner.empty()) << "the tuner timed no kernel but the defaults";
    int n_winner = 0;
    const kdb::KernelDb written = kdb::KernelDb::load(path);
    for (const kdb::Record& r : written.records()) {
      if (r.canonical_name == winner) ++n_winner;
      else EXPECT_TRUE(defaults.count(r.canonical_name)) << r.canonical_name << " was slower than the default";
    }
    EXPECT_GE(n_winner, 1) << winner << " is not in the kdb";
  }
  std::unique_ptr<Engine> engine = load_engine(true, path);
  ASSERT_NE(engine, nullptr);
  auto session = engine->new_session();
  set_log_level(LogLevel::kDebug);
  testing::internal::CaptureStderr();
  const std::vector<int32_t> prompt = engine->tokenize("Once", true);
  ASSERT_TRUE(session->eval({prompt.data(), 1}).ok());  // a 1-token batch: the tuned workloads
  const std::string log = testing::internal::GetCapturedStderr();
  set_log_level(LogLevel::kWarn);
  EXPECT_NE(log.find(winner + " (tuned)"), std::string::npos) << log;
}

}  // namespace
}  // namespace jf
