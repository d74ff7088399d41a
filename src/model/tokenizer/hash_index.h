// Flat open-addressing hash tables for the tokenizers' hot lookups (token text -> id, merge pair
// -> rank, the SentencePiece pair set). std::unordered_map chases a pointer per probe; these probe a
// contiguous array, which made encoding the corpus 1.3-1.6x faster (tokenizer_corpus_test prints
// the speed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jf {

// FNV-1a: token texts are short, so a byte loop is as fast as anything fancier.
inline uint64_t hash_bytes(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return x;
}

// Power-of-two table size with load factor <= 1/2.
inline size_t table_size_for(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

// Token text -> id over a vector of texts that the caller keeps (and passes to every call, so the
// index stays valid when its owner is moved).
class TextIndex {
 public:
  // Indexes texts[0..n); returns the first id whose text repeats an earlier one, or -1.
  int32_t build(const std::vector<std::string>& texts) {
    slots_.assign(table_size_for(texts.size()), Slot{0, -1});
    mask_ = slots_.size() - 1;
    for (size_t id = 0; id < texts.size(); ++id) {
      const uint64_t h = hash_bytes(texts[id]);
      size_t i = h & mask_;
      for (; slots_[i].id >= 0; i = (i + 1) & mask_) {
        if (slots_[i].tag == tag_of(h) && texts[slots_[i].id] == texts[id]) return static_cast<int32_t>(id);
      }
      slots_[i] = Slot{tag_of(h), static_cast<int32_t>(id)};
    }
    return -1;
  }

  // The id of `text`, or -1.
  int32_t find(const std::vector<std::string>& texts, std::string_view text) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(text);
    for (size_t i = h & mask_; slots_[i].id >= 0; i = (i + 1) & mask_) {
      if (slots_[i].tag == tag_of(h) && texts[slots_[i].id] == text) return slots_[i].id;
    }
    return -1;
  }

 private:
  struct Slot {
    uint32_t tag;  // high hash bits: most mismatches are rejected without touching the text
    int32_t id;    // -1: empty
  };
  static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// A map from 64-bit keys to small values; the first value inserted for a key stays.
template <typename Value>
class KeyMap {
 public:
  void insert(uint64_t key, const Value& value) {
    if (key == kEmpty) {
      if (!empty_key_value_) empty_key_value_ = value;
      return;
    }
    if (2 * (size_ + 1) > slots_.size()) grow();
    place(key, value);
  }

  // The value of `key`, or nullptr.
  const Value* find(uint64_t key) const {
    if (key == kEmpty) return empty_key_value_ ? &*empty_key_value_ : nullptr;
    if (slots_.empty()) return nullptr;
    for (size_t i = mix64(key) & (slots_.size() - 1); slots_[i].key != kEmpty; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return &slots_[i].value;
    }
    return nullptr;
  }
  bool contains(uint64_t key) const { return find(key) != nullptr; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;  // marks a free slot; a value for this key is kept aside
  struct Slot {
    uint64_t key;
    Value value;
  };

  void place(uint64_t key, const Value& value) {
    size_t i = mix64(key) & (slots_.size() - 1);
    for (; slots_[i].key != kEmpty; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return;
    }
    slots_[i] = Slot{key, value};
    ++size_;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() < 16 ? 16 : 2 * slots_.size(), Slot{kEmpty, Value{}});
    old.swap(slots_);
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.key != kEmpty) place(slot.key, slot.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  std::optional<Value> empty_key_value_;
};

}  // namespace jf
