// WordPiece ("bert" vocabularies), as llama.cpp's llm_tokenizer_wpm: the text is normalised the way
// BERT's normaliser does (optionally lowercased and stripped of accents; control characters
// dropped), cut into words at white space, and punctuation, ASCII symbols and CJK ideographs
// become words of their own; each word, with U+2581 in front, is then covered greedily from the
// left by the longest tokens of the vocabulary. A word that cannot be covered becomes one unknown
// token. llama.cpp's converter writes BERT's vocabulary with U+2581 in front of every word-start
// piece and without the "##" of continuation pieces, so the greedy match finds both.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "model/tokenizer/vocab.h"

namespace jf {

// BertNormalizer options (tokenizer.ggml.normalizer.lowercase / .strip_accents).
struct WpmOptions {
  bool lowercase = true;
  bool strip_accents = true;  // llama.cpp's default: the value of lowercase
};

class WpmModel {
 public:
  WpmModel(const Vocab& vocab, WpmOptions options);

  // Appends the tokens of `text` (raw text, without special tokens). Thread-safe.
  void encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const;

 private:
  void encode_word(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out) const;

  WpmOptions options_;
  size_t max_token_bytes_ = 0;
};

}  // namespace jf
