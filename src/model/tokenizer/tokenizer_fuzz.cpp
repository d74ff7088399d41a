// libFuzzer target for the tokenizers (built with -DJITFLOW_FUZZ=ON, see scripts/fuzz.sh). Built
// twice: spm_fuzz over a SentencePiece ("llama") vocabulary and bpe_fuzz over a byte-level BPE
// ("gpt2") one. The vocabulary is the GGUF file named by the compile definition JITFLOW_FUZZ_VOCAB,
// or by the environment variable of the same name when it is set.
//
// Each input is checked by exercise_tokenizer_input (tokenizer_exercise.h): ids inside the
// vocabulary, and for valid UTF-8 without special handling the round trip the Tokenizer contract
// promises (SentencePiece detokenize(encode(text)) == text for text without U+2581, byte-level BPE
// pieces joined == text). A broken promise traps so libFuzzer saves the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_exercise.h"

namespace {

struct Target {
  std::unique_ptr<jf::Tokenizer> tokenizer;
  bool is_spm = false;  // tokenizer.ggml.model is "llama"
};

[[noreturn]] void fail_setup(const jf::Status& status) {
  std::fprintf(stderr, "tokenizer fuzz: cannot load the vocabulary: %s\n", status.to_string().c_str());
  std::exit(1);
}

// A vocabulary that does not load is a broken setup, not a finding: exit without a crash report.
Target load_target() {
  const char* env = std::getenv("JITFLOW_FUZZ_VOCAB");
  auto file = jf::GgufFile::open_path(env != nullptr ? env : JITFLOW_FUZZ_VOCAB);
  if (!file.ok()) fail_setup(file.status());
  auto tokenizer = jf::Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) fail_setup(tokenizer.status());
  auto model = file->get_string("tokenizer.ggml.model");
  return Target{std::move(*tokenizer), model.ok() && *model == "llama"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Target target = load_target();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!jf::test::exercise_tokenizer_input(*target.tokenizer, target.is_spm, input)) __builtin_trap();
  return 0;
}
