#include "model/tokenizer/tokenizer.h"

#include <optional>

#include "model/tokenizer/bpe.h"
#include "model/tokenizer/pre_tokenizer.h"
#include "model/tokenizer/spm.h"
#include "model/tokenizer/ugm.h"
#include "model/tokenizer/unicode.h"
#include "model/tokenizer/vocab.h"
#include "model/tokenizer/wpm.h"

namespace jf {
namespace {

constexpr char kModelKey[] = "tokenizer.ggml.model";
constexpr char kPreKey[] = "tokenizer.ggml.pre";
constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// A piece of the input: raw text still to tokenize, or a special token found in it.
struct Fragment {
  TokenId token;  // >= 0: this special token; -1: text[offset, offset + length)
  size_t offset;
  size_t length;
};

// isspace() in the "C" locale, which llama.cpp uses to strip around special tokens.
bool is_c_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos)).append(to);
  }
  return out.append(text.substr(pos));
}

// The byte of a byte token "<0xXX>", or "" when the text has another shape.
std::string byte_token_piece(const std::string& text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return "";
  const int hi = hex(text[3]);
  const int lo = hex(text[4]);
  if (hi < 0 || lo < 0) return "";
  return std::string(1, static_cast<char>(hi * 16 + lo));
}

// Bytes of a token written in the GPT-2 alphabet. A codepoint outside the alphabet (only in
// malformed vocabularies) is kept as UTF-8 rather than llama.cpp's "[UNK_BYTE_0x..]" text.
std::string from_alphabet(const std::string& text) {
  std::string out;
  for (uint32_t cpt : unicode::decode_utf8(text)) {
    const int byte = unicode::codepoint_to_byte(cpt);
    if (byte >= 0) {
      out += static_cast<char>(byte);
    } else {
      unicode::append_utf8(cpt, out);
    }
  }
  return out;
}

bool is_one_of(char c, const char* set) {
  for (; *set != '\0'; ++set) {
    if (c == *set) return true;
  }
  return false;
}

// The three passes of llama.cpp's clean_spaces (HF clean_up_tokenization_spaces), each reading
// the previous one's output. First: " ?" " !" " ." " ," lose the space.
std::string drop_space_before_punctuation(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' && i + 1 < text.size() && is_one_of(text[i + 1], "?!.,")) continue;
    out += text[i];
  }
  return out;
}

// Second: " ' " becomes "'"; the space it swallows after it no longer counts as a space.
std::string join_lone_apostrophes(std::string text) {
  std::string out = text.substr(0, 1);
  for (size_t i = 1; i < text.size(); ++i) {
    const char x = text[i];
    if (x == '\'' && i + 1 < text.size() && text[i - 1] == ' ' && text[i + 1] == ' ') {
      out.pop_back();
      text[++i] = '\0';
    }
    out += x;
  }
  return out;
}

// Third: " 's" " 'm" " 're" " 've" lose the space (" 't" " 'd" " 'll" keep it).
std::string join_contractions(const std::string& text) {
  std::string out = text.substr(0, 1);
  for (size_t i = 1; i < text.size(); ++i) {
    const char x = text[i];
    if (text[i - 1] == ' ' && x == '\'' && i + 1 < text.size()) {
      const char x1 = text[i + 1];
      const bool re_or_ve = i + 2 < text.size() && (x1 == 'r' || x1 == 'v') && text[i + 2] == 'e';
      if (x1 == 's' || x1 == 'm' || re_or_ve) out.pop_back();
    }
    out += x;
  }
  return out;
}

std::string clean_up_spaces(const std::string& text) {
  return join_contractions(join_lone_apostrophes(drop_space_before_punctuation(text)));
}

// The model behind a tokenizer: exactly one of the four is set (pre only with bpe).
struct TokenizerModel {
  std::optional<SpmModel> spm;
  std::optional<BpeModel> bpe;
  std::optional<WpmModel> wpm;
  std::optional<UgmModel> ugm;
  const PreTokenizerSpec* pre = nullptr;
};

