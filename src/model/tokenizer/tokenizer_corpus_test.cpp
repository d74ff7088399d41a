// Round trip over real text: detokenize(encode(text)) == text for the docs-28M vocabulary on the
// validation corpus (../shared/corpus/valid.txt.xz, decompressed with `xz -dc`). It compares no
// ids; it shows that long inputs work and prints the encoding speed (no timing is asserted).
#include <gtest/gtest.h>

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

void expect_round_trip(const Tokenizer& tokenizer, const std::string& label, const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<TokenId> ids = tokenizer.encode(text, /*add_special=*/false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string back = tokenizer.detokenize(ids);
  std::cout << label << ": " << text.size() << " bytes -> " << ids.size() << " tokens in " << seconds * 1e3 << " ms ("
            << text.size() / 1e6 / seconds << " MB/s)\n";
  EXPECT_EQ(back.size(), text.size());
  EXPECT_TRUE(back == text) << "first difference at byte " << std::mismatch(back.begin(), back.end(), text.begin(), text.end()).first - back.begin();
}

TEST(TokenizerCorpus, Docs28MRoundTripsTheValidationText) {
  JF_REQUIRE_SHARED("corpus/valid.txt.xz");
  JF_REQUIRE_SHARED("models/docs-28M.gguf");
  if (!run_command("command -v xz")) GTEST_SKIP() << "xz is not installed";
  const auto text = run_command("xz -dc '" + test::shared_path("corpus/valid.txt.xz") + "'");
  ASSERT_TRUE(text.has_value()) << "xz -dc failed";
  const auto tokenizer = test::load_tokenizer(test::shared_path("models/docs-28M.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  expect_round_trip(*tokenizer, "valid.txt, first 2000 lines", first_lines(*text, 2000));
  expect_round_trip(*tokenizer, "valid.txt, whole", *text);
}

}  // namespace
}  // namespace jf
