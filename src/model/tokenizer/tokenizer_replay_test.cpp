// The checks of the tokenizer fuzz targets (tokenizer_exercise.h) replayed in the normal build over
// every input in tests/fuzz/tokenizer/: the seed corpus, and any input a fuzzer once failed on,
// kept there as a regression test. So they run under ASan/UBSan in CI without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/tokenizer/tokenizer_exercise.h"
#include "model/tokenizer/tokenizer_test_util.h"
#include "test_paths.h"

namespace jf {
namespace {

void replay_fuzz_inputs(const std::string& vocab, bool is_spm) {
  const auto tokenizer = test::load_tokenizer(test::shared_path(vocab));
  ASSERT_NE(tokenizer, nullptr);
  // The round-trip check can fail: no ids do not spell "abc".
  EXPECT_FALSE(test::round_trips(*tokenizer, is_spm, "abc", {}));
  int n_inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("tests/fuzz/tokenizer"))) {
    const std::string input = test::read_file(entry.path().string());
    EXPECT_TRUE(test::exercise_tokenizer_input(*tokenizer, is_spm, input))
        << entry.path().filename() << ": " << test::printable(input);
    ++n_inputs;
  }
  EXPECT_GE(n_inputs, 7);
}

TEST(TokenizerReplay, LlamaSpmKeepsItsPromisesOnTheFuzzInputs) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-llama-spm.gguf");
  replay_fuzz_inputs("vocab/ggml-vocab-llama-spm.gguf", /*is_spm=*/true);
}

TEST(TokenizerReplay, Gpt2BpeKeepsItsPromisesOnTheFuzzInputs) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  replay_fuzz_inputs("vocab/ggml-vocab-gpt-2.gguf", /*is_spm=*/false);
}

}  // namespace
}  // namespace jf
