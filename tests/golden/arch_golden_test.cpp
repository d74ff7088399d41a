// End-to-end: GPT-2 and BERT-family models against llama.cpp (tools/llama_ref) on synthetic
// models of the real shapes and vocabularies (`jitflow synth --preset gpt2|bert-base|roberta-base`).
//
// The goldens live in tests/data/golden/<case>/ with the sha256 of the model they were made from;
// ctest's fixture (tests/golden/synth_golden_model.cmake) writes each model into the build tree
// and refuses one whose bytes differ, so a change to synth shows up as stale goldens, not as a
// tolerance miss. Tolerances: llama.cpp evaluates GELU through an fp16 table (about 5e-4 relative
// per FFN) where jitflow computes the tanh form in f32, and rounds activations to the weights' dot
// type; the bounds below are what those differences take over 12 layers, with headroom.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include "golden_files.h"
#include "jitflow/engine.h"
#include "json_lite.h"
#include "test_paths.h"

namespace jf {
namespace {

using test::ids_of;
using test::read_f32;

struct ArchGoldenCase {
  const char* golden;  // folder under tests/data/golden
  const char* model;   // file under JITFLOW_TEST_MODELS_DIR
  float max_abs;       // largest |Δ| of a logit or an embedding component
  float min_margin;    // decoders: argmax asserted where the golden margin exceeds this
};

void PrintTo(const ArchGoldenCase& c, std::ostream* os) {
  *os << c.golden;
}

json_lite::Value read_json(const std::string& path) {
  std::string err;
  auto v = json_lite::parse_file(path, &err);
  EXPECT_TRUE(v.has_value()) << path << ": " << err;
  return v ? std::move(*v) : json_lite::Value();
}

std::string golden_dir(const ArchGoldenCase& c) {
  return test::source_path(std::string("tests/data/golden/") + c.golden + "/");
}

std::unique_ptr<Engine> load(const ArchGoldenCase& c) {
  EngineOptions options;
  options.n_threads = 2;
  options.n_ctx = 128;
  auto engine = Engine::load(std::string(JITFLOW_TEST_MODELS_DIR) + "/" + c.model, options);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  return engine.ok() ? std::move(*engine) : nullptr;
}

double max_abs_diff(std::span<const float> got, const float* want, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]));
  return worst;
}

// Generation against llama.cpp: decoders (GPT-2) from the prompt; T5 encodes the prompt (with its
// </s>) and decodes from the start token. Logits teacher-forced on llama.cpp's greedy tokens, and
// the argmax wherever llama.cpp's margin is clear.
class GenerationGolden : public ::testing::TestWithParam<ArchGoldenCase> {
 protected:
  // A fresh session that has seen `prompt`: a decoder evaluates it (its logits are row 0); T5
  // encodes it and evaluates the start token.
  static Result<std::span<const float>> start(Engine& engine, Session& session,
                                              const std::vector<int32_t>& prompt) {
    if (engine.info().decoder_start_token < 0) return session.eval(prompt);
    JF_RETURN_IF_ERROR(session.encode(prompt));
    return session.eval(std::vector<int32_t>{engine.info().decoder_start_token});
  }
};

