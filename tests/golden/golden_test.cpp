// End-to-end: jitflow against llama.cpp's reference outputs in ../shared/golden/.
//
// For every model: the prompts tokenize to the golden ids; the logits, teacher-forced on the golden
// tokens, agree within the tolerances ../shared/golden/README.md states for that model; and the
// argmax equals the golden greedy token at every step whose golden margin (top-1 minus top-2) is
// safely above that tolerance. stories260K's margins are large enough that its 64-token greedy
// continuations must also match when the engine feeds its own tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include "jitflow/engine.h"
#include "golden_files.h"
#include "json_lite.h"
#include "test_paths.h"

namespace jf {
namespace {

using test::ids_of;
using test::read_f32;

struct GoldenCase {
  const char* golden;  // folder under ../shared/golden
  const char* model;   // path under ../shared
  float max_abs;       // largest |Δ logit| allowed
  float max_rms;       // rms |Δ logit| allowed over one row (0: only max_abs)
  float min_margin;    // argmax is asserted where the golden margin exceeds this
};

// Tolerances from the "suggested atol" columns of ../shared/golden/README.md.
const GoldenCase kCases[] = {
    {"stories260K", "models/stories260K.gguf", 1e-3f, 0, 2e-3f},
    {"synth-F32", "models/synth/synth-F32.gguf", 1e-4f, 0, 2e-4f},
    {"synth-F16", "models/synth/synth-F16.gguf", 2e-3f, 0, 4e-3f},
    {"synth-BF16", "models/synth/synth-BF16.gguf", 1.5e-2f, 0, 3e-2f},
    {"synth-Q8_0", "models/synth/synth-Q8_0.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q4_0", "models/synth/synth-Q4_0.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q4_1", "models/synth/synth-Q4_1.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q5_0", "models/synth/synth-Q5_0.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q5_1", "models/synth/synth-Q5_1.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q4_K_M", "models/synth/synth-Q4_K_M.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q5_K_M", "models/synth/synth-Q5_K_M.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-Q6_K", "models/synth/synth-Q6_K.gguf", 6e-2f, 1.5e-2f, 0.12f},
    {"synth-qwen2-F32", "models/synth/synth-qwen2-F32.gguf", 1e-4f, 0, 1e-3f},
    {"synth-qwen2-Q8_0", "models/synth/synth-qwen2-Q8_0.gguf", 6e-2f, 1.5e-2f, 0.05f},
    {"synth-qwen2-Q4_0", "models/synth/synth-qwen2-Q4_0.gguf", 6e-2f, 1.5e-2f, 0.05f},
    {"docs-28M", "models/docs-28M.gguf", 5e-2f, 0, 0.1f},
    {"docs-28M-Q8_0", "models/docs-28M/docs-28M-Q8_0.gguf", 1.2f, 0.15f, 0.5f},
    {"docs-28M-Q4_0", "models/docs-28M/docs-28M-Q4_0.gguf", 1.5f, 0.2f, 0.5f},
    {"docs-28M-Q4_K_M", "models/docs-28M/docs-28M-Q4_K_M.gguf", 2.5f, 0.3f, 1.0f},
};

// gtest prints parameters in test listings and failures: show the golden folder, not raw bytes.
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.golden; }

// One engine per model file, shared by the tests of that model.
Engine& engine_for(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Engine>> engines;
  auto& slot = engines[model];
  if (!slot) {
    EngineOptions options;
    options.n_threads = 2;
    options.n_ctx = 256;
    auto loaded = Engine::load(test::shared_path(model), options);
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    if (loaded.ok()) slot = std::move(*loaded);
  }
  return *slot;
}

class Golden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  void SetUp() override {
    const GoldenCase& c = GetParam();
    if (!test::shared_exists(c.model)) GTEST_SKIP() << "missing ../shared/" << c.model;
    dir_ = test::shared_path(std::string("golden/") + c.golden + "/");
    std::string err;
    auto tokens = json_lite::parse_file(dir_ + "tokens.json", &err);
    auto greedy = json_lite::parse_file(dir_ + "greedy.json", &err);
    auto logits = json_lite::parse_file(dir_ + "logits.json", &err);
    ASSERT_TRUE(tokens && greedy && logits) << err;
    tokens_ = std::move(*tokens);
    greedy_ = std::move(*greedy);
    logits_ = std::move(*logits);
  }

  std::string dir_;
  json_lite::Value tokens_, greedy_, logits_;
};

TEST_P(Golden, PromptsTokenizeToGoldenIds) {
  Engine& engine = engine_for(GetParam().model);
  for (const auto& prompt : tokens_["prompts"].as_array()) {
    EXPECT_EQ(engine.tokenize(prompt["text"].as_string(), true), ids_of(prompt["tokens"]))
        << "prompt " << prompt["id"].as_string();
  }
}

