// Mixture-of-experts models (Mixtral-shaped, `jitflow synth --preset test-tiny-moe`): loading in both
// of llama.cpp's layouts, batching tokens by expert, sparsity inside the experts, and clear errors
// for bad files. The numbers against llama.cpp itself are arch_golden_test's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "convert.h"
#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "jitflow/engine.h"
#include "synth.h"
#include "synth_model.h"
#include "test_env.h"

namespace jf {
namespace {

class MoeModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    merged_path_ = write("moe-merged", false);
    split_path_ = write("moe-split", true);
  }

  static std::string write(const std::string& tag, bool split) {
    synth::Options options;
    options.shape = *synth::find_shape("test-tiny-moe");
    options.type = synth::FileType::kQ8_0;
    options.split_experts = split;
    options.n_threads = 2;
    return test::write_synth_model(options, tag + ".gguf");
  }

  static std::unique_ptr<Engine> load(const std::string& path) {
    EngineOptions options;
    options.n_threads = 2;
    options.n_ctx = 64;
    auto engine = Engine::load(path, options);
    EXPECT_TRUE(engine.ok()) << engine.status().to_string();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // The good merged model with its metadata and tensors edited (an edit returning false drops the
  // key or the tensor).
  static std::string rewrite(
      const std::string& tag, const std::function<bool(std::string&, GgufValue&)>& meta,
      const std::function<bool(const TensorInfo&)>& keep = [](const TensorInfo&) { return true; }) {
    auto file = GgufFile::open_path(merged_path_);
    EXPECT_TRUE(file.ok());
    GgufWriter writer;
    for (auto [key, value] : file->metadata()) {
      if (meta(key, value)) writer.set_value(key, value);
    }
    for (const TensorInfo& info : file->tensors()) {
      if (keep(info)) {
        EXPECT_TRUE(writer.copy_tensor(*file, info).ok());
      }
    }
    const std::string path = test::temp_path(tag + ".gguf");
    EXPECT_TRUE(writer.write_file(path).ok());
    return path;
  }

  static Status load_status(const std::string& path) {
    auto engine = Engine::load(path, EngineOptions{});
    return engine.ok() ? Status() : engine.status();
  }

  static inline std::string merged_path_, split_path_;
};

const std::vector<int32_t> kPrompt = {1, 17, 42, 99, 7, 250, 3, 64, 128, 200, 11, 5};

TEST_F(MoeModel, LoadsTheExpertsAndReportsThem) {
  const auto engine = load(merged_path_);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->info().n_expert, 4);
  EXPECT_EQ(engine->info().n_expert_used, 2);
}

// The older layout (one tensor per expert) holds the same bytes: the same logits, bit for bit.
TEST_F(MoeModel, SplitLayoutGivesTheMergedLayoutsLogits) {
  const std::vector<float> merged = test::logits_of(merged_path_), split = test::logits_of(split_path_);
  ASSERT_FALSE(merged.empty());
  EXPECT_EQ(merged, split);
}

// A prompt in one batch (tokens grouped by expert, several tokens per expert) and token by token
// (each token's experts alone) give the same logits, up to the batch kernels' rounding.
TEST_F(MoeModel, BatchedPrefillMatchesTokenByTokenDecode) {
  const auto engine = load(merged_path_);
  ASSERT_NE(engine, nullptr);
  auto batched = engine->new_session();
  auto all = batched->eval(kPrompt, /*all_logits=*/true);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  const std::vector<float> batch_logits(all->begin(), all->end());
  const size_t n_vocab = engine->info().n_vocab;
  auto stepped = engine->new_session();
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    auto row = stepped->eval(std::vector<int32_t>{kPrompt[t]});
    ASSERT_TRUE(row.ok()) << row.status().to_string();
    float worst = 0;
    for (size_t i = 0; i < n_vocab; ++i)
      worst = std::max(worst, std::fabs((*row)[i] - batch_logits[t * n_vocab + i]));
    EXPECT_LT(worst, 2e-2f) << "token " << t;
  }
}

