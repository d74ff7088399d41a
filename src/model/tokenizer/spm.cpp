#include "model/tokenizer/spm.h"

#include <algorithm>
#include <cstdio>

#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

// A run of text in the doubly linked list of symbols; len 0 once merged into its left neighbour.
struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t len;
};

// A candidate merge of symbols `left` and its right neighbour `right`, valid while their lengths
// still add up to `len` (llama.cpp's staleness test).
struct Candidate {
  float score;
  int32_t left;
  int32_t right;
  uint32_t len;
};

// Heap order: highest score on top, then the leftmost pair.
bool lower_priority(const Candidate& a, const Candidate& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

// Length of the character at text[pos]: the sequence its lead byte announces, clipped at the end.
size_t char_length(std::string_view text, size_t pos) {
  return std::min<size_t>(unicode::utf8_sequence_length(static_cast<uint8_t>(text[pos])), text.size() - pos);
}

// A character's bytes packed into 32 bits. Different characters may share a key (a clipped
// sequence and one padded with zero bytes); that only makes the pair set more conservative.
uint32_t char_key(std::string_view text, size_t pos, size_t len) {
  uint32_t key = 0;
  for (size_t i = 0; i < len; ++i) key = (key << 8) | static_cast<uint8_t>(text[pos + i]);
  return key;
}

uint64_t pair_key(uint32_t first, uint32_t second) { return (static_cast<uint64_t>(first) << 32) | second; }

// One merge pass over a piece of text; reused across pieces to keep its buffers.
class Merger {
 public:
  explicit Merger(const Vocab& vocab) : vocab_(vocab) {}

  // Merges `text` and returns its symbols, linked from index 0.
  const std::vector<Symbol>& run(std::string_view text) {
    text_ = text;
    symbols_.clear();
    heap_.clear();
    for (uint32_t pos = 0; pos < text.size();) {
      const auto len = static_cast<uint32_t>(char_length(text, pos));
      const auto index = static_cast<int32_t>(symbols_.size());
      symbols_.push_back({index - 1, pos + len == text.size() ? -1 : index + 1, pos, len});
      pos += len;
    }
    for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) add_candidate(i - 1, i);
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), lower_priority);
      const Candidate c = heap_.back();
      heap_.pop_back();
      Symbol& left = symbols_[c.left];
      Symbol& right = symbols_[c.right];
      if (left.len == 0 || right.len == 0 || left.len + right.len != c.len) continue;
      left.len += right.len;
      right.len = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = c.left;
      add_candidate(left.prev, c.left);
      add_candidate(c.left, left.next);
    }
    return symbols_;
  }

 private:
  void add_candidate(int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t len = symbols_[left].len + symbols_[right].len;
    const TokenId id = vocab_.find(text_.substr(symbols_[left].start, len));
    if (id < 0) return;
    heap_.push_back({vocab_.scores[id], left, right, len});
    std::push_heap(heap_.begin(), heap_.end(), lower_priority);
  }

  const Vocab& vocab_;
  std::string_view text_;
  std::vector<Symbol> symbols_;
  std::vector<Candidate> heap_;
};

}  // namespace

SpmModel::SpmModel(const Vocab& vocab) {
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    const char raw = static_cast<char>(b);
    TokenId id = vocab.find(hex);
    if (id < 0) id = vocab.find(std::string_view(&raw, 1));
    byte_tokens_[b] = id >= 0 ? id : vocab.unk;
  }
  for (const std::string& text : vocab.texts) {
    size_t prev_pos = 0;
    size_t prev_len = 0;
    for (size_t pos = 0; pos < text.size(); pos += char_length(text, pos)) {
      const size_t len = char_length(text, pos);
      if (pos > 0) joinable_pairs_.insert(pair_key(char_key(text, prev_pos, prev_len), char_key(text, pos, len)), true);
      prev_pos = pos;
      prev_len = len;
    }
  }
}

void SpmModel::encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) const {
  Merger merger(vocab);
  const auto emit = [&](std::string_view piece) {
    const std::vector<Symbol>& symbols = merger.run(piece);
    for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
      const std::string_view part = piece.substr(symbols[i].start, symbols[i].len);
      const TokenId id = vocab.find(part);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // Byte fallback: only an unmerged character can miss the vocabulary.
      for (char byte : part) {
        const TokenId byte_id = byte_tokens_[static_cast<uint8_t>(byte)];
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  };
  size_t piece_begin = 0;
  uint32_t prev_key = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = char_length(text, pos);
    const uint32_t key = char_key(text, pos, len);
    if (pos > 0 && !joinable_pairs_.contains(pair_key(prev_key, key))) {
      emit(text.substr(piece_begin, pos - piece_begin));
      piece_begin = pos;
    }
    prev_key = key;
    pos += len;
  }
  emit(text.substr(piece_begin));
}

}  // namespace jf
