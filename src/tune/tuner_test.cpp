// The tuner on the committed stories260K model with a small budget: it keeps to the budget, writes
// records that load back, resolve and compute what the reference computes; plus the pieces it
// rests on (measured machine limits, the matmul <-> kdb record mapping, the model's workloads).
#include "tune/tuner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "base/clock.h"
#include "base/fp16.h"
#include "gguf/gguf.h"
#include "kernels/matmul/emit_wasm.h"
#include "kernels/matmul/ref.h"
#include "model/hparams.h"
#include "tensor/quant.h"
#include "test_env.h"
#include "test_model.h"
#include "test_paths.h"
#include "tune/machine_limits.h"
#include "tune/matmul_bench.h"
#include "tune/matmul_record.h"

namespace jf::tune {
namespace {

using Model = test::LoadedModel;

Model load_stories260k() {
  return test::load_model(test::source_path("models/stories260K.gguf"));
}

std::string temp_kdb_path(const char* name) {
  return test::temp_path(std::string(name) + ".jsonl");
}

// Largest |y - y_ref| of `kernel` over every output, relative to the rms of y_ref.
double relative_error(const MatmulKernel& kernel, const TensorView& w, int64_t n_tokens) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> x(n_tokens * w.n_cols), y(n_tokens * w.n_rows);
  for (float& v : x) v = normal(rng);
  ThreadPool pool(2);
  MatmulScratch scratch;
  matmul(w, x.data(), n_tokens, y.data(), pool, scratch, kernel);
  const DType x_type = vec_dot_type(w.dtype);
  std::vector<uint8_t> xq(row_bytes(x_type, w.n_cols));
  double max_err = 0, sum_sq = 0;
  for (int64_t t = 0; t < n_tokens; ++t) {
    quantize_row(x_type, x.data() + t * w.n_cols, xq.data(), w.n_cols);
    for (int64_t r = 0; r < w.n_rows; ++r) {
      const double ref = vec_dot_ref(w.dtype, w.n_cols, w.row(r), xq.data());
      max_err = std::max(max_err, std::fabs(y[t * w.n_rows + r] - ref));
      sum_sq += ref * ref;
    }
  }
  return max_err / std::sqrt(sum_sq / static_cast<double>(y.size()));
}

// The tuner overshoots its budget by at most one candidate that ran slower than expected; on a
// loaded machine (ctest -j, other processes) such a call can take a second.
constexpr double kMaxOvershootS = 1.5;

TEST(MachineLimitsTest, NothingMeasuredIsNominal) {
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512, CpuIsa::neon, CpuIsa::neon_dotprod,
                     CpuIsa::wasm_simd128}) {
    const MachineLimits got = machine_limits(DeviceLimits{}, isa);
    const MachineLimits want = nominal_limits(isa);
    EXPECT_EQ(got.n_vec_regs, want.n_vec_regs) << isa_name(isa);
    EXPECT_EQ(got.l1d_bytes, want.l1d_bytes) << isa_name(isa);
    EXPECT_EQ(got.l2_bytes, want.l2_bytes) << isa_name(isa);
  }
}

// Each ISA takes its own sweep's register count; caches come from the measured levels.
TEST(MachineLimitsTest, MeasuredValuesWin) {
  DeviceLimits measured;
  RegisterSweep avx2;
  avx2.isa = "avx2";
  avx2.isa_registers = 16;
  avx2.knee = 14;
  measured.register_sweeps.push_back(avx2);
  measured.l1d_bytes = {48 << 10, Source::kMeasured};
  measured.l2_bytes = {2 << 20, Source::kSysfs};
  const MachineLimits got = machine_limits(measured, CpuIsa::avx2);
  EXPECT_EQ(got.n_vec_regs, 14);
  EXPECT_EQ(got.l1d_bytes, 48 << 10);
  EXPECT_EQ(got.l2_bytes, 2 << 20);
  EXPECT_EQ(machine_limits(measured, CpuIsa::avx512).n_vec_regs, nominal_limits(CpuIsa::avx512).n_vec_regs);
}

TEST(MatmulRecordTest, RoundTripsAndRejectsForeignRecords) {
  const MatmulKernel kernel =
      resolve_kernel(DType::Q4_0, WeightLayout::rows, CpuIsa::scalar, {.k_block = 256});
  ASSERT_TRUE(kernel.valid());
  const kdb::Record record =
      matmul_record(kernel, matmul_workload(DType::Q4_0, 64, 512, 1, 2), 1000, 1500, 7);
  ASSERT_TRUE(kdb::record_from_json_line(kdb::record_to_json_line(record)).ok());
  EXPECT_EQ(record.workload, (kdb::Workload{"q4_0", 64, 512, 1, 2}));
  EXPECT_EQ(kernel_from_record(record).name, kernel.name);

  std::string why;
  kdb::Record stale = record;
  stale.generator = "native-matmul-0";
  EXPECT_FALSE(kernel_from_record(stale, &why).valid());
  EXPECT_NE(why.find("stale"), std::string::npos) << why;
  kdb::Record renamed = record;
  renamed.canonical_name = "q4_0-f32-matmul-r1t1k256p0__future";
  EXPECT_FALSE(kernel_from_record(renamed).valid());
  kdb::Record extra_knob = record;
  extra_knob.config["unroll"] = 4;
  EXPECT_FALSE(kernel_from_record(extra_knob).valid());
  kdb::Record bad_tile = record;
  bad_tile.config["row_tile"] = 3;
  EXPECT_FALSE(kernel_from_record(bad_tile).valid());
}

