#include "model/tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace jf::unicode {
namespace {

struct ClassRange {
  uint32_t first;  // first codepoint of the run; the run ends where the next one begins
  uint8_t cls;
};

constexpr ClassRange kClassRanges[] = {
#include "model/tokenizer/unicode_tables.inc"
};

constexpr uint32_t kMaxCodepoint = 0x10FFFF;

struct CodepointPair {
  uint32_t from;
  uint32_t to;
};

struct NfdRange {
  uint32_t first;
  uint32_t last;
  uint32_t nfd;
};

#include "model/tokenizer/unicode_case_tables.inc"

uint8_t lookup_class(uint32_t cpt) {
  // The last range whose first codepoint is <= cpt.
  const auto* it = std::upper_bound(std::begin(kClassRanges), std::end(kClassRanges), cpt,
                                    [](uint32_t c, const ClassRange& r) { return c < r.first; });
  return (it - 1)->cls;
}

// ASCII dominates real text, so it skips the binary search.
const std::array<uint8_t, 128>& ascii_classes() {
  static const std::array<uint8_t, 128> table = [] {
    std::array<uint8_t, 128> t{};
    for (uint32_t c = 0; c < 128; ++c) t[c] = lookup_class(c);
    return t;
  }();
  return table;
}

bool is_self_printing_byte(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct ByteAlphabet {
  std::array<uint32_t, 256> byte_to_cpt{};
  std::array<int16_t, 256 + 68> cpt_to_byte{};  // indexed by codepoint, all of which are < 256 + 68
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet = [] {
    ByteAlphabet a;
    a.cpt_to_byte.fill(-1);
    uint32_t next_extra = 256;
    for (int b = 0; b < 256; ++b) {
      a.byte_to_cpt[b] = is_self_printing_byte(b) ? static_cast<uint32_t>(b) : next_extra++;
      a.cpt_to_byte[a.byte_to_cpt[b]] = static_cast<int16_t>(b);
    }
    return a;
  }();
  return alphabet;
}

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Decodes one sequence at text[pos]; returns its length, or 0 when it is invalid.
size_t decode_one(std::string_view text, size_t pos, uint32_t& cpt) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  if (lead < 0x80) {
    cpt = lead;
    return 1;
  }
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cpt = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cpt = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cpt = lead & 0x07;
  } else {
    return 0;  // a continuation byte or 0xF8..0xFF where a sequence should start
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
    cpt = (cpt << 6) | (byte(i) & 0x3F);
  }
  return cpt <= kMaxCodepoint ? length : 0;
}

}  // namespace

uint8_t codepoint_class(uint32_t cpt) {
  if (cpt < 128) return ascii_classes()[cpt];
  if (cpt > kMaxCodepoint) return kUnassigned;
  return lookup_class(cpt);
}

size_t utf8_sequence_length(uint8_t lead) {
  static constexpr uint8_t kByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kByHighNibble[lead >> 4];
}

std::vector<uint32_t> decode_utf8(std::string_view text) {
  std::vector<uint32_t> cpts;
  cpts.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cpt = 0;
    const size_t length = decode_one(text, pos, cpt);
    cpts.push_back(length > 0 ? cpt : kReplacementCharacter);
    pos += length > 0 ? length : 1;
  }
  return cpts;
}

void append_utf8(uint32_t cpt, std::string& out) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

uint32_t to_lower(uint32_t cpt) {
  const auto* it = std::lower_bound(std::begin(kLowercase), std::end(kLowercase), cpt,
                                    [](const CodepointPair& p, uint32_t c) { return p.from < c; });
  return it != std::end(kLowercase) && it->from == cpt ? it->to : cpt;
}

uint32_t nfd_first(uint32_t cpt) {
  // The last run whose first codepoint is <= cpt, if it reaches cpt.
  const auto* it = std::upper_bound(std::begin(kNfdFirst), std::end(kNfdFirst), cpt,
                                    [](uint32_t c, const NfdRange& r) { return c < r.first; });
  if (it == std::begin(kNfdFirst)) return cpt;
  --it;
  return cpt <= it->last ? it->nfd : cpt;
}

uint32_t byte_to_codepoint(uint8_t byte) { return byte_alphabet().byte_to_cpt[byte]; }

int codepoint_to_byte(uint32_t cpt) {
  const auto& table = byte_alphabet().cpt_to_byte;
  return cpt < table.size() ? table[cpt] : -1;
}

}  // namespace jf::unicode
