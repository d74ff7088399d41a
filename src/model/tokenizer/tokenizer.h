// Tokenizers built from GGUF metadata (tokenizer.ggml.*), reproducing llama.cpp's token ids:
//   "llama": SentencePiece-style BPE over scores with byte fallback;
//   "gpt2":  byte-level BPE over merges, with the pre-tokenizer regex chosen by tokenizer.ggml.pre
//            (default, gpt-2, llama-bpe/llama3, qwen2, starcoder, falcon, deepseek-coder and their
//            aliases; see pre_tokenizer.cpp);
//   "bert":  WordPiece (llama.cpp's WPM; wpm.h): BERT's normaliser (tokenizer.ggml.normalizer.
//            lowercase / strip_accents), greedy longest match; add_special gives [CLS] text [SEP]
//            (BOS = tokenizer.ggml.bos_token_id, default 101; SEP = .seperator_token_id, default
//            102); no EOS, as in llama.cpp;
//   "t5":    SentencePiece Unigram (llama.cpp's UGM; ugm.h): the precompiled_charsmap normaliser,
//            then Viterbi over the piece scores; add_special appends EOS (</s>), no BOS.
// Other models ("rwkv", "plamo2", ...) are kUnsupported.
// A Tokenizer is immutable after from_gguf: every method may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "jitflow/status.h"

namespace jf {

using TokenId = int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer the file describes. A missing or malformed tokenizer.* key, or an
  // unsupported tokenizer.ggml.model / .pre, is an error naming the key.
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);

  // Text -> ids. add_special: prepend BOS (and append EOS) when the vocabulary says so, as
  // llama_tokenize(add_special=true). parse_special: recognise special-token text such as
  // "<|endoftext|>" in `text` (llama_tokenize's parse_special).
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special = false) const = 0;

  // The bytes one token contributes to output text (llama_token_to_piece with special=false:
  // control tokens such as BOS/EOS render as ""). Byte-fallback tokens give their raw byte.
  // An id outside [0, n_vocab) gives "".
  virtual std::string token_to_piece(TokenId id) const = 0;
  // Ids -> text as llama_detokenize(remove_special=true, unparse_special=false): the pieces
  // joined, without a leading BOS (and trailing EOS when the vocabulary appends one), without the
  // SentencePiece dummy-prefix space when no BOS was removed, and with the vocabulary's
  // clean-up of spaces before punctuation (byte-level BPE with clean_up_tokenization_spaces).
  // For SentencePiece vocabularies detokenize(encode(text, false)) == text (valid UTF-8 without
  // special tokens or U+2581); for byte-level BPE the pieces always join back to the text.
  // WordPiece and Unigram normalise the text first (lowercase and accents, NFKC, white space), so
  // they give back the normalised text (WordPiece's with a leading space, as llama.cpp), without
  // the characters that became the unknown token.
  virtual std::string detokenize(std::span<const TokenId> ids) const = 0;
  // The token's vocabulary text as stored in the file (for `jitflow info` and debugging).
  virtual const std::string& token_text(TokenId id) const = 0;

  virtual int32_t n_vocab() const = 0;
  virtual TokenId bos_id() const = 0;  // -1 when the vocabulary has none
  virtual TokenId eos_id() const = 0;
  virtual bool add_bos() const = 0;
  // End-of-generation: EOS, EOT and the like.
  virtual bool is_eog(TokenId id) const = 0;
};

}  // namespace jf
