// A persistent pool of worker threads for data-parallel kernels.
//
// parallel_for(n, n_chunks, fn) cuts [0, n) into n_chunks contiguous ranges with split_range()
// and calls fn(begin, end) exactly once for each, on the caller's thread and the workers, and
// returns when all calls have returned. The threads claim chunks one at a time from a shared
// counter, so which thread runs a chunk depends on timing, but the chunk boundaries depend only on
// n and n_chunks: a kernel whose output for an item does not depend on the range around it gives
// the same results whatever the scheduling. Claiming is what keeps a loaded machine (a browser, a
// build) from stalling every job on the slowest thread: a thread the OS has descheduled takes no
// chunks, and the awake threads run its share.
//
// Waiting: workers spin briefly between jobs (decode issues hundreds of small jobs per token) and
// then sleep; once no chunk is left to claim, the caller spins briefly for the chunks still running
// on workers and then sleeps. Spinning threads yield their core now and then, so a pool with more
// threads than free cores still runs at microsecond rather than scheduler-slice speed. A worker
// descheduled in the middle of a chunk still stalls the job until it runs again; when the caller
// waited for one far longer than its own share took, the pool runs the following jobs on the
// caller alone for a while (1 ms, doubling up to 128 ms while such losses keep coming), so under
// contention a pool costs little more than one thread instead of collapsing.
//
// parallel_for() is not reentrant and must be called from one thread at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace jf {

// Splits [0, n) into n_parts near-equal contiguous ranges; returns range `part` as [begin, end).
inline void split_range(int64_t n, int64_t part, int64_t n_parts, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_parts;
  const int64_t extra = n % n_parts;
  *begin = part * base + (part < extra ? part : extra);
  *end = *begin + base + (part < extra ? 1 : 0);
}

class ThreadPool {
 public:
  // Chunks per thread that chunk_count() aims for: enough that the threads still awake can share
  // out a descheduled thread's part, few enough that claiming costs little.
  static constexpr int kChunksPerThread = 4;

  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // A chunk count for n items of similar cost: kChunksPerThread per thread, at most n and
  // max_chunks, at least 1; 1 on one thread, which has nothing to balance (and a kernel may pay for
  // every chunk boundary: docs-28M decode on one thread measured ~10% slower with each matmul cut
  // into 4 chunks). Above the thread count it is a multiple of it, so that on a quiet machine every
  // thread runs the same number of chunks (5 chunks on 2 threads take 3/5 of the time, not 1/2).
  int64_t chunk_count(int64_t n, int64_t max_chunks = INT64_MAX) const {
    if (n_threads_ == 1) return 1;
    int64_t count = std::min({n, int64_t{n_threads_} * kChunksPerThread, max_chunks});
    if (count > n_threads_) count -= count % n_threads_;
    return std::max<int64_t>(1, count);
  }

  // fn(begin, end) for every chunk; see the header comment. n_chunks >= 1; chunks are empty where
  // n_chunks > n. A single chunk runs on the caller's thread without waking the workers.
  template <typename Fn>
  void parallel_for(int64_t n, int64_t n_chunks, Fn&& fn) {
    struct Job {
      int64_t n, n_chunks;
      std::remove_reference_t<Fn>* fn;
    } job{n, n_chunks, std::addressof(fn)};
    run_job(
        [](const void* ctx, int64_t chunk) {
          const Job& j = *static_cast<const Job*>(ctx);
          int64_t begin, end;
          split_range(j.n, chunk, j.n_chunks, &begin, &end);
          (*j.fn)(begin, end);
        },
        &job, job.n_chunks);
  }

 private:
  using ChunkFn = void (*)(const void* ctx, int64_t chunk);
  void run_job(ChunkFn fn, const void* ctx, int64_t n_chunks);
  void run_chunks();
  void worker_loop();
  void note_loss(double now_ms);

  int n_threads_;
  std::vector<std::thread> workers_;

  // The current job. The caller writes these only while no worker is inside a job (n_inside_ == 0
  // with an odd epoch_); workers read them after joining.
  ChunkFn job_fn_ = nullptr;
  const void* job_ctx_ = nullptr;
  int64_t job_n_chunks_ = 0;
  // Even: job epoch_ / 2 is open to workers; odd: the caller is replacing the job.
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> n_inside_{0};  // workers that joined the current job and have not left it
  alignas(64) std::atomic<int64_t> next_chunk_{0};
  alignas(64) std::atomic<int64_t> n_done_{0};  // chunks of the current job that have returned
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;  // workers sleep here between jobs
  std::condition_variable done_;  // the caller sleeps here for the last chunks of a job

  // The caller's back-off after losses (see the header comment); times in now_ms().
  double alone_until_ms_ = 0;
  double alone_ms_ = 0;
  double last_loss_ms_ = -1e300;
};

}  // namespace jf
