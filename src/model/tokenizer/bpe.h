// Byte-level BPE ("gpt2" vocabularies), as llama.cpp's llm_tokenizer_bpe: each pre-tokenized word
// starts as one symbol per byte (the token of the byte's GPT-2 codepoint) and the adjacent pair
// with the lowest merge rank (ties: leftmost) is merged until no ranked pair is left.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "jitflow/status.h"
#include "model/tokenizer/hash_index.h"
#include "model/tokenizer/vocab.h"

namespace jf {

class BpeModel {
 public:
  // Ranks tokenizer.ggml.merges ("left right", rank = position). A merge without a space or one
  // whose left or right part is not a token is an error naming the key and the index.
  static Result<BpeModel> build(const GgufFile& file, const Vocab& vocab);

  // Appends the tokens of the pre-tokenized words of `text` (raw UTF-8 bytes); word i ends at
  // byte word_ends[i] and starts where word i-1 ends. With `ignore_merges`, a word that is a
  // token as a whole is that token (Llama 3).
  void encode_words(const Vocab& vocab, std::string_view text, std::span<const size_t> word_ends, bool ignore_merges,
                    std::vector<TokenId>& out) const;

 private:
  class WordMerger;
  struct Merge {
    int32_t rank;
    TokenId result;  // -1 when the merged text is not a token (it can then merge no further)
  };
  static uint64_t pair_key(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* find_merge(TokenId left, TokenId right) const;
  void append_symbol(const Vocab& vocab, std::string_view bytes, TokenId id, std::vector<TokenId>& out) const;

  KeyMap<Merge> merges_;
  std::array<TokenId, 256> byte_tokens_{};  // token of each byte's GPT-2 codepoint, -1 if none
};

}  // namespace jf
