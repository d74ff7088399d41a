// The gathered matvec's tuner: its space, its kdb records (written, read back, refused when stale
// or malformed) and a tuning run whose outcome the run-time kernel selection then follows.
#include "tune/gather_tuner.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "base/aligned_buffer.h"
#include "runtime/kernel_select.h"
#include "tensor/channel_major.h"
#include "test_env.h"
#include "tune/gather_record.h"

namespace jf::tune {
namespace {

TEST(GatherSpace, DefaultFirstEveryConfigValidAndDistinct) {
  const std::vector<CmGatherConfig> space = gather_space();
  ASSERT_EQ(space.size(), 24u);
  EXPECT_EQ(space[0], CmGatherConfig{});
  std::set<std::string> names;
  for (const CmGatherConfig& c : space) {
    EXPECT_TRUE(cm_config_valid(c)) << cm_config_name(c);
    names.insert(cm_config_name(c));
  }
  EXPECT_EQ(names.size(), space.size());
}

TEST(GatherRecord, RoundTripsAndRefusesStaleOrMalformedRecords) {
  const CmKernel k = resolve_cm_kernel(DType::Q4_0, CpuIsa::scalar, {CmSplit::outputs, 4, 1024, false});
  ASSERT_TRUE(k.valid());
  const kdb::Record record = gather_record(k, gather_workload(DType::Q4_0, 2048, 5632, 2), 100, 120, 24);
  Result<kdb::Record> parsed = kdb::record_from_json_line(kdb::record_to_json_line(record));
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  std::string why;
  const CmKernel back = cm_kernel_from_record(*parsed, &why);
  ASSERT_TRUE(back.valid()) << why;
  EXPECT_EQ(back.gather, k.gather);
  EXPECT_EQ(back.config, k.config);

  kdb::Record stale = record;
  stale.generator = "native-channel_major-0000000000000000";
  EXPECT_FALSE(cm_kernel_from_record(stale, &why).valid());
  EXPECT_NE(why.find("stale"), std::string::npos) << why;
  kdb::Record bad_knob = record;
  bad_knob.config["channels_per_step"] = 3;
  EXPECT_FALSE(cm_kernel_from_record(bad_knob, &why).valid());
  kdb::Record other_entry = record;
  other_entry.canonical_name = "q4_0cm-f32-gather_matvec__nosuchisa";
  EXPECT_FALSE(cm_kernel_from_record(other_entry, &why).valid());
}

// Three channel-major Q4_0 tensors of one shape: the tuner tries the space (none fails the check),
// writes a record only for a winner that beat the default, and the selector follows the kdb.
TEST(GatherTuner, TunesAShapeAndTheSelectorFollowsTheKdb) {
  const int64_t n_out = 256, n_in = 512;
  std::vector<AlignedBuffer> buffers;
  GatherWorkload w{DType::Q4_0, n_out, n_in, {}};
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> values(n_out);
  const size_t channel = channel_bytes(DType::Q4_0, n_out);
  for (int t = 0; t < 3; ++t) {
    buffers.emplace_back(channel * n_in);
    for (int64_t j = 0; j < n_in; ++j) {
      for (float& v : values) v = normal(rng);
      quantize_channel(DType::Q4_0, values.data(), n_out, buffers.back().as<uint8_t>() + j * channel);
    }
    w.weights.push_back({.name = "w",
                         .dtype = DType::Q4_0,
                         .n_cols = n_in,
                         .n_rows = n_out,
                         .data = buffers.back().data(),
                         .layout = WeightLayout::channel_major});
  }
  const std::string path = test::temp_path("gather-tuner.jsonl");
  kdb::KernelDb db = kdb::KernelDb::load(path);
  Result<GatherTuneReport> report = tune_gathers({w}, {0.5, 2, 4.0}, &db);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->workloads.size(), 1u);
  const GatherWorkloadReport& r = report->workloads[0];
  EXPECT_GT(r.n_tried, 1);
  EXPECT_EQ(r.n_rejected, 0);
  EXPECT_GT(r.default_ns, 0);
  EXPECT_LE(r.best_ns, r.default_ns);
  EXPECT_EQ(report->n_records, r.recorded ? 1 : 0);
  EXPECT_EQ(r.recorded, r.best_config != r.default_config);

  KernelSelector selector(kdb::KernelDb::load(path), 2);
  const CmKernel& chosen = selector.select_cm_kernel(w.weights[0]);
  EXPECT_EQ(cm_config_name(chosen.config), r.best_config);

  EXPECT_FALSE(tune_gathers({w}, {1.0, 2, 1.0}, nullptr).ok());
  EXPECT_FALSE(tune_gathers({w}, {0.5, 2, 0.0}, nullptr).ok());
}

}  // namespace
}  // namespace jf::tune
