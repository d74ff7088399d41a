// Dispatch overhead of ThreadPool::parallel_for: decode issues hundreds of small jobs per token, so
// the cost of one job with (almost) no work is what these measure. Each job has one chunk per
// thread.
//
//   build/<dir>/bench/thread_pool_bench --benchmark_min_time=0.2
//
// thread_pool_run_empty/N: back-to-back runs of an empty job on N threads (workers spinning).
// thread_pool_run_touch/N: every chunk writes its own cache line, so the job cannot be elided.
// thread_pool_run_after_idle/N: one run after the workers have gone to sleep (wake-up latency).
#include <benchmark/benchmark.h>

#include <chrono>
#include <thread>
#include <vector>

#include "base/thread_pool.h"

namespace jf {
namespace {

void thread_pool_run_empty(benchmark::State& state) {
  const int n_threads = static_cast<int>(state.range(0));
  ThreadPool pool(n_threads);
  for (auto _ : state) pool.parallel_for(n_threads, n_threads, [](int64_t, int64_t) {});
  state.counters["runs_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(thread_pool_run_empty)->DenseRange(1, 4)->UseRealTime();

void thread_pool_run_touch(benchmark::State& state) {
  const int n_threads = static_cast<int>(state.range(0));
  ThreadPool pool(n_threads);
  struct alignas(64) Slot {
    int64_t value = 0;
  };
  std::vector<Slot> slots(n_threads);
  for (auto _ : state) {
    pool.parallel_for(n_threads, n_threads, [&](int64_t chunk, int64_t) { ++slots[chunk].value; });
    benchmark::DoNotOptimize(slots.data());
  }
}
BENCHMARK(thread_pool_run_touch)->DenseRange(1, 4)->UseRealTime();

void thread_pool_run_after_idle(benchmark::State& state) {
  const int n_threads = static_cast<int>(state.range(0));
  ThreadPool pool(n_threads);
  auto empty_job = [&] { pool.parallel_for(n_threads, n_threads, [](int64_t, int64_t) {}); };
  empty_job();
  for (auto _ : state) {
    // Well past the spin window, so every worker waits on the condition variable.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    const auto start = std::chrono::steady_clock::now();
    empty_job();
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
}
BENCHMARK(thread_pool_run_after_idle)->DenseRange(2, 4)->UseManualTime()->Iterations(200);

}  // namespace
}  // namespace jf