TEST_P(GenerationGolden, TokensLogitsAndGreedyTokensMatch) {
  const ArchGoldenCase& c = GetParam();
  const std::string dir = golden_dir(c);
  const json_lite::Value tokens = read_json(dir + "tokens.json"), greedy = read_json(dir + "greedy.json"),
                         logits = read_json(dir + "logits.json");
  const auto engine = load(c);
  ASSERT_NE(engine, nullptr);
  std::map<std::string, std::vector<int32_t>> prompt_ids;
  for (const auto& p : tokens["prompts"].as_array()) {
    prompt_ids[p["id"].as_string()] = ids_of(p["tokens"]);
    EXPECT_EQ(engine->tokenize(p["text"].as_string(), true), prompt_ids[p["id"].as_string()])
        << p["id"].as_string();
  }
  const int n_vocab = engine->info().n_vocab;
  for (const auto& file : logits["files"].as_array()) {
    const std::string id = file["id"].as_string();
    const std::vector<float> golden = read_f32(dir + file["file"].as_string());
    const std::vector<int32_t> fed = ids_of(file["fed_tokens"]);
    ASSERT_EQ(golden.size(), fed.size() * static_cast<size_t>(n_vocab)) << id;
    auto session = engine->new_session();
    auto out = start(*engine, *session, prompt_ids[id]);
    for (size_t row = 0; row < fed.size(); ++row) {
      if (row > 0) out = session->eval(std::vector<int32_t>{fed[row]});
      ASSERT_TRUE(out.ok()) << out.status().to_string();
      EXPECT_LE(max_abs_diff(*out, golden.data() + row * n_vocab, n_vocab), c.max_abs)
          << id << " row " << row;
    }
  }
  int checked = 0;
  for (const auto& result : greedy["results"].as_array()) {
    const std::vector<int32_t> gen = ids_of(result["gen_tokens"]);
    const auto& margins = result["margins"].as_array();
    auto session = engine->new_session();
    auto out = start(*engine, *session, ids_of(result["prompt_tokens"]));
    for (size_t i = 0; i < gen.size(); ++i) {
      if (i > 0) out = session->eval(std::vector<int32_t>{gen[i - 1]});
      ASSERT_TRUE(out.ok()) << out.status().to_string();
      if (margins[i].as_number() > c.min_margin) {
        EXPECT_EQ(std::max_element(out->begin(), out->end()) - out->begin(), gen[i])
            << result["id"].as_string() << " step " << i;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 0) << "no golden margin above " << c.min_margin;
}

class EncoderGolden : public ::testing::TestWithParam<ArchGoldenCase> {};

Pooling pooling_of(const std::string& name) {
  if (name == "none") return Pooling::none;
  if (name == "cls") return Pooling::cls;
  if (name == "last") return Pooling::last;
  return Pooling::mean;
}

// Every prompt alone, and all of them as one batch (each attending only to itself): the same
// vectors as llama.cpp's, which runs each prompt in a context of its own.
TEST_P(EncoderGolden, EmbeddingsMatchAloneAndBatched) {
  const ArchGoldenCase& c = GetParam();
  const std::string dir = golden_dir(c);
  const json_lite::Value tokens = read_json(dir + "tokens.json"),
                         embeddings = read_json(dir + "embeddings.json");
  const auto engine = load(c);
  ASSERT_NE(engine, nullptr);
  EmbedOptions options;
  options.pooling = pooling_of(embeddings["pooling"].as_string());
  std::vector<std::string> texts;
  std::vector<std::vector<float>> want;
  for (const auto& p : tokens["prompts"].as_array()) {
    texts.push_back(p["text"].as_string());
    EXPECT_EQ(engine->tokenize(texts.back(), true), ids_of(p["tokens"])) << p["id"].as_string();
  }
  for (const auto& file : embeddings["files"].as_array())
    want.push_back(read_f32(dir + file["file"].as_string()));
  ASSERT_EQ(want.size(), texts.size());

  const auto flatten = [](const std::vector<std::vector<float>>& vectors) {
    std::vector<float> flat;
    for (const auto& v : vectors) flat.insert(flat.end(), v.begin(), v.end());
    return flat;
  };
  std::vector<float> batched_flat;
  auto batched = engine->embed(texts, options);
  ASSERT_TRUE(batched.ok()) << batched.status().to_string();
  batched_flat = flatten(*batched);
  size_t offset = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto alone = engine->embed(std::span<const std::string>(&texts[i], 1), options);
    ASSERT_TRUE(alone.ok()) << alone.status().to_string();
    const std::vector<float> got = flatten(*alone);
    ASSERT_EQ(got.size(), want[i].size()) << texts[i];
    EXPECT_LE(max_abs_diff(got, want[i].data(), got.size()), c.max_abs) << "alone: " << texts[i];
    ASSERT_LE(offset + got.size(), batched_flat.size());
    EXPECT_LE(max_abs_diff(std::span<const float>(batched_flat).subspan(offset, got.size()), want[i].data(),
                           got.size()),
              c.max_abs)
        << "batched: " << texts[i];
    offset += got.size();
  }
}

std::string case_name(const ::testing::TestParamInfo<ArchGoldenCase>& info) {
  std::string name = info.param.golden;
  for (char& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

// Measured max |Δ| (AMD EPYC, best ISA / AVX2 / scalar): F16 2.4e-3 at most; Q8_0 0.054 at most
// (both engines round the activations to Q8_0 blocks, and a flipped rounding moves a whole block).
const ArchGoldenCase kDecoders[] = {
    {"gpt2-f16", "gpt2-f16.gguf", 5e-3f, 0.05f},
    {"gpt2-q8_0", "gpt2-q8_0.gguf", 8e-2f, 0.2f},
};
INSTANTIATE_TEST_SUITE_P(Decoders, GenerationGolden, ::testing::ValuesIn(kDecoders), case_name);

// Mixtures of experts (llama with 4 or 8 experts, 2 per token): routing, prefill batched by expert.
// Logits have a spread (std) of 0.3. Measured max |Δ| (AMD EPYC, AVX-512 / AVX2 / scalar): Q8_0
// 1.2e-7 / 1.2e-7 / 7.5e-3 (the scalar Q8_0 rounding of the activations flips a few blocks); Q4_0
// 1.4e-2 (its Q6_K head: llama.cpp rounds the head's activations to Q8_K blocks). Routing weights not
// renormalised would be off by 0.18-0.26.
const ArchGoldenCase kMoe[] = {
    {"test-tiny-moe-q8_0", "test-tiny-moe-q8_0.gguf", 2e-2f, 0.02f},
    {"test-tiny-moe-q4_0", "test-tiny-moe-q4_0.gguf", 3e-2f, 0.05f},
    {"test-tiny-moe8-q8_0", "test-tiny-moe8-q8_0.gguf", 2e-2f, 0.02f},
    {"test-tiny-moe8-q4_0", "test-tiny-moe8-q4_0.gguf", 3e-2f, 0.05f},
};
INSTANTIATE_TEST_SUITE_P(MixturesOfExperts, GenerationGolden, ::testing::ValuesIn(kMoe), case_name);

// t5-small has a ReLU FFN, test-tiny-t5 a gated-GELU one.
const ArchGoldenCase kSeq2Seq[] = {
    {"t5-small-f16", "t5-small-f16.gguf", 5e-3f, 0.05f},
    {"t5-small-q8_0", "t5-small-q8_0.gguf", 8e-2f, 0.2f},
    {"test-tiny-t5-f16", "test-tiny-t5-f16.gguf", 5e-3f, 0.05f},
};
INSTANTIATE_TEST_SUITE_P(EncoderDecoders, GenerationGolden, ::testing::ValuesIn(kSeq2Seq), case_name);

const ArchGoldenCase kEncoders[] = {
    {"bert-base-f16-none", "bert-base-f16.gguf", 5e-3f, 0},
    {"bert-base-f16-model", "bert-base-f16.gguf", 5e-3f, 0},
    {"bert-base-q8_0-none", "bert-base-q8_0.gguf", 8e-2f, 0},
    {"bert-base-q8_0-model", "bert-base-q8_0.gguf", 8e-2f, 0},
    {"roberta-base-f16-none", "roberta-base-f16.gguf", 5e-3f, 0},
    {"roberta-base-f16-model", "roberta-base-f16.gguf", 5e-3f, 0},
};
INSTANTIATE_TEST_SUITE_P(Models, EncoderGolden, ::testing::ValuesIn(kEncoders), case_name);

}  // namespace
}  // namespace jf
