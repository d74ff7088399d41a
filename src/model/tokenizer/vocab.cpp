#include "model/tokenizer/vocab.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>

namespace jf {
namespace {

constexpr char kTokensKey[] = "tokenizer.ggml.tokens";
constexpr char kScoresKey[] = "tokenizer.ggml.scores";
constexpr char kTokenTypeKey[] = "tokenizer.ggml.token_type";
constexpr char kBosKey[] = "tokenizer.ggml.bos_token_id";
constexpr char kEosKey[] = "tokenizer.ggml.eos_token_id";
constexpr char kAddBosKey[] = "tokenizer.ggml.add_bos_token";
constexpr char kAddEosKey[] = "tokenizer.ggml.add_eos_token";

// Texts llama.cpp turns into control tokens whatever their token_type says (end of turn,
// fill-in-the-middle markers); `ends_generation` marks those it also treats as end of generation.
struct MarkerText {
  std::string_view text;
  bool ends_generation;
};
constexpr MarkerText kMarkerTexts[] = {
    {"<|eot_id|>", true}, {"<|im_end|>", true}, {"<|end|>", true}, {"<end_of_turn>", true},
    {"<|endoftext|>", true}, {"<|end_of_text|>", true}, {"<|eom_id|>", true}, {"<EOT>", true},
    {"_<EOT>", true}, {"<end_of_utterance>", true}, {"<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", true},
    {"<|fim_prefix|>", false}, {"<fim-prefix>", false}, {"<fim_prefix>", false}, {"<PRE>", false},
    {"\xE2\x96\x81<PRE>", false}, {"<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", false},
    {"<|fim_suffix|>", false}, {"<fim-suffix>", false}, {"<fim_suffix>", false}, {"<SUF>", false},
    {"\xE2\x96\x81<SUF>", false}, {"<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", false},
    {"<|fim_middle|>", false}, {"<fim-middle>", false}, {"<fim_middle>", false}, {"<MID>", false},
    {"\xE2\x96\x81<MID>", false}, {"<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", false},
    {"<|fim_pad|>", true}, {"<fim-pad>", true}, {"<fim_pad>", true}, {"<PAD>", true},
    {"<|fim_repo|>", true}, {"<|repo_name|>", true}, {"<fim-repo>", true}, {"<REPO>", true},
    {"<reponame>", true}, {"<|file_sep|>", true},
};

std::optional<int64_t> as_int64(const GgufValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v.data)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v.data); u != nullptr && *u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

Status corrupt(const GgufFile& file, const char* key, const std::string& what) {
  return error(StatusCode::kCorruptFile, "%s: %s %s", file.path().c_str(), key, what.c_str());
}

Result<std::vector<std::string>> read_texts(const GgufFile& file) {
  JF_ASSIGN_OR_RETURN(const GgufArray* array, file.get_array(kTokensKey));
  if (array->elem_type != GgufType::kString) {
    return corrupt(file, kTokensKey, str_printf("is an array of %s, expected strings", gguf_type_name(array->elem_type)));
  }
  if (array->items.empty() || array->items.size() > INT32_MAX) {
    return corrupt(file, kTokensKey, str_printf("has %zu tokens", array->items.size()));
  }
  std::vector<std::string> texts;
  texts.reserve(array->items.size());
  for (const GgufValue& item : array->items) {
    const auto* text = std::get_if<std::string>(&item.data);
    if (text == nullptr) return corrupt(file, kTokensKey, str_printf("[%zu] is not a string", texts.size()));
    // llama.cpp renames empty tokens so that every token has a text to look up.
    texts.push_back(text->empty() ? str_printf("[EMPTY_%zu]", texts.size()) : *text);
  }
  return texts;
}

// The array at `key` when present, checked to hold one element per token.
Result<const GgufArray*> read_per_token_array(const GgufFile& file, const char* key, size_t n_tokens) {
  if (file.find(key) == nullptr) return static_cast<const GgufArray*>(nullptr);
  JF_ASSIGN_OR_RETURN(const GgufArray* array, file.get_array(key));
  if (array->items.size() != n_tokens) {
    return corrupt(file, key, str_printf("has %zu entries but %s has %zu", array->items.size(), kTokensKey, n_tokens));
  }
  return array;
}

Result<std::vector<float>> read_scores(const GgufFile& file, size_t n_tokens) {
  JF_ASSIGN_OR_RETURN(const GgufArray* array, read_per_token_array(file, kScoresKey, n_tokens));
  std::vector<float> scores(n_tokens, 0.0f);
  if (array == nullptr) return scores;
  for (size_t i = 0; i < n_tokens; ++i) {
    const GgufValue& item = array->items[i];
    if (const auto* d = std::get_if<double>(&item.data)) {
      scores[i] = static_cast<float>(*d);
    } else if (const auto v = as_int64(item)) {
      scores[i] = static_cast<float>(*v);
    } else {
      return corrupt(file, kScoresKey, str_printf("[%zu] is not a number", i));
    }
  }
  return scores;
}

uint16_t attr_of_token_type(int64_t type) {
  switch (type) {
    case 1: return kAttrNormal;
    case 2: return kAttrUnknown;
    case 3: return kAttrControl;
    case 4: return kAttrUserDefined;
    case 5: return kAttrUnused;
    case 6: return kAttrByte;
    default: return kAttrUndefined;
  }
}

Result<std::vector<uint16_t>> read_attrs(const GgufFile& file, size_t n_tokens) {
  JF_ASSIGN_OR_RETURN(const GgufArray* array, read_per_token_array(file, kTokenTypeKey, n_tokens));
  std::vector<uint16_t> attrs(n_tokens, kAttrNormal);  // no types: every token is normal
  if (array == nullptr) return attrs;
  for (size_t i = 0; i < n_tokens; ++i) {
    const auto type = as_int64(array->items[i]);
    if (!type) return corrupt(file, kTokenTypeKey, str_printf("[%zu] is not an integer", i));
    attrs[i] = attr_of_token_type(*type);
  }
  return attrs;
}

Status index_texts(const GgufFile& file, Vocab& vocab) {
  const int32_t repeated = vocab.index.build(vocab.texts);
  if (repeated < 0) return Status();
  const std::string& text = vocab.texts[repeated];
  return corrupt(file, kTokensKey, str_printf("has token '%s' twice (ids %d and %d)", text.c_str(), vocab.find(text), repeated));
}

// A special token id: the file's value when it names a token; otherwise `fallback` (llama.cpp
// also ignores out-of-range ids, such as the 0xFFFFFFFF some converters write for "none").
Result<TokenId> read_special_id(const GgufFile& file, const char* key, TokenId fallback, int32_t n_tokens) {
  if (fallback >= n_tokens) fallback = -1;
  const GgufValue* v = file.find(key);
  if (v == nullptr) return fallback;
  if (!v->is_integer()) return corrupt(file, key, str_printf("is %s, expected an integer", gguf_type_name(v->type)));
  const auto id = as_int64(*v);  // nullopt above INT64_MAX: out of range like any other
  return id && *id >= 0 && *id < n_tokens ? static_cast<TokenId>(*id) : fallback;
}

Status read_special_tokens(const GgufFile& file, const VocabDefaults& defaults, Vocab& vocab) {
  const int32_t n = vocab.size();
  JF_ASSIGN_OR_RETURN(vocab.bos, read_special_id(file, kBosKey, defaults.bos, n));
  JF_ASSIGN_OR_RETURN(vocab.eos, read_special_id(file, kEosKey, defaults.eos, n));
  JF_ASSIGN_OR_RETURN(vocab.unk, read_special_id(file, "tokenizer.ggml.unknown_token_id", defaults.unk, n));
  JF_ASSIGN_OR_RETURN(vocab.sep, read_special_id(file, "tokenizer.ggml.seperator_token_id", defaults.sep, n));
  JF_ASSIGN_OR_RETURN(vocab.add_bos, file.get_bool_or(kAddBosKey, defaults.add_bos));
  JF_ASSIGN_OR_RETURN(vocab.add_eos, file.get_bool_or(kAddEosKey, defaults.add_eos));
  JF_ASSIGN_OR_RETURN(vocab.add_space_prefix, file.get_bool_or("tokenizer.ggml.add_space_prefix", defaults.add_space_prefix));
  if (vocab.add_bos && vocab.bos < 0) return corrupt(file, kAddBosKey, str_printf("is true but %s is not a token id", kBosKey));
  if (vocab.add_eos && vocab.eos < 0) return corrupt(file, kAddEosKey, str_printf("is true but %s is not a token id", kEosKey));
  return Status();
}

// End-of-generation tokens: EOS, EOT, EOM and the marker texts that end a turn. Marker texts are
// also made control tokens, so they are neither printed nor matched in text unless asked for.
Status mark_generation_ends(const GgufFile& file, Vocab& vocab) {
  vocab.eog.assign(vocab.texts.size(), false);
  for (const MarkerText& marker : kMarkerTexts) {
    const TokenId id = vocab.find(marker.text);
    if (id < 0) continue;
    vocab.attrs[id] |= kAttrControl;
    if (marker.ends_generation) vocab.eog[id] = true;
  }
  JF_ASSIGN_OR_RETURN(const TokenId eot, read_special_id(file, "tokenizer.ggml.eot_token_id", -1, vocab.size()));
  JF_ASSIGN_OR_RETURN(const TokenId eom, read_special_id(file, "tokenizer.ggml.eom_token_id", -1, vocab.size()));
  for (TokenId id : {vocab.eos, eot, eom}) {
    if (id >= 0) vocab.eog[id] = true;
  }
  return Status();
}

void collect_specials(Vocab& vocab) {
  for (TokenId id = 0; id < vocab.size(); ++id) {
    if (vocab.has(id, kAttrControl | kAttrUserDefined | kAttrUnknown)) vocab.specials.push_back(id);
  }
  // Longer texts first, so that "<|end|>" is not found inside "<|endoftext|>".
  std::stable_sort(vocab.specials.begin(), vocab.specials.end(),
                   [&](TokenId a, TokenId b) { return vocab.texts[a].size() > vocab.texts[b].size(); });
}

// llama.cpp's rule for Phi-3 (chosen by general.name): special tokens swallow the white space
// after them, except <unk>, <s> and <|endoftext|>.
Status apply_name_rules(const GgufFile& file, Vocab& vocab) {
  JF_ASSIGN_OR_RETURN(std::string name, file.get_string_or("general.name", ""));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return Status();
  for (TokenId id : vocab.specials) vocab.attrs[id] |= kAttrRstrip;
  if (const TokenId id = vocab.find("</s>"); id >= 0) vocab.attrs[id] |= kAttrRstrip;
  for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
    if (const TokenId id = vocab.find(text); id >= 0) vocab.attrs[id] &= ~kAttrRstrip;
  }
  return Status();
}

}  // namespace

Result<Vocab> load_vocab(const GgufFile& file, const VocabDefaults& defaults) {
  Vocab vocab;
  JF_ASSIGN_OR_RETURN(vocab.texts, read_texts(file));
  JF_ASSIGN_OR_RETURN(vocab.scores, read_scores(file, vocab.texts.size()));
  JF_ASSIGN_OR_RETURN(vocab.attrs, read_attrs(file, vocab.texts.size()));
  JF_RETURN_IF_ERROR(index_texts(file, vocab));
  JF_RETURN_IF_ERROR(read_special_tokens(file, defaults, vocab));
  JF_RETURN_IF_ERROR(mark_generation_ends(file, vocab));
  collect_specials(vocab);
  JF_RETURN_IF_ERROR(apply_name_rules(file, vocab));
  return vocab;
}

}  // namespace jf
