#include "model/tokenizer/ugm.h"

#include <algorithm>
#include <cfloat>
#include <cstring>

#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

constexpr char kCharsmapKey[] = "tokenizer.ggml.precompiled_charsmap";
constexpr char kRemoveExtraWhitespacesKey[] = "tokenizer.ggml.remove_extra_whitespaces";
constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";     // U+2581
constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";  // U+FFFD
// What a character no piece covers costs below the lowest normal piece score (llama.cpp's penalty).
constexpr float kUnknownPenalty = 10.0f;

// A unit of the XOR-compressed compact double array (Kanda 2018, as SentencePiece writes it):
// BASE in bits 10-30 (shifted left by 8 more when bit 9 is set), the LEAF flag in bit 8, the
// label (LCHECK) in bits 0-7; units with bit 31 set hold a replacement-string offset instead.
uint32_t xcda_base(uint32_t unit) {
  return (unit >> 10) << ((unit & (1u << 9)) >> 6);
}
uint32_t xcda_lcheck(uint32_t unit) {
  return unit & ((1u << 31) | 0xFFu);
}
bool xcda_leaf(uint32_t unit) {
  return ((unit >> 8) & 1) != 0;
}
uint32_t xcda_value(uint32_t unit) {
  return unit & ((1u << 31) - 1);
}

