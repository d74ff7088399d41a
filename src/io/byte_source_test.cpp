// The file sources against the bytes they were written from: buffered and direct (O_DIRECT) reads
// of unaligned ranges, the file's partial last block, batches, and reads past the end.
#include "io/byte_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "test_env.h"

namespace jf {
namespace {

// 3 blocks of 4096 and a partial fourth: direct reads near the end get a short last block.
std::vector<uint8_t> write_file(const std::string& path) {
  std::vector<uint8_t> bytes(3 * 4096 + 123);
  std::mt19937 rng(7);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  return bytes;
}

TEST(ByteSource, DirectAndBufferedReadsGiveTheFilesBytes) {
  const std::string path = test::temp_path("source.bin");
  const std::vector<uint8_t> bytes = write_file(path);
  auto buffered = open_file_source(path);
  auto direct = open_direct_file_source(path);
  ASSERT_TRUE(buffered.ok()) << buffered.status().to_string();
  ASSERT_TRUE(direct.ok()) << direct.status().to_string();
  std::printf("direct I/O %s here\n",
              (*direct)->bypasses_page_cache() ? "bypasses the page cache" : "was refused");
  struct Range {
    uint64_t offset;
    size_t n;
  };
  const Range ranges[] = {{0, 4096},   {1, 10},          {4095, 2},
                          {100, 9000}, {3 * 4096, 123},  {3 * 4096 + 100, 23},
                          {5000, 0},   {0, bytes.size()}};
  for (const auto& source : {buffered->get(), direct->get()}) {
    EXPECT_EQ(source->size(), bytes.size());
    for (const Range& r : ranges) {
      std::vector<uint8_t> got(r.n + 1, 0xAB);
      ASSERT_TRUE(source->read_at(r.offset, got.data(), r.n).ok()) << r.offset << "+" << r.n;
      EXPECT_TRUE(
          std::equal(got.begin(), got.begin() + static_cast<ptrdiff_t>(r.n), bytes.begin() + r.offset))
          << r.offset << "+" << r.n;
      EXPECT_EQ(got[r.n], 0xAB) << "wrote past the request at " << r.offset << "+" << r.n;
    }
    std::vector<uint8_t> a(50), b(5000);
    const ReadRequest batch[] = {{7, a.size(), a.data()}, {7000, b.size(), b.data()}};
    ASSERT_TRUE(source->read_batch(batch).ok());
    EXPECT_TRUE(std::equal(a.begin(), a.end(), bytes.begin() + 7));
    EXPECT_TRUE(std::equal(b.begin(), b.end(), bytes.begin() + 7000));

    const Status past = source->read_at(bytes.size() - 10, a.data(), 11);
    EXPECT_EQ(past.code(), StatusCode::kOutOfRange);
    EXPECT_NE(past.message().find(path), std::string::npos) << past.message();
  }
}

TEST(ByteSource, MissingFileIsNotFound) {
  const auto direct = open_direct_file_source(test::temp_path("absent.bin"));
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace jf
