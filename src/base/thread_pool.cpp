#include "base/thread_pool.h"

#include "base/check.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define JF_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define JF_CPU_RELAX() asm volatile("yield")
#else
#define JF_CPU_RELAX() ((void)0)
#endif

namespace jf {
namespace {
// About 50-100 us of spinning before a worker sleeps: long enough to bridge the gap between two
// kernels of one token, short enough not to burn a core while the engine is idle.
constexpr int kSpinIterations = 20000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    epoch_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_job(JobFn fn, void* ctx) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  job_fn_ = fn;
  job_ctx_ = ctx;
  n_pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // The lock orders the epoch bump with a worker that is about to sleep on the condition.
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(ctx, 0, n_threads_);
  while (n_pending_.load(std::memory_order_acquire) != 0) JF_CPU_RELAX();
}

void ThreadPool::worker_loop(int ith) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (epoch_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      JF_CPU_RELAX();
      ++spins;
    }
    if (epoch_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return epoch_.load(std::memory_order_acquire) != seen; });
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    job_fn_(job_ctx_, ith, n_threads_);
    n_pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace jf
