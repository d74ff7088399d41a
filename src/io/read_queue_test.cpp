// The loader thread against a memory source: batches land where they were sent, in order, tickets
// report their own batch's failure once, and a queue destroyed with batches pending finishes them.
#include "io/read_queue.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace jf {
namespace {

std::unique_ptr<ByteSource> counting_source(size_t n) {
  std::vector<uint8_t> bytes(n);
  std::iota(bytes.begin(), bytes.end(), uint8_t{0});
  return make_memory_source(std::move(bytes), "counting");
}

TEST(ReadQueue, BatchesLandWhereTheyWereSent) {
  ReadQueue queue(counting_source(4096));
  std::vector<std::vector<uint8_t>> dst(20, std::vector<uint8_t>(100));
  std::vector<uint64_t> tickets;
  for (size_t i = 0; i < dst.size(); ++i) {
    tickets.push_back(queue.submit({{i * 100, 50, dst[i].data()}, {i * 100 + 50, 50, dst[i].data() + 50}}));
  }
  for (size_t i = 0; i < dst.size(); ++i) {
    EXPECT_EQ(tickets[i], i + 1);
    ASSERT_TRUE(queue.wait(tickets[i]).ok());
    for (size_t k = 0; k < 100; ++k) ASSERT_EQ(dst[i][k], static_cast<uint8_t>(i * 100 + k)) << i << " " << k;
  }
}

TEST(ReadQueue, AFailedBatchFailsItsOwnTicketOnce) {
  ReadQueue queue(counting_source(1000));
  std::vector<uint8_t> a(10), b(10), c(10);
  const uint64_t good = queue.submit({{0, 10, a.data()}});
  const uint64_t bad = queue.submit({{995, 10, b.data()}});  // past the end
  const uint64_t after = queue.submit({{20, 10, c.data()}});
  const Status failed = queue.wait(bad);
  EXPECT_EQ(failed.code(), StatusCode::kOutOfRange) << failed.to_string();
  EXPECT_NE(failed.message().find("counting"), std::string::npos) << failed.message();
  EXPECT_TRUE(queue.wait(bad).ok()) << "a ticket's failure is reported once";
  EXPECT_TRUE(queue.wait(good).ok());
  EXPECT_TRUE(queue.wait(after).ok());
  EXPECT_EQ(c[0], 20);
}

TEST(ReadQueue, DestroyedWithBatchesPendingItFinishesThem) {
  std::vector<std::vector<uint8_t>> dst(50, std::vector<uint8_t>(64));
  {
    ReadQueue queue(counting_source(64 * 50));
    for (size_t i = 0; i < dst.size(); ++i) queue.submit({{i * 64, 64, dst[i].data()}});
  }
  for (size_t i = 0; i < dst.size(); ++i) EXPECT_EQ(dst[i][63], static_cast<uint8_t>(i * 64 + 63)) << i;
}

TEST(ReadQueue, DrainWaitsForEverything) {
  ReadQueue queue(counting_source(256));
  std::vector<uint8_t> dst(256);
  for (size_t i = 0; i < 256; i += 16) queue.submit({{i, 16, dst.data() + i}});
  queue.drain();
  for (size_t i = 0; i < 256; ++i) ASSERT_EQ(dst[i], i);
}

}  // namespace
}  // namespace jf
