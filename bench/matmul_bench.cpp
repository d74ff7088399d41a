// Matmul kernels on TinyLlama-1.1B shapes (n_cols x n_rows: 2048x2048 attn_q/attn_output, 2048x256
// attn_k/attn_v, 2048x5632 ffn_gate/ffn_up, 5632x2048 ffn_down, 2048x32000 output), for the weight
// types of Q4_0 / Q8_0 / Q4_K_M / F16 models, at 1 and 2 threads.
//
//   build/<dir>/bench/matmul_bench --benchmark_min_time=0.3 --benchmark_repetitions=3
//                                   --benchmark_report_aggregates_only=true
//
// stream_read/threads:N    the machine's read bandwidth (the physical limit of decode): N threads sum
//                          disjoint slices of a 256 MiB buffer.
// decode/TYPE/KxN/threads:N/KERNEL   one token. Weights rotate through copies totalling >= 256 MiB so
//                          that they come from DRAM as in a real model; GB/s counts weight bytes and
//                          bw_frac divides it by stream_read at the same thread count.
// prefill/TYPE/KxN/threads:N/KERNEL  64 tokens; tokens/s and GFLOP/s (2 K N per token).
// The *_cpu counters use the main thread's CPU time instead of the wall clock: on a machine shared
// with other jobs they show what the kernel does while it runs (bw_frac_cpu against stream_read's
// GB/s_cpu).
// KERNEL is "default" (select_default_kernel, the best ISA) or "scalar" (the vec_dot_ref variant, the
// baseline; only on the 2048x2048 shape, it is slow).
// gather/TYPE/KxN/s:S/threads:N/CONFIG   one token over channel-major weights (kernels/channel_major)
//                          with a random active set of (1 - S) K channels, S = 0.5, 0.7: compare its
//                          time with decode/TYPE/KxN/threads:N/default (dense, row-major, all K).
//                          GB/s counts the bytes it reads (active channels); CONFIG is the default
//                          gather config, or each of cm_sweep_configs() on ffn shapes (gather_sweep/).
// gather_read/TYPE/KxN/s:S/threads:N  the gather's reads without its arithmetic (the same channels
//                          in the same order, prefetched the same way): the access pattern's GB/s.
// cm_prefill/TYPE/KxN/threads:N       64 tokens through the dense channel-major kernel.
#include <benchmark/benchmark.h>

#include <immintrin.h>
#include <time.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/clock.h"
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/channel_major/channel_major.h"
#include "kernels/matmul/matmul.h"
#include "kernels/registry.h"
#include "tensor/quant.h"

