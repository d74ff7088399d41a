#include "model/tokenizer/wpm.h"

#include <algorithm>
#include <string>

#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // U+2581

// The CJK ideograph blocks BERT splits into single-character words (llama.cpp's list, which
// follows Hugging Face's: its extension range starts at U+2B920 rather than U+2B820).
bool is_cjk_ideograph(uint32_t cpt) {
  return (cpt >= 0x4E00 && cpt <= 0x9FFF) || (cpt >= 0x3400 && cpt <= 0x4DBF) ||
         (cpt >= 0x20000 && cpt <= 0x2A6DF) || (cpt >= 0x2A700 && cpt <= 0x2B73F) ||
         (cpt >= 0x2B740 && cpt <= 0x2B81F) || (cpt >= 0x2B920 && cpt <= 0x2CEAF) ||
         (cpt >= 0xF900 && cpt <= 0xFAFF) || (cpt >= 0x2F800 && cpt <= 0x2FA1F);
}

}  // namespace

WpmModel::WpmModel(const Vocab& vocab, WpmOptions options) : options_(options) {
  for (const std::string& text : vocab.texts) max_token_bytes_ = std::max(max_token_bytes_, text.size());
}

void WpmModel::encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const {
  std::string word;
  const auto finish_word = [&] {
    if (!word.empty()) encode_word(vocab, word, out);
    word.clear();
  };
  for (uint32_t cpt : unicode::decode_utf8(text)) {
    if (options_.strip_accents) cpt = unicode::nfd_first(cpt);
    const uint8_t cls = unicode::codepoint_class(cpt);
    if (unicode::is_white_space(cls)) {
      finish_word();
      continue;
    }
    const uint8_t category = cls & unicode::kCategoryMask;
    // Invalid UTF-8 arrives as U+FFFD and is dropped with NUL and the \p{C} characters.
    if (cpt == 0 || cpt == unicode::kReplacementCharacter || category == unicode::kOther) continue;
    if (options_.strip_accents && category == unicode::kMark) continue;
    const uint32_t shown = options_.lowercase ? unicode::to_lower(cpt) : cpt;
    if (category == unicode::kPunctuation || (cpt < 0x7F && category == unicode::kSymbol) ||
        is_cjk_ideograph(cpt)) {
      finish_word();
      unicode::append_utf8(shown, word);
      finish_word();
    } else {
      unicode::append_utf8(shown, word);
    }
  }
  finish_word();
}

void WpmModel::encode_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out) const {
  std::string text(kWordStart);
  text += word;
  const size_t first_token = out.size();
  // Longest match first, from the left, in bytes (tokens are whole characters, so every match
  // ends on a character boundary). Where nothing matches the whole word is unknown.
  for (size_t begin = 0; begin < text.size();) {
    bool matched = false;
    for (size_t end = std::min(text.size(), begin + max_token_bytes_); end > begin; --end) {
      const TokenId id = vocab.find(std::string_view(text).substr(begin, end - begin));
      if (id >= 0) {
        out.push_back(id);
        begin = end;
        matched = true;
        break;
      }
    }
    if (!matched) {
      out.resize(first_token);
      break;
    }
  }
  if (out.size() == first_token) out.push_back(vocab.unk);
}

}  // namespace jf