TEST(TunerTest, WorkloadsAreTheModelsShapes) {
  const Model m = load_stories260k();
  const ModelConfig& c = m.config;
  const std::vector<MatmulWorkload> workloads = model_matmul_workloads(m.weights, {64, 1, 64});
  int n_layer_uses = 0, n_heads = 0;
  for (const MatmulWorkload& w : workloads) {
    ASSERT_TRUE(w.n_tokens == 1 || w.n_tokens == 64);
    if (w.n_tokens == 64) n_layer_uses += static_cast<int>(w.weights.size());
    n_heads += w.n_rows == c.n_vocab;
    EXPECT_TRUE(w.n_rows != c.n_vocab || w.n_tokens == 1);
    for (const TensorView& t : w.weights)
      EXPECT_TRUE(t.dtype == w.dtype && t.n_rows == w.n_rows && t.n_cols == w.n_cols);
  }
  // Seven matrices per layer; the head (its own shape here) only at one token.
  EXPECT_EQ(n_layer_uses, 7 * c.n_layer);
  EXPECT_EQ(n_heads, 1);
}

TEST(TunerTest, RejectsBadOptions) {
  const Model m = load_stories260k();
  TuneOptions options;
  options.token_counts = {0};
  EXPECT_FALSE(tune_model_matmuls(m.weights, options, nullptr).ok());
  options.token_counts = {1};
  options.budget_s = 0;
  EXPECT_FALSE(tune_model_matmuls(m.weights, options, nullptr).ok());
}

TEST(TunerTest, KeepsToTheBudgetAndWritesCheckedWinners) {
  const Model m = load_stories260k();
  const std::string path = temp_kdb_path("budget");
  kdb::KernelDb db = kdb::KernelDb::load(path);
  TuneOptions options;
  options.token_counts = {1, 16};
  options.n_threads = 2;
  options.budget_s = 2;
  int n_progress = 0;
  options.on_progress = [&](const TuneProgress& p) {
    ++n_progress;
    EXPECT_LE(p.n_done, p.n_total);
  };
  const double start_ms = now_ms();
  Result<TuneReport> report = tune_model_matmuls(m.weights, options, &db);
  const double wall_s = (now_ms() - start_ms) / 1000;
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_LT(wall_s, options.budget_s + kMaxOvershootS);
  EXPECT_LE(report->wall_s, wall_s);
  EXPECT_GT(n_progress, 0);
  ASSERT_TRUE(report->kdb_status.ok()) << report->kdb_status.to_string();
  ASSERT_GT(report->n_records, 0);

  const kdb::KernelDb reloaded = kdb::KernelDb::load(path);
  EXPECT_EQ(reloaded.n_skipped_lines(), 0);
  ASSERT_EQ(reloaded.records().size(), static_cast<size_t>(report->n_records));
  const std::vector<MatmulWorkload> workloads = model_matmul_workloads(m.weights, options.token_counts);
  for (const kdb::Record& r : reloaded.records()) {
    EXPECT_EQ(r.workload.threads, 2);
    EXPECT_GT(r.median_ns, 0);
    EXPECT_GT(r.default_ns, 0);
    EXPECT_GE(r.tried, 1);
    const MatmulKernel kernel = kernel_from_record(r);
    ASSERT_TRUE(kernel.valid()) << r.canonical_name;
    const auto w = std::find_if(workloads.begin(), workloads.end(), [&](const MatmulWorkload& x) {
      return dtype_name(x.dtype) == r.workload.dtype && x.n_rows == r.workload.n &&
             x.n_cols == r.workload.k && x.n_tokens == r.workload.batch;
    });
    ASSERT_NE(w, workloads.end()) << r.canonical_name;
    EXPECT_LE(relative_error(kernel, w->weights.front(), w->n_tokens), kCheckRelTolerance)
        << r.canonical_name;
  }
  for (const WorkloadReport& w : report->workloads) {
    EXPECT_LE(w.n_pruned, w.n_full);
    if (w.recorded) {
      EXPECT_LE(w.best_ns, w.default_ns);
    }
  }
  std::filesystem::remove(path);
}

