// Pre-tokenizer splits on handcrafted strings. Llama 3 and Qwen2 have no test vocabulary in
// ../shared/vocab, so these pin their regexes down: contractions, digit groups, newlines, leading
// spaces, punctuation runs and non-ASCII letters.
#include <gtest/gtest.h>

#include "model/tokenizer/pre_tokenizer.h"
#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

std::vector<std::string> split(PreTokenizerKind kind, std::string_view text) {
  const std::vector<uint32_t> cpts = unicode::decode_utf8(text);
  std::vector<std::string> words;
  size_t begin = 0;
  for (size_t end : pre_tokenize(kind, cpts)) {
    std::string word;
    for (size_t i = begin; i < end; ++i) unicode::append_utf8(cpts[i], word);
    words.push_back(word);
    begin = end;
  }
  return words;
}

using Words = std::vector<std::string>;

TEST(PreTokenizer, Llama3) {
  const auto k = PreTokenizerKind::kLlama3;
  EXPECT_EQ(split(k, "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split(k, "I'm don't WE'LL you've"), (Words{"I", "'m", " don", "'t", " WE", "'LL", " you", "'ve"}));
  EXPECT_EQ(split(k, "1234567 12"), (Words{"123", "456", "7", " ", "12"}));
  EXPECT_EQ(split(k, "a\n\nb"), (Words{"a", "\n\n", "b"}));
  EXPECT_EQ(split(k, "hi \n there"), (Words{"hi", " \n", " there"}));
  EXPECT_EQ(split(k, "   Hello  "), (Words{"  ", " Hello", "  "}));
  EXPECT_EQ(split(k, "\t\tfoo"), (Words{"\t", "\tfoo"}));
  EXPECT_EQ(split(k, "Hello!!! ...?\n\nok"), (Words{"Hello", "!!!", " ...?\n\n", "ok"}));
  EXPECT_EQ(split(k, "$100 (x)"), (Words{"$", "100", " (", "x", ")"}));
  EXPECT_EQ(split(k, "na\xC3\xAFve caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"),
            (Words{"na\xC3\xAFve", " caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"}));
  // A combining accent (U+0301) is a mark, not a letter: it ends the word and prefixes the next.
  EXPECT_EQ(split(k, "cafe\xCC\x81s"), (Words{"cafe", "\xCC\x81s"}));
  // Non-ASCII white space (U+3000) and digits (U+0663).
  EXPECT_EQ(split(k, "a\xE3\x80\x80\xD9\xA3\xD9\xA3"), (Words{"a", "\xE3\x80\x80", "\xD9\xA3\xD9\xA3"}));
  EXPECT_EQ(split(k, ""), (Words{}));
}

TEST(PreTokenizer, Qwen2SplitsEveryDigit) {
  const auto k = PreTokenizerKind::kQwen2;
  EXPECT_EQ(split(k, "abc123def 45"), (Words{"abc", "1", "2", "3", "def", " ", "4", "5"}));
  EXPECT_EQ(split(k, "It'S ok\r\n\r\n  x"), (Words{"It", "'S", " ok", "\r\n\r\n", " ", " x"}));
  EXPECT_EQ(split(k, " \xE2\x80\x94\xE2\x80\x9Cquotes\xE2\x80\x9D"),
            (Words{" \xE2\x80\x94\xE2\x80\x9C", "quotes", "\xE2\x80\x9D"}));
}

TEST(PreTokenizer, Gpt2) {
  const auto k = PreTokenizerKind::kGpt2;
  EXPECT_EQ(split(k, "I'm WE'LL"), (Words{"I", "'m", " WE", "'", "LL"}));
  EXPECT_EQ(split(k, "1234567 12"), (Words{"1234567", " 12"}));
  EXPECT_EQ(split(k, "a\n\nb"), (Words{"a", "\n", "\n", "b"}));
  EXPECT_EQ(split(k, "  spaces  and\ttabs\n"), (Words{" ", " spaces", " ", " and", "\t", "tabs", "\n"}));
  EXPECT_EQ(split(k, "Hello!!! ...?"), (Words{"Hello", "!!!", " ...?"}));
}

TEST(PreTokenizer, Falcon) {
  EXPECT_EQ(split(PreTokenizerKind::kFalcon, "Hello, world! 12345 a`b"),
            (Words{"Hello", ",", " world", "!", " ", "123", "45", " a", "`", "b"}));
}

TEST(PreTokenizer, Default) {
  EXPECT_EQ(split(PreTokenizerKind::kDefault, "x+=1234; a`b"),
            (Words{"x", "+=", "123", "4", ";", " a", "`", "b"}));
}

TEST(PreTokenizer, DeepseekCoder) {
  EXPECT_EQ(split(PreTokenizerKind::kDeepseekCoder, "Hello world\n123 (x);"),
            (Words{"Hello", " world", "\n", "1", "2", "3", " (", "x", ");"}));
  // CJK runs are split out; U+3000 (white space) is not part of them.
  EXPECT_EQ(split(PreTokenizerKind::kDeepseekCoder, "\xEA\xB0\x80\xE3\x80\x80\xE4\xB8\x80"),
            (Words{"\xEA\xB0\x80", "\xE3\x80\x80", "\xE4\xB8\x80"}));
}

TEST(PreTokenizer, StarcoderSplitsDigitsFirst) {
  EXPECT_EQ(split(PreTokenizerKind::kStarcoder, "x 42"), (Words{"x", " ", "4", "2"}));
}

TEST(PreTokenizer, FindsSpecsByName) {
  ASSERT_NE(find_pre_tokenizer("llama-bpe"), nullptr);
  EXPECT_EQ(find_pre_tokenizer("llama-bpe")->kind, PreTokenizerKind::kLlama3);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->add_bos);
  EXPECT_EQ(find_pre_tokenizer("qwen2")->kind, PreTokenizerKind::kQwen2);
  EXPECT_FALSE(find_pre_tokenizer("qwen2")->clean_spaces);
  EXPECT_EQ(find_pre_tokenizer("")->kind, PreTokenizerKind::kDefault);
  EXPECT_EQ(find_pre_tokenizer("no-such-thing"), nullptr);
}

}  // namespace
}  // namespace jf
