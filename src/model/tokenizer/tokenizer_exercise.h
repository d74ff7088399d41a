// What the tokenizer fuzz targets (tokenizer_fuzz.cpp) check, shared with tokenizer_replay_test,
// which replays the seed corpus and saved crash inputs (tests/fuzz/tokenizer/) in the normal build.
// Header-only so that both builds (clang + libFuzzer, gcc + gtest) compile the same code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer/tokenizer.h"

namespace jf::test {

// Strict UTF-8 (no overlong forms, surrogates or codepoints above U+10FFFF): the text for which
// the round trip is promised. Written out here rather than taken from unicode.h, whose decoder
// is deliberately lenient like llama.cpp's.
inline bool is_valid_utf8(std::string_view text) {
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
inline bool round_trips(const Tokenizer& tokenizer, bool is_spm, std::string_view text,
                        const std::vector<TokenId>& ids) {
  if (is_spm) {
    return text.find("\xE2\x96\x81") != std::string_view::npos || tokenizer.detokenize(ids) == text;
  }
  std::string joined;
  for (TokenId id : ids) joined += tokenizer.token_to_piece(id);
  return joined == text;
}

// One fuzz input: the first byte picks the flags (bit 0: add_special, bit 1: parse_special), the
// rest is the text. Any text must encode to ids inside the vocabulary and detokenize without a
// crash; with both flags clear and valid UTF-8 text, the contract's round trip must hold. False
// when a promise is broken.
inline bool exercise_tokenizer_input(const Tokenizer& tokenizer, bool is_spm, std::string_view input) {
  if (input.empty()) return true;
  const bool add_special = (input[0] & 1) != 0;
  const bool parse_special = (input[0] & 2) != 0;
  const std::string_view text = input.substr(1);
  const std::vector<TokenId> ids = tokenizer.encode(text, add_special, parse_special);
  for (TokenId id : ids) {
    if (id < 0 || id >= tokenizer.n_vocab()) return false;
  }
  (void)tokenizer.detokenize(ids);
  return add_special || parse_special || !is_valid_utf8(text) || round_trips(tokenizer, is_spm, text, ids);
}

}  // namespace jf::test
