// The planner's arithmetic against hand-made costs: read rates interpolate between measured chunks
// and scale down below the smallest; a disk that rewards long reads makes the plan group more
// layers; a budget that fits no group is refused with what the smallest needs; and the read probe
// reads what it says on a memory source.
#include "flash/flash_plan.h"

#include <gtest/gtest.h>

namespace jf {
namespace {

// A disk whose rate grows with the chunk up to 1 MiB: 1 GB/s at 1 MiB, 10 MB/s at 4 KiB.
FlashCosts long_reads_disk() {
  FlashCosts c;
  c.reads = {{4096, 8, 10}, {65536, 8, 200}, {1 << 20, 8, 1000}};
  c.dram_gbps = 20;
  return c;
}

StreamShape small_model() {
  StreamShape s;
  s.n_layer = 16;
  s.layer_linear_bytes = 8 << 20;
  s.layer_channels = 8192;  // 1 KiB channels
  s.resident_bytes = 4 << 20;
  s.kv_bytes = 2 << 20;
  return s;
}

TEST(FlashPlan, ReadRatesInterpolateAndScaleBelowTheSmallestChunk) {
  const FlashCosts c = long_reads_disk();
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(65536, 8), 200);
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(4 << 20, 8), 1000);  // held past the largest
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(2048, 8), 5);        // half a 4 KiB read's bytes, in its time
  const double between = c.read_mb_per_s(16384, 8);     // halfway in log(bytes)
  EXPECT_NEAR(between, 105, 1e-9);
}

TEST(FlashPlan, DeeperQueuesAreUsedWhereMeasured) {
  FlashCosts c;
  c.reads = {{4096, 1, 10}, {4096, 8, 50}, {4096, 64, 90}};
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(4096, 1), 10);
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(4096, 8), 50);
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(4096, 32), 50);  // the deepest measured not above 32
  EXPECT_DOUBLE_EQ(c.read_mb_per_s(4096, 64), 90);
}

TEST(FlashPlan, TheModelsTermsFollowThePaper) {
  const StreamShape shape = small_model();
  const FlashCosts costs = long_reads_disk();
  const uint64_t budget = 64 << 20;
  const PlanEstimate e = estimate_plan(shape, costs, budget, 0.5, 2, 0.8);
  ASSERT_TRUE(e.fits);
  EXPECT_EQ(e.need_bytes, (4u << 20) + (2u << 20) + 2 * (8u << 20));
  EXPECT_EQ(e.cache_bytes, budget - e.need_bytes);
  EXPECT_DOUBLE_EQ(e.hit_rate, static_cast<double>(e.cache_bytes) / (16.0 * (8 << 20)));
  EXPECT_DOUBLE_EQ(e.run_bytes, 2048);
  const double active = (8 << 20) * 0.5 * 2;  // M_cl
  EXPECT_DOUBLE_EQ(e.comp_ms, active / 20e6);
  // Reading 2 KiB runs at 5 MB/s loses to reading the whole stretch in 1 MiB reads.
  EXPECT_TRUE(e.whole_reads);
  EXPECT_NEAR(e.preload_ms, 2.0 * (8 << 20) * (1 - e.hit_rate) / 1e6, 1e-9);  // the uncached group at 1 GB/s
  EXPECT_NEAR(e.onload_ms, e.load_ms * 0.2, 1e-9);
  EXPECT_NEAR(
      e.token_ms,
      e.load_ms + 7 * (e.onload_ms + std::max(e.preload_ms, e.comp_ms)) + e.comp_ms + (4 << 20) / 20e6, 1e-9);
}

// Mixtral's proportions: 8 experts, 2 routed; the experts hold 6 of a layer's 8 MiB. A token reads
// the dense 2 MiB and the routed experts' share, and a group of layers the experts routed to in any
// of them; the buffers still hold every expert's.
TEST(FlashPlan, ATokenReadsOnlyTheRoutedExperts) {
  StreamShape shape = small_model();
  shape.layer_expert_bytes = 6 << 20;
  shape.n_expert = 8;
  shape.n_expert_used = 2;
  EXPECT_DOUBLE_EQ(shape.group_bytes(1), (2 << 20) + (6 << 20) / 8.0 * 2);
  const double distinct_of_two = 8 * (1 - 0.75 * 0.75);  // 3.5 experts routed to in two layers
  EXPECT_DOUBLE_EQ(shape.group_bytes(2), 2.0 * (2 << 20) + (6 << 20) / 8.0 * 2 * distinct_of_two);
  const PlanEstimate e = estimate_plan(shape, long_reads_disk(), 64 << 20, 0.5, 2, 0.8);
  EXPECT_EQ(e.need_bytes, (4u << 20) + (2u << 20) + 2 * (8u << 20));
  EXPECT_DOUBLE_EQ(e.comp_ms, shape.group_bytes(2) * 0.5 / 20e6);
  // The cache (64 - 22 = 42 MiB) holds every dense linear (2 MiB x 16 layers) first, then 10 of the
  // experts' 96 MiB.
  EXPECT_DOUBLE_EQ(
      e.hit_rate, (2.0 * (2 << 20) + (6 << 20) / 8.0 * 2 * distinct_of_two * 10 / 96) / shape.group_bytes(2));
  shape.n_expert = 0;  // the same bytes dense: every one of them read
  shape.layer_expert_bytes = 0;
  EXPECT_DOUBLE_EQ(shape.group_bytes(2), 2.0 * (8 << 20));
}

