#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/checked_math.h"
#include "base/clock.h"
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "base/units.h"
#include "jitflow/status.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace jf {
namespace {

// --- ThreadPool ---------------------------------------------------------------------------------

TEST(ThreadPool, ClampsThreadCountToOne) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.n_threads(), 1);
  std::vector<int64_t> begins;
  pool.parallel_for(10, 3, [&](int64_t begin, int64_t) { begins.push_back(begin); });
  EXPECT_EQ(begins, (std::vector<int64_t>{0, 4, 7}));
}

TEST(ThreadPool, ChunkCountIsAFewPerThreadAtMostTheItemsAndAMultipleOfTheThreads) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.chunk_count(0), 1);
  EXPECT_EQ(pool.chunk_count(2), 2);
  EXPECT_EQ(pool.chunk_count(5), 3);
  EXPECT_EQ(pool.chunk_count(1000), 3 * ThreadPool::kChunksPerThread);
  EXPECT_EQ(ThreadPool(1).chunk_count(1000), 1);
  EXPECT_EQ(pool.chunk_count(1000, 8), 6);  // a multiple of the thread count above it
  EXPECT_EQ(pool.chunk_count(1000, 2), 2);
  EXPECT_EQ(pool.chunk_count(1000, 0), 1);
}

// Many back-to-back jobs are where a lost wake-up, a chunk claimed twice or a worker left inside a
// finished job would show. More threads than chunks, and than cores, included.
TEST(ThreadPool, EveryChunkRunsExactlyOnceWithItsSplitRange) {
  constexpr int kJobs = 3000;
  constexpr int64_t n = 100;
  for (int n_threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(n_threads);
    for (int64_t n_chunks : {1, 2, 3, 7, 64}) {
      std::vector<int64_t> chunk_at(n, -1);  // chunk_at[begin]: the chunk split_range starts there
      std::vector<int64_t> expected_end(n_chunks);
      for (int64_t c = 0; c < n_chunks; ++c) {
        int64_t begin;
        split_range(n, c, n_chunks, &begin, &expected_end[c]);
        chunk_at[begin] = c;
      }
      // Slot c is written only by the thread that runs chunk c: a second run of it shows as 2.
      std::vector<int> calls(n_chunks);
      std::atomic<bool> bad_range{false};
      bool counts_ok = true;
      for (int job = 0; job < kJobs && counts_ok; ++job) {
        std::fill(calls.begin(), calls.end(), 0);
        pool.parallel_for(n, n_chunks, [&](int64_t begin, int64_t end) {
          const int64_t chunk = begin >= 0 && begin < n ? chunk_at[begin] : -1;
          if (chunk < 0 || end != expected_end[chunk]) {
            bad_range.store(true);
            return;
          }
          ++calls[chunk];
        });
        // parallel_for returned, so every chunk has finished and its writes are visible.
        counts_ok = std::all_of(calls.begin(), calls.end(), [](int c) { return c == 1; });
      }
      EXPECT_FALSE(bad_range.load()) << n_threads << " threads, " << n_chunks << " chunks";
      EXPECT_TRUE(counts_ok) << n_threads << " threads, " << n_chunks << " chunks";
    }
  }
}

TEST(ThreadPool, MoreChunksThanItemsGivesEmptyChunks) {
  ThreadPool pool(2);
  std::atomic<int> calls{0}, items{0};
  pool.parallel_for(2, 5, [&](int64_t begin, int64_t end) {
    calls.fetch_add(1);
    items.fetch_add(static_cast<int>(end - begin));
  });
  EXPECT_EQ(calls.load(), 5);
  EXPECT_EQ(items.load(), 2);
}

// Chunks that take long (a thread descheduled mid-chunk looks like this to the others) send the
// caller to sleep and make the pool run jobs on the caller alone for a while; every chunk must
// still run exactly once before parallel_for returns, and jobs right after must too.
TEST(ThreadPool, SlowChunksStillRunExactlyOnce) {
  ThreadPool pool(3);
  constexpr int64_t kChunks = 6;
  for (int job = 0; job < 20; ++job) {
    std::vector<int> calls(kChunks, 0);
    pool.parallel_for(kChunks, kChunks, [&](int64_t chunk, int64_t) {
      if (job % 2 == 0 && chunk == job % kChunks) std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ++calls[chunk];
    });
    ASSERT_EQ(calls, std::vector<int>(kChunks, 1)) << "job " << job;
  }
}

