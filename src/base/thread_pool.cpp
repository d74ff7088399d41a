#include "base/thread_pool.h"

#include "base/clock.h"

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

// How long a worker spins between jobs before it sleeps: long enough to bridge the gap between
// two kernels of one token, short enough not to burn a core while the engine is idle. Measured in
// time, not in pause instructions: a pause costs 10 cycles on some CPUs and 140 on others.
constexpr double kSpinMs = 0.1;

// A spinning thread yields its core every this many pauses. When the pool has more threads than
// free cores (other processes, or n_threads > cores), the thread that has the work is often
// descheduled; without yields the spinners keep it off the core for a whole scheduler slice.
// Measured on 2 busy cores, 2 threads: 0.1-1 ms per run without yields, 3-6 us yielding every 64
// pauses, 2-4 us every 16. When nothing else wants the core a yield returns at once (~0.5 us).
constexpr int kPausesPerYield = 16;

// Spins until `done()` is true and returns true, or returns false once `deadline_ms` (now_ms()
// time) has passed.
template <typename Done>
bool spin_until(Done done, double deadline_ms) {
  for (int i = 1;; ++i) {
    if (done()) return true;
    if (i % kPausesPerYield != 0) {
      JF_CPU_RELAX();
      continue;
    }
    if (now_ms() > deadline_ms) return false;
    std::this_thread::yield();
  }
}

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
  // The caller never sleeps: it waits only for the workers' share of a job it just started.
  auto all_done = [this] { return n_pending_.load(std::memory_order_acquire) == 0; };
  while (!spin_until(all_done, now_ms() + kSpinMs)) {
  }
}

void ThreadPool::worker_loop(int ith) {
  uint64_t seen = 0;
  auto new_epoch = [&] { return epoch_.load(std::memory_order_acquire) != seen; };
  for (;;) {
    if (!spin_until(new_epoch, now_ms() + kSpinMs)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, new_epoch);
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    job_fn_(job_ctx_, ith, n_threads_);
    n_pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace jf
