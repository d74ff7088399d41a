#include "model/tokenizer/bpe.h"

#include <algorithm>

#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

constexpr char kMergesKey[] = "tokenizer.ggml.merges";

// A run of the word's bytes in the doubly linked list of symbols; len 0 once merged away.
struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t len;
  TokenId id;  // -1: not a token
};

// A candidate merge of `left` and its right neighbour, valid while both still hold the tokens
// they held when it was queued.
struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t right;
  TokenId left_id;
  TokenId right_id;
  TokenId result;
};

// Heap order: lowest rank on top, then the leftmost pair.
bool lower_priority(const Candidate& a, const Candidate& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

Status merge_error(const GgufFile& file, size_t index, const std::string& merge, const char* what) {
  return error(StatusCode::kCorruptFile, "%s: %s[%zu] '%s' %s", file.path().c_str(), kMergesKey, index, merge.c_str(), what);
}

// The GPT-2 alphabet spelling of raw bytes (how the vocabulary writes them).
std::string to_alphabet(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) unicode::append_utf8(unicode::byte_to_codepoint(static_cast<uint8_t>(b)), out);
  return out;
}

}  // namespace

Result<BpeModel> BpeModel::build(const GgufFile& file, const Vocab& vocab) {
  JF_ASSIGN_OR_RETURN(const GgufArray* merges, file.get_array(kMergesKey));
  if (merges->elem_type != GgufType::kString) {
    return error(StatusCode::kCorruptFile, "%s: %s is an array of %s, expected strings", file.path().c_str(), kMergesKey,
                 gguf_type_name(merges->elem_type));
  }
  BpeModel model;
  for (size_t i = 0; i < merges->items.size(); ++i) {
    const auto* merge = std::get_if<std::string>(&merges->items[i].data);
    if (merge == nullptr) return merge_error(file, i, "", "is not a string");
    // Split at the first space after the first byte, as llama.cpp does.
    const size_t space = merge->find(' ', 1);
    if (space == std::string::npos) return merge_error(file, i, *merge, "has no space between its two parts");
    const TokenId left = vocab.find(std::string_view(*merge).substr(0, space));
    const TokenId right = vocab.find(std::string_view(*merge).substr(space + 1));
    if (left < 0 || right < 0) return merge_error(file, i, *merge, "joins a text that is not a token");
    const TokenId result = vocab.find(merge->substr(0, space) + merge->substr(space + 1));
    // The first rank of a pair listed twice wins.
    model.merges_.insert(pair_key(left, right), Merge{static_cast<int32_t>(i), result});
  }
  for (int b = 0; b < 256; ++b) {
    std::string letter;
    unicode::append_utf8(unicode::byte_to_codepoint(static_cast<uint8_t>(b)), letter);
    model.byte_tokens_[b] = vocab.find(letter);
  }
  return model;
}

const BpeModel::Merge* BpeModel::find_merge(TokenId left, TokenId right) const {
  if (left < 0 || right < 0) return nullptr;
  return merges_.find(pair_key(left, right));
}

// Merges one word at a time; reused across the words of a text to keep its buffers.
class BpeModel::WordMerger {
 public:
  explicit WordMerger(const BpeModel& model) : model_(model) {}

  // Merges `word` and returns its symbols, linked from index 0.
  const std::vector<Symbol>& run(std::string_view word) {
    symbols_.resize(word.size());
    heap_.clear();
    for (uint32_t i = 0; i < word.size(); ++i) {
      const auto index = static_cast<int32_t>(i);
      symbols_[i] = {index - 1, i + 1 == word.size() ? -1 : index + 1, i, 1,
                     model_.byte_tokens_[static_cast<uint8_t>(word[i])]};
    }
    for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) add_candidate(i - 1, i);
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), lower_priority);
      const Candidate c = heap_.back();
      heap_.pop_back();
      Symbol& left = symbols_[c.left];
      Symbol& right = symbols_[c.right];
      if (left.len == 0 || right.len == 0 || left.id != c.left_id || right.id != c.right_id) continue;
      left.len += right.len;
      left.id = c.result;
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
    const Merge* merge = model_.find_merge(symbols_[left].id, symbols_[right].id);
    if (merge == nullptr) return;
    heap_.push_back({merge->rank, left, right, symbols_[left].id, symbols_[right].id, merge->result});
    std::push_heap(heap_.begin(), heap_.end(), lower_priority);
  }

  const BpeModel& model_;
  std::vector<Symbol> symbols_;
  std::vector<Candidate> heap_;
};

void BpeModel::encode_words(const Vocab& vocab, std::string_view text, std::span<const size_t> word_ends,
                            bool ignore_merges, std::vector<TokenId>& out) const {
  WordMerger merger(*this);
  size_t begin = 0;
  for (size_t end : word_ends) {
    const std::string_view word = text.substr(begin, end - begin);
    begin = end;
    if (word.empty()) continue;
    if (ignore_merges) {
      if (const TokenId id = vocab.find(to_alphabet(word)); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    const std::vector<Symbol>& symbols = merger.run(word);
    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
      append_symbol(vocab, word.substr(symbols[i].start, symbols[i].len), symbols[i].id, out);
    }
  }
}

void BpeModel::append_symbol(const Vocab& vocab, std::string_view bytes, TokenId id, std::vector<TokenId>& out) const {
  if (id >= 0) {
    out.push_back(id);
    return;
  }
  // Not a token (a byte missing from the vocabulary, or a merge result that is not a token):
  // llama.cpp then looks up each byte of the symbol's alphabet spelling as a one-byte token.
  for (char c : to_alphabet(bytes)) {
    if (const TokenId byte_id = vocab.find(std::string_view(&c, 1)); byte_id >= 0) out.push_back(byte_id);
  }
}

}  // namespace jf
