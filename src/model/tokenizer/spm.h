// SentencePiece-style BPE ("llama" vocabularies), as llama.cpp's llm_tokenizer_spm: start from
// one symbol per UTF-8 character, repeatedly merge the adjacent pair whose concatenation is the
// token with the highest score (ties: leftmost), and spell whatever is left that is not a token
// as byte tokens <0xXX>.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/tokenizer/hash_index.h"
#include "model/tokenizer/vocab.h"

namespace jf {

class SpmModel {
 public:
  explicit SpmModel(const Vocab& vocab);

  // Appends the tokens of `text`, which already has its spaces written as U+2581 and the dummy
  // prefix added. Thread-safe: all state is local to the call.
  void encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const;

 private:
  // The token for each byte: <0xXX>, else the one-byte text, else <unk> (-1 if none).
  std::array<TokenId, 256> byte_tokens_{};
  // Every pair of adjacent characters inside some token. Where the text has a pair that is not
  // here no merge can ever cross, so the text is cut there and the pieces merged one by one:
  // the same result as one pass over the whole text, with small heaps instead of one huge one.
  KeyMap<bool> joinable_pairs_;
};

}  // namespace jf
