// Memory-hierarchy microbenchmarks: pointer-chase latency over working-set sizes (cache sizes)
// and streaming read bandwidth (DRAM).
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/thread_pool.h"
#include "tune/measure.h"
#include "tune/microbench.h"

namespace jf::tune {
namespace {

constexpr uint64_t kLineBytes = 64;
constexpr uint64_t kMinWorkingSetBytes = 4096;

// Anonymous memory asking for transparent huge pages: with 4 KiB pages a random chase over
// megabytes would also miss the TLB, and TLB reach would show up as a false cache level.
class MappedBuffer {
 public:
  explicit MappedBuffer(uint64_t size_bytes) {
    void* p = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    madvise(p, size_bytes, MADV_HUGEPAGE);  // a hint: failure just means small pages
    data_ = static_cast<std::byte*>(p);
    size_ = size_bytes;
  }
  ~MappedBuffer() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  MappedBuffer(const MappedBuffer&) = delete;
  MappedBuffer& operator=(const MappedBuffer&) = delete;
  std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

// splitmix64: a fixed-seed generator so every run chases the same permutation.
uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Links the first n_lines cache lines of `base` into one cycle in random order, so hardware
// prefetchers cannot guess the next line and every line of the set is on the cycle.
void link_random_cycle(std::byte* base, uint64_t n_lines, std::vector<uint32_t>* order) {
  order->resize(n_lines);
  for (uint64_t i = 0; i < n_lines; ++i) (*order)[i] = static_cast<uint32_t>(i);
  uint64_t state = 0x6a6974666c6f77ull;  // "jitflow"
  for (uint64_t i = n_lines - 1; i > 0; --i) std::swap((*order)[i], (*order)[next_random(&state) % (i + 1)]);
  for (uint64_t i = 0; i < n_lines; ++i) {
    std::byte* from = base + (*order)[i] * kLineBytes;
    std::byte* to = base + (*order)[(i + 1) % n_lines] * kLineBytes;
    std::memcpy(from, &to, sizeof(to));
  }
}

// Each load's address is the previous load's value: the time per step is the load latency.
__attribute__((noinline)) const void* chase(const void* p, int64_t steps) {
  for (int64_t i = 0; i < steps; i += 8) {
    for (int u = 0; u < 8; ++u) p = *static_cast<const void* const*>(p);
  }
  return p;
}

// Load latency of a chase over the first n_lines lines of `base` (already linked). Calls last
// about kCallNs whatever the latency: `expected_ns` (the previous, smaller set's latency) sizes
// them, so DRAM-sized sets do not take a hundred times longer than L1-sized ones.
double chase_latency_ns(std::byte* base, uint64_t n_lines, double expected_ns, bool quick) {
  const double call_ns = quick ? 0.5e6 : 2e6;
  const int64_t steps = std::clamp<int64_t>(static_cast<int64_t>(call_ns / expected_ns) / 8 * 8, 4096, 1 << 20);
  // Warm up until the caches hold lines of this set: one lap of the cycle, capped at 256 Ki
  // lines (16 MiB) for sets far beyond the LLC, whose hit rate is low whatever the start.
  const uint64_t warmup_steps = std::min<uint64_t>(n_lines, 1u << 18);
  MeasureSettings settings;
  settings.warmup_runs = static_cast<int>((warmup_steps + steps - 1) / steps);
  settings.min_samples = 5;  // a preemption must spoil 3 samples to move the median
  settings.min_time_ms = quick ? 1.0 : 5.0;
  settings.max_time_ms = 100.0;
  const void* p = base;
  const Measurement m = measure(settings, [&] { p = chase(p, steps); });
  volatile const void* sink = p;
  (void)sink;
  return m.median_ns / static_cast<double>(steps);
}

std::vector<uint64_t> working_set_sizes(uint64_t max_bytes) {
  std::vector<uint64_t> sizes;
  for (uint64_t size = kMinWorkingSetBytes; size <= max_bytes; size *= 2) {
    sizes.push_back(size);
    if (size + size / 2 <= max_bytes) sizes.push_back(size + size / 2);
  }
  return sizes;
}

// Sums 64-bit words with 4 independent vector accumulators (GCC/Clang vector extension: AVX2,
// SSE2, NEON or SIMD128, whatever the build targets): enough to keep loads, not adds, the limit.
typedef uint64_t Word4 __attribute__((vector_size(32)));

uint64_t sum_words(const std::byte* data, uint64_t n_bytes) {
  Word4 acc[4] = {};
  const uint64_t n_blocks = n_bytes / sizeof(acc);
  for (uint64_t b = 0; b < n_blocks; ++b) {
    Word4 v[4];
    std::memcpy(v, data + b * sizeof(acc), sizeof(acc));
    for (int i = 0; i < 4; ++i) acc[i] += v[i];
  }
  const Word4 total = acc[0] + acc[1] + acc[2] + acc[3];
  return total[0] + total[1] + total[2] + total[3];
}

}  // namespace

std::vector<LatencyPoint> sweep_load_latency(uint64_t max_bytes, int n_sweeps, bool quick) {
  std::vector<LatencyPoint> curve;
  const std::vector<uint64_t> sizes = working_set_sizes(max_bytes);
  if (sizes.empty()) return curve;
  MappedBuffer buffer(sizes.back());
  if (buffer.data() == nullptr) return curve;
  for (uint64_t size : sizes) curve.push_back({size, 0.0});
  std::vector<uint32_t> order;
  // As for registers: whole sweeps repeated, fastest kept, so that a burst of load from another
  // process (which evicts our lines) spoils a few points of one sweep only.
  for (int s = 0; s < std::max(1, n_sweeps); ++s) {
    double expected_ns = 1.0;
    for (LatencyPoint& point : curve) {
      const uint64_t n_lines = point.working_set_bytes / kLineBytes;
      link_random_cycle(buffer.data(), n_lines, &order);
      const double ns = chase_latency_ns(buffer.data(), n_lines, expected_ns, quick);
      point.ns_per_load = (s == 0) ? ns : std::min(point.ns_per_load, ns);
      expected_ns = ns;
    }
  }
  return curve;
}

// A transition starts where latency rises by kJumpRatio from one size to the next, or by
// kJumpRatio2 over two sizes (levels whose replacement policy smooths the step); it goes on while
// latency keeps rising by kRiseRatio per size, and counts if the level reached, and the size
// after it, are kLevelRatio above the plateau it left (a one-point spike from another process is
// not a level). With two sizes per octave a real level change is a 1.5-3x step; latency creeping
// up inside one level (NUCA, page walks) stays below these ratios.
std::vector<uint64_t> find_latency_boundaries(const std::vector<LatencyPoint>& curve) {
  constexpr double kJumpRatio = 1.3, kJumpRatio2 = 1.5, kRiseRatio = 1.1, kLevelRatio = 1.5;
  const size_t n = curve.size();
  auto ratio = [&](size_t to, size_t from) { return curve[to].ns_per_load / curve[from].ns_per_load; };
  auto starts_transition = [&](size_t i) {
    if (ratio(i, i - 1) >= kJumpRatio) return true;
    return i + 1 < n && ratio(i, i - 1) >= kRiseRatio && ratio(i + 1, i) < kJumpRatio &&
           ratio(i + 1, i - 1) >= kJumpRatio2;
  };
  std::vector<uint64_t> boundaries;
  size_t i = 1;
  while (i < n) {
    if (!starts_transition(i)) {
      ++i;
      continue;
    }
    const size_t start = i - 1;
    size_t end = i;
    while (end + 1 < n && ratio(end + 1, end) >= kRiseRatio) ++end;
    const bool persists = end + 1 >= n || ratio(end + 1, start) >= kLevelRatio;
    if (ratio(end, start) >= kLevelRatio && persists) boundaries.push_back(curve[start].working_set_bytes);
    i = end + 1;
  }
  return boundaries;
}

double measure_read_bandwidth_gbps(uint64_t buffer_bytes, int n_threads, bool quick) {
  MappedBuffer buffer(buffer_bytes);
  if (buffer.data() == nullptr) return 0;
  ThreadPool pool(n_threads);
  const int64_t n_blocks = static_cast<int64_t>(buffer_bytes / 4096);
  // One chunk per thread: on an otherwise idle machine each thread takes one and touches first
  // the pages it later reads (NUMA first-touch), with non-zero bytes so that no page stays the
  // shared zero page.
  pool.parallel_for(n_blocks, n_threads, [&](int64_t begin, int64_t end) {
    std::memset(buffer.data() + begin * 4096, 1, (end - begin) * 4096);
  });
  std::atomic<uint64_t> sum{0};
  MeasureSettings settings;
  settings.warmup_runs = 1;
  settings.min_samples = quick ? 3 : 5;
  settings.min_time_ms = 0;
  settings.max_time_ms = 2000.0;
  const Measurement m = measure(settings, [&] {
    pool.parallel_for(n_blocks, n_threads, [&](int64_t begin, int64_t end) {
      sum.fetch_add(sum_words(buffer.data() + begin * 4096, (end - begin) * 4096), std::memory_order_relaxed);
    });
  });
  volatile uint64_t sink = sum.load();
  (void)sink;
  return static_cast<double>(buffer_bytes) / m.median_ns;  // bytes per ns = GB/s
}

}  // namespace jf::tune