// The sum of each chunk, computed by whichever thread claims it, is the same bits as the same sum
// computed on one thread, whatever the thread count and the timing. Some chunks yield or sleep so
// that the claiming order varies from job to job.
TEST(ThreadPool, ResultsDoNotDependOnScheduling) {
  std::vector<double> values(100003);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<double>(i)) * 1e3;
  const int64_t n = static_cast<int64_t>(values.size());
  constexpr int64_t kChunks = 37;
  auto chunk_sum = [&](int64_t begin, int64_t end) {
    double sum = 0;
    for (int64_t i = begin; i < end; ++i) sum += values[i];
    return sum;
  };
  std::vector<double> expected(kChunks);
  std::vector<int64_t> chunk_at(n);  // chunk_at[begin]: the chunk split_range starts there
  for (int64_t c = 0; c < kChunks; ++c) {
    int64_t begin, end;
    split_range(n, c, kChunks, &begin, &end);
    expected[c] = chunk_sum(begin, end);
    chunk_at[begin] = c;
  }
  for (int n_threads = 1; n_threads <= 4; ++n_threads) {
    ThreadPool pool(n_threads);
    std::vector<double> sums(kChunks);
    for (int job = 0; job < 200; ++job) {
      const auto chunk_job = [&](int64_t begin, int64_t end) {
        const int64_t chunk = chunk_at[begin];
        if ((chunk + job) % 11 == 0) std::this_thread::yield();
        if ((chunk + job) % 53 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        sums[chunk] = chunk_sum(begin, end);
      };
      pool.parallel_for(n, kChunks, chunk_job);  // an lvalue callable
      ASSERT_EQ(sums, expected) << n_threads << " threads, job " << job;
    }
  }
}

TEST(ThreadPool, AcceptsConstCallables) {
  ThreadPool pool(2);
  std::atomic<int> calls{0};
  const auto job = [&](int64_t, int64_t) { calls.fetch_add(1); };
  pool.parallel_for(4, 4, job);
  EXPECT_EQ(calls.load(), 4);
}

TEST(ThreadPool, DestroysWithoutAnyJob) {
  for (int i = 0; i < 50; ++i) ThreadPool pool(4);
}

TEST(ThreadPool, DestroysWhileWorkersSleep) {
  ThreadPool pool(3);
  std::atomic<int> calls{0};
  pool.parallel_for(6, 6, [&](int64_t, int64_t) { calls.fetch_add(1); });
  // Long enough for the workers to give up spinning and wait on the condition variable.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pool.parallel_for(6, 6, [&](int64_t, int64_t) { calls.fetch_add(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls.load(), 12);
}

TEST(SplitRange, CoversRangeExactlyWithNearEqualParts) {
  const std::vector<int64_t> sizes = {0, 1, 2, 3, 7, 64, 127, 1000, 4097, int64_t{1} << 40};
  for (int64_t n : sizes) {
    for (int n_parts = 1; n_parts <= 33; ++n_parts) {
      int64_t expected_begin = 0;
      for (int part = 0; part < n_parts; ++part) {
        int64_t begin, end;
        split_range(n, part, n_parts, &begin, &end);
        ASSERT_EQ(begin, expected_begin) << "n=" << n << " part " << part << "/" << n_parts;
        const int64_t size = end - begin;
        ASSERT_TRUE(size == n / n_parts || size == n / n_parts + 1) << "n=" << n << " size " << size;
        expected_begin = end;
      }
      ASSERT_EQ(expected_begin, n) << "n=" << n << " parts " << n_parts;
    }
  }
}

TEST(SplitRange, SmallSizesForAllParts) {
  for (int64_t n = 0; n < 300; ++n) {
    for (int n_parts = 1; n_parts <= 17; ++n_parts) {
      int64_t covered = 0;
      for (int part = 0; part < n_parts; ++part) {
        int64_t begin, end;
        split_range(n, part, n_parts, &begin, &end);
        ASSERT_EQ(begin, covered);
        ASSERT_LE(end - begin, (n + n_parts - 1) / n_parts);
        covered = end;
      }
      ASSERT_EQ(covered, n);
    }
  }
}

// --- Status, Result, macros ---------------------------------------------------------------------

TEST(Status, DefaultIsOk) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_TRUE(Status::ok_status().ok());
}

TEST(Status, ErrorFormatsMessage) {
  const Status s = error(StatusCode::kCorruptFile, "%s: field '%s' at offset %llu", "a.gguf", "n_tensors",
                         static_cast<unsigned long long>(24));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruptFile);
  EXPECT_EQ(s.message(), "a.gguf: field 'n_tensors' at offset 24");
  EXPECT_EQ(s.to_string(), "corrupt file: a.gguf: field 'n_tensors' at offset 24");
}

