#include "model/tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace jf::unicode {
namespace {

TEST(Unicode, CodepointClasses) {
  EXPECT_EQ(codepoint_class('A'), kLetter);
  EXPECT_EQ(codepoint_class('5'), kNumber);
  EXPECT_EQ(codepoint_class('!'), kPunctuation);
  EXPECT_EQ(codepoint_class('$'), kSymbol);
  EXPECT_EQ(codepoint_class(' '), kSeparator | kWhiteSpace);
  EXPECT_EQ(codepoint_class('\t'), kOther | kWhiteSpace);
  EXPECT_EQ(codepoint_class(0x1F), kOther);  // not White_Space, unlike Python's str.isspace
  EXPECT_EQ(codepoint_class(0x85), kOther | kWhiteSpace);
  EXPECT_EQ(codepoint_class(0xE9), kLetter);       // é
  EXPECT_EQ(codepoint_class(0x301), kMark);        // combining acute
  EXPECT_EQ(codepoint_class(0x663), kNumber);      // Arabic-Indic three
  EXPECT_EQ(codepoint_class(0x2014), kPunctuation);
  EXPECT_EQ(codepoint_class(0x3000), kSeparator | kWhiteSpace);
  EXPECT_EQ(codepoint_class(0x200B), kOther);      // zero width space: Cf, not White_Space
  EXPECT_EQ(codepoint_class(0x9FA5), kLetter);     // inside the CJK First/Last range
  EXPECT_EQ(codepoint_class(0xD7A3), kLetter);     // last Hangul syllable
  EXPECT_EQ(codepoint_class(0xE000), kOther);      // private use
  EXPECT_EQ(codepoint_class(0x1F642), kSymbol);    // 🙂
  EXPECT_EQ(codepoint_class(0x378), kUnassigned);
  EXPECT_EQ(codepoint_class(0x10FFFF), kUnassigned);
  EXPECT_EQ(codepoint_class(0x110000), kUnassigned);
}

TEST(Unicode, DecodesLikeLlamaCpp) {
  EXPECT_EQ(decode_utf8("a\xE2\x80\x9C\xF0\x9F\x99\x82"), (std::vector<uint32_t>{'a', 0x201C, 0x1F642}));
  EXPECT_EQ(decode_utf8("a\xC3"), (std::vector<uint32_t>{'a', kReplacementCharacter}));
  EXPECT_EQ(decode_utf8("\x80z"), (std::vector<uint32_t>{kReplacementCharacter, 'z'}));
  EXPECT_EQ(decode_utf8("\xE2\x80z"), (std::vector<uint32_t>{kReplacementCharacter, kReplacementCharacter, 'z'}));
  EXPECT_EQ(decode_utf8("\xF5\x80\x80\x80").size(), 4u);  // above U+10FFFF: every byte is replaced
  EXPECT_EQ(decode_utf8(""), (std::vector<uint32_t>{}));
  std::string out;
  for (uint32_t c : {0x41u, 0xE9u, 0x20ACu, 0x1F642u}) append_utf8(c, out);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82");
  EXPECT_EQ(utf8_sequence_length(0x41), 1u);
  EXPECT_EQ(utf8_sequence_length(0x80), 1u);
  EXPECT_EQ(utf8_sequence_length(0xC3), 2u);
  EXPECT_EQ(utf8_sequence_length(0xE2), 3u);
  EXPECT_EQ(utf8_sequence_length(0xF0), 4u);
}

TEST(Unicode, Gpt2ByteAlphabet) {
  EXPECT_EQ(byte_to_codepoint(' '), 0x120u);  // Ġ
  EXPECT_EQ(byte_to_codepoint('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(byte_to_codepoint('!'), static_cast<uint32_t>('!'));
  EXPECT_EQ(byte_to_codepoint(0xAD), 0x143u);  // the soft hyphen is the last remapped byte
  for (int b = 0; b < 256; ++b) EXPECT_EQ(codepoint_to_byte(byte_to_codepoint(static_cast<uint8_t>(b))), b);
  EXPECT_EQ(codepoint_to_byte(0x20), -1);  // a space is not a letter of the alphabet
  EXPECT_EQ(codepoint_to_byte(0x144), -1);
}

}  // namespace
}  // namespace jf::unicode
