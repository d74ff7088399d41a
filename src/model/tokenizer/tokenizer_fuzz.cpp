// libFuzzer target for the tokenizers (built with -DJITFLOW_FUZZ=ON, see scripts/fuzz.sh). Built
// twice: spm_fuzz over a SentencePiece ("llama") vocabulary and bpe_fuzz over a byte-level BPE
// ("gpt2") one. The vocabulary is the GGUF file named by the compile definition JITFLOW_FUZZ_VOCAB,
// or by the environment variable of the same name when it is set.
//
// The first input byte picks the flags (bit 0: add_special, bit 1: parse_special); the rest is the
// text. Any text must encode to ids inside the vocabulary and detokenize without a crash. With
// both flags clear and valid UTF-8 text, the round trip the Tokenizer contract promises must hold:
// SentencePiece detokenize(encode(text)) == text (for text without U+2581), byte-level BPE pieces
// joined == text. A broken promise traps so libFuzzer saves the input.
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

// Strict UTF-8 (no overlong forms, surrogates or codepoints above U+10FFFF): the text for which
// the round trip is promised. Written out here rather than taken from unicode.h, whose decoder
// is deliberately lenient like llama.cpp's.
bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<uint8_t>(text[i]);
    size_t length = 0;
    uint32_t cpt = 0;
    if (lead < 0x80) {
      length = 1, cpt = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, cpt = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, cpt = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, cpt = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cpt = (cpt << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMinOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cpt < kMinOfLength[length] || cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// The round trip of the Tokenizer contract (tokenizer.h, detokenize), for text it covers.
bool round_trips(const jf::Tokenizer& tokenizer, bool is_spm, std::string_view text, const std::vector<jf::TokenId>& ids) {
  if (is_spm) {
    return text.find("\xE2\x96\x81") != std::string_view::npos || tokenizer.detokenize(ids) == text;
  }
  std::string joined;
  for (jf::TokenId id : ids) joined += tokenizer.token_to_piece(id);
  return joined == text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Target target = load_target();
  const jf::Tokenizer& tokenizer = *target.tokenizer;
  if (size == 0) return 0;
  const bool add_special = (data[0] & 1) != 0;
  const bool parse_special = (data[0] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const std::vector<jf::TokenId> ids = tokenizer.encode(text, add_special, parse_special);
  for (jf::TokenId id : ids) {
    if (id < 0 || id >= tokenizer.n_vocab()) __builtin_trap();
  }
  (void)tokenizer.detokenize(ids);
  if (!add_special && !parse_special && is_valid_utf8(text) && !round_trips(tokenizer, target.is_spm, text, ids)) {
    __builtin_trap();
  }
  return 0;
}
