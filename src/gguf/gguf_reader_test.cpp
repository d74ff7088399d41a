#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "test_env.h"
#include "gguf_tensor_bytes.h"
#include "test_paths.h"

namespace jf {
namespace {

TEST(GgufReader, ReadsCommittedStoriesModel) {
  auto file = GgufFile::open_path(test::source_path("models/stories260K.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->tensors().size(), 48u);
  EXPECT_EQ(*file->get_string("general.architecture"), "llama");
  EXPECT_EQ(*file->get_uint("llama.embedding_length"), 64u);
  EXPECT_NEAR(*file->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-12);
  auto tokens = file->get_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->items.size(), 512u);
  const TensorInfo* q = file->find_tensor("blk.0.attn_k.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->ne[0], 64);
  EXPECT_EQ(q->ne[1], 32);
  EXPECT_EQ(q->n_bytes, 64u * 32u * 4u);
  EXPECT_EQ(q->offset % file->alignment(), 0u);
}

TEST(GgufReader, WriterRoundTripsMetadataAndTensors) {
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_uint32("llama.block_count", 2);
  writer.set_float32("llama.rope.freq_base", 10000.0f);
  writer.set_bool("tokenizer.ggml.add_bos_token", true);
  std::vector<uint8_t> data(4 * 3 * sizeof(float), 7);
  writer.add_tensor("w", DType::F32, {4, 3}, data);
  auto bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::open(make_memory_source(*bytes, "roundtrip"));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(*file->get_uint("llama.block_count"), 2u);
  EXPECT_EQ(*file->get_float("llama.rope.freq_base"), 10000.0);
  EXPECT_TRUE(*file->get_bool("tokenizer.ggml.add_bos_token"));
  const TensorInfo* w = file->find_tensor("w");
  ASSERT_NE(w, nullptr);
  std::vector<uint8_t> back(w->n_bytes);
  ASSERT_TRUE(file->read_tensor(*w, back.data()).ok());
  EXPECT_EQ(back, data);
}

// Lazy tensors are made only when written, in file order, beside eager ones; the file reads back the same
// from write_file and to_bytes, and file_bytes knew its size without making anything.
TEST(GgufWriter, LazyTensorsRoundTripInFileOrder) {
  const std::vector<uint8_t> a(4 * 3 * 2 * sizeof(float), 7), eager(2 * sizeof(float), 8),
      b(3 * sizeof(float), 9);
  std::vector<std::string> made;
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.add_tensor("a", DType::F32, {4, 3, 2}, [&]() -> Result<std::vector<uint8_t>> {
    made.push_back("a");
    return a;
  });
  writer.add_tensor("eager", DType::F32, {2}, eager);
  writer.add_tensor("b", DType::F32, {3}, [&]() -> Result<std::vector<uint8_t>> {
    made.push_back("b");
    return b;
  });
  const Result<uint64_t> file_bytes = writer.file_bytes();
  ASSERT_TRUE(file_bytes.ok()) << file_bytes.status().to_string();
  EXPECT_TRUE(made.empty());

  const std::string path = test::temp_path("lazy-tensors.gguf");
  ASSERT_TRUE(writer.write_file(path).ok());
  EXPECT_EQ(made, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(std::filesystem::file_size(path), *file_bytes);
  const Result<GgufFile> file = GgufFile::open_path(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  const TensorInfo* a_info = file->find_tensor("a");
  ASSERT_NE(a_info, nullptr);
  ASSERT_EQ(a_info->n_dims, 3);
  EXPECT_EQ(a_info->ne[2], 2);
  EXPECT_EQ(test::tensor_bytes(*file, "a"), a);
  EXPECT_EQ(test::tensor_bytes(*file, "eager"), eager);
  EXPECT_EQ(test::tensor_bytes(*file, "b"), b);

  const Result<std::vector<uint8_t>> bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  EXPECT_EQ(bytes->size(), *file_bytes);
  const Result<GgufFile> from_bytes = GgufFile::open(make_memory_source(*bytes, "lazy"));
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().to_string();
  EXPECT_EQ(test::tensor_bytes(*from_bytes, "a"), a);
  EXPECT_EQ(test::tensor_bytes(*from_bytes, "b"), b);
}

// A maker that gives the wrong number of bytes, or fails, fails the write with the tensor's name.
TEST(GgufWriter, LazyTensorOfTheWrongSizeIsAnErrorNamingIt) {
  GgufWriter short_by_one;
  short_by_one.add_tensor("blk.0.short", DType::Q8_0, {64, 2}, []() -> Result<std::vector<uint8_t>> {
    return std::vector<uint8_t>(2 * 2 * 34 - 1);
  });
  const Status written = short_by_one.write_file(test::temp_path("short-by-one.gguf"));
  EXPECT_EQ(written.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(written.message().find("'blk.0.short'"), std::string::npos) << written.message();
  EXPECT_NE(written.message().find("135 bytes"), std::string::npos) << written.message();
  EXPECT_EQ(short_by_one.to_bytes().status().code(), StatusCode::kInvalidArgument);

  GgufWriter failing;
  failing.add_tensor("w", DType::F32, {4}, []() -> Result<std::vector<uint8_t>> {
    return error(StatusCode::kIoError, "disk gone");
  });
  const Status failed = failing.write_file(test::temp_path("failing-maker.gguf"));
  EXPECT_EQ(failed.code(), StatusCode::kIoError);
  EXPECT_EQ(failed.message(), "tensor 'w': disk gone");
}

}  // namespace
}  // namespace jf
