#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
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

}  // namespace
}  // namespace jf
