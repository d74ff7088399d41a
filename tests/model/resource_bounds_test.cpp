// Files that declare absurd sizes (a tensor of 2^60 elements, 2^40 metadata entries, string and
// array lengths near 2^63, a vocabulary of 2^31 tokens, 2^30 layers) are refused before anything
// is allocated for them, with an error naming the file, the field and its byte offset. Some are
// sparse files as large as their counts claim (a hole after a few header bytes, no disk used), so
// that the counts pass every bytes-left check and only the limits on growth stop them.
//
// Each file is loaded by load_peak_rss (Engine::load in a fresh process, as `jitflow` loads a
// model), which reports the error and its RSS before the load and its peak after: the refusal may
// add less than 50 MiB. (The peak itself is ~4 MiB in a release build; the ASan runtime alone
// takes ~70 MiB, so the bound is on the growth.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gguf_bytes.h"

namespace jf {
namespace {

using test::Bytes;

constexpr long kMaxRssGrowthKib = 50 * 1024;
constexpr uint32_t kF32 = 0;        // tensor type
constexpr uint32_t kArrayType = 9;  // metadata value types
constexpr uint32_t kStringType = 8;
constexpr uint32_t kFloat32Type = 6;

struct ChildOutcome {
  std::string status;
  long rss_before_kib = -1;
  long peak_rss_kib = -1;
};

// Runs load_peak_rss on `path` and parses its three lines.
ChildOutcome load_in_child(const std::string& path) {
  ChildOutcome outcome;
  const std::string command = std::string("'") + JITFLOW_LOAD_PEAK_RSS + "' '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char line[4096];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    const std::string text(line);
    if (text.rfind("status: ", 0) == 0) outcome.status = text.substr(8, text.size() - 9);
    if (text.rfind("rss_before_kib: ", 0) == 0) outcome.rss_before_kib = std::stol(text.substr(16));
    if (text.rfind("peak_rss_kib: ", 0) == 0) outcome.peak_rss_kib = std::stol(text.substr(14));
  }
  pclose(pipe);
  return outcome;
}

class ResourceBounds : public ::testing::Test {
 protected:
  // A folder of this process's own, so that tests running in parallel never share a path.
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jitflow_resource_bounds_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes `bytes` as `name`, extended with a hole to `size_bytes` when that is larger.
  std::string write(const std::string& name, const Bytes& bytes, uint64_t size_bytes = 0) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data().data()),
               static_cast<std::streamsize>(bytes.size()));
    if (size_bytes > bytes.size()) std::filesystem::resize_file(path, size_bytes);
    return path;
  }

  // The file is refused with a corrupt-file error naming it, "byte offset <at>" and every one of
  // `names`, by a process whose RSS grows by less than the bound.
  ::testing::AssertionResult refused(const std::string& path, uint64_t at,
                                     const std::vector<std::string>& names) {
    const ChildOutcome outcome = load_in_child(path);
    std::cout << std::filesystem::path(path).filename().string() << ": RSS " << outcome.rss_before_kib
              << " KiB before, peak " << outcome.peak_rss_kib << " KiB; " << outcome.status << "\n";
    if (outcome.rss_before_kib < 0 || outcome.peak_rss_kib < 0) {
      return ::testing::AssertionFailure() << "load_peak_rss did not report (it crashed?)";
    }
    if (outcome.peak_rss_kib - outcome.rss_before_kib >= kMaxRssGrowthKib) {
      return ::testing::AssertionFailure() << "RSS grew from " << outcome.rss_before_kib
                                           << " KiB to a peak of " << outcome.peak_rss_kib << " KiB";
    }
    std::vector<std::string> wanted = names;
    wanted.insert(wanted.end(), {"corrupt file", path, "byte offset " + std::to_string(at)});
    for (const std::string& want : wanted) {
      if (outcome.status.find(want) == std::string::npos) {
        return ::testing::AssertionFailure() << "status lacks \"" << want << "\": " << outcome.status;
      }
    }
    return ::testing::AssertionSuccess();
  }

  std::filesystem::path dir_;
};

TEST_F(ResourceBounds, TensorOf2To60Elements) {
  Bytes b;
  b.header(1, 0).tensor("token_embd.weight", {1ull << 30, 1ull << 30}, kF32, 0);
  const uint64_t offset_field_at = b.size() - 8;
  b.pad_to(32).zeros(64);
  EXPECT_TRUE(refused(write("tensor-2^60.gguf", b), offset_field_at, {"token_embd.weight", "outside"}));
}

TEST_F(ResourceBounds, MetadataCount2To40) {
  Bytes b;
  b.header(0, 1ull << 40).zeros(64);
  EXPECT_TRUE(refused(write("kv-2^40.gguf", b), 16, {"metadata count"}));
}

// Big enough for 2^40 one-byte entries: the second entry, an empty key again, is refused, and
// the first has not made the reader reserve room for the other 2^40 - 1.
TEST_F(ResourceBounds, MetadataCount2To40InASparseFile) {
  Bytes b;
  b.header(0, 1ull << 40);
  const uint64_t size = b.size() + 13 * (1ull << 40);
  std::error_code too_big;
  const std::string path = write("kv-2^40-sparse.gguf", b);
  std::filesystem::resize_file(path, size, too_big);
  if (too_big)
    GTEST_SKIP() << "this file system cannot hold a " << size << "-byte sparse file: " << too_big.message();
  EXPECT_TRUE(refused(path, 24 + 13, {"duplicate metadata key"}));
}