TEST(Status, EveryCodeHasADistinctName) {
  const StatusCode codes[] = {StatusCode::kOk,          StatusCode::kInvalidArgument, StatusCode::kNotFound,
                              StatusCode::kIoError,     StatusCode::kCorruptFile,     StatusCode::kUnsupported,
                              StatusCode::kOutOfRange,  StatusCode::kInternal};
  std::vector<std::string> names;
  for (StatusCode code : codes) names.emplace_back(status_code_name(code));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
  EXPECT_EQ(std::string(status_code_name(StatusCode::kNotFound)), "not found");
}

TEST(StrPrintf, FormatsShortEmptyAndLongStrings) {
  EXPECT_EQ(str_printf("%d-%s", 42, "x"), "42-x");
  EXPECT_EQ(str_printf("%s", ""), "");
  const std::string long_text(10000, 'q');
  EXPECT_EQ(str_printf("<%s>", long_text.c_str()), "<" + long_text + ">");
}

Result<int> parse_positive(int v) {
  if (v <= 0) return error(StatusCode::kInvalidArgument, "%d is not positive", v);
  return v;
}

Result<int> doubled(int v) {
  JF_ASSIGN_OR_RETURN(const int x, parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  JF_RETURN_IF_ERROR(parse_positive(a).status());
  JF_RETURN_IF_ERROR(parse_positive(b).status());
  return Status::ok_status();
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> ok = parse_positive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.status().ok());
  EXPECT_EQ(*ok, 3);
  Result<int> bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "-1 is not positive");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Macros, AssignOrReturnPropagates) {
  EXPECT_EQ(*doubled(5), 10);
  const Result<int> bad = doubled(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "0 is not positive");
}

TEST(Macros, ReturnIfErrorStopsAtFirstError) {
  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_EQ(check_both(1, -2).message(), "-2 is not positive");
  EXPECT_EQ(check_both(-1, -2).message(), "-1 is not positive");
}

// --- checked_math -------------------------------------------------------------------------------

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(CheckedMath, Add) {
  EXPECT_EQ(checked_add(1, 2), 3u);
  EXPECT_EQ(checked_add(kMax, 0), kMax);
  EXPECT_EQ(checked_add(kMax - 1, 1), kMax);
  EXPECT_FALSE(checked_add(kMax, 1).has_value());
  EXPECT_FALSE(checked_add(kMax / 2 + 1, kMax / 2 + 1).has_value());
}

TEST(CheckedMath, Mul) {
  EXPECT_EQ(checked_mul(0, kMax), 0u);
  EXPECT_EQ(checked_mul(kMax, 1), kMax);
  EXPECT_EQ(checked_mul(uint64_t{1} << 32, (uint64_t{1} << 32) - 1), kMax - ((uint64_t{1} << 32) - 1));
  EXPECT_FALSE(checked_mul(uint64_t{1} << 32, uint64_t{1} << 32).has_value());
  EXPECT_FALSE(checked_mul(kMax, 2).has_value());
}

TEST(CheckedMath, AlignUp) {
  EXPECT_EQ(checked_align_up(0, 32), 0u);
  EXPECT_EQ(checked_align_up(1, 32), 32u);
  EXPECT_EQ(checked_align_up(32, 32), 32u);
  EXPECT_EQ(checked_align_up(33, 32), 64u);
  EXPECT_EQ(checked_align_up(12345, 1), 12345u);
  EXPECT_EQ(checked_align_up(10, 3), 12u);  // alignment need not be a power of two
  EXPECT_EQ(checked_align_up(kMax - 31, 32), kMax - 31);
  EXPECT_FALSE(checked_align_up(kMax - 30, 32).has_value());
  EXPECT_FALSE(checked_align_up(kMax, 2).has_value());
}

// --- AlignedBuffer ------------------------------------------------------------------------------

TEST(AlignedBuffer, EmptyByDefaultAndForZeroBytes) {
  AlignedBuffer a;
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  AlignedBuffer b(0);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
}

TEST(AlignedBuffer, AlignedAndZeroFilled) {
  for (size_t size : {1, 3, 63, 64, 65, 1000, 4096, 100001}) {
    AlignedBuffer buffer(size);
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_EQ(buffer.size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % kSimdAlignment, 0u) << size;
    EXPECT_TRUE(std::all_of(buffer.data(), buffer.data() + size, [](std::byte b) { return b == std::byte{0}; }));
    buffer.data()[size - 1] = std::byte{1};  // the whole requested size is writable (ASan checks)
  }
}

TEST(AlignedBuffer, MoveTransfersOwnership) {
  AlignedBuffer a(256);
  a.as<float>()[3] = 2.5f;
  std::byte* const data = a.data();
  AlignedBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.size(), 256u);
  EXPECT_EQ(b.as<float>()[3], 2.5f);

  AlignedBuffer c(64);
  c = std::move(b);  // frees c's old memory (ASan reports a leak otherwise)
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move)

  AlignedBuffer& alias = c;
  c = std::move(alias);  // self-move keeps the buffer
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(c.size(), 256u);
}