class GgufTokenizer final : public Tokenizer {
 public:
  GgufTokenizer(Vocab vocab, TokenizerModel model)
      : vocab_(std::move(vocab)),
        spm_(std::move(model.spm)),
        bpe_(std::move(model.bpe)),
        wpm_(std::move(model.wpm)),
        ugm_(std::move(model.ugm)),
        pre_(model.pre),
        // llama.cpp cleans up spaces for WordPiece and for byte-level BPE unless the pre-tokenizer says not
        // to.
        clean_spaces_(wpm_.has_value() || (pre_ != nullptr && pre_->clean_spaces)) {
    pieces_.reserve(vocab_.texts.size());
    for (TokenId id = 0; id < vocab_.size(); ++id) pieces_.push_back(piece_of(id));
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override {
    std::vector<TokenId> out;
    // WordPiece: [CLS] text [SEP] whenever add_special, whatever add_bos says (as llama.cpp).
    if (add_special && (wpm_ ? vocab_.bos >= 0 : vocab_.add_bos)) out.push_back(vocab_.bos);
    const std::vector<Fragment> fragments = partition(text, parse_special);
    if (spm_) {
      encode_spm(text, fragments, out);
    } else if (bpe_) {
      encode_bpe(text, fragments, out);
    } else {
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          out.push_back(f.token);
        } else if (wpm_) {
          wpm_->encode(vocab_, text.substr(f.offset, f.length), out);
        } else {
          ugm_->encode(vocab_, text.substr(f.offset, f.length), out);
        }
      }
    }
    if (add_special && wpm_ && vocab_.sep >= 0) out.push_back(vocab_.sep);
    if (add_special && !wpm_ && vocab_.add_eos) out.push_back(vocab_.eos);
    return out;
  }

  std::string token_to_piece(TokenId id) const override { return valid(id) ? pieces_[id] : std::string(); }

  std::string detokenize(std::span<const TokenId> ids) const override {
    bool remove_space = vocab_.add_space_prefix;
    if (vocab_.add_bos && !ids.empty() && ids.front() == vocab_.bos) {
      remove_space = false;  // llama.cpp keeps the dummy-prefix space when it drops the BOS
      ids = ids.subspan(1);
    }
    if (vocab_.add_eos && !ids.empty() && ids.back() == vocab_.eos) ids = ids.first(ids.size() - 1);
    std::string text;
    for (TokenId id : ids) {
      std::string_view piece = valid(id) ? std::string_view(pieces_[id]) : std::string_view();
      if (remove_space && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
      remove_space = false;
      text.append(piece);
    }
    return clean_spaces_ ? clean_up_spaces(text) : text;
  }

  const std::string& token_text(TokenId id) const override {
    static const std::string kNone;
    return valid(id) ? vocab_.texts[id] : kNone;
  }

  int32_t n_vocab() const override { return vocab_.size(); }
  TokenId bos_id() const override { return vocab_.bos; }
  TokenId eos_id() const override { return vocab_.eos; }
  bool add_bos() const override { return vocab_.add_bos; }
  bool is_eog(TokenId id) const override { return valid(id) && vocab_.eog[id]; }

 private:
  bool valid(TokenId id) const { return id >= 0 && id < vocab_.size(); }

  // llama_token_to_piece(special=false).
  std::string piece_of(TokenId id) const {
    const std::string& text = vocab_.texts[id];
    if (vocab_.has(id, kAttrUnknown | kAttrControl)) return "";
    if (vocab_.has(id, kAttrUserDefined)) return text;
    if (vocab_.has(id, kAttrNormal)) return bpe_ ? from_alphabet(text) : replace_all(text, kSpmSpace, " ");
    if (vocab_.has(id, kAttrByte)) return byte_token_piece(text);
    return "";  // unused and undefined tokens print nothing
  }

  // Cuts the special tokens out of `text`, longest first, as llama.cpp's tokenizer_st_partition.
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const {
    std::vector<Fragment> fragments;
    if (!text.empty()) fragments.push_back({-1, 0, text.size()});
    std::vector<Fragment> next;
    for (TokenId id : vocab_.specials) {
      if (!parse_special && vocab_.has(id, kAttrControl | kAttrUnknown)) continue;
      if (text.find(vocab_.texts[id]) == std::string_view::npos) continue;
      next.clear();
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          next.push_back(f);
        } else {
          split_at_special(text, f, id, next);
        }
      }
      fragments.swap(next);
    }
    return fragments;
  }

  void split_at_special(std::string_view text, const Fragment& f, TokenId id, std::vector<Fragment>& out) const {
    const std::string& special = vocab_.texts[id];
    size_t begin = f.offset;
    const size_t end = f.offset + f.length;
    while (begin < end) {
      const size_t match = text.substr(0, end).find(special, begin);
      if (match == std::string_view::npos) {
        out.push_back({-1, begin, end - begin});
        return;
      }
      size_t left_end = match;
      if (vocab_.has(id, kAttrLstrip)) {
        while (left_end > begin && is_c_space(text[left_end - 1])) --left_end;
      }
      if (left_end > begin) out.push_back({-1, begin, left_end - begin});
      out.push_back({id, 0, 0});
      begin = match + special.size();
      if (vocab_.has(id, kAttrRstrip)) {
        while (begin < end && is_c_space(text[begin])) ++begin;
      }
    }
  }

  void encode_spm(std::string_view text, const std::vector<Fragment>& fragments, std::vector<TokenId>& out) const {
    bool after_special = true;  // the start of the text gets the dummy prefix too
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      std::string escaped = vocab_.add_space_prefix && after_special ? std::string(kSpmSpace) : std::string();
      escaped += replace_all(text.substr(f.offset, f.length), " ", kSpmSpace);
      spm_->encode(vocab_, escaped, out);
      after_special = false;
    }
  }

  void encode_bpe(std::string_view text, const std::vector<Fragment>& fragments, std::vector<TokenId>& out) const {
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        encode_bpe_text(text.substr(f.offset, f.length), out);
      }
    }
  }

  void encode_bpe_text(std::string_view text, std::vector<TokenId>& out) const {
    const std::vector<uint32_t> cpts = unicode::decode_utf8(text);
    // Words are cut from the text re-encoded from codepoints, so invalid UTF-8 reaches the merges
    // as U+FFFD, as in llama.cpp.
    std::string bytes;
    bytes.reserve(text.size());
    std::vector<size_t> word_ends = pre_tokenize(pre_->kind, cpts);
    size_t cpt = 0;
    for (size_t& end : word_ends) {
      for (; cpt < end; ++cpt) unicode::append_utf8(cpts[cpt], bytes);
      end = bytes.size();  // codepoint offset -> byte offset
    }
    bpe_->encode_words(vocab_, bytes, word_ends, pre_->ignore_merges, out);
  }

  Vocab vocab_;
  std::optional<SpmModel> spm_;  // exactly one of spm_, bpe_, wpm_ and ugm_ is set
  std::optional<BpeModel> bpe_;
  std::optional<WpmModel> wpm_;
  std::optional<UgmModel> ugm_;
  const PreTokenizerSpec* pre_;  // BPE only
  bool clean_spaces_;
  std::vector<std::string> pieces_;
};

