// Bad models and bad requests get clear errors, never a crash: each test rewrites a tiny synthetic
// model with one defect and checks the Status code and that the message names the culprit.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "jitflow/engine.h"
#include "synth.h"
#include "synth_model.h"
#include "test_env.h"
#include "test_paths.h"

namespace jf {
namespace {

struct TensorEdit {
  std::string name;
  DType dtype;
  std::vector<int64_t> ne;
  std::vector<uint8_t> data;
};

class ModelErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    good_path_ = write_tiny("good", "llama");
    good_qwen2_path_ = write_tiny("good-qwen2", "qwen2");
  }

  // The test-tiny shape as `arch` (qwen2: with q/k/v biases), Q4_0.
  static std::string write_tiny(const std::string& tag, const char* arch) {
    synth::Options options;
    options.shape = *synth::find_shape("test-tiny");
    options.shape.arch = arch;
    options.shape.qkv_bias = std::string(arch) == "qwen2";
    options.type = synth::FileType::kQ4_0;
    options.n_threads = 2;
    return test::write_synth_model(options, tag);
  }

  static std::string temp_path(const std::string& tag) { return test::temp_path(tag + ".gguf"); }

  // Copies the good model (or `source`) with its metadata and tensors passed through the two edit
  // functions (a tensor edit returning false drops the tensor).
  static std::string rewrite(const std::string& tag,
                             const std::function<void(std::string& key, GgufValue& value)>& edit_metadata,
                             const std::function<bool(TensorEdit& tensor)>& edit_tensor,
                             const std::string& source = good_path_) {
    auto file = GgufFile::open_path(source);
    EXPECT_TRUE(file.ok());
    GgufWriter writer;
    for (auto [key, value] : file->metadata()) {
      edit_metadata(key, value);
      writer.set_value(key, value);
    }
    for (const TensorInfo& info : file->tensors()) {
      TensorEdit t{info.name, info.dtype, {}, std::vector<uint8_t>(info.n_bytes)};
      for (int d = 0; d < info.n_dims; ++d) t.ne.push_back(info.ne[d]);
      EXPECT_TRUE(file->read_tensor(info, t.data.data()).ok());
      if (edit_tensor(t)) writer.add_tensor(t.name, t.dtype, t.ne, std::move(t.data));
    }
    const std::string path = temp_path(tag);
    EXPECT_TRUE(writer.write_file(path).ok());
    return path;
  }

  static Status load_status(const std::string& path) {
    auto engine = Engine::load(path, EngineOptions{});
    return engine.ok() ? Status() : engine.status();
  }

  static inline std::string good_path_;
  static inline std::string good_qwen2_path_;
};

void keep_metadata(std::string&, GgufValue&) {}
bool keep_tensor(TensorEdit&) {
  return true;
}

TEST_F(ModelErrors, GoodModelLoadsAndGenerates) {
  auto engine = Engine::load(good_path_, EngineOptions{});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  GenerateOptions gen;
  gen.n_predict = 8;
  gen.stop_at_eog = false;
  int pieces = 0;
  auto stats =
      (*engine)->new_session()->generate("hello", gen, [&](std::string_view) { return ++pieces > 0; });
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->n_generated, 8);
}

TEST_F(ModelErrors, MissingFileIsNotFound) {
  const Status s = load_status("/nonexistent/dir/model.gguf");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/dir/model.gguf"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, MissingTensorIsNamed) {
  const std::string path =
      rewrite("missing", keep_metadata, [](TensorEdit& t) { return t.name != "blk.1.ffn_up.weight"; });
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("blk.1.ffn_up.weight"), std::string::npos) << s.message();
}

