#include "base/thread_pool.h"

#include <limits>

#include "base/check.h"
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

// How long a thread spins before it sleeps, a worker between jobs and the caller for the last
// chunks of a job: long enough to bridge the gap between two kernels of one token, short enough
// not to burn a core while the engine is idle or a descheduled peer needs it. Measured in time,
// not in pause instructions: a pause costs 10 cycles on some CPUs and 140 on others.
constexpr double kSpinMs = 0.1;

// A spinning thread yields its core every this many pauses. When the pool has more threads than
// free cores (other processes, or n_threads > cores), the thread that has the work is often
// descheduled; without yields the spinners keep it off the core for a whole scheduler slice.
// Measured on 2 busy cores, 2 threads: 0.1-1 ms per run without yields, 3-6 us yielding every 64
// pauses, 2-4 us every 16. When nothing else wants the core a yield returns at once (~0.5 us).
constexpr int kPausesPerYield = 16;

// A loss: the caller waited for workers' chunks this much longer than it took to run its own
// share. A chunk running on an awake worker ends within about one chunk of the caller's last
// one, and a sleeping worker wakes within tens of microseconds; a worker descheduled mid-chunk
// is back only after other processes' scheduler slices (milliseconds).
constexpr double kLossSlackMs = 0.5;

// After a loss the caller runs jobs alone for kAloneMinMs; a loss within kRepeatMs of working
// together again doubles that, up to kAloneMaxMs. Under lasting contention the pool then spends
// most of its time at one thread's speed with a probe every kAloneMaxMs, and a rare loss on a
// quiet machine costs about a millisecond at one thread's speed.
constexpr double kAloneMinMs = 1;
constexpr double kAloneMaxMs = 128;
constexpr double kRepeatMs = 50;

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
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    epoch_.fetch_add(2);  // even: an open "job" that every worker sees as new
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_job(ChunkFn fn, const void* ctx, int64_t n_chunks) {
  JF_CHECK(n_chunks >= 1);
  auto run_alone = [&] {
    for (int64_t chunk = 0; chunk < n_chunks; ++chunk) fn(ctx, chunk);
  };
  if (n_threads_ == 1 || n_chunks == 1) return run_alone();
  const double start_ms = now_ms();
  if (start_ms < alone_until_ms_) return run_alone();

  // Close the previous job to workers, then wait for those still inside it to leave (they find no
  // chunk left to claim and leave at once) before its fields are overwritten.
  epoch_.fetch_add(1);
  spin_until([this] { return n_inside_.load() == 0; }, std::numeric_limits<double>::infinity());
  job_fn_ = fn;
  job_ctx_ = ctx;
  job_n_chunks_ = n_chunks;
  next_chunk_.store(0, std::memory_order_relaxed);
  n_done_.store(0, std::memory_order_relaxed);
  {
    // The lock orders the epoch bump with a worker that is about to sleep on the condition.
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();

  auto all_done = [&] { return n_done_.load() == n_chunks; };
  if (all_done()) return;
  // Workers still run chunks: spin briefly (they are usually about to finish), then sleep so that
  // a descheduled worker can have this core back. caller_sleeping_ then load of n_done_ here, and
  // add to n_done_ then load of caller_sleeping_ in run_chunks(): one of the two sees the other.
  const double wait_start_ms = now_ms();
  if (!spin_until(all_done, wait_start_ms + kSpinMs)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_.store(true);
    done_.wait(lock, all_done);
    caller_sleeping_.store(false);
  }
  const double end_ms = now_ms();
  if (end_ms - wait_start_ms > wait_start_ms - start_ms + kLossSlackMs) note_loss(end_ms);
}

void ThreadPool::note_loss(double now) {
  const bool repeated = now - last_loss_ms_ < alone_ms_ + kRepeatMs;
  alone_ms_ = repeated ? std::min(2 * alone_ms_, kAloneMaxMs) : kAloneMinMs;
  last_loss_ms_ = now;
  alone_until_ms_ = now + alone_ms_;
}

void ThreadPool::run_chunks() {
  int64_t n_run = 0;
  for (int64_t chunk; (chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed)) < job_n_chunks_; ++n_run) {
    job_fn_(job_ctx_, chunk);
  }
  if (n_run == 0) return;
  // Release of this thread's outputs to the caller. Once the count is complete the caller may
  // return and end the job's context: only the pool's own members are touched after it.
  if (n_done_.fetch_add(n_run) + n_run == job_n_chunks_ && caller_sleeping_.load()) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.notify_one();
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  uint64_t epoch = 0;
  auto new_job = [&] {
    epoch = epoch_.load(std::memory_order_acquire);
    return epoch != seen && epoch % 2 == 0;
  };
  for (;;) {
    if (!spin_until(new_job, now_ms() + kSpinMs)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, new_job);
    }
    if (stop_.load()) return;
    seen = epoch;
    // Join, then check that the caller has not begun to replace the job since we saw it: it makes
    // epoch_ odd, then waits for n_inside_ == 0, so one of the two sees the other's write.
    n_inside_.fetch_add(1);
    if (epoch_.load() == seen) run_chunks();
    n_inside_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace jf
