// Online tuning of a running engine (tune/online_tuner.h through engine_online_tuner) on the
// committed stories260K model: adopted kernels run in the model at once and change no output, the
// kdb remembers them, a reloaded engine starts from them and searches no more, and a tuner that
// finds nothing faster leaves the model as it was. A fake timer decides which kernels win.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "jitflow/engine.h"
#include "runtime/engine_impl.h"
#include "test_env.h"
#include "test_paths.h"

namespace jf {
namespace {

constexpr int kThreads = 2;

std::unique_ptr<Engine> load_engine(const std::string& kdb_path) {
  EngineOptions options;
  options.n_threads = kThreads;
  options.kdb_path = kdb_path;
  Result<std::unique_ptr<Engine>> engine =
      Engine::load(test::source_path("models/stories260K.gguf"), options);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::string greedy_text(Engine& engine) {
  GenerateOptions options;
  options.n_predict = 24;
  options.sampling.temperature = 0;
  std::string text;
  const Result<GenerationStats> stats =
      engine.new_session()->generate("Once upon a time", options, [&](auto piece) {
        text += piece;
        return true;
      });
  EXPECT_TRUE(stats.ok()) << stats.status().to_string();
  return text;
}

// The kernel the engine runs for a workload of the report's shape.
std::string running_kernel(const Engine& engine, const tune::OnlineWorkloadReport& w) {
  TensorView view{"w", w.dtype, w.n_cols, w.n_rows, nullptr};
  view.layout = w.layout;
  return engine_impl(engine).kernels->select_kernel(view, w.n_tokens).name;
}

// Steps until done, in slices as a page would between tokens; the number of steps.
int run_to_completion(tune::OnlineTuner& tuner) {
  int n_steps = 0;
  while (tuner.step(5)) {
    ++n_steps;
    EXPECT_LT(n_steps, 100000) << "the tuner never finishes";
    if (n_steps >= 100000) break;
  }
  return n_steps;
}

TEST(OnlineTuningTest, AdoptedKernelsRunAtOnceAndTheKdbKeepsThem) {
  const std::string kdb_path = test::temp_path("online.jsonl");
  std::unique_ptr<Engine> engine = load_engine(kdb_path);
  ASSERT_NE(engine, nullptr);
  const std::string before = greedy_text(*engine);

  std::set<std::string> start_kernels;
  tune::OnlineTuneOptions options;
  options.time_override = [&](const MatmulKernel& k, double ns) {
    return start_kernels.count(k.name) ? ns : ns / 10;
  };
  kdb::KernelDb db = kdb::KernelDb::load(kdb_path);
  std::unique_ptr<tune::OnlineTuner> tuner = engine_online_tuner(*engine, options, &db);
  ASSERT_FALSE(tuner->workloads().empty());
  for (const tune::OnlineWorkloadReport& w : tuner->workloads()) {
    start_kernels.insert(w.start_name);
    EXPECT_GT(w.n_full, 0);
    EXPECT_GT(w.n_pruned, 0);
    EXPECT_LE(w.n_pruned, w.n_full);
    EXPECT_FALSE(w.from_kdb);
  }
  EXPECT_TRUE(tuner->step(0));  // one step: a baseline
  run_to_completion(*tuner);
  EXPECT_TRUE(tuner->done());
  EXPECT_GT(tuner->busy_s(), 0);
  EXPECT_GT(tuner->matmul_ns_per_forward(1), 0);
  double start_ns = 0;  // the decode matmul time of the start kernels, as the page shows it
  for (const tune::OnlineWorkloadReport& w : tuner->workloads()) {
    if (w.n_tokens == 1) start_ns += w.uses_per_forward * w.start_ns;
  }
  EXPECT_EQ(tuner->start_matmul_ns_per_forward(1), start_ns);
  EXPECT_LT(tuner->matmul_ns_per_forward(1), start_ns);
  for (const tune::OnlineWorkloadReport& w : tuner->workloads()) {
    EXPECT_TRUE(w.done);
    EXPECT_GE(w.n_adopted, 1) << w.start_name;
    EXPECT_EQ(start_kernels.count(w.current_name), 0u) << w.current_name;
    EXPECT_LT(w.current_ns, w.start_ns);
    EXPECT_EQ(running_kernel(*engine, w), w.current_name);
  }
  EXPECT_EQ(greedy_text(*engine), before);  // the tuned kernels compute what the defaults did

  // A reloaded engine runs the winners from the kdb, and its tuner has nothing left to search.
  std::unique_ptr<Engine> reloaded = load_engine(kdb_path);
  ASSERT_NE(reloaded, nullptr);
  kdb::KernelDb reloaded_db = kdb::KernelDb::load(kdb_path);
  std::unique_ptr<tune::OnlineTuner> warm = engine_online_tuner(*reloaded, options, &reloaded_db);
  const std::vector<tune::OnlineWorkloadReport> tuned = tuner->workloads();
  for (const tune::OnlineWorkloadReport& w : warm->workloads()) {
    EXPECT_TRUE(w.from_kdb) << w.start_name;
    const auto same = std::find_if(tuned.begin(), tuned.end(), [&](const tune::OnlineWorkloadReport& t) {
      return t.dtype == w.dtype && t.n_rows == w.n_rows && t.n_cols == w.n_cols && t.n_tokens == w.n_tokens;
    });
    ASSERT_NE(same, tuned.end());
    EXPECT_EQ(w.start_name, same->current_name);
  }
  EXPECT_EQ(warm->n_candidates(), 0);
  run_to_completion(*warm);  // the baselines only
  EXPECT_EQ(warm->n_tried(), 0);
  EXPECT_EQ(greedy_text(*reloaded), before);
}

TEST(OnlineTuningTest, NothingFasterLeavesTheModelAsItWas) {
  std::unique_ptr<Engine> engine = load_engine(test::temp_path("slower.jsonl"));
  ASSERT_NE(engine, nullptr);
  std::set<std::string> start_kernels;
  tune::OnlineTuneOptions options;
  options.time_override = [&](const MatmulKernel& k, double ns) {
    return start_kernels.count(k.name) ? ns : ns * 1e3;  // far slower than any real gap between kernels
  };
  std::unique_ptr<tune::OnlineTuner> tuner = engine_online_tuner(*engine, options, nullptr);
  for (const tune::OnlineWorkloadReport& w : tuner->workloads()) start_kernels.insert(w.start_name);
  run_to_completion(*tuner);
  for (const tune::OnlineWorkloadReport& w : tuner->workloads()) {
    EXPECT_EQ(w.n_adopted, 0);
    EXPECT_EQ(w.current_name, w.start_name);
    EXPECT_EQ(running_kernel(*engine, w), w.start_name);
    EXPECT_GT(w.n_tried, 0);
  }
}

}  // namespace
}  // namespace jf