namespace jf {
namespace {

constexpr size_t kDramBytes = size_t{256} << 20;  // 8x the L3 of the machines we measure
constexpr int64_t kPrefillTokens = 64;

struct Shape {
  int64_t n_cols, n_rows;
};
constexpr Shape kShapes[] = {{2048, 2048}, {2048, 256}, {2048, 5632}, {5632, 2048}, {2048, 32000}};
constexpr DType kTypes[] = {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16};

// ---- bandwidth

#if defined(__x86_64__)
// The sum of n bytes (n a multiple of 64) at p, any alignment (the gather's channels are not aligned).
__attribute__((target("avx2"))) uint64_t sum_bytes(const uint8_t* p, size_t n) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += 64) {
    acc0 = _mm256_add_epi64(acc0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    acc1 = _mm256_add_epi64(acc1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(acc0, acc1));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#else
uint64_t sum_bytes(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    s += v;
  }
  return s;
}
#endif

const AlignedBuffer& dram_buffer() {
  static const AlignedBuffer buffer = [] {
    AlignedBuffer b(kDramBytes);
    std::memset(b.data(), 1, kDramBytes);  // touch every page
    return b;
  }();
  return buffer;
}

// One pass over the buffer in one slice per thread (each thread takes one on an idle machine).
void stream_pass(ThreadPool& pool) {
  const auto* p = dram_buffer().as<uint8_t>();
  std::atomic<uint64_t> sum{0};
  pool.parallel_for(static_cast<int64_t>(kDramBytes / 64), pool.n_threads(), [&](int64_t begin, int64_t end) {
    sum.fetch_add(sum_bytes(p + begin * 64, static_cast<size_t>(end - begin) * 64), std::memory_order_relaxed);
  });
  benchmark::DoNotOptimize(sum.load());
}

// What the hardware prefetcher tolerates, one thread over the DRAM buffer (why a gather reads its
// channels more slowly than a dense kernel reads a whole matrix; docs/architecture.md):
//   gapped_read/run:R/gap:G/ahead:A  runs of R bytes with gaps of G between them, read in address
//                                    order; with A > 0 the run A runs ahead is prefetched into L2
//   interleaved_read/streams:S/chunk:B  S adjacent runs of 1152 bytes (a Q4_0 channel of 2048
//                                    outputs) read round-robin B bytes at a time: no gaps, but S
//                                    streams at once, as a step of S channels reads them
void gapped_read(benchmark::State& state) {
  const size_t run = static_cast<size_t>(state.range(0)), period = run + static_cast<size_t>(state.range(1));
  const size_t ahead = static_cast<size_t>(state.range(2)) * period;
  const auto* p = dram_buffer().as<uint8_t>();
  uint64_t sum = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    for (size_t at = 0; at + period <= kDramBytes; at += period) {
      if (ahead > 0 && at + ahead + run <= kDramBytes) {
        for (size_t line = 0; line < run; line += 64) __builtin_prefetch(p + at + ahead + line, 0, 2);
      }
      sum += sum_bytes(p + at, run);
      bytes += run;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
}

void interleaved_read(benchmark::State& state) {
  constexpr size_t kRun = 1152;
  const size_t streams = static_cast<size_t>(state.range(0)), chunk = static_cast<size_t>(state.range(1));
  const size_t group = streams * kRun;
  const auto* p = dram_buffer().as<uint8_t>();
  uint64_t sum = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    for (size_t g = 0; g + group <= kDramBytes; g += group) {
      for (size_t at = 0; at < kRun; at += chunk) {
        for (size_t k = 0; k < streams; ++k) sum += sum_bytes(p + g + k * kRun + at, std::min(chunk, kRun - at));
      }
      bytes += group;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
}

// CPU time of the calling thread, in seconds. On a shared machine the wall clock also counts the
// time other processes hold the core; the thread's CPU time does not (for N threads it is the main
// thread's, which spins while the others finish).
double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Bandwidth {
  double wall_gbps = 0;
  double cpu_gbps = 0;
};

// Median of 5 passes per thread count (measured once, for bw_frac).
Bandwidth stream_gbps(int n_threads) {
  static std::map<int, Bandwidth> cache;
  auto it = cache.find(n_threads);
  if (it != cache.end()) return it->second;
  ThreadPool pool(n_threads);
  std::vector<double> wall, cpu;
  for (int i = 0; i < 5; ++i) {
    const double t0 = now_ms(), c0 = thread_cpu_s();
    stream_pass(pool);
    wall.push_back(static_cast<double>(kDramBytes) / (now_ms() - t0) / 1e6);
    cpu.push_back(static_cast<double>(kDramBytes) / (thread_cpu_s() - c0) / 1e9);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return cache[n_threads] = {wall[2], cpu[2]};
}

void stream_read(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  dram_buffer();  // allocate and touch outside the timed loop
  const double c0 = thread_cpu_s();
  for (auto _ : state) stream_pass(pool);
  const double bytes = static_cast<double>(kDramBytes) * static_cast<double>(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["GB/s_cpu"] = bytes / 1e9 / (thread_cpu_s() - c0);
}

// ---- matmul

// Random codes with finite fp16 block scales (random scale bits would include NaNs and subnormals).
void fill_weights(DType dtype, uint8_t* w, size_t n_bytes) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i + 8 <= n_bytes; i += 8) {  // splitmix64: cheap enough for hundreds of MiB
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(w + i, &z, 8);
  }
  const DTypeInfo& info = dtype_info(dtype);
  const uint16_t small = f32_to_fp16(0.01f);
  for (size_t at = 0; at + info.block_bytes <= n_bytes; at += info.block_bytes) {
    switch (dtype) {
      case DType::F16:
        std::memcpy(w + at, &small, 2);
        break;
      case DType::Q6_K:
        std::memcpy(w + at + offsetof(BlockQ6_K, d), &small, 2);
        break;
      case DType::Q4_K:
        std::memcpy(w + at, &small, 2);
        std::memcpy(w + at + 2, &small, 2);
        break;
      default:
        std::memcpy(w + at, &small, 2);
        break;  // Q4_0, Q8_0: d first
    }
  }
}

// Copies of one weight matrix (the same bytes at different addresses), enough to exceed the
// last-level cache when `dram` is set.
struct WeightSet {
  DType dtype = DType::F32;
  WeightLayout layout = WeightLayout::rows;
  Shape shape{0, 0};
  bool dram = false;
  std::vector<AlignedBuffer> copies;
  TensorView view(size_t i) const {
    return TensorView{"w", dtype, shape.n_cols, shape.n_rows, copies[i % copies.size()].data(), layout};
  }
};

// n_channels channel-major channels of n_out outputs: random codes and, for Q8_0 and Q4_0, small
// block scales at each channel's start (tensor/channel_major.h).
void fill_cm_weights(DType dtype, uint8_t* w, int64_t n_channels, int64_t n_out) {
  const size_t channel = channel_bytes(dtype, n_out);
  fill_weights(dtype, w, channel * n_channels);
  if (dtype != DType::Q8_0 && dtype != DType::Q4_0) return;
  const uint16_t small = f32_to_fp16(0.01f);
  for (int64_t j = 0; j < n_channels; ++j) {
    for (int64_t b = 0; b < n_out / kChannelMajorTile; ++b) std::memcpy(w + j * channel + 2 * b, &small, 2);
  }
}

// The weights of the last benchmark, kept for its repetitions (only one set lives at a time).
// The copies are in `layout` (the kernels' layout; GGUF rows for the scalar reference).
const WeightSet& weights_for(DType dtype, WeightLayout layout, const Shape& s, bool dram) {
  static WeightSet set;
  if (set.dtype == dtype && set.layout == layout && set.shape.n_cols == s.n_cols &&
      set.shape.n_rows == s.n_rows && set.dram == dram && !set.copies.empty()) {
    return set;
  }
  set = WeightSet{dtype, layout, s, dram, {}};
  const bool cm = layout == WeightLayout::channel_major;  // n_cols channels of n_rows: random blocks too
  const size_t bytes = cm ? channel_bytes(dtype, s.n_rows) * s.n_cols : layout_row_bytes(dtype, layout, s.n_cols) * s.n_rows;
  const size_t n_copies = dram ? std::max<size_t>(1, (kDramBytes + bytes - 1) / bytes) : 1;
  for (size_t i = 0; i < n_copies; ++i) {
    set.copies.emplace_back(bytes);
    if (i == 0 && cm) {
      fill_cm_weights(dtype, set.copies[0].as<uint8_t>(), s.n_cols, s.n_rows);
    } else if (i == 0) {
      std::vector<uint8_t> rows(row_bytes(dtype, s.n_cols) * s.n_rows);
      fill_weights(dtype, rows.data(), rows.size());
      pack_rows(dtype, layout, rows.data(), s.n_rows, s.n_cols, set.copies[0].data());
    } else {
      std::memcpy(set.copies[i].data(), set.copies[0].data(), bytes);
    }
  }
  return set;
}

std::vector<float> make_activations(int64_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

MatmulKernel pick_kernel(DType dtype, const Shape& s, int64_t n_tokens, const std::string& which) {
  if (which == "scalar") return resolve_kernel(dtype, WeightLayout::rows, CpuIsa::scalar, MatmulConfig{});
  return select_default_kernel(dtype, preferred_layout(dtype), s.n_rows, s.n_cols, n_tokens);
}

void run_matmul(benchmark::State& state, DType dtype, Shape s, int n_threads, int64_t n_tokens,
                std::string which) {
  const bool decode = n_tokens == 1;
  const MatmulKernel kernel = pick_kernel(dtype, s, n_tokens, which);
  const WeightSet& weights = weights_for(dtype, kernel.layout, s, decode);
  const std::vector<float> x = make_activations(n_tokens * s.n_cols);
  std::vector<float> y(n_tokens * s.n_rows);
  ThreadPool pool(n_threads);
  MatmulScratch scratch;
  size_t i = 0;
  const double c0 = thread_cpu_s();
  for (auto _ : state) {
    matmul(weights.view(i++), x.data(), n_tokens, y.data(), pool, scratch, kernel);
    benchmark::DoNotOptimize(y.data());
  }
  const double cpu_s = thread_cpu_s() - c0;
  state.SetLabel(kernel.name);
  const double n = static_cast<double>(state.iterations());
  if (decode) {
    const double gb = static_cast<double>(row_bytes(dtype, s.n_cols) * s.n_rows) * n / 1e9;
    const Bandwidth limit = stream_gbps(n_threads);
    state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
    state.counters["bw_frac"] = benchmark::Counter(gb / limit.wall_gbps, benchmark::Counter::kIsRate);
    state.counters["GB/s_cpu"] = gb / cpu_s;
    state.counters["bw_frac_cpu"] = gb / cpu_s / limit.cpu_gbps;
  } else {
    state.counters["tokens/s"] =
        benchmark::Counter(static_cast<double>(n_tokens) * n, benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * s.n_cols * s.n_rows * n_tokens * n / 1e9, benchmark::Counter::kIsRate);
    state.counters["tokens/s_cpu"] = static_cast<double>(n_tokens) * n / cpu_s;
  }
}

// A random active set of round((1 - sparsity) n) channels of [0, n), ascending.
std::vector<int32_t> random_active(int64_t n, double sparsity) {
  std::vector<int32_t> all(n);
  for (int32_t j = 0; j < n; ++j) all[j] = j;
  std::mt19937 rng(7);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<size_t>(std::lround((1.0 - sparsity) * static_cast<double>(n))));
  std::sort(all.begin(), all.end());
  return all;
}

void run_gather(benchmark::State& state, DType dtype, Shape s, int n_threads, double sparsity, CmGatherConfig config) {
  const CmKernel best = select_cm_kernel(dtype);
  const CmKernel kernel = resolve_cm_kernel(dtype, best.gather->key.isa, config);
  const WeightSet& weights = weights_for(dtype, WeightLayout::channel_major, s, true);
  const std::vector<float> x = make_activations(s.n_cols);
  const std::vector<int32_t> active = random_active(s.n_cols, sparsity);
  std::vector<float> y(s.n_rows);
  ThreadPool pool(n_threads);
  CmScratch scratch;
  size_t i = 0;
  const double c0 = thread_cpu_s();
  for (auto _ : state) {
    cm_gather_matvec(weights.view(i++), x.data(), active, y.data(), pool, scratch, kernel);
    benchmark::DoNotOptimize(y.data());
  }
  const double cpu_s = thread_cpu_s() - c0;
  state.SetLabel(kernel.gather->name + " " + cm_config_name(config));
  const double n = static_cast<double>(state.iterations());
  const double gb = static_cast<double>(channel_bytes(dtype, s.n_rows) * active.size()) * n / 1e9;
  const Bandwidth limit = stream_gbps(n_threads);
  state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
  state.counters["bw_frac"] = benchmark::Counter(gb / limit.wall_gbps, benchmark::Counter::kIsRate);
  state.counters["GB/s_cpu"] = gb / cpu_s;
}

// The gathered matvec's reads without its arithmetic: the same active channels, split by channels
// over the threads, read 16 channels at a time in chunks of 16 blocks with the next step's chunk
// prefetched into L2, as the default config does. Its GB/s bounds what the gather can read.
void run_gather_read(benchmark::State& state, DType dtype, Shape s, int n_threads, double sparsity) {
  const WeightSet& weights = weights_for(dtype, WeightLayout::channel_major, s, true);
  const std::vector<int32_t> active = random_active(s.n_cols, sparsity);
  const size_t channel = channel_bytes(dtype, s.n_rows), chunk = channel / (s.n_rows / kChannelMajorTile) * 16;
  ThreadPool pool(n_threads);
  std::vector<uint64_t> sums(static_cast<size_t>(n_threads));
  size_t i = 0;
  for (auto _ : state) {
    const uint8_t* w = static_cast<const uint8_t*>(weights.view(i++).data);
    pool.parallel_for(n_threads, n_threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t a0, a1;
        split_range(static_cast<int64_t>(active.size()), t, n_threads, &a0, &a1);
        uint64_t sum = 0;
        for (int64_t a = a0; a < a1; a += 16) {
          const int64_t n = std::min<int64_t>(16, a1 - a), n_next = std::clamp<int64_t>(a1 - a - 16, 0, 16);
          for (size_t at = 0; at < channel; at += chunk) {
            const size_t len = std::min(chunk, channel - at);
            for (int64_t k = 0; k < n_next; ++k) {
              for (size_t line = 0; line < len; line += 64) __builtin_prefetch(w + active[a + 16 + k] * channel + at + line, 0, 2);
            }
            for (int64_t k = 0; k < n; ++k) sum += sum_bytes(w + active[a + k] * channel + at, len / 64 * 64);
          }
        }
        sums[t] += sum;
      }
    });
    benchmark::DoNotOptimize(sums.data());
  }
  const double gb = static_cast<double>(channel * active.size()) * static_cast<double>(state.iterations()) / 1e9;
  state.counters["GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
  state.counters["bw_frac"] = benchmark::Counter(gb / stream_gbps(n_threads).wall_gbps, benchmark::Counter::kIsRate);
}

void run_cm_prefill(benchmark::State& state, DType dtype, Shape s, int n_threads) {
  const CmKernel kernel = select_cm_kernel(dtype);
  const WeightSet& weights = weights_for(dtype, WeightLayout::channel_major, s, false);
  const std::vector<float> x = make_activations(kPrefillTokens * s.n_cols);
  std::vector<float> y(kPrefillTokens * s.n_rows);
  ThreadPool pool(n_threads);
  CmScratch scratch;
  for (auto _ : state) {
    cm_matmul(weights.view(0), x.data(), kPrefillTokens, y.data(), pool, scratch, kernel);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(kernel.matmul->name);
  const double n = static_cast<double>(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kPrefillTokens) * n, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * s.n_cols * s.n_rows * kPrefillTokens * n / 1e9, benchmark::Counter::kIsRate);
}

// The gather configs the sweep compares (the default is one of them).
std::vector<CmGatherConfig> cm_sweep_configs() {
  std::vector<CmGatherConfig> out;
  for (CmSplit split : {CmSplit::outputs, CmSplit::channels}) {
    for (int step : {4, 8, 16}) {
      for (int64_t tile : {256, 1024, 8192}) {
        for (bool prefetch : {false, true}) out.push_back({split, step, tile, prefetch});
      }
    }
  }
  return out;
}

void register_channel_major() {
  for (DType dtype : {DType::Q4_0, DType::Q8_0}) {
    for (const Shape& s : kShapes) {
      if (s.n_rows == 32000) continue;  // the head stays dense
      const std::string shape = std::to_string(s.n_cols) + "x" + std::to_string(s.n_rows);
      for (int n_threads : {1, 2}) {
        for (double sparsity : {0.5, 0.7}) {
          const std::string name = std::string("gather/") + dtype_name(dtype) + "/" + shape + "/s:" +
                                   (sparsity == 0.5 ? "0.5" : "0.7") + "/threads:" + std::to_string(n_threads);
          benchmark::RegisterBenchmark((name + "/default").c_str(), run_gather, dtype, s, n_threads, sparsity,
                                       CmGatherConfig{})
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          benchmark::RegisterBenchmark(("gather_read" + name.substr(6)).c_str(), run_gather_read, dtype, s, n_threads,
                                       sparsity)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if (dtype != DType::Q4_0 || sparsity != 0.5) continue;
          for (const CmGatherConfig& c : cm_sweep_configs()) {
            benchmark::RegisterBenchmark(("gather_sweep/" + name.substr(7) + "/" + cm_config_name(c)).c_str(),
                                         run_gather, dtype, s, n_threads, sparsity, c)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
        benchmark::RegisterBenchmark(
            (std::string("cm_prefill/") + dtype_name(dtype) + "/" + shape + "/threads:" + std::to_string(n_threads)).c_str(),
            run_cm_prefill, dtype, s, n_threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

bool register_all() {
  register_channel_major();
  benchmark::RegisterBenchmark("stream_read", stream_read)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();
  for (int64_t gap : {0, 256, 1152}) {
    for (int64_t ahead : {0, 8}) {
      benchmark::RegisterBenchmark("gapped_read", gapped_read)->Args({1152, gap, ahead})->ArgNames({"run", "gap", "ahead"})->UseRealTime();
    }
  }
  for (int64_t streams : {1, 2, 4, 16}) {
    for (int64_t chunk : {64, 256, 1152}) {
      benchmark::RegisterBenchmark("interleaved_read", interleaved_read)->Args({streams, chunk})->ArgNames({"streams", "chunk"})->UseRealTime();
    }
  }
  for (const char* phase : {"decode", "prefill"}) {
    const int64_t n_tokens = std::string(phase) == "decode" ? 1 : kPrefillTokens;
    for (DType dtype : kTypes) {
      for (const Shape& s : kShapes) {
        for (int n_threads : {1, 2}) {
          for (const char* which : {"default", "scalar"}) {
            if (std::string(which) == "scalar" && (s.n_rows != 2048 || s.n_cols != 2048)) continue;
            const std::string name = std::string(phase) + "/" + dtype_name(dtype) + "/" +
                                     std::to_string(s.n_cols) + "x" + std::to_string(s.n_rows) +
                                     "/threads:" + std::to_string(n_threads) + "/" + which;
            benchmark::RegisterBenchmark(name.c_str(), run_matmul, dtype, s, n_threads, n_tokens,
                                         std::string(which))
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
  return true;
}

const bool kRegistered = register_all();

}  // namespace
}  // namespace jf
