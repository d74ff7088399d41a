// Sessions under activation sparsity: decode (one token, the linears' active-channel path) equals
// prefill (a batch, masked inputs through the dense kernels); level 0 is the dense model; bad
// options and foreign thresholds are refused with the file named.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "convert.h"
#include "jitflow/engine.h"
#include "kernels/channel_major/channel_major.h"
#include "model/thresholds.h"
#include "test_env.h"
#include "test_paths.h"

namespace jf {
namespace {

std::unique_ptr<Engine> load(const std::string& path) {
  auto engine = Engine::load(path, {});
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  return engine.ok() ? std::move(*engine) : nullptr;
}

// Logits of every position, once as one batch and once token by token.
void expect_decode_equals_prefill(Engine& engine, const SparsityOptions& sparsity, double tolerance) {
  const std::vector<int32_t> tokens =
      engine.tokenize("Once upon a time there was a cat who liked to sit", true);
  auto batch_session = engine.new_session(sparsity);
  auto step_session = engine.new_session(sparsity);
  ASSERT_TRUE(batch_session.ok() && step_session.ok());
  auto batch = (*batch_session)->eval(tokens, /*all_logits=*/true);
  ASSERT_TRUE(batch.ok());
  const std::vector<float> all(batch->begin(), batch->end());
  const size_t n_vocab = engine.info().n_vocab;
  for (size_t t = 0; t < tokens.size(); ++t) {
    auto step = (*step_session)->eval(std::span<const int32_t>(&tokens[t], 1));
    ASSERT_TRUE(step.ok());
    double max_diff = 0, max_abs = 0;
    for (size_t v = 0; v < n_vocab; ++v) {
      max_diff = std::max(max_diff, std::fabs(static_cast<double>((*step)[v]) - all[t * n_vocab + v]));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(all[t * n_vocab + v])));
    }
    EXPECT_LE(max_diff, tolerance * max_abs) << "position " << t;
  }
}

TEST(SparseSessionTest, DecodeEqualsPrefillUnderTopk) {
  auto engine = load(test::source_path("models/stories260K.gguf"));
  ASSERT_NE(engine, nullptr);
  // F32 weights: the two paths differ only in the order of f32 sums.
  expect_decode_equals_prefill(*engine, {0.5f, SparsityMode::topk, ""}, 1e-4);
}

TEST(SparseSessionTest, DecodeEqualsPrefillUnderTopkOnDocs28MQ8) {
  JF_REQUIRE_SHARED("models/docs-28M/docs-28M-Q8_0.gguf");
  auto engine = load(test::shared_path("models/docs-28M/docs-28M-Q8_0.gguf"));
  ASSERT_NE(engine, nullptr);
  expect_decode_equals_prefill(*engine, {0.6f, SparsityMode::topk, ""}, 1e-3);
}