// qwen2's row of the architecture table requires the q/k/v biases that llama's leaves optional.
TEST_F(ModelErrors, TensorTheArchitectureRequiresIsNamed) {
  auto engine = Engine::load(good_qwen2_path_, EngineOptions{});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  EXPECT_EQ((*engine)->info().arch, "qwen2");
  EXPECT_EQ((*engine)->info().path, good_qwen2_path_);
  const std::string path = rewrite(
      "qwen2-no-bias", keep_metadata, [](TensorEdit& t) { return t.name != "blk.1.attn_k.bias"; },
      good_qwen2_path_);
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("blk.1.attn_k.bias"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, WrongShapeIsNamed) {
  const std::string path = rewrite("shape", keep_metadata, [](TensorEdit& t) {
    if (t.name == "blk.0.attn_k.weight") std::swap(t.ne[0], t.ne[1]);  // same bytes, transposed shape
    return true;
  });
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kCorruptFile);
  EXPECT_NE(s.message().find("blk.0.attn_k.weight"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, UnsupportedTensorTypeNamesTensorAndType) {
  const std::string path = rewrite("type", keep_metadata, [](TensorEdit& t) {
    if (t.name == "blk.0.ffn_gate.weight") {
      // Re-label as Q2_K with a buffer of the right size: readable, but not computable by jitflow.
      t.dtype = DType::Q2_K;
      t.data.assign(row_bytes(DType::Q2_K, t.ne[0]) * t.ne[1], 0);
    }
    return true;
  });
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("blk.0.ffn_gate.weight"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("q2_k"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, UnsupportedArchitectureIsNamed) {
  const std::string path = rewrite(
      "arch",
      [](std::string& key, GgufValue& value) {
        if (key == "general.architecture") value.data = std::string("mamba");
      },
      keep_tensor);
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("mamba"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, InconsistentHeadCountIsCorrupt) {
  const std::string path = rewrite(
      "heads",
      [](std::string& key, GgufValue& value) {
        if (key == "llama.attention.head_count_kv") value.data = uint64_t{3};  // does not divide 4
      },
      keep_tensor);
  const Status s = load_status(path);
  EXPECT_EQ(s.code(), StatusCode::kCorruptFile);
  EXPECT_NE(s.message().find("head_count_kv"), std::string::npos) << s.message();
}

TEST_F(ModelErrors, ContextOverflowIsOutOfRange) {
  EngineOptions options;
  options.n_ctx = 8;
  auto engine = Engine::load(good_path_, options);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  auto session = (*engine)->new_session();
  const std::vector<int32_t> six = {1, 5, 6, 7, 8, 9};
  ASSERT_TRUE(session->eval(six).ok());
  auto overflow = session->eval(six);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(overflow.status().message().find("context length 8"), std::string::npos)
      << overflow.status().message();
  EXPECT_EQ(session->n_past(), 6) << "a refused batch must leave the sequence as it was";

  // Generation stops cleanly when the context fills; every token that fitted was delivered.
  GenerateOptions gen;
  gen.n_predict = 100;
  gen.stop_at_eog = false;
  session->reset();
  int pieces = 0;
  auto stats = session->generate("hello", gen, [&](std::string_view) { return ++pieces > 0; });
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_TRUE(stats->context_full);
  EXPECT_EQ(session->n_past(), 8);
  EXPECT_EQ(pieces, 8 - stats->n_prompt_tokens + 1);

  // A prompt that cannot fit at all is an error.
  session->reset();
  auto too_long = session->generate(std::string(200, 'a'), gen, [](std::string_view) { return true; });
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kOutOfRange);
}

TEST_F(ModelErrors, TokenOutsideVocabularyIsInvalidArgument) {
  auto engine = Engine::load(good_path_, EngineOptions{});
  ASSERT_TRUE(engine.ok());
  auto session = (*engine)->new_session();
  for (int32_t bad : {-1, (*engine)->info().n_vocab}) {
    auto result = session->eval(std::vector<int32_t>{1, bad});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(session->n_past(), 0);
}

TEST_F(ModelErrors, BadEngineOptionsAreRejected) {
  EngineOptions options;
  options.n_threads = -2;
  auto engine = Engine::load(good_path_, options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kInvalidArgument);
}

// GPT-2, BERT and T5 misuse: the wrong entry point, a missing encoder input, a context past learned
// positions, a T5 file without its bucket count. Each error says what to do instead.
class ArchMisuse : public ::testing::Test {
 protected:
  static std::string write(const char* preset, const std::string& vocab) {
    synth::Options options;
    options.shape = *synth::find_shape(preset);
    options.type = synth::FileType::kQ8_0;
    options.vocab_from = vocab;
    options.n_threads = 2;
    return test::write_synth_model(options, std::string(preset) + ".gguf");
  }
};

TEST_F(ArchMisuse, EachModelKindRefusesTheOthersEntryPoints) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-bert-bge.gguf");
  auto bert = Engine::load(write("test-tiny-bert", test::shared_path("vocab/ggml-vocab-bert-bge.gguf")), {});
  ASSERT_TRUE(bert.ok()) << bert.status().to_string();
  auto bert_session = (*bert)->new_session();
  EXPECT_EQ(bert_session->eval(std::vector<int32_t>{101, 102}).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(bert_session->encode(std::vector<int32_t>{101, 102}).code(), StatusCode::kUnsupported);
  EXPECT_EQ((*bert)->embed({}, EmbedOptions{}).status().code(), StatusCode::kInvalidArgument);

  auto t5 = Engine::load(
      write("test-tiny-t5", test::source_path("tests/data/vocab/ggml-vocab-t5-unigram.gguf")), {});
  ASSERT_TRUE(t5.ok()) << t5.status().to_string();
  auto t5_session = (*t5)->new_session();
  const Status before_encode = t5_session->eval(std::vector<int32_t>{0}).status();
  EXPECT_EQ(before_encode.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(before_encode.message().find("encode the input first"), std::string::npos)
      << before_encode.message();
  EXPECT_EQ((*t5)->embed(std::vector<std::string>{"text"}, EmbedOptions{}).status().code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(t5_session->encode(std::vector<int32_t>{1 << 20}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(t5_session->encode((*t5)->tokenize("a cat", true)).ok());
  EXPECT_TRUE(t5_session->eval(std::vector<int32_t>{(*t5)->info().decoder_start_token}).ok());
}

TEST_F(ArchMisuse, ContextPastLearnedPositionsIsRefused) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  EngineOptions options;
  options.n_ctx = 4096;  // test-tiny-gpt2 learned 128 positions
  auto gpt2 =
      Engine::load(write("test-tiny-gpt2", test::shared_path("vocab/ggml-vocab-gpt-2.gguf")), options);
  ASSERT_FALSE(gpt2.ok());
  EXPECT_EQ(gpt2.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(gpt2.status().message().find("exceeds the 128 positions"), std::string::npos)
      << gpt2.status().message();
}

}  // namespace
}  // namespace jf