// --full-space times every resolvable config it has time for, the pruned ones included.
TEST(TunerTest, FullSpaceCoversThePrunedSpace) {
  const Model m = load_stories260k();
  TuneOptions options;
  options.token_counts = {1};
  options.n_threads = 1;
  options.budget_s = 1;
  options.full_space = true;
  options.full_space_budget_s = 1;
  Result<TuneReport> report = tune_model_matmuls(m.weights, options, nullptr);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_LT(report->full_space_wall_s, options.full_space_budget_s + kMaxOvershootS);
  for (const WorkloadReport& w : report->workloads) {
    if (w.default_ns <= 0) continue;
    EXPECT_GE(w.n_full_tried, w.n_tried);
    EXPECT_LE(w.full_best_ns, w.full_tuned_ns);  // timed together, the tuned one is never faster
    if (w.full_complete) {
      EXPECT_EQ(w.n_full_tried, w.n_full);
    }
  }
}

// The spaces of an F16 workload hold the emitted F16 kernels in WebAssembly (its whole space in the
// full one, the pruned one within it), and none natively.
TEST(TunerTest, F16SpacesHoldEmittedKernelsInWasm) {
  const std::vector<uint16_t> halves(64 * 256, f32_to_fp16(0.5f));
  const TensorView view{"w", DType::F16, 256, 64, reinterpret_cast<const uint8_t*>(halves.data())};
  const MatmulWorkload w{DType::F16, WeightLayout::rows, 64, 256, 1, {view}};
  const auto emitted_f16 = [](const std::vector<MatmulKernel>& space) {
    return static_cast<int>(std::count_if(space.begin(), space.end(), [](const MatmulKernel& k) {
      DType dtype;
      WasmMatmulConfig config;
      return parse_wasm_matmul_name(k.name, &dtype, &config) && dtype == DType::F16;
    }));
  };
  const std::vector<MatmulKernel> full = full_space(DType::F16, WeightLayout::rows);
  const std::vector<MatmulKernel> pruned = pruned_space(w, 1, DeviceLimits{});
  EXPECT_EQ(full_space_size(DType::F16, WeightLayout::rows), static_cast<int>(full.size()));
#if defined(__EMSCRIPTEN__)
  EXPECT_EQ(emitted_f16(full), static_cast<int>(wasm_matmul_full_space(DType::F16).size()));
  EXPECT_GT(emitted_f16(pruned), 0);
  EXPECT_LT(emitted_f16(pruned), emitted_f16(full));
#else
  EXPECT_EQ(emitted_f16(full), 0);
  EXPECT_EQ(emitted_f16(pruned), 0);
#endif
}

#if defined(__EMSCRIPTEN__)
// In WebAssembly the emitted kernels are candidates too: with a fake timer under which they win, the
// kdb records them by name, a record emits its kernel again, and that kernel computes what the
// reference computes.
TEST(TunerTest, EmittedWasmKernelsAreCandidatesAndRecordsBringThemBack) {
  const Model m = load_stories260k();
  const std::string path = temp_kdb_path("emitted");
  kdb::KernelDb db = kdb::KernelDb::load(path);
  TuneOptions options;
  options.token_counts = {1};
  options.n_threads = 2;
  options.budget_s = 20;
  options.time_override = [](const MatmulKernel& k, double ns) {
    return k.name.find("__wasm_emit") != std::string::npos ? ns / 100 : ns;
  };
  Result<TuneReport> report = tune_model_matmuls(m.weights, options, &db);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  for (const WorkloadReport& w : report->workloads) {
    if (w.complete) EXPECT_NE(w.best_name.find("__wasm_emit"), std::string::npos) << w.best_name;
  }
  const std::vector<MatmulWorkload> workloads = model_matmul_workloads(m.weights, options.token_counts);
  int emitted = 0;
  const kdb::KernelDb reloaded = kdb::KernelDb::load(path);
  for (const kdb::Record& r : reloaded.records()) {
    if (r.canonical_name.find("__wasm_emit") == std::string::npos) continue;
    ++emitted;
    const MatmulKernel kernel = kernel_from_record(r);
    ASSERT_TRUE(kernel.valid()) << r.canonical_name;
    EXPECT_EQ(kernel.name, r.canonical_name);
    const auto w = std::find_if(workloads.begin(), workloads.end(), [&](const MatmulWorkload& x) {
      return dtype_name(x.dtype) == r.workload.dtype && x.n_rows == r.workload.n && x.n_cols == r.workload.k;
    });
    ASSERT_NE(w, workloads.end()) << r.canonical_name;
    EXPECT_LE(relative_error(kernel, w->weights.front(), 1), kCheckRelTolerance) << r.canonical_name;
  }
  EXPECT_GT(emitted, 0);
}
#endif

}  // namespace
}  // namespace jf::tune