// --- cpu_features, clock ------------------------------------------------------------------------

TEST(CpuFeatures, ConsistentAndDescribed) {
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(&f, &cpu_features());  // detected once
  EXPECT_GE(f.n_logical_cpus, 1);
  EXPECT_FALSE(f.feature_list().empty());
#if defined(__x86_64__)
  EXPECT_FALSE(f.neon);
  // Architectural implications: every AVX-512 CPU has AVX2, and every AVX-512 extension needs F.
  EXPECT_TRUE(!f.avx512f || f.avx2);
  EXPECT_TRUE(!(f.avx512bw || f.avx512vl || f.avx512vnni || f.avx512bf16) || f.avx512f);
  EXPECT_FALSE(f.model_name.empty());
  EXPECT_NE(f.model_name.front(), ' ');
  EXPECT_NE(f.model_name.back(), ' ');
#endif
  EXPECT_EQ(f.avx2, f.feature_list().find("avx2") != std::string::npos);
}

TEST(Clock, MonotonicAndRssKnown) {
  const double a = now_ms();
  const double b = now_ms();
  EXPECT_LE(a, b);
#if defined(__linux__)
  EXPECT_GT(peak_rss_bytes(), 0u);
#endif
}

// --- fp16 / bf16 --------------------------------------------------------------------------------

bool is_nan_half(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    const float f = fp16_to_f32(half);
    if (is_nan_half(half)) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(is_nan_half(f32_to_fp16(f))) << h;
    } else {
      ASSERT_EQ(f32_to_fp16(f), half) << h;
    }
  }
}

TEST(Fp16, KnownValues) {
  EXPECT_EQ(fp16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);                // rounds to infinity
  EXPECT_EQ(f32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);   // exactly half the smallest: ties to even
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t f16c_convert(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

// Bit-exact with the hardware on a strided sweep of every float bit pattern.
TEST(Fp16, MatchesF16cInstructions) {
  if (!cpu_features().f16c) GTEST_SKIP() << "no F16C";
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 997) {
    const float f = f32_from_bits(static_cast<uint32_t>(bits));
    const uint16_t ours = f32_to_fp16(f);
    const uint16_t hw = f16c_convert(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(is_nan_half(ours)) << std::hex << bits;
    } else {
      ASSERT_EQ(ours, hw) << std::hex << bits;
    }
  }
}
#endif

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808001)), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the dropped bits must not turn into infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f32_from_bits(0x7f800001)))));
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h);
  }
}

// The OS's cache sizes from a sysfs-like folder made here (instruction caches are not data caches).
TEST(Sysfs, ReadsLevelsAndSkipsInstructionCaches) {
  const std::filesystem::path root = std::filesystem::path(testing::TempDir()) / "sysfs_cache";
  auto add = [&](int index, const char* level, const char* type, const char* size) {
    const auto dir = root / ("index" + std::to_string(index));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "level") << level << "\n";
    std::ofstream(dir / "type") << type << "\n";
    std::ofstream(dir / "size") << size << "\n";
  };
  add(0, "1", "Data", "48K");
  add(1, "1", "Instruction", "32K");
  add(2, "2", "Unified", "2048K");
  add(3, "3", "Unified", "36M");
  const CacheSizes sizes = read_sysfs_cache_sizes(root.string());
  EXPECT_EQ(sizes.l1d_bytes, 48u << 10);
  EXPECT_EQ(sizes.l2_bytes, 2u << 20);
  EXPECT_EQ(sizes.l3_bytes, 36u << 20);
  const CacheSizes missing = read_sysfs_cache_sizes((root / "nowhere").string());
  EXPECT_EQ(missing.l1d_bytes, 0u);
}

}  // namespace
}  // namespace jf

namespace jf {
namespace {

TEST(Units, MemorySizes) {
  EXPECT_EQ(*parse_memory_size("4096", 0), 4096u);
  EXPECT_EQ(*parse_memory_size("300M", 0), 300u << 20);
  EXPECT_EQ(*parse_memory_size("1.5G", 0), 3u << 29);
  EXPECT_EQ(*parse_memory_size("64k", 0), 64u << 10);
  EXPECT_EQ(*parse_memory_size("40%", 1000), 400u);
  for (const char* bad : {"", "M", "%", "10x", "-5M", "0", "0.1", "nan", "1e30G", "5%%"}) {
    const Result<uint64_t> r = parse_memory_size(bad, 1000);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace jf