Result<std::unique_ptr<Tokenizer>> make_spm_tokenizer(const GgufFile& file) {
  VocabDefaults defaults;
  defaults.bos = 1;
  defaults.eos = 2;
  defaults.unk = 0;
  defaults.add_bos = true;
  defaults.add_space_prefix = true;
  JF_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(file, defaults));
  TokenizerModel model;
  model.spm.emplace(vocab);
  return std::unique_ptr<Tokenizer>(new GgufTokenizer(std::move(vocab), std::move(model)));
}

Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(const GgufFile& file) {
  JF_ASSIGN_OR_RETURN(const std::string pre_name, file.get_string_or(kPreKey, ""));
  const PreTokenizerSpec* pre = find_pre_tokenizer(pre_name);
  if (pre == nullptr) {
    return error(StatusCode::kUnsupported, "%s: %s '%s' is not a pre-tokenizer jitflow knows", file.path().c_str(),
                 kPreKey, pre_name.c_str());
  }
  VocabDefaults defaults;
  defaults.bos = 11;  // llama.cpp's defaults for byte-level BPE files without the keys (Falcon's ids)
  defaults.eos = 11;
  defaults.add_bos = pre->add_bos;
  JF_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(file, defaults));
  TokenizerModel model;
  JF_ASSIGN_OR_RETURN(model.bpe, BpeModel::build(file, vocab));
  model.pre = pre;
  return std::unique_ptr<Tokenizer>(new GgufTokenizer(std::move(vocab), std::move(model)));
}