TEST_P(Golden, TeacherForcedLogitsMatch) {
  const GoldenCase& c = GetParam();
  Engine& engine = engine_for(c.model);
  const int n_vocab = engine.info().n_vocab;
  for (const auto& file : logits_["files"].as_array()) {
    const std::string id = file["id"].as_string();
    const std::vector<float> golden = read_f32(dir_ + file["file"].as_string());
    const std::vector<int32_t> fed = ids_of(file["fed_tokens"]);
    const auto positions = ids_of(file["positions"]);
    ASSERT_EQ(golden.size(), fed.size() * static_cast<size_t>(n_vocab)) << id;
    // Row 0 is the logit vector after the whole prompt; row k after feeding fed_tokens[k].
    const json_lite::Value* prompt = nullptr;
    for (const auto& p : tokens_["prompts"].as_array()) {
      if (p["id"].as_string() == id) prompt = &p;
    }
    ASSERT_NE(prompt, nullptr) << id;
    auto session = engine.new_session();
    for (size_t row = 0; row < fed.size(); ++row) {
      const std::vector<int32_t> input = row == 0 ? ids_of((*prompt)["tokens"]) : std::vector<int32_t>{fed[row]};
      auto logits = session->eval(input);
      ASSERT_TRUE(logits.ok()) << logits.status().to_string();
      ASSERT_EQ(session->n_past(), positions[row] + 1) << id << " row " << row;
      double max_abs = 0, sum_sq = 0;
      for (int v = 0; v < n_vocab; ++v) {
        const double d = std::fabs(static_cast<double>((*logits)[v]) - golden[row * n_vocab + v]);
        max_abs = std::max(max_abs, d);
        sum_sq += d * d;
      }
      const double rms = std::sqrt(sum_sq / n_vocab);
      EXPECT_LE(max_abs, c.max_abs) << c.golden << " " << id << " row " << row;
      if (c.max_rms > 0) {
        EXPECT_LE(rms, c.max_rms) << c.golden << " " << id << " row " << row;
      }
    }
  }
}

// Feeds the golden greedy tokens and checks our argmax wherever the golden margin is decisive.
TEST_P(Golden, TeacherForcedArgmaxMatchesWhereMarginIsClear) {
  const GoldenCase& c = GetParam();
  Engine& engine = engine_for(c.model);
  int checked = 0;
  for (const auto& result : greedy_["results"].as_array()) {
    const std::vector<int32_t> prompt = ids_of(result["prompt_tokens"]);
    const std::vector<int32_t> gen = ids_of(result["gen_tokens"]);
    const auto& margins = result["margins"].as_array();
    auto session = engine.new_session();
    auto logits = session->eval(prompt);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    for (size_t i = 0; i < gen.size(); ++i) {
      if (margins[i].as_number() > c.min_margin) {
        const auto& row = *logits;
        const int32_t argmax = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
        EXPECT_EQ(argmax, gen[i]) << c.golden << " " << result["id"].as_string() << " step " << i;
        ++checked;
      }
      if (i + 1 < gen.size()) {
        logits = session->eval(std::vector<int32_t>{gen[i]});
        ASSERT_TRUE(logits.ok()) << logits.status().to_string();
      }
    }
  }
  // The quantised synth models have tiny logits: often no golden margin is decisive, and then only
  // the logit comparison above applies.
  if (checked == 0) GTEST_SKIP() << c.golden << ": no golden margin above " << c.min_margin;
}

INSTANTIATE_TEST_SUITE_P(Models, Golden, ::testing::ValuesIn(kCases),
                         [](const auto& test_info) {
                           std::string name = test_info.param.golden;
                           for (char& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

// stories260K: free-running greedy generation (the engine feeds its own tokens) reproduces all 64
// golden tokens of every prompt, and the generated text equals the golden text.
TEST(GoldenStories, FreeRunningGreedyContinuations) {
  std::string err;
  auto greedy = json_lite::parse_file(test::shared_path("golden/stories260K/greedy.json"), &err);
  if (!greedy) GTEST_SKIP() << err;
  EngineOptions options;
  options.n_threads = 2;
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), options);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  for (const auto& result : (*greedy)["results"].as_array()) {
    GenerateOptions gen;
    gen.n_predict = static_cast<int>(result["n_gen"].as_int());
    gen.stop_at_eog = false;
    gen.sampling.temperature = 0;
    std::string text;
    auto session = (*engine)->new_session();
    auto stats = session->generate(result["prompt"].as_string(), gen, [&](std::string_view piece) {
      text += piece;
      return true;
    });
    ASSERT_TRUE(stats.ok()) << stats.status().to_string();
    EXPECT_EQ(stats->n_generated, gen.n_predict);
    EXPECT_EQ(text, result["gen_text"].as_string()) << "prompt " << result["id"].as_string();
  }
}

}  // namespace
}  // namespace jf