TEST(FlashPlan, ALongReadsDiskGroupsMoreLayersWhileTheBudgetAllows) {
  StreamShape shape = small_model();
  shape.layer_channels = 1 << 20;  // 8-byte channels: runs far below any read worth making
  FlashCosts by_run;               // a disk with no penalty for small reads: groups buy nothing
  by_run.reads = {{8, 8, 1000}, {1 << 20, 8, 1000}};
  by_run.dram_gbps = 20;
  const Result<Plan> flat = make_plan(shape, by_run, 256 << 20, 0.5, 0.8);
  ASSERT_TRUE(flat.ok()) << flat.status().to_string();
  EXPECT_EQ(flat->chosen.group, 1) << "the smallest group within 5 % of the fastest";

  FlashCosts per_request;  // every read costs 1 ms whatever its size, up to 16 MiB
  for (size_t chunk = 8; chunk <= (16 << 20); chunk *= 4) {
    per_request.reads.push_back({chunk, 64, static_cast<double>(chunk) / 1e3});
  }
  per_request.dram_gbps = 20;
  shape.layer_channels = 64;  // 128 KiB channels: a run grows with the group
  shape.n_layer = 64;         // 512 MiB of linears: a cache holds a small part of them at any N
  const Result<Plan> grouped = make_plan(shape, per_request, 150 << 20, 0.5, 1.0);
  ASSERT_TRUE(grouped.ok()) << grouped.status().to_string();
  EXPECT_GT(grouped->chosen.group, 1);
  for (const PlanEstimate& e : grouped->tried) {
    if (e.fits) {
      EXPECT_LE(e.tokens_per_s(), grouped->chosen.tokens_per_s() * 1.05) << "N " << e.group;
    }
  }
}

TEST(FlashPlan, SparsityFollowsTheBudgetUnlessGiven) {
  const StreamShape shape = small_model();  // 132 MiB in all
  const Result<Plan> half = make_plan(shape, long_reads_disk(), 66 << 20, std::nullopt, 0.8);
  ASSERT_TRUE(half.ok()) << half.status().to_string();
  EXPECT_NEAR(half->chosen.sparsity, 0.5, 1e-9);
  const Result<Plan> fixed = make_plan(shape, long_reads_disk(), 66 << 20, 0.3, 0.8);
  ASSERT_TRUE(fixed.ok());
  EXPECT_DOUBLE_EQ(fixed->chosen.sparsity, 0.3);
}

TEST(FlashPlan, ABudgetNoGroupFitsIsRefusedWithTheMinimum) {
  const Result<Plan> plan = make_plan(small_model(), long_reads_disk(), 10 << 20, 0.5, 0.8);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(plan.status().message().find("14.0 MiB"), std::string::npos) << plan.status().message();
}

TEST(FlashPlan, TheReadProbeMeasuresEveryPoint) {
  auto source = make_memory_source(std::vector<uint8_t>(1 << 20, 7), "probe");
  const size_t chunks[] = {4096, 65536};
  const int depths[] = {1, 4};
  const Result<std::vector<ReadCost>> costs = measure_read_costs(*source, chunks, depths, 0.001);
  ASSERT_TRUE(costs.ok()) << costs.status().to_string();
  ASSERT_EQ(costs->size(), 4u);
  EXPECT_EQ((*costs)[0].chunk_bytes, 4096u);
  EXPECT_EQ((*costs)[1].queue_depth, 4);
  for (const ReadCost& c : *costs) EXPECT_GT(c.mb_per_s, 0);
  const size_t too_big[] = {2 << 20};
  EXPECT_EQ(measure_read_costs(*source, too_big, depths, 0.001).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jf
