// The vocabulary of a GGUF file (tokenizer.ggml.tokens / scores / token_type and the special token
// ids), with the token attributes and end-of-generation set llama.cpp derives from them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "jitflow/status.h"
#include "model/tokenizer/hash_index.h"
#include "model/tokenizer/tokenizer.h"

namespace jf {

// Token attributes (llama_token_attr). tokenizer.ggml.token_type gives one of the first six;
// CONTROL is added to tokens whose text marks them as end-of-turn or fill-in-the-middle, and
// RSTRIP/LSTRIP say to drop white space after/before a special token matched in the text.
enum TokenAttr : uint16_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1 << 0,
  kAttrUnused = 1 << 1,
  kAttrNormal = 1 << 2,
  kAttrControl = 1 << 3,
  kAttrUserDefined = 1 << 4,
  kAttrByte = 1 << 5,
  kAttrLstrip = 1 << 6,
  kAttrRstrip = 1 << 7,
};

// What the tokenizer model contributes to loading: its defaults for keys the file may omit.
struct VocabDefaults {
  TokenId bos = -1;
  TokenId eos = -1;
  TokenId unk = -1;
  TokenId sep = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
};

struct Vocab {
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<uint16_t> attrs;  // TokenAttr bits
  TextIndex index;              // over `texts`

  TokenId bos = -1;  // -1: none
  TokenId eos = -1;
  TokenId unk = -1;
  TokenId sep = -1;  // WordPiece's [SEP], appended after the text with add_special
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  std::vector<bool> eog;  // per token: ends generation
  // Tokens recognised in raw text before tokenizing (control, user-defined, unknown), longest
  // text first; control and unknown ones only when the caller parses special tokens.
  std::vector<TokenId> specials;

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  TokenId find(std::string_view text) const { return index.find(texts, text); }
  bool has(TokenId id, uint16_t attr) const { return (attrs[id] & attr) != 0; }
};

// Reads the vocabulary keys of `file`. Errors name the file and the key: a missing or mistyped
// tokenizer.ggml.tokens, scores or token types of another length, duplicate token texts, or
// add_bos/add_eos set without a valid BOS/EOS id.
Result<Vocab> load_vocab(const GgufFile& file, const VocabDefaults& defaults);

}  // namespace jf