Status require_unknown_token(const GgufFile& file, const Vocab& vocab, const char* model) {
  if (vocab.unk >= 0) return Status();
  return error(StatusCode::kCorruptFile,
               "%s: tokenizer.ggml.unknown_token_id is not a token id, and %s '%s' needs one",
               file.path().c_str(), kModelKey, model);
}

// WordPiece: llama.cpp's defaults are BERT's ids ([CLS] 101 as BOS, [SEP] 102, [UNK] 100, no EOS).
Result<std::unique_ptr<Tokenizer>> make_wpm_tokenizer(const GgufFile& file) {
  VocabDefaults defaults;
  defaults.bos = 101;
  defaults.unk = 100;
  defaults.sep = 102;
  defaults.add_bos = true;
  JF_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(file, defaults));
  JF_RETURN_IF_ERROR(require_unknown_token(file, vocab, "bert"));
  WpmOptions options;
  JF_ASSIGN_OR_RETURN(options.lowercase, file.get_bool_or("tokenizer.ggml.normalizer.lowercase", true));
  JF_ASSIGN_OR_RETURN(options.strip_accents,
                      file.get_bool_or("tokenizer.ggml.normalizer.strip_accents", options.lowercase));
  TokenizerModel model;
  model.wpm.emplace(vocab, options);
  return std::unique_ptr<Tokenizer>(new GgufTokenizer(std::move(vocab), std::move(model)));
}

// Unigram: llama.cpp's defaults are T5's ids (</s> 1 as EOS, appended; <unk> 2; no BOS).
Result<std::unique_ptr<Tokenizer>> make_ugm_tokenizer(const GgufFile& file) {
  VocabDefaults defaults;
  defaults.eos = 1;
  defaults.unk = 2;
  defaults.add_eos = true;
  JF_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(file, defaults));
  JF_RETURN_IF_ERROR(require_unknown_token(file, vocab, "t5"));
  TokenizerModel model;
  JF_ASSIGN_OR_RETURN(model.ugm, UgmModel::build(file, vocab));
  return std::unique_ptr<Tokenizer>(new GgufTokenizer(std::move(vocab), std::move(model)));
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  JF_ASSIGN_OR_RETURN(const std::string model, file.get_string(kModelKey));
  if (model == "llama") return make_spm_tokenizer(file);
  if (model == "gpt2") return make_bpe_tokenizer(file);
  if (model == "bert") return make_wpm_tokenizer(file);
  if (model == "t5") return make_ugm_tokenizer(file);
  return error(StatusCode::kUnsupported,
               "%s: %s '%s' is not supported (jitflow reads 'llama', 'gpt2', 'bert' and 't5')",
               file.path().c_str(), kModelKey, model.c_str());
}

}  // namespace jf
