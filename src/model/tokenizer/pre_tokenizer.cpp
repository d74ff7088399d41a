#include "model/tokenizer/pre_tokenizer.h"

#include <cstring>

#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

using unicode::codepoint_class;

// One piece [begin, end) of the text being split. Positions past `end` read as "no codepoint", so a
// lookahead never crosses into the neighbouring piece (llama.cpp splits each piece on its own).
class Cursor {
 public:
  Cursor(std::span<const uint32_t> cpts, std::span<const uint8_t> classes, size_t end)
      : cpts_(cpts), classes_(classes), end_(end) {}

  size_t end() const { return end_; }
  uint32_t cpt(size_t i) const { return i < end_ ? cpts_[i] : kNoCodepoint; }
  bool letter(size_t i) const { return i < end_ && unicode::is_letter(classes_[i]); }
  bool number(size_t i) const { return i < end_ && unicode::is_number(classes_[i]); }
  bool space(size_t i) const { return i < end_ && unicode::is_white_space(classes_[i]); }
  bool newline(size_t i) const { return i < end_ && (cpts_[i] == '\r' || cpts_[i] == '\n'); }
  // [^\s\p{L}\p{N}]: punctuation, symbols, marks, controls, unassigned.
  bool other(size_t i) const {
    if (i >= end_) return false;
    const uint8_t cls = classes_[i];
    return !unicode::is_letter(cls) && !unicode::is_number(cls) && !unicode::is_white_space(cls);
  }
  bool matches(size_t i, bool (*test)(uint32_t, uint8_t)) const { return i < end_ && test(cpts_[i], classes_[i]); }

  // End of the run of positions from `i` on that satisfy `pred`.
  template <typename Pred>
  size_t run_end(size_t i, Pred pred) const {
    while ((this->*pred)(i)) ++i;
    return i;
  }

 private:
  static constexpr uint32_t kNoCodepoint = 0xFFFFFFFF;
  std::span<const uint32_t> cpts_;
  std::span<const uint8_t> classes_;
  size_t end_;
};

// 's 't 're 've 'm 'll 'd at `pos` (ASCII case-insensitive when `ignore_case`): its length, or 0.
size_t contraction_length(const Cursor& c, size_t pos, bool ignore_case) {
  if (c.cpt(pos) != '\'' || pos + 1 >= c.end()) return 0;
  const auto at = [&](size_t i) {
    const uint32_t x = c.cpt(i);
    return ignore_case && x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x;
  };
  const uint32_t a = at(pos + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= c.end()) return 0;
  const uint32_t b = at(pos + 2);
  return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? 3 : 0;
}

