// A persistent pool of worker threads for data-parallel kernels.
//
// run(fn) calls fn(thread_index, n_threads) once on every thread of the pool, the caller included
// (it is thread 0), and returns when all calls have returned. Kernels split their work statically
// by thread_index, so results do not depend on scheduling. Workers spin briefly between jobs
// (decode issues hundreds of small jobs per token) and then sleep; spinning threads yield their
// core now and then, so a pool with more threads than free cores still runs at microsecond
// rather than scheduler-slice speed. run() is not reentrant and must be called from one thread at
// a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace jf {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  template <typename Fn>
  void run(Fn&& fn) {
    // Fn is deduced as a reference for lvalue callables and may be const: strip both to get a
    // pointer type that round-trips through void*.
    using Callable = std::remove_reference_t<Fn>;
    void* ctx = const_cast<void*>(static_cast<const void*>(std::addressof(fn)));
    run_job([](void* c, int ith, int nth) { (*static_cast<Callable*>(c))(ith, nth); }, ctx);
  }

 private:
  using JobFn = void (*)(void* ctx, int ith, int nth);
  void run_job(JobFn fn, void* ctx);
  void worker_loop(int ith);

  int n_threads_;
  std::vector<std::thread> workers_;
  JobFn job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> n_pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Splits [0, n) into n_parts near-equal contiguous ranges; returns range `part` as [begin, end).
inline void split_range(int64_t n, int part, int n_parts, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_parts;
  const int64_t extra = n % n_parts;
  *begin = part * base + (part < extra ? part : extra);
  *end = *begin + base + (part < extra ? 1 : 0);
}

}  // namespace jf
