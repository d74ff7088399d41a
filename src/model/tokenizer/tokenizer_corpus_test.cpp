// Round trips over real text, the first 2000 lines of the validation corpus
// (../shared/corpus/valid.txt.xz, decompressed with `xz -dc`) tokenized as one string. They compare
// no ids; they show that long inputs work and print the encoding speed (no timing is asserted).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_test_util.h"
#include "test_paths.h"

namespace jf {
namespace {

// The output of `command`, or nullopt when it cannot run or fails.
std::optional<std::string> run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[1 << 16];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  return pclose(pipe) == 0 ? std::optional<std::string>(out) : std::nullopt;
}

std::string first_lines(const std::string& text, size_t n_lines) {
  size_t end = 0;
  for (size_t i = 0; i < n_lines && end != std::string::npos; ++i) {
    end = text.find('\n', end);
    if (end != std::string::npos) ++end;
  }
  return end == std::string::npos ? text : text.substr(0, end);
}

std::vector<TokenId> timed_encode(const Tokenizer& tokenizer, const std::string& label, const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<TokenId> ids = tokenizer.encode(text, /*add_special=*/false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << label << ": " << text.size() << " bytes -> " << ids.size() << " tokens in " << seconds * 1e3 << " ms ("
            << text.size() / 1e6 / seconds << " MB/s)\n";
  return ids;
}

size_t first_difference(const std::string& a, const std::string& b) {
  return std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin();
}

class TokenizerCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::shared_exists("corpus/valid.txt.xz")) GTEST_SKIP() << "missing ../shared/corpus/valid.txt.xz";
    if (!run_command("command -v xz")) GTEST_SKIP() << "xz is not installed";
    const auto all = run_command("xz -dc '" + test::shared_path("corpus/valid.txt.xz") + "'");
    ASSERT_TRUE(all.has_value()) << "xz -dc failed";
    text_ = first_lines(*all, 2000);
  }
  std::string text_;
};

TEST_F(TokenizerCorpus, Docs28MRoundTripsTheValidationText) {
  JF_REQUIRE_SHARED("models/docs-28M.gguf");
  const auto tokenizer = test::load_tokenizer(test::shared_path("models/docs-28M.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<TokenId> ids = timed_encode(*tokenizer, "docs-28M, valid.txt first 2000 lines", text_);
  const std::string back = tokenizer->detokenize(ids);
  EXPECT_TRUE(back == text_) << "first difference at byte " << first_difference(back, text_);
}

// GPT-2's detokenize cleans up spaces before punctuation, so this joins the pieces instead.
TEST_F(TokenizerCorpus, Gpt2PiecesSpellTheValidationText) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  const auto tokenizer = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-gpt-2.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  std::string back;
  for (TokenId id : timed_encode(*tokenizer, "gpt-2, valid.txt first 2000 lines", text_)) {
    back += tokenizer->token_to_piece(id);
  }
  EXPECT_TRUE(back == text_) << "first difference at byte " << first_difference(back, text_);
}

}  // namespace
}  // namespace jf