// The length of the valid UTF-8 sequence at text[pos], or 0 where llama.cpp's
// unicode_cpt_from_utf8 would reject it (a stray continuation byte, a lead byte 0xF8-0xFF, a
// sequence cut short or with a bad continuation byte; overlong forms and values above U+10FFFF
// pass).
size_t valid_sequence_length(std::string_view text, size_t pos) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  size_t length = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0x40) == 0) return 0;
  if ((lead & 0x20) == 0) {
    length = 2;
  } else if ((lead & 0x10) == 0) {
    length = 3;
  } else if ((lead & 0x08) == 0) {
    length = 4;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((static_cast<uint8_t>(text[pos + i]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// The best segmentation of text[0, offset) found so far: its last token, where that token starts
// and the total score (double, as SentencePiece sums them).
struct Best {
  TokenId token;
  size_t start;
  double score;
};

}  // namespace

void ByteTrie::insert(std::string_view text, TokenId id) {
  int32_t node = 0;
  for (char c : text) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
    const int32_t* found = edges_.find(key);
    if (found != nullptr) {
      node = *found;
      continue;
    }
    const auto next = static_cast<int32_t>(values_.size());
    values_.push_back(-1);
    edges_.insert(key, next);
    node = next;
  }
  values_[node] = id;
}

size_t ByteTrie::walk_length(std::string_view text) const {
  int32_t node = 0;
  size_t length = 0;
  for (; length < text.size(); ++length) {
    node = child(node, static_cast<uint8_t>(text[length]));
    if (node < 0) break;
  }
  return length;
}

Result<UgmModel> UgmModel::build(const GgufFile& file, const Vocab& vocab) {
  UgmModel model;
  model.add_space_prefix_ = vocab.add_space_prefix;
  JF_ASSIGN_OR_RETURN(model.remove_extra_whitespaces_, file.get_bool_or(kRemoveExtraWhitespacesKey, false));

  if (file.find(kCharsmapKey) != nullptr) {
    const auto corrupt = [&](const std::string& what) {
      return error(StatusCode::kCorruptFile, "%s: %s %s", file.path().c_str(), kCharsmapKey, what.c_str());
    };
    const GgufValue* value = file.find(kCharsmapKey);
    if (value->type != GgufType::kArray) {
      return corrupt(str_printf("is %s, expected an array of bytes", gguf_type_name(value->type)));
    }
    JF_ASSIGN_OR_RETURN(const GgufArray* array, file.get_array(kCharsmapKey));
    if (array->elem_type != GgufType::kUint8 && array->elem_type != GgufType::kInt8) {
      return corrupt(
          str_printf("is an array of %s, expected uint8 or int8", gguf_type_name(array->elem_type)));
    }
    std::string bytes(array->items.size(), '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
      const auto& data = array->items[i].data;
      if (const auto* u = std::get_if<uint64_t>(&data)) {
        bytes[i] = static_cast<char>(*u);
      } else if (const auto* s = std::get_if<int64_t>(&data)) {
        bytes[i] = static_cast<char>(*s);
      } else {
        return corrupt(str_printf("[%zu] is not a byte", i));
      }
    }
    if (bytes.size() < 4)
      return corrupt(str_printf("has %zu bytes, too few for its 4-byte header", bytes.size()));
    uint32_t blob_bytes = 0;
    for (int i = 3; i >= 0; --i) blob_bytes = (blob_bytes << 8) | static_cast<uint8_t>(bytes[i]);
    // llama.cpp asks for at least one byte of replacement strings after the trie.
    if (uint64_t{blob_bytes} + 4 >= bytes.size()) {
      return corrupt(
          str_printf("declares a %u-byte trie but has %zu bytes in all", blob_bytes, bytes.size()));
    }
    model.xcda_.resize(blob_bytes / 4);
    for (size_t i = 0; i < model.xcda_.size(); ++i) {
      const char* p = bytes.data() + 4 + 4 * i;
      model.xcda_[i] = static_cast<uint8_t>(p[0]) | static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8 |
                       static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16 |
                       static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24;
    }
    model.replacements_ = bytes.substr(4 + size_t{blob_bytes});
    JF_RETURN_IF_ERROR(model.check_charsmap(file));
  }

  float min_score = FLT_MAX;
  for (TokenId id = 0; id < vocab.size(); ++id) {
    if (vocab.has(id, kAttrNormal)) min_score = std::min(min_score, vocab.scores[id]);
    if (vocab.has(id, kAttrNormal | kAttrUserDefined | kAttrUnused))
      model.pieces_.insert(vocab.texts[id], id);
    if (vocab.has(id, kAttrUserDefined)) model.user_defined_.insert(vocab.texts[id], id);
  }
  model.unknown_score_ = min_score - kUnknownPenalty;
  return model;
}

// Walks every node of the double array that a text can reach (each once: the walk ends even on
// a malformed array with cycles), so that normalize_prefix needs no checks beyond "a child index
// past the end is no child" (where llama.cpp would throw).
Status UgmModel::check_charsmap(const GgufFile& file) const {
  const auto corrupt = [&](const std::string& what) {
    return error(StatusCode::kCorruptFile, "%s: %s %s", file.path().c_str(), kCharsmapKey, what.c_str());
  };
  if (xcda_.empty()) return Status();
  std::vector<bool> visited(xcda_.size(), false);
  std::vector<uint32_t> stack = {xcda_base(xcda_[0])};
  while (!stack.empty()) {
    const uint32_t state = stack.back();
    stack.pop_back();
    for (uint32_t c = 1; c < 256; ++c) {
      const uint32_t unit = state ^ c;
      if (unit >= xcda_.size() || xcda_lcheck(xcda_[unit]) != c) continue;
      // darts-clone shares the nodes of common suffixes, so a unit may have several parents.
      if (visited[unit]) continue;
      visited[unit] = true;
      const uint32_t next = unit ^ xcda_base(xcda_[unit]);
      if (xcda_leaf(xcda_[unit])) {
        if (next >= xcda_.size())
          return corrupt(str_printf("trie unit %u points past the %zu units", unit, xcda_.size()));
        const uint32_t offset = xcda_value(xcda_[next]);
        if (offset >= replacements_.size() || replacements_.find('\0', offset) == std::string::npos) {
          return corrupt(
              str_printf("trie unit %u names replacement offset %u, outside the %zu bytes of strings or "
                         "not NUL-terminated",
                         unit, offset, replacements_.size()));
        }
      }
      stack.push_back(next);
    }
  }
  return Status();
}

UgmModel::Replacement UgmModel::normalize_prefix(std::string_view input, size_t offset) const {
  const std::string_view rest = input.substr(offset);
  // A prefix that follows the user-defined tokens' trie (even part way) is kept as it is.
  if (const size_t kept = user_defined_.walk_length(rest); kept > 0) return {rest.substr(0, kept), kept};

  size_t longest_length = 0;
  uint32_t longest_offset = 0;
  if (!xcda_.empty()) {
    uint32_t node = xcda_base(xcda_[0]);
    for (size_t i = 0; i < rest.size(); ++i) {
      const auto c = static_cast<uint8_t>(rest[i]);
      if (c == 0) break;
      node ^= c;
      if (node >= xcda_.size() || xcda_lcheck(xcda_[node]) != c) break;
      const bool leaf = xcda_leaf(xcda_[node]);
      node ^= xcda_base(xcda_[node]);
      if (leaf) {
        longest_length = i + 1;
        longest_offset = xcda_value(xcda_[node]);  // in range: check_charsmap walked this node
      }
    }
  }
  if (longest_length > 0) {
    const char* replacement = replacements_.data() + longest_offset;
    return {std::string_view(replacement, std::strlen(replacement)), longest_length};
  }
  const size_t length = valid_sequence_length(input, offset);
  if (length == 0) return {kReplacementUtf8, 1};
  return {rest.substr(0, length), length};
}

std::string UgmModel::normalize(std::string_view input) const {
  std::string out;
  out.reserve(input.size() * 3);
  const std::string_view space = escape_whitespaces_ ? kEscapedSpace : std::string_view(" ");
  const bool prepend_space = !treat_whitespace_as_suffix_ && add_space_prefix_;
  const bool append_space = treat_whitespace_as_suffix_ && add_space_prefix_;
  bool space_prepended = false;
  bool in_word = false;
  for (size_t offset = 0; offset < input.size();) {
    const Replacement r = normalize_prefix(input, offset);
    for (char c : r.text) {
      if (c != ' ') {
        if (!in_word) {
          in_word = true;
          // With remove_extra_whitespaces every word, the first included, gets one space in
          // front, and spaces themselves are dropped (llama.cpp's reading of SentencePiece).
          if ((prepend_space && !space_prepended) || remove_extra_whitespaces_) {
            out.append(space);
            space_prepended = true;
          }
        }
        out += c;
      } else {
        in_word = false;
        if (!remove_extra_whitespaces_) out.append(space);
      }
    }
    offset += r.consumed;
  }
  if (append_space) out.append(space);
  return out;
}

void UgmModel::encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const {
  const std::string normalized = normalize(text);
  const size_t n = normalized.size();
  if (n == 0) return;
  std::vector<Best> best(n + 1, Best{vocab.unk, 0, -DBL_MAX});
  best[0] = Best{vocab.unk, 0, 0.0};
  for (size_t start = 0; start < n;) {
    const size_t char_length =
        std::min<size_t>(unicode::utf8_sequence_length(static_cast<uint8_t>(normalized[start])), n - start);
    const double base_score = best[start].score;
    bool whole_char_covered = false;
    int32_t node = 0;
    for (size_t end = start; end < n;) {
      node = pieces_.child(node, static_cast<uint8_t>(normalized[end++]));
      if (node < 0) break;
      const TokenId id = pieces_.value(node);
      if (id < 0) continue;
      if (end - start == char_length) whole_char_covered = true;
      // User-defined pieces score 0, above every normal piece (log probabilities, so negative).
      const double score =
          base_score + (vocab.has(id, kAttrUserDefined) ? 0.0 : static_cast<double>(vocab.scores[id]));
      if (score > best[end].score) best[end] = Best{id, start, score};
    }
    if (!whole_char_covered) {
      const double score = base_score + static_cast<double>(unknown_score_);
      Best& champion = best[start + char_length];
      if (score > champion.score) champion = Best{vocab.unk, start, score};
    }
    start += char_length;
  }
  // Back from the end; a run of unknown tokens becomes one.
  const size_t first = out.size();
  bool prev_unknown = false;
  for (size_t end = n;;) {
    const Best& b = best[end];
    const bool unknown = b.token == vocab.unk;
    if (!(prev_unknown && unknown)) out.push_back(b.token);
    if (b.start == 0) break;
    prev_unknown = unknown;
    end = b.start;
  }
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
}

}  // namespace jf
