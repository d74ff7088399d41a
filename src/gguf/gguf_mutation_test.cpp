// Deterministic replay of the mutations a fuzzer would try first: every byte of the header region
// flipped, every truncation point, and a fixed-seed batch of random multi-byte edits. Each input
// must either open (and then keep every reader promise) or fail with a format error naming a byte
// offset. It runs in the normal build, so ASan/UBSan check it in CI without clang or libFuzzer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/gguf_exercise.h"
#include "gguf/gguf_writer.h"
#include "test_paths.h"

namespace jf {
namespace {

GgufValue make_value(GgufType type, decltype(GgufValue::data) data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

// A small file touching every part of the format: scalars, strings, nested arrays, a bool, and
// tensors of a plain, a half and a block-quantised type.
std::vector<uint8_t> small_file() {
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_uint32("llama.block_count", 2);
  writer.set_float32("llama.rope.freq_base", 10000.0f);
  writer.set_bool("tokenizer.ggml.add_bos_token", true);
  GgufArray strings{GgufType::kString, {}};
  for (const char* s : {"<s>", "a", "bc"})
    strings.items.push_back(make_value(GgufType::kString, std::string(s)));
  const GgufValue inner = make_value(GgufType::kArray, strings);
  writer.set_value("test.nested", make_value(GgufType::kArray, GgufArray{GgufType::kArray, {inner}}));
  writer.add_tensor("f32", DType::F32, {4, 2}, std::vector<uint8_t>(32, 1));
  writer.add_tensor("f16", DType::F16, {8}, std::vector<uint8_t>(16, 2));
  writer.add_tensor("q4_0", DType::Q4_0, {32, 2}, std::vector<uint8_t>(36, 3));
  return *writer.to_bytes();
}

// Opens `bytes` and checks the outcome; `what` describes the mutation for failure messages.
void replay(std::vector<uint8_t> bytes, const std::string& what) {
  bool promise_broken = false;
  const Status status = test::exercise_gguf_bytes(std::move(bytes), &promise_broken);
  EXPECT_FALSE(promise_broken) << what << ": " << status.to_string();
}

uint64_t data_offset_of(const std::vector<uint8_t>& bytes) {
  auto file = GgufFile::open(make_memory_source(bytes, "seed"));
  return file.ok() ? file->data_offset() : 0;
}

TEST(GgufMutation, EveryHeaderByteFlipped) {
  const std::vector<uint8_t> seed = small_file();
  const uint64_t header_end = data_offset_of(seed);
  ASSERT_GT(header_end, 0u);
  for (uint64_t i = 0; i < header_end; ++i) {
    const uint8_t b = seed[i];
    for (uint8_t mutated :
         {uint8_t(0x00), uint8_t(0xff), uint8_t(b ^ 0x01), uint8_t(b ^ 0x80), uint8_t(b + 1)}) {
      if (mutated == b) continue;
      std::vector<uint8_t> bytes = seed;
      bytes[i] = mutated;
      replay(std::move(bytes), "byte " + std::to_string(i) + " = " + std::to_string(mutated));
    }
  }
}

TEST(GgufMutation, EveryTruncation) {
  const std::vector<uint8_t> seed = small_file();
  for (uint64_t n = 0; n < seed.size(); ++n) {
    replay({seed.begin(), seed.begin() + n}, "first " + std::to_string(n) + " bytes");
  }
}

// xorshift64: the same "random" edits on every run and every platform.
uint64_t next_random(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

TEST(GgufMutation, SeededRandomEdits) {
  const std::vector<uint8_t> seed = small_file();
  const uint64_t header_end = data_offset_of(seed);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < 5000; ++round) {
    std::vector<uint8_t> bytes = seed;
    const int n_edits = 1 + static_cast<int>(next_random(&state) % 4);
    for (int e = 0; e < n_edits; ++e) {
      bytes[next_random(&state) % header_end] = static_cast<uint8_t>(next_random(&state));
    }
    replay(std::move(bytes), "round " + std::to_string(round));
  }
}

// The header region of a real model (19 keys, a 512-token vocabulary, 48 tensor infos) cut at
// every point; every prefix must fail cleanly since the tensor data is cut off.
TEST(GgufMutation, RealModelHeaderTruncations) {
  const std::string path = test::source_path("models/stories260K.gguf");
  auto source = open_file_source(path);
  ASSERT_TRUE(source.ok()) << source.status().to_string();
  auto file = GgufFile::open(std::move(*source));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  std::vector<uint8_t> header(file->data_offset());
  ASSERT_TRUE(file->source().read_at(0, header.data(), header.size()).ok());
  for (uint64_t n = 0; n <= header.size(); ++n) {
    replay({header.begin(), header.begin() + n}, "stories260K first " + std::to_string(n) + " bytes");
  }
}

}  // namespace
}  // namespace jf