TEST_F(ResourceBounds, KeyLengthNear2To63) {
  Bytes b;
  b.header(0, 1).u64((1ull << 63) - 1).zeros(64);
  EXPECT_TRUE(refused(write("key-2^63.gguf", b), 24, {"metadata key #0", "string length"}));
}

TEST_F(ResourceBounds, StringValueLengthNear2To63) {
  Bytes b;
  b.header(0, 1).str("general.architecture").u32(kStringType);
  const uint64_t length_at = b.size();
  b.u64(1ull << 63).zeros(64);
  EXPECT_TRUE(refused(write("string-2^63.gguf", b), length_at, {"general.architecture", "string length"}));
}

TEST_F(ResourceBounds, ArrayLengthNear2To63) {
  Bytes b;
  b.header(0, 1).str("tokenizer.ggml.scores").u32(kArrayType);
  const uint64_t count_at = b.size() + 4;
  b.u32(kFloat32Type).u64((1ull << 63) - 1).zeros(64);
  EXPECT_TRUE(refused(write("array-2^63.gguf", b), count_at, {"tokenizer.ggml.scores", "array count"}));
}

// The token list header of a vocabulary of `n_tokens`; *count_at is where its count sits.
Bytes token_list(uint64_t n_tokens, uint64_t* count_at) {
  Bytes b;
  b.header(0, 1).str("tokenizer.ggml.tokens").u32(kArrayType).u32(kStringType);
  *count_at = b.size();
  b.u64(n_tokens);
  return b;
}

TEST_F(ResourceBounds, VocabularyOf2To31Tokens) {
  uint64_t count_at = 0;
  Bytes b = token_list(1ull << 31, &count_at);
  b.zeros(64);
  EXPECT_TRUE(refused(write("vocab-2^31.gguf", b), count_at, {"tokenizer.ggml.tokens", "array count"}));
}

// 16 GiB: room for 2^31 empty strings, so only the limit on array elements refuses it.
TEST_F(ResourceBounds, VocabularyOf2To31TokensInASparseFile) {
  uint64_t count_at = 0;
  const Bytes b = token_list(1ull << 31, &count_at);
  const std::string path = write("vocab-2^31-sparse.gguf", b, b.size() + 8 * (1ull << 31));
  EXPECT_TRUE(refused(path, count_at, {"tokenizer.ggml.tokens", "limit of 16777216"}));
}

// 32 GiB: room for 2^30 tensor infos; the first, all zeros, is refused before room is made for the rest.
TEST_F(ResourceBounds, TensorCount2To30InASparseFile) {
  Bytes b;
  b.header(1ull << 30, 0);
  const std::string path = write("tensors-2^30-sparse.gguf", b, b.size() + 32 * (1ull << 30));
  EXPECT_TRUE(refused(path, 24 + 8, {"n_dims 0"}));
}

// A well-formed file with a two-token vocabulary whose llama.block_count says 2^30 layers but
// which has one tensor: refused before the weights are planned for 2^30 layers.
TEST_F(ResourceBounds, BlockCount2To30) {
  Bytes b;
  b.header(1, 7).kv_string("general.architecture", "llama").kv_u32("llama.embedding_length", 4);
  b.kv_u32("llama.feed_forward_length", 4).kv_u32("llama.attention.head_count", 1);
  b.kv_string("tokenizer.ggml.model", "llama");
  b.str("tokenizer.ggml.tokens").u32(kArrayType).u32(kStringType).u64(2).str("a").str("b");
  const uint64_t value_at = b.size() + 8 + std::string("llama.block_count").size() + 4;
  b.kv_u32("llama.block_count", 1u << 30);
  b.tensor("token_embd.weight", {4, 2}, kF32, 0).pad_to(32).zeros(32);
  EXPECT_TRUE(
      refused(write("layers-2^30.gguf", b), value_at, {"llama.block_count", "fewer than 9 per layer"}));
}

// An embedding of 2^31 rows (and an empty third dimension, so no bytes) declares a vocabulary
// that does not fit the int32 token ids. Nine empty tensors make one layer's worth.
TEST_F(ResourceBounds, EmbeddingOf2To31Rows) {
  Bytes b;
  b.header(10, 5).kv_string("general.architecture", "llama").kv_u32("llama.embedding_length", 4);
  b.kv_u32("llama.feed_forward_length", 4).kv_u32("llama.attention.head_count", 1);
  b.kv_u32("llama.block_count", 1);
  const uint64_t tensor_at = b.size();
  b.tensor("token_embd.weight", {4, 1ull << 31, 0}, kF32, 0);
  for (int i = 0; i < 9; ++i) b.tensor("empty." + std::to_string(i), {0}, kF32, 0);
  b.pad_to(32).zeros(32);
  EXPECT_TRUE(refused(write("embedding-2^31.gguf", b), tensor_at, {"token_embd.weight", "2147483648 rows"}));
}

}  // namespace
}  // namespace jf
