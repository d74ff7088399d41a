// libFuzzer target for the GGUF reader (built with -DJITFLOW_FUZZ=ON, see scripts/fuzz.sh): any
// bytes must either open or be rejected with a located format error, and an opened file must keep
// every promise checked in gguf_exercise.h. A file that opens is then given to the tokenizer, the
// first consumer of its untrusted metadata: it must build or fail with a Status, and a tokenizer
// that builds must encode to ids inside its vocabulary. A broken promise traps so libFuzzer saves
// the input.
#include <cstddef>
#include <cstdint>

#include "gguf/gguf_exercise.h"
#include "model/tokenizer/tokenizer.h"

namespace {

// False if the tokenizer of an opened file breaks a promise.
bool exercise_tokenizer(const uint8_t* data, size_t size) {
  auto file =
      jf::GgufFile::open(jf::make_memory_source(std::vector<uint8_t>(data, data + size), "fuzz-input"));
  if (!file.ok()) return false;  // it opened a moment ago
  auto tokenizer = jf::Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return true;
  const jf::Tokenizer& t = **tokenizer;
  const std::vector<jf::TokenId> ids = t.encode("Hello world! <s> 123 \xC3\xBC\xE2\x96\x81 \xFF", true, true);
  for (jf::TokenId id : ids) {
    if (id < 0 || id >= t.n_vocab()) return false;
    (void)t.token_text(id);
  }
  (void)t.detokenize(ids);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool promise_broken = false;
  const jf::Status status =
      jf::test::exercise_gguf_bytes(std::vector<uint8_t>(data, data + size), &promise_broken);
  if (promise_broken) __builtin_trap();
  if (status.ok() && !exercise_tokenizer(data, size)) __builtin_trap();
  return 0;
}
