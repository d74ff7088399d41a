// Pre-tokenizers of byte-level BPE vocabularies: the regex splits llama.cpp applies (chosen by
// tokenizer.ggml.pre) before merging, written out by hand over Unicode classes. Each kind is a
// list of stages; a stage splits every piece the previous stage produced into the regex's matches
// and the text between them, which is how llama.cpp applies its lists of regexes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace jf {

enum class PreTokenizerKind {
  kDefault,        // llama.cpp's fallback list: punctuation runs, GPT-2 regex, digit runs, 3 digits
  kGpt2,           // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,         // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,          // the Llama 3 regex with single digits (\p{N})
  kStarcoder,      // single digits, then the GPT-2 regex
  kFalcon,         // punctuation/symbol runs, the GPT-2 regex, then groups of 3 ASCII digits
  kDeepseekCoder,  // [\r\n], \s?\p{L}+, \s?\p{P}+, CJK runs, single digits
};

// What tokenizer.ggml.pre selects besides the split, with llama.cpp's defaults.
struct PreTokenizerSpec {
  PreTokenizerKind kind;
  bool ignore_merges;  // a word that is a token as a whole skips the merges (Llama 3)
  bool add_bos;        // default of tokenizer.ggml.add_bos_token
  bool clean_spaces;   // detokenize removes the space before . , ! ? and some contractions
};

// The spec for a tokenizer.ggml.pre value ("" when the key is absent, like llama.cpp's
// "default"), or nullptr when jitflow does not know that pre-tokenizer.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);

// Splits `cpts` into words and returns the end offset (in codepoints) of each word, in order;
// the last one is cpts.size(). Empty input gives no words.
std::vector<size_t> pre_tokenize(PreTokenizerKind kind, std::span<const uint32_t> cpts);

}  // namespace jf