// \s+(?!\S)|\s+ : a run of white space that leaves its last codepoint to the word after it, so
// that "  word" splits as " " + " word". A codepoint no alternative matches stands alone.
size_t white_space_length(const Cursor& c, size_t pos) {
  const size_t n = c.run_end(pos, &Cursor::space) - pos;
  if (n > 1 && pos + n < c.end()) return n - 1;
  return n > 0 ? n : 1;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t gpt2_word_length(const Cursor& c, size_t pos) {
  if (const size_t n = contraction_length(c, pos, false)) return n;
  const size_t start = pos + (c.cpt(pos) == ' ' ? 1 : 0);
  if (c.letter(start)) return c.run_end(start, &Cursor::letter) - pos;
  if (c.number(start)) return c.run_end(start, &Cursor::number) - pos;
  if (c.other(start)) return c.run_end(start, &Cursor::other) - pos;
  return white_space_length(c, pos);
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}| ?[^\s\p{L}\p{N}]+[\r\n]*
// |\s*[\r\n]+|\s+(?!\S)|\s+
size_t llama3_word_length(const Cursor& c, size_t pos, size_t max_digits) {
  if (const size_t n = contraction_length(c, pos, true)) return n;
  if (!c.newline(pos) && !c.number(pos) && (c.letter(pos) || c.letter(pos + 1))) {
    return c.run_end(pos + 1, &Cursor::letter) - pos;
  }
  if (c.number(pos)) {
    size_t n = 1;
    while (n < max_digits && c.number(pos + n)) ++n;
    return n;
  }
  const size_t start = pos + (c.cpt(pos) == ' ' ? 1 : 0);
  if (c.other(start)) return c.run_end(c.run_end(start, &Cursor::other), &Cursor::newline) - pos;
  // \s*[\r\n]+ takes white space up to and including the run's last \r or \n.
  size_t n = 0;
  size_t through_newline = 0;
  for (; c.space(pos + n); ++n) {
    if (c.newline(pos + n)) through_newline = n + 1;
  }
  if (through_newline > 0) return through_newline;
  return white_space_length(c, pos);
}

// A single-class regex such as [\p{P}$+<=>^~|]+, \s?\p{L}+ or [0-9][0-9][0-9]: an optional
// prefix codepoint, then min_length..max_length codepoints of the body class, taken greedily.
// Every prefix class used is disjoint from its body class, so no backtracking is needed.
struct RunPattern {
  bool (*prefix)(uint32_t cpt, uint8_t cls);  // nullptr: none
  bool (*body)(uint32_t cpt, uint8_t cls);
  size_t min_length;
  size_t max_length;
};

constexpr size_t kUnbounded = SIZE_MAX;

// Length of the pattern's match starting exactly at `pos`, or 0.
size_t run_match_length(const RunPattern& p, const Cursor& c, size_t pos) {
  size_t body = pos;
  if (p.prefix != nullptr && c.matches(pos, p.prefix) && c.matches(pos + 1, p.body)) body = pos + 1;
  size_t n = 0;
  while (n < p.max_length && c.matches(body + n, p.body)) ++n;
  return n >= p.min_length ? body + n - pos : 0;
}

bool is_white(uint32_t, uint8_t cls) { return unicode::is_white_space(cls); }
bool is_letter(uint32_t, uint8_t cls) { return unicode::is_letter(cls); }
bool is_number(uint32_t, uint8_t cls) { return unicode::is_number(cls); }
bool is_punctuation(uint32_t, uint8_t cls) { return unicode::is_punctuation(cls); }
bool is_newline(uint32_t cpt, uint8_t) { return cpt == '\r' || cpt == '\n'; }
bool is_ascii_digit(uint32_t cpt, uint8_t) { return cpt >= '0' && cpt <= '9'; }
bool is_ascii_in(uint32_t cpt, const char* set) { return cpt != 0 && cpt < 128 && std::strchr(set, static_cast<int>(cpt)); }
// [\p{P}\$\+<=>\^~\|]
bool is_punctuation_or_operator(uint32_t cpt, uint8_t cls) {
  return unicode::is_punctuation(cls) || is_ascii_in(cpt, "$+<=>^~|");
}
// [\p{P}\$\+<=>\^~\|`]
bool is_punctuation_or_operator_or_backtick(uint32_t cpt, uint8_t cls) {
  return is_punctuation_or_operator(cpt, cls) || cpt == '`';
}
// [一-龥ࠀ-一가-퟿]. llama.cpp matches it on text whose non-ASCII white space was replaced by
// U+000B, so the white space inside these ranges (U+2000.., U+3000) does not count.
bool is_deepseek_cjk(uint32_t cpt, uint8_t cls) {
  const bool in_range = (cpt >= 0x0800 && cpt <= 0x9FA5) || (cpt >= 0xAC00 && cpt <= 0xD7FF);
  return in_range && !unicode::is_white_space(cls);
}

enum class StageKind { kGpt2, kLlama3, kQwen2, kRun };

struct Stage {
  StageKind kind;
  RunPattern run{};
};

constexpr Stage run_stage(bool (*body)(uint32_t, uint8_t), size_t min_length, size_t max_length,
                          bool (*prefix)(uint32_t, uint8_t) = nullptr) {
  return Stage{StageKind::kRun, RunPattern{prefix, body, min_length, max_length}};
}

std::span<const Stage> stages_of(PreTokenizerKind kind) {
  static constexpr Stage kGpt2[] = {{StageKind::kGpt2}};
  static constexpr Stage kLlama3[] = {{StageKind::kLlama3}};
  static constexpr Stage kQwen2[] = {{StageKind::kQwen2}};
  static constexpr Stage kStarcoder[] = {run_stage(is_number, 1, 1), {StageKind::kGpt2}};
  static constexpr Stage kFalcon[] = {run_stage(is_punctuation_or_operator_or_backtick, 1, kUnbounded),
                                      {StageKind::kGpt2},
                                      run_stage(is_ascii_digit, 3, 3)};
  static constexpr Stage kDefault[] = {run_stage(is_punctuation_or_operator, 1, kUnbounded),
                                       {StageKind::kGpt2},
                                       run_stage(is_number, 1, kUnbounded),
                                       run_stage(is_ascii_digit, 3, 3)};
  static constexpr Stage kDeepseekCoder[] = {run_stage(is_newline, 1, 1),
                                             run_stage(is_letter, 1, kUnbounded, is_white),
                                             run_stage(is_punctuation, 1, kUnbounded, is_white),
                                             run_stage(is_deepseek_cjk, 1, kUnbounded),
                                             run_stage(is_number, 1, 1)};
  const auto list = [](const auto& stages) { return std::span<const Stage>(stages); };
  switch (kind) {
    case PreTokenizerKind::kDefault: return list(kDefault);
    case PreTokenizerKind::kGpt2: return list(kGpt2);
    case PreTokenizerKind::kLlama3: return list(kLlama3);
    case PreTokenizerKind::kQwen2: return list(kQwen2);
    case PreTokenizerKind::kStarcoder: return list(kStarcoder);
    case PreTokenizerKind::kFalcon: return list(kFalcon);
    case PreTokenizerKind::kDeepseekCoder: return list(kDeepseekCoder);
  }
  return list(kGpt2);
}

// Splits [begin, c.end()) into consecutive words that together cover it.
template <typename WordLength>
void split_words(const Cursor& c, size_t begin, WordLength word_length, std::vector<size_t>& ends) {
  for (size_t pos = begin; pos < c.end();) {
    pos += word_length(c, pos);
    ends.push_back(pos);
  }
}

// Splits [begin, c.end()) into the pattern's leftmost matches and the text between them, like a
// regex iterator whose gaps are kept as pieces.
void split_runs(const RunPattern& p, const Cursor& c, size_t begin, std::vector<size_t>& ends) {
  size_t gap_begin = begin;
  for (size_t pos = begin; pos < c.end();) {
    const size_t n = run_match_length(p, c, pos);
    if (n == 0) {
      ++pos;
      continue;
    }
    if (pos > gap_begin) ends.push_back(pos);
    pos += n;
    ends.push_back(pos);
    gap_begin = pos;
  }
  if (gap_begin < c.end()) ends.push_back(c.end());
}

void split_piece(const Stage& stage, const Cursor& c, size_t begin, std::vector<size_t>& ends) {
  switch (stage.kind) {
    case StageKind::kGpt2: return split_words(c, begin, gpt2_word_length, ends);
    case StageKind::kLlama3:
      return split_words(c, begin, [](const Cursor& cc, size_t pos) { return llama3_word_length(cc, pos, 3); }, ends);
    case StageKind::kQwen2:
      return split_words(c, begin, [](const Cursor& cc, size_t pos) { return llama3_word_length(cc, pos, 1); }, ends);
    case StageKind::kRun: return split_runs(stage.run, c, begin, ends);
  }
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  struct Entry {
    const char* name;
    PreTokenizerSpec spec;
  };
  using K = PreTokenizerKind;
  // Names and flags as llama.cpp's vocabulary loader assigns them.
  static constexpr Entry kEntries[] = {
      {"", {K::kDefault, false, false, true}},
      {"default", {K::kDefault, false, false, true}},
      {"gpt-2", {K::kGpt2, false, false, true}},
      {"phi-2", {K::kGpt2, false, false, true}},
      {"mpt", {K::kGpt2, false, false, true}},
      {"olmo", {K::kGpt2, false, false, true}},
      {"jais", {K::kGpt2, false, false, true}},
      {"exaone4", {K::kGpt2, false, false, true}},
      {"trillion", {K::kGpt2, false, false, false}},
      {"granite-docling", {K::kGpt2, false, false, false}},
      {"llama3", {K::kLlama3, true, true, true}},
      {"llama-v3", {K::kLlama3, true, true, true}},
      {"llama-bpe", {K::kLlama3, true, true, true}},
      {"falcon3", {K::kLlama3, true, true, true}},
      {"falcon-h1", {K::kLlama3, true, true, true}},
      {"pixtral", {K::kLlama3, true, true, true}},
      {"dbrx", {K::kLlama3, false, false, true}},
      {"smaug-bpe", {K::kLlama3, false, false, true}},
      {"qwen2", {K::kQwen2, false, false, false}},
      {"deepseek-r1-qwen", {K::kQwen2, false, false, false}},
      {"megrez", {K::kQwen2, false, false, true}},
      {"stablelm2", {K::kQwen2, false, false, true}},
      {"starcoder", {K::kStarcoder, false, false, true}},
      {"refact", {K::kStarcoder, false, false, true}},
      {"codeshell", {K::kStarcoder, false, false, true}},
      {"command-r", {K::kStarcoder, false, false, false}},
      {"smollm", {K::kStarcoder, false, false, false}},
      {"falcon", {K::kFalcon, false, false, true}},
      {"deepseek-coder", {K::kDeepseekCoder, false, false, false}},
  };
  for (const Entry& e : kEntries) {
    if (name == e.name) return &e.spec;
  }
  return nullptr;
}

std::vector<size_t> pre_tokenize(PreTokenizerKind kind, std::span<const uint32_t> cpts) {
  std::vector<uint8_t> classes(cpts.size());
  for (size_t i = 0; i < cpts.size(); ++i) classes[i] = codepoint_class(cpts[i]);

  std::vector<size_t> ends;
  if (!cpts.empty()) ends.push_back(cpts.size());
  std::vector<size_t> next;
  for (const Stage& stage : stages_of(kind)) {
    next.clear();
    size_t begin = 0;
    for (size_t end : ends) {
      split_piece(stage, Cursor(cpts, classes, end), begin, next);
      begin = end;
    }
    ends.swap(next);
  }
  return ends;
}

}  // namespace jf
