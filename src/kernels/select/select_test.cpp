// Every selection entry against its reference, and the references against a full sort: sizes
// around the vector width, many ties, signed zeros and infinity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/select/select.h"
#include "kernels/select/select_test_util.h"
#include "kernels/simd/op_test_util.h"

namespace jf {
namespace {

const std::vector<int64_t> kSizes = {1, 7, 15, 16, 17, 64, 172, 1408, 2048};

TEST(SelectReference, TopkMatchesFullSortIncludingTies) {
  TopkScratch scratch;
  for (int distinct : {0, 2}) {
    for (int64_t n : kSizes) {
      const std::vector<float> x = test::random_row(n, static_cast<uint32_t>(n * 3 + distinct), distinct);
      for (float kept : {1.0f, 0.75f, 0.5f, 0.3f, 0.1f}) {
        const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(kept * n));
        std::vector<int32_t> got(n);
        select_topk_ref(x.data(), n, k, got.data(), scratch);
        got.resize(k);
        EXPECT_EQ(got, test::topk_by_sort(x, k)) << "n=" << n << " k=" << k;
      }
    }
  }
}

class SelectTopkTest : public test::KernelTest<Op::select_topk> {};

TEST_P(SelectTopkTest, MatchesReference) {
  TopkScratch scratch, ref_scratch;  // reused across sizes, as a caller reuses it
  for (int distinct : {0, 2}) {
    for (int64_t n : kSizes) {
      const std::vector<float> x = test::random_row(n, static_cast<uint32_t>(n + distinct), distinct);
      for (int64_t k = 1; k <= n; k += std::max<int64_t>(1, n / 7)) {
        std::vector<int32_t> want(n), got(n);
        select_topk_ref(x.data(), n, k, want.data(), ref_scratch);
        fn()(x.data(), n, k, got.data(), scratch);
        want.resize(k);
        got.resize(k);
        EXPECT_EQ(got, want) << isa() << " n=" << n << " k=" << k << " distinct=" << distinct;
      }
    }
  }
}

TEST_P(SelectTopkTest, SeparatesValuesThatShareTheirTopBits) {
  // 1.0 and its float neighbours fall in one histogram bin; signed zeros and infinity sort as magnitudes.
  const std::vector<float> x = {
      1.0f, std::nextafter(1.0f, 2.0f), -std::nextafter(1.0f, 0.0f), 0.0f, -0.0f, INFINITY, 1.0f, 1e-30f,
      -1.0f};
  const int64_t n = static_cast<int64_t>(x.size());
  TopkScratch scratch;
  for (int64_t k = 1; k <= n; ++k) {
    std::vector<int32_t> want(n), got(n);
    select_topk_ref(x.data(), n, k, want.data(), scratch);
    fn()(x.data(), n, k, got.data(), scratch);
    want.resize(k);
    got.resize(k);
    EXPECT_EQ(got, want) << isa() << " k=" << k;
  }
}

class SelectAtLeastTest : public test::KernelTest<Op::select_at_least> {};

TEST_P(SelectAtLeastTest, MatchesReference) {
  for (int64_t n : kSizes) {
    const std::vector<float> x = test::random_row(n, static_cast<uint32_t>(n), 4);  // values on the threshold too
    for (float threshold : {0.0f, 0.25f, 0.5f, 1.0f, 3.0f, INFINITY}) {
      std::vector<int32_t> want(n), got(n);
      const int64_t n_want = select_at_least_ref(x.data(), n, threshold, want.data());
      const int64_t n_got = fn()(x.data(), n, threshold, got.data());
      want.resize(n_want);
      got.resize(n_got);
      EXPECT_EQ(got, want) << isa() << " n=" << n << " threshold=" << threshold;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, SelectTopkTest, ::testing::ValuesIn(kernels_of(Op::select_topk)),
                         test::IsaName());
INSTANTIATE_TEST_SUITE_P(Isa, SelectAtLeastTest, ::testing::ValuesIn(kernels_of(Op::select_at_least)),
                         test::IsaName());

}  // namespace
}  // namespace jf
