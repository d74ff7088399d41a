// `jitflow synth` models read back with GgufFile: names, shapes, types per file type, metadata,
// tokenizer, weight statistics and reproducibility.
#include "synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "io/byte_source.h"
#include "tensor/quant.h"
#include "gguf_tensor_bytes.h"
#include "test_paths.h"

namespace jf::synth {
namespace {

GgufFile build_and_open(const Options& options) {
  Result<GgufWriter> writer = build_model(options);
  EXPECT_TRUE(writer.ok()) << writer.status().to_string();
  Result<std::vector<uint8_t>> bytes = writer->to_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  Result<GgufFile> file = GgufFile::open(make_memory_source(std::move(bytes).value(), "synth"));
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  return std::move(file).value();
}

Options tiny(FileType type, const char* preset = "test-tiny") {
  Options options;
  options.shape = *find_shape(preset);
  options.type = type;
  options.n_threads = 2;
  return options;
}

std::vector<float> dequantized(const GgufFile& file, const std::string& name) {
  const TensorInfo* info = file.find_tensor(name);
  EXPECT_NE(info, nullptr) << name;
  std::vector<uint8_t> bytes(info->n_bytes);
  EXPECT_TRUE(file.read_tensor(*info, bytes.data()).ok());
  std::vector<float> values(info->n_elements());
  dequantize_row(info->dtype, bytes.data(), values.data(), info->n_elements());
  return values;
}

void expect_tensor(const GgufFile& file, const std::string& name, DType dtype, std::vector<int64_t> ne) {
  const TensorInfo* info = file.find_tensor(name);
  ASSERT_NE(info, nullptr) << name;
  EXPECT_EQ(info->dtype, dtype) << name << " is " << dtype_name(info->dtype);
  ASSERT_EQ(info->n_dims, static_cast<int>(ne.size())) << name;
  for (size_t d = 0; d < ne.size(); ++d) EXPECT_EQ(info->ne[d], ne[d]) << name << " dim " << d;
}

TEST(SynthTest, MetadataFollowsTheShape) {
  const GgufFile file = build_and_open(tiny(FileType::kQ4_0));
  EXPECT_EQ(*file.get_string("general.architecture"), "llama");
  EXPECT_EQ(*file.get_uint("general.file_type"), 2u);
  EXPECT_EQ(*file.get_uint("llama.context_length"), 128u);
  EXPECT_EQ(*file.get_uint("llama.embedding_length"), 256u);
  EXPECT_EQ(*file.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(*file.get_uint("llama.feed_forward_length"), 512u);
  EXPECT_EQ(*file.get_uint("llama.attention.head_count"), 4u);
  EXPECT_EQ(*file.get_uint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(*file.get_uint("llama.rope.dimension_count"), 64u);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.get_float("llama.rope.freq_base")), 10000.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  // The generated SentencePiece vocabulary.
  EXPECT_EQ(*file.get_string("tokenizer.ggml.model"), "llama");
  const GgufArray* tokens = *file.get_array("tokenizer.ggml.tokens");
  const GgufArray* types = *file.get_array("tokenizer.ggml.token_type");
  ASSERT_EQ(tokens->items.size(), 320u);
  ASSERT_EQ(types->items.size(), 320u);
  EXPECT_EQ(std::get<std::string>(tokens->items[1].data), "<s>");
  EXPECT_EQ(std::get<std::string>(tokens->items[3 + 0x41].data), "<0x41>");
  EXPECT_EQ(std::get<int64_t>(types->items[3 + 0x41].data), 6);
  EXPECT_EQ(std::get<std::string>(tokens->items[259].data), "\xe2\x96\x81" "a");
  EXPECT_EQ(*file.get_uint("tokenizer.ggml.bos_token_id"), 1u);
}

TEST(SynthTest, TensorTypesPerFileType) {
  struct Expect {
    FileType type;
    DType main, output, v0, v1;  // v0 / v1: attn_v and ffn_down of layers 0 and 1
    uint64_t ftype;
  };
  const Expect kExpect[] = {
      {FileType::kF16, DType::F16, DType::F16, DType::F16, DType::F16, 1},
      {FileType::kQ8_0, DType::Q8_0, DType::Q8_0, DType::Q8_0, DType::Q8_0, 7},
      {FileType::kQ4_0, DType::Q4_0, DType::Q6_K, DType::Q4_0, DType::Q4_0, 2},
      // Q4_K_M gives llama-quantize's "more bits" layers (here layer 1 of 2) Q6_K attn_v and ffn_down.
      {FileType::kQ4_K_M, DType::Q4_K, DType::Q6_K, DType::Q4_K, DType::Q6_K, 15},
  };
  for (const Expect& e : kExpect) {
    SCOPED_TRACE(dtype_name(e.main));
    const GgufFile file = build_and_open(tiny(e.type));
    EXPECT_EQ(*file.get_uint("general.file_type"), e.ftype);
    EXPECT_EQ(file.tensors().size(), 21u);
    expect_tensor(file, "token_embd.weight", e.main, {256, 320});
    for (int l = 0; l < 2; ++l) {
      const std::string blk = "blk." + std::to_string(l) + ".";
      const DType more_bits = l == 0 ? e.v0 : e.v1;
      expect_tensor(file, blk + "attn_norm.weight", DType::F32, {256});
      expect_tensor(file, blk + "attn_q.weight", e.main, {256, 256});
      expect_tensor(file, blk + "attn_k.weight", e.main, {256, 128});
      expect_tensor(file, blk + "attn_v.weight", more_bits, {256, 128});
      expect_tensor(file, blk + "attn_output.weight", e.main, {256, 256});
      expect_tensor(file, blk + "ffn_norm.weight", DType::F32, {256});
      expect_tensor(file, blk + "ffn_gate.weight", e.main, {256, 512});
      expect_tensor(file, blk + "ffn_up.weight", e.main, {256, 512});
      expect_tensor(file, blk + "ffn_down.weight", more_bits, {512, 256});
    }
    expect_tensor(file, "output_norm.weight", DType::F32, {256});
    expect_tensor(file, "output.weight", e.output, {256, 320});
  }
}

TEST(SynthTest, WeightsAreGaussianAndNormsOne) {
  const GgufFile file = build_and_open(tiny(FileType::kQ8_0));
  const std::vector<float> w = dequantized(file, "blk.1.ffn_up.weight");
  double sum = 0, sum2 = 0;
  for (float v : w) {
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  const double mean = sum / w.size(), sigma = std::sqrt(sum2 / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.001);
  EXPECT_NEAR(sigma, 0.02, 0.0005);
  for (float v : dequantized(file, "blk.0.ffn_norm.weight")) ASSERT_EQ(v, 1.0f);
}

TEST(SynthTest, Qwen2ShapeHasBiasesAndTiedOutput) {
  Options options = tiny(FileType::kQ4_0);
  options.shape.arch = "qwen2";
  options.shape.n_embd = 128;  // not whole super-blocks: K-quant choices fall back as in llama-quantize
  options.shape.n_ff = 256;
  options.shape.qkv_bias = true;
  options.shape.tied_output = true;
  const GgufFile q4_0 = build_and_open(options);
  EXPECT_EQ(*q4_0.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(*q4_0.get_uint("qwen2.embedding_length"), 128u);
  EXPECT_EQ(q4_0.find_tensor("output.weight"), nullptr);
  expect_tensor(q4_0, "token_embd.weight", DType::Q8_0, {128, 320});  // Q6_K wanted, rows of 128
  expect_tensor(q4_0, "blk.0.attn_q.weight", DType::Q4_0, {128, 128});
  expect_tensor(q4_0, "blk.0.attn_q.bias", DType::F32, {128});
  expect_tensor(q4_0, "blk.1.attn_k.bias", DType::F32, {64});
  expect_tensor(q4_0, "blk.1.attn_v.bias", DType::F32, {64});
  EXPECT_EQ(q4_0.tensors().size(), 1u + 2 * 12 + 1);

  options.type = FileType::kQ4_K_M;
  const GgufFile q4_k = build_and_open(options);
  expect_tensor(q4_k, "blk.0.attn_q.weight", DType::Q5_0, {128, 128});
  expect_tensor(q4_k, "blk.0.ffn_down.weight", DType::Q4_K, {256, 128});
  expect_tensor(q4_k, "blk.1.ffn_down.weight", DType::Q6_K, {256, 128});
}

TEST(SynthTest, VocabularyCopiedFromAnotherModel) {
  JF_REQUIRE_SHARED("models/stories260K.gguf");
  Options options = tiny(FileType::kF16);
  options.vocab_from = test::shared_path("models/stories260K.gguf");
  const GgufFile file = build_and_open(options);
  const GgufFile source = std::move(GgufFile::open_path(options.vocab_from)).value();
  expect_tensor(file, "token_embd.weight", DType::F16, {256, 512});
  expect_tensor(file, "output.weight", DType::F16, {256, 512});
  int n_copied = 0;
  for (const auto& [key, value] : source.metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    const GgufValue* copy = file.find(key);
    ASSERT_NE(copy, nullptr) << key;
    EXPECT_EQ(copy->type, value.type) << key;
    EXPECT_EQ(gguf_value_to_string(*copy, SIZE_MAX), gguf_value_to_string(value, SIZE_MAX)) << key;
    ++n_copied;
  }
  EXPECT_GE(n_copied, 8);
}

TEST(SynthTest, BytesDependOnTheSeedNotTheThreads) {
  auto bytes_of = [](Options options) { return std::move(build_model(options)->to_bytes()).value(); };
  Options one = tiny(FileType::kQ4_K_M), three = one, other_seed = one;
  one.n_threads = 1;
  three.n_threads = 3;
  other_seed.seed = 2;
  const std::vector<uint8_t> reference = bytes_of(one);
  EXPECT_TRUE(reference == bytes_of(three));
  EXPECT_FALSE(reference == bytes_of(other_seed));
}

// Mixtral's layout: a router (F32 whatever the file type) and each FFN projection's experts stacked in
// a 3-D tensor in the file type's matrix type (ffn_down_exps gets ffn_down's).
TEST(SynthTest, MoeTensorsPerFileType) {
  struct Expect {
    FileType type;
    DType main, down0, down1;  // down0 / down1: ffn_down_exps of layers 0 and 1
  };
  const Expect kExpect[] = {
      {FileType::kF16, DType::F16, DType::F16, DType::F16},
      {FileType::kQ8_0, DType::Q8_0, DType::Q8_0, DType::Q8_0},
      {FileType::kQ4_0, DType::Q4_0, DType::Q4_0, DType::Q4_0},
      {FileType::kQ4_K_M, DType::Q4_K, DType::Q4_K, DType::Q6_K},
  };
  for (const Expect& e : kExpect) {
    SCOPED_TRACE(dtype_name(e.main));
    const GgufFile file = build_and_open(tiny(e.type, "test-tiny-moe"));
    EXPECT_EQ(*file.get_uint("llama.expert_count"), 4u);
    EXPECT_EQ(*file.get_uint("llama.expert_used_count"), 2u);
    EXPECT_EQ(file.tensors().size(), 3u + 2 * 10);
    for (int l = 0; l < 2; ++l) {
      const std::string blk = "blk." + std::to_string(l) + ".";
      expect_tensor(file, blk + "attn_k.weight", e.main, {256, 128});
      expect_tensor(file, blk + "ffn_gate_inp.weight", DType::F32, {256, 4});
      expect_tensor(file, blk + "ffn_gate_exps.weight", e.main, {256, 512, 4});
      expect_tensor(file, blk + "ffn_up_exps.weight", e.main, {256, 512, 4});
      expect_tensor(file, blk + "ffn_down_exps.weight", l == 0 ? e.down0 : e.down1, {512, 256, 4});
      EXPECT_EQ(file.find_tensor(blk + "ffn_gate.weight"), nullptr);
      EXPECT_EQ(file.find_tensor(blk + "ffn_gate.0.weight"), nullptr);
    }
  }
  // Every expert is Gaussian, the last one's rows too.
  const GgufFile q8 = build_and_open(tiny(FileType::kQ8_0, "test-tiny-moe"));
  const std::vector<float> w = dequantized(q8, "blk.1.ffn_up_exps.weight");
  double sum2 = 0;
  for (size_t i = w.size() / 4 * 3; i < w.size(); ++i) sum2 += static_cast<double>(w[i]) * w[i];
  EXPECT_NEAR(std::sqrt(sum2 / (w.size() / 4)), 0.02, 0.0005);
}

// llama-quantize gives 8-expert models Q8_0 attn_k / attn_v, and Q4_K_M's attn_output Q5_K.
TEST(SynthTest, EightExpertsGetLlamaQuantizesTypes) {
  const GgufFile q4_0 = build_and_open(tiny(FileType::kQ4_0, "test-tiny-moe8"));
  EXPECT_EQ(*q4_0.get_uint("llama.expert_count"), 8u);
  expect_tensor(q4_0, "blk.0.attn_q.weight", DType::Q4_0, {256, 256});
  expect_tensor(q4_0, "blk.0.attn_k.weight", DType::Q8_0, {256, 128});
  expect_tensor(q4_0, "blk.1.attn_v.weight", DType::Q8_0, {256, 128});
  expect_tensor(q4_0, "blk.0.attn_output.weight", DType::Q4_0, {256, 256});
  expect_tensor(q4_0, "blk.1.ffn_gate_inp.weight", DType::F32, {256, 8});
  expect_tensor(q4_0, "blk.1.ffn_down_exps.weight", DType::Q4_0, {256, 256, 8});
  const GgufFile q4_k = build_and_open(tiny(FileType::kQ4_K_M, "test-tiny-moe8"));
  expect_tensor(q4_k, "blk.0.attn_v.weight", DType::Q8_0, {256, 128});
  expect_tensor(q4_k, "blk.0.attn_output.weight", DType::Q5_K, {256, 256});
  const GgufFile f16 = build_and_open(tiny(FileType::kF16, "test-tiny-moe8"));
  expect_tensor(f16, "blk.0.attn_k.weight", DType::F16, {256, 128});
}

// The split layout (blk.N.ffn_gate.E.weight, ...) holds the merged tensors' slices byte for byte, and
// everything else unchanged.
TEST(SynthTest, SplitExpertsAreTheMergedTensorsSlices) {
  const Options merged_options = tiny(FileType::kQ4_0, "test-tiny-moe");
  Options split_options = merged_options;
  split_options.split_experts = true;
  const GgufFile merged = build_and_open(merged_options);
  const GgufFile split = build_and_open(split_options);
  EXPECT_EQ(split.tensors().size(), 3u + 2 * (7 + 3 * 4));
  EXPECT_EQ(*split.get_uint("llama.expert_count"), 4u);
  for (int l = 0; l < 2; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(split.find_tensor(blk + "ffn_up_exps.weight"), nullptr);
    EXPECT_EQ(test::tensor_bytes(split, blk + "ffn_gate_inp.weight"),
              test::tensor_bytes(merged, blk + "ffn_gate_inp.weight"));
    EXPECT_EQ(test::tensor_bytes(split, blk + "attn_q.weight"), test::tensor_bytes(merged, blk + "attn_q.weight"));
    for (const char* ffn : {"ffn_gate", "ffn_up", "ffn_down"}) {
      const std::vector<uint8_t> whole = test::tensor_bytes(merged, blk + ffn + "_exps.weight");
      const size_t slice = whole.size() / 4;
      for (int e = 0; e < 4; ++e) {
        const std::string name = blk + ffn + "." + std::to_string(e) + ".weight";
        SCOPED_TRACE(name);
        const TensorInfo* info = split.find_tensor(name);
        ASSERT_NE(info, nullptr);
        EXPECT_EQ(info->dtype, DType::Q4_0);
        ASSERT_EQ(info->n_dims, 2);
        EXPECT_EQ(info->ne[0], std::string(ffn) == "ffn_down" ? 512 : 256);
        const std::vector<uint8_t> expert = test::tensor_bytes(split, name);
        ASSERT_EQ(expert.size(), slice);
        EXPECT_TRUE(std::equal(expert.begin(), expert.end(), whole.begin() + e * slice));
      }
    }
  }
}

// mixtral-8x7b is a 26 GB file: build_model only plans it (generating it would take minutes and 26 GB
// of memory), and the writer knows the size it will write.
TEST(SynthTest, MixtralIsPlannedNotGenerated) {
  Options options;
  options.shape = *find_shape("mixtral-8x7b");
  options.n_threads = 2;
  const Result<GgufWriter> writer = build_model(options);
  ASSERT_TRUE(writer.ok()) << writer.status().to_string();
  const Result<uint64_t> file_bytes = writer->file_bytes();
  ASSERT_TRUE(file_bytes.ok()) << file_bytes.status().to_string();
  // 46.7 B weights, nearly all Q4_0 (4.5 bits): about 26.4 GB, as llama-quantize's Mixtral Q4_0.
  EXPECT_GT(*file_bytes, 26'000'000'000u);
  EXPECT_LT(*file_bytes, 26'700'000'000u);
}

TEST(SynthTest, PresetsAndBadInput) {
  ASSERT_NE(find_shape("llama3-8b"), nullptr);
  EXPECT_EQ(find_shape("llama3-8b")->n_vocab, 128256);
  EXPECT_EQ(find_shape("qwen2.5-0.5b")->n_head_kv, 2);
  EXPECT_EQ(find_shape("nope"), nullptr);
  EXPECT_EQ(
      preset_names(),
      "tinyllama-1.1b, llama2-7b, llama3-8b, mixtral-8x7b, qwen2.5-0.5b, gpt2, bert-base, roberta-base, "
      "t5-small");
  EXPECT_EQ(find_shape("mixtral-8x7b")->n_expert, 8);
  EXPECT_EQ(find_shape("mixtral-8x7b")->n_expert_used, 2);
  EXPECT_FALSE(parse_file_type("q3_k").ok());
  EXPECT_EQ(*parse_file_type("q4_k"), FileType::kQ4_K_M);
  Options bad = tiny(FileType::kQ4_0);
  bad.shape.n_head = 3;  // 256 is not a multiple of 3
  EXPECT_EQ(build_model(bad).status().code(), StatusCode::kInvalidArgument);
  bad = tiny(FileType::kQ4_0);
  bad.vocab_from = "/nonexistent.gguf";
  EXPECT_FALSE(build_model(bad).ok());
}

TEST(SynthTest, BadExpertCountsAreErrors) {
  const auto error_of = [](int n_expert, int n_expert_used, const char* arch = "llama") {
    Options options = tiny(FileType::kQ4_0, "test-tiny-moe");
    options.shape.n_expert = n_expert;
    options.shape.n_expert_used = n_expert_used;
    options.shape.arch = arch;
    const Status s = build_model(options).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n_expert << " " << n_expert_used << " " << arch;
    return s.message();
  };
  EXPECT_EQ(error_of(4, 0), "synth: shape 'test-tiny-moe': n_expert_used 0 is not in 1..n_expert (4)");
  EXPECT_EQ(error_of(4, 5), "synth: shape 'test-tiny-moe': n_expert_used 5 is not in 1..n_expert (4)");
  EXPECT_EQ(error_of(0, 2), "synth: shape 'test-tiny-moe': n_expert_used 2 is not in 1..n_expert (0)");
  EXPECT_EQ(error_of(-1, 1), "synth: shape 'test-tiny-moe': n_expert_used 1 is not in 1..n_expert (-1)");
  EXPECT_EQ(error_of(4, 2, "qwen2"),
            "synth: shape 'test-tiny-moe': experts need arch llama (Mixtral's layout), not 'qwen2'");
}

// GPT-2, BERT and T5 shapes need their own kind of vocabulary: without one the error names the file.
TEST(SynthTest, NonLlamaPresetsNeedTheirVocabulary) {
  for (const char* preset : {"gpt2", "bert-base", "roberta-base", "t5-small"}) {
    Options options;
    options.shape = *find_shape(preset);
    const Status s = build_model(options).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << preset;
    EXPECT_NE(s.message().find(options.shape.vocab_file), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace jf::synth