// Channel-major weights: prefill runs the dense channel-major kernel on masked inputs (f32 sums),
// decode the gathered kernel over the active channels only. Where the gathered kernel sums in f32
// the two agree closely, dense and under top-k. Where it quantizes its factors to int8
// (CmRounding::int8_factors) they agree as the row-major kernels' Q8 activations agree with f32
// (a few percent) when dense; under top-k that rounding moves channels across the top-k boundary
// and the difference grows layer after layer, so only the dense session is compared. Decode reads
// about half of the layers' weight bytes at s = 0.5 (the output head stays dense).
TEST(SparseSessionTest, ChannelMajorDecodeReadsOnlyActiveChannels) {
  JF_REQUIRE_SHARED("models/docs-28M.gguf");
  const std::string cm = test::temp_path("docs-28M-cm-q8_0.gguf");
  ASSERT_TRUE(convert::channel_major(test::shared_path("models/docs-28M.gguf"), cm, DType::Q8_0).ok());
  auto engine = load(cm);
  ASSERT_NE(engine, nullptr);
  if (cm_gather_rounding(*select_cm_kernel(DType::Q8_0).gather) == CmRounding::f32) {
    expect_decode_equals_prefill(*engine, {0.5f, SparsityMode::topk, ""}, 1e-3);
    expect_decode_equals_prefill(*engine, {}, 1e-3);
  } else {
    expect_decode_equals_prefill(*engine, {}, 3e-2);
  }

  const std::vector<int32_t> tokens = engine->tokenize("The function returns", true);
  auto sparse = engine->new_session(SparsityOptions{0.5f, SparsityMode::topk, ""});
  ASSERT_TRUE(sparse.ok());
  std::unique_ptr<Session> dense = engine->new_session();
  for (int32_t t : tokens) {
    ASSERT_TRUE((*sparse)->eval(std::span<const int32_t>(&t, 1)).ok());
    ASSERT_TRUE(dense->eval(std::span<const int32_t>(&t, 1)).ok());
  }
  const double ratio = static_cast<double>((*sparse)->linear_bytes_read()) / dense->linear_bytes_read();
  EXPECT_GT(ratio, 0.5);  // half of the layers' bytes, plus the whole head
  EXPECT_LT(ratio, 0.65);
  EXPECT_NEAR((*sparse)->realised_sparsity(), 0.5, 0.01);
}

TEST(SparseSessionTest, LevelZeroIsTheDenseSession) {
  auto engine = load(test::source_path("models/stories260K.gguf"));
  ASSERT_NE(engine, nullptr);
  const std::vector<int32_t> tokens = engine->tokenize("Once upon a time", true);
  auto sparse = engine->new_session(SparsityOptions{});
  ASSERT_TRUE(sparse.ok());
  auto a = (*sparse)->eval(tokens, true);
  ASSERT_TRUE(a.ok());
  const std::vector<float> first(a->begin(), a->end());
  std::unique_ptr<Session> dense = engine->new_session();
  auto b = dense->eval(tokens, true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(first, std::vector<float>(b->begin(), b->end()));
  EXPECT_EQ((*sparse)->realised_sparsity(), 0);
}

TEST(SparseSessionTest, BadOptionsAreRefused) {
  auto engine = load(test::source_path("models/stories260K.gguf"));
  ASSERT_NE(engine, nullptr);
  auto level = engine->new_session(SparsityOptions{1.0f, SparsityMode::topk, ""});
  ASSERT_FALSE(level.ok());
  EXPECT_NE(level.status().message().find("sparsity 1 is outside [0, 1)"), std::string::npos);
  auto no_file = engine->new_session(SparsityOptions{0.5f, SparsityMode::threshold, ""});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.status().message().find("needs a thresholds file"), std::string::npos);
  const std::string missing = test::temp_path("missing.json");
  auto absent = engine->new_session(SparsityOptions{0.5f, SparsityMode::threshold, missing});
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), StatusCode::kNotFound);
  EXPECT_NE(absent.status().message().find(missing), std::string::npos);
}

TEST(SparseSessionTest, ThresholdsOfAnotherModelAreRefused) {
  auto engine = load(test::source_path("models/stories260K.gguf"));
  ASSERT_NE(engine, nullptr);
  SparsityThresholds other;
  other.model_file = "other.gguf";
  other.model_fingerprint = "0000000000000000";
  other.n_layer = 5;
  other.levels.push_back({0.5f, std::vector<SiteThresholds>(5, SiteThresholds{0.1f, 0.1f, 0.1f, 0.1f})});
  const std::string path = test::temp_path("other.thresholds.json");
  ASSERT_TRUE(write_thresholds(other, path).ok());
  auto session = engine->new_session(SparsityOptions{0.5f, SparsityMode::threshold, path});
  ASSERT_FALSE(session.ok());
  const std::string& m = session.status().message();
  EXPECT_NE(m.find("calibrated for other.gguf"), std::string::npos) << m;
  EXPECT_NE(m.find("stories260K.gguf"), std::string::npos) << m;
}

}  // namespace
}  // namespace jf