// Sparsity reaches the router's input and every routed expert: a sparse run computes, and moves
// the logits less than it would without the kept channels.
TEST_F(MoeModel, SparsityAppliesInsideTheExperts) {
  const std::vector<float> dense = test::logits_of(merged_path_),
                           sparse = test::logits_of(merged_path_, 0.5f);
  ASSERT_EQ(dense.size(), sparse.size());
  ASSERT_FALSE(dense.empty());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < dense.size(); ++i) {
    diff += (dense[i] - sparse[i]) * (dense[i] - sparse[i]);
    norm += dense[i] * dense[i];
  }
  EXPECT_GT(diff, 0) << "50% sparsity changed nothing";
  EXPECT_LT(diff, norm) << "the sparse logits are unrelated to the dense ones";
}

TEST_F(MoeModel, BadExpertCountsAreNamed) {
  const Status too_many = load_status(rewrite("used-too-many", [](std::string& key, GgufValue& v) {
    if (key == "llama.expert_used_count") v.data = uint64_t{5};
    return true;
  }));
  EXPECT_EQ(too_many.code(), StatusCode::kCorruptFile);
  EXPECT_NE(too_many.message().find("llama.expert_used_count"), std::string::npos) << too_many.message();

  const Status no_used = load_status(
      rewrite("no-used", [](std::string& key, GgufValue&) { return key != "llama.expert_used_count"; }));
  EXPECT_FALSE(no_used.ok());
  EXPECT_NE(no_used.message().find("llama.expert_used_count"), std::string::npos) << no_used.message();

  const Status huge = load_status(rewrite("huge", [](std::string& key, GgufValue& v) {
    if (key == "llama.expert_count") v.data = uint64_t{100000};
    return true;
  }));
  EXPECT_EQ(huge.code(), StatusCode::kCorruptFile);
  EXPECT_NE(huge.message().find("llama.expert_count"), std::string::npos) << huge.message();

  // Eight experts stated, four stored: the first tensor sized by them is named.
  const Status fewer = load_status(rewrite("fewer", [](std::string& key, GgufValue& v) {
    if (key == "llama.expert_count") v.data = uint64_t{8};
    return true;
  }));
  EXPECT_EQ(fewer.code(), StatusCode::kCorruptFile);
  EXPECT_NE(fewer.message().find("blk.0.ffn_gate_inp.weight"), std::string::npos) << fewer.message();
}

TEST_F(MoeModel, MissingExpertTensorNamesBothLayouts) {
  const Status s = load_status(rewrite(
      "no-up", [](std::string&, GgufValue&) { return true; },
      [](const TensorInfo& t) { return t.name != "blk.1.ffn_up_exps.weight"; }));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("blk.1.ffn_up_exps.weight"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("blk.1.ffn_up.0.weight"), std::string::npos) << s.message();
}

TEST_F(MoeModel, ArchitecturesWithoutExpertsRefuseThem) {
  const Status s = load_status(rewrite("qwen2-moe", [](std::string& key, GgufValue& v) {
    if (key == "general.architecture") v.data = std::string("qwen2");
    if (key.starts_with("llama.")) key.replace(0, 5, "qwen2");
    return true;
  }));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("mixtures of experts only as llama"), std::string::npos) << s.message();
}

// Experts convert to the flash layout only (flash_store_test streams them); the channel-major layout
// is refused, pointing there.
TEST_F(MoeModel, ConversionToChannelMajorIsRefusedForTheFlashLayout) {
  const auto cm = convert::channel_major(merged_path_, test::temp_path("moe-cm.gguf"), std::nullopt);
  ASSERT_FALSE(cm.ok());
  EXPECT_EQ(cm.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(cm.status().message().find("mixture of experts"), std::string::npos) << cm.status().message();
  EXPECT_NE(cm.status().message().find("--flash"), std::string::npos) << cm.status().message();
}

}  // namespace
}  // namespace jf
