// SentencePiece Unigram ("t5" vocabularies), as llama.cpp's llm_tokenizer_ugm:
//  1. normalise the text with the vocabulary's precompiled_charsmap (SentencePiece's precompiled
//     normaliser: a double-array trie over UTF-8 prefixes, XOR-compressed, and the NUL-terminated
//     strings they are replaced with; the longest matching prefix wins), escape spaces as U+2581,
//     add the dummy prefix and, with remove_extra_whitespaces, collapse runs of spaces;
//  2. choose the segmentation with the highest sum of piece scores (Viterbi over a byte trie of
//     the normal, user-defined and unused pieces; user-defined pieces score 0), where a character no
//     piece covers costs the lowest normal score minus 10 and becomes the unknown token, and runs of
//     unknown tokens are merged into one.
// llama.cpp reads only add_space_prefix and remove_extra_whitespaces from the file; it always
// escapes white space and never treats it as a suffix, and so does this class.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "jitflow/status.h"
#include "model/tokenizer/hash_index.h"
#include "model/tokenizer/vocab.h"

namespace jf {

// A byte trie over token texts: node 0 is the root, each edge one byte.
class ByteTrie {
 public:
  ByteTrie() : values_(1, -1) {}
  void insert(std::string_view text, TokenId id);
  // The child of `node` along `byte`, or -1.
  int32_t child(int32_t node, uint8_t byte) const {
    const int32_t* found = edges_.find((static_cast<uint64_t>(node) << 8) | byte);
    return found != nullptr ? *found : -1;
  }
  TokenId value(int32_t node) const { return values_[node]; }  // -1: no token ends here
  // How many bytes of `text` a walk from the root follows, whether or not a token ends there
  // (llama.cpp's naive_trie::get_longest_prefix).
  size_t walk_length(std::string_view text) const;

 private:
  KeyMap<int32_t> edges_;
  std::vector<TokenId> values_;
};

class UgmModel {
 public:
  // Reads tokenizer.ggml.precompiled_charsmap (absent: no normalisation beyond spaces, as in
  // llama.cpp) and tokenizer.ggml.remove_extra_whitespaces. A charsmap of the wrong type, too short
  // for its header, or whose trie leads outside its arrays or to an unterminated string, is an
  // error naming the key; the trie is checked whole here so that encoding never meets a bad node.
  static Result<UgmModel> build(const GgufFile& file, const Vocab& vocab);

  // Appends the tokens of `text` (raw text, without special tokens). Thread-safe.
  void encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const;

  // Step 1 alone: the text the Viterbi search sees.
  std::string normalize(std::string_view text) const;

 private:
  struct Replacement {
    std::string_view text;
    size_t consumed;
  };
  Replacement normalize_prefix(std::string_view input, size_t offset) const;
  Status check_charsmap(const GgufFile& file) const;

  ByteTrie pieces_;             // normal, user-defined and unused tokens
  ByteTrie user_defined_;       // user-defined tokens: left as they are by the normaliser
  std::vector<uint32_t> xcda_;  // the double array's units
  std::string replacements_;    // NUL-terminated replacement strings
  float unknown_score_ = 0;
  bool add_space_prefix_ = false;
  bool remove_extra_whitespaces_ = false;
  bool escape_whitespaces_ = true;
  bool treat_whitespace_as_suffix_ = false;
};

}  // namespace jf
