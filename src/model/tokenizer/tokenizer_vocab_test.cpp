// Every case of llama.cpp's tokenizer test vocabularies (../shared/vocab, and the T5-layout Unigram
// vocabulary committed in tests/data/vocab): the .inp file holds test strings separated by lines
// "__ggml_vocab_test__", the .out file one line of expected ids per string, tokenized without
// BOS/EOS and without parsing special tokens.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <sstream>

#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_test_util.h"
#include "model/tokenizer/unicode.h"
#include "test_paths.h"

namespace jf {
namespace {

std::vector<std::string> read_inputs(const std::string& path) {
  static const std::string kSeparator = "\n__ggml_vocab_test__\n";
  const std::string all = test::read_file(path);
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < all.size();) {
    size_t end = all.find(kSeparator, pos);
    if (end == std::string::npos) end = all.size();
    inputs.push_back(all.substr(pos, end - pos));
    pos = end + kSeparator.size();
  }
  return inputs;
}

std::vector<std::vector<TokenId>> read_outputs(const std::string& path) {
  std::vector<std::vector<TokenId>> outputs;
  std::istringstream lines(test::read_file(path));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    std::vector<TokenId>& out = outputs.emplace_back();
    for (TokenId id; ids >> id;) out.push_back(id);
  }
  return outputs;
}

// A vocabulary file and how many test strings its .inp holds.
struct VocabCase {
  const char* file;
  size_t n_cases;
  bool committed;  // in tests/data/vocab rather than ../shared/vocab
};

std::string vocab_path(const VocabCase& c) {
  return c.committed ? test::source_path(std::string("tests/data/vocab/") + c.file)
                     : test::shared_path(std::string("vocab/") + c.file);
}

#define JF_REQUIRE_VOCAB(c)                                                  \
  do {                                                                       \
    if (!(c).committed) JF_REQUIRE_SHARED(std::string("vocab/") + (c).file); \
  } while (0)

class VocabFileTest : public ::testing::TestWithParam<VocabCase> {};

TEST_P(VocabFileTest, ReproducesEveryCase) {
  JF_REQUIRE_VOCAB(GetParam());
  const std::string path = vocab_path(GetParam());
  const auto tokenizer = test::load_tokenizer(path);
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<std::string> inputs = read_inputs(path + ".inp");
  const std::vector<std::vector<TokenId>> outputs = read_outputs(path + ".out");
  ASSERT_GE(outputs.size(), inputs.size()) << "fewer expected lines than test strings";
  size_t passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<TokenId> got = tokenizer->encode(inputs[i], /*add_special=*/false);
    if (got == outputs[i]) {
      ++passed;
      continue;
    }
    ADD_FAILURE() << GetParam().file << " case " << i << " \"" << test::printable(inputs[i])
                  << "\"\n  expected " << test::ids_to_string(outputs[i]) << "\n  got      "
                  << test::ids_to_string(got);
  }
  std::cout << GetParam().file << ": " << passed << "/" << inputs.size() << " cases\n";
  EXPECT_EQ(inputs.size(), GetParam().n_cases);
}

INSTANTIATE_TEST_SUITE_P(Shared, VocabFileTest,
                         ::testing::Values(VocabCase{"ggml-vocab-llama-spm.gguf", 46, false},
                                           VocabCase{"ggml-vocab-phi-3.gguf", 46, false},
                                           VocabCase{"ggml-vocab-gpt-2.gguf", 46, false},
                                           VocabCase{"ggml-vocab-falcon.gguf", 46, false},
                                           VocabCase{"ggml-vocab-deepseek-coder.gguf", 46, false},
                                           VocabCase{"ggml-vocab-bert-bge.gguf", 46, false},
                                           VocabCase{"ggml-vocab-t5-unigram.gguf", 69, true}),
                         [](const ::testing::TestParamInfo<VocabCase>& param_info) {
                           std::string n = param_info.param.file;
                           n = n.substr(std::string("ggml-vocab-").size());
                           n = n.substr(0, n.find(".gguf"));
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// With add_special, and back to text: tests/data/vocab holds, for each .inp case, the ids of
// llama_tokenize(add_special=true) (.special.out) and the hex bytes of llama_detokenize(those ids,
// remove_special=true, unparse_special=false) (.detok), written by llama.cpp (tests/data/README.md).
class VocabSpecialFileTest : public ::testing::TestWithParam<VocabCase> {};

TEST_P(VocabSpecialFileTest, AddsSpecialTokensAndDetokenizesLikeLlamaCpp) {
  JF_REQUIRE_VOCAB(GetParam());
  const std::string path = vocab_path(GetParam());
  const std::string expected = test::source_path(std::string("tests/data/vocab/") + GetParam().file);
  const auto tokenizer = test::load_tokenizer(path);
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<std::string> inputs = read_inputs(path + ".inp");
  const std::vector<std::vector<TokenId>> outputs = read_outputs(expected + ".special.out");
  std::vector<std::string> texts;
  std::istringstream lines(test::read_file(expected + ".detok"));
  for (std::string line; std::getline(lines, line);) texts.push_back(from_hex(line));
  ASSERT_EQ(inputs.size(), GetParam().n_cases);
  ASSERT_GE(outputs.size(), inputs.size());
  ASSERT_GE(texts.size(), inputs.size());
  size_t ids_passed = 0;
  size_t texts_passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<TokenId> got = tokenizer->encode(inputs[i], /*add_special=*/true);
    EXPECT_EQ(got, outputs[i]) << "case " << i << " \"" << test::printable(inputs[i]) << "\"";
    ids_passed += got == outputs[i];
    const std::string text = tokenizer->detokenize(outputs[i]);
    EXPECT_EQ(text, texts[i]) << "case " << i << " \"" << test::printable(inputs[i]) << "\"";
    texts_passed += text == texts[i];
  }
  std::cout << GetParam().file << ": add_special " << ids_passed << "/" << inputs.size() << ", detokenize "
            << texts_passed << "/" << inputs.size() << " cases\n";
}

INSTANTIATE_TEST_SUITE_P(Vocab, VocabSpecialFileTest,
                         ::testing::Values(VocabCase{"ggml-vocab-bert-bge.gguf", 46, false},
                                           VocabCase{"ggml-vocab-t5-unigram.gguf", 69, true}),
                         [](const ::testing::TestParamInfo<VocabCase>& param_info) {
                           return std::string(param_info.param.file).find("bert") != std::string::npos
                                      ? "bert_bge"
                                      : "t5_unigram";
                         });

TEST(VocabFile, ParsesSpecialTokensOnlyWhenAsked) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  const auto gpt2 = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-gpt-2.gguf"));
  ASSERT_NE(gpt2, nullptr);
  const std::string text = "Hello<|endoftext|> world";
  const std::vector<TokenId> parsed = gpt2->encode(text, false, /*parse_special=*/true);
  EXPECT_EQ(parsed, (std::vector<TokenId>{15496, 50256, 995}));
  const std::vector<TokenId> literal = gpt2->encode(text, false, /*parse_special=*/false);
  EXPECT_EQ(std::count(literal.begin(), literal.end(), 50256), 0);
  EXPECT_EQ(gpt2->detokenize(literal), text);
  EXPECT_TRUE(gpt2->is_eog(50256));
  EXPECT_FALSE(gpt2->add_bos());
  EXPECT_EQ(gpt2->encode("Hello", /*add_special=*/true), (std::vector<TokenId>{15496}));
}

TEST(VocabFile, Gpt2DetokenizeCleansUpSpacesLikeLlamaCpp) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-gpt-2.gguf");
  const auto gpt2 = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-gpt-2.gguf"));
  ASSERT_NE(gpt2, nullptr);
  const std::string text = "a , b . c ! d ? e 's f 'm g 're h 've i 't j 'd k 'll l ' m ' n";
  EXPECT_EQ(gpt2->detokenize(gpt2->encode(text, false)), "a, b. c! d? e's f'm g're h've i 't j 'd k 'll l'm'n");
  // deepseek-coder turns the clean-up off.
  JF_REQUIRE_SHARED("vocab/ggml-vocab-deepseek-coder.gguf");
  const auto ds = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-deepseek-coder.gguf"));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->detokenize(ds->encode(text, false)), text);
}

TEST(VocabFile, Phi3SpecialTokensSwallowTheWhiteSpaceAfterThem) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-phi-3.gguf");
  const auto phi3 = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-phi-3.gguf"));
  ASSERT_NE(phi3, nullptr);
  std::vector<TokenId> expected = {32010};  // <|user|>
  for (TokenId id : phi3->encode("Hello", false)) expected.push_back(id);
  EXPECT_EQ(phi3->encode("<|user|>\n Hello", false, true), expected);
  EXPECT_TRUE(phi3->is_eog(32007));  // <|end|>
  EXPECT_TRUE(phi3->is_eog(32000));  // <|endoftext|>, the EOS
  EXPECT_EQ(phi3->token_to_piece(32007), "");
}

TEST(VocabFile, DeepseekUserDefinedTokensAreMatchedInText) {
  JF_REQUIRE_SHARED("vocab/ggml-vocab-deepseek-coder.gguf");
  const auto ds = test::load_tokenizer(test::shared_path("vocab/ggml-vocab-deepseek-coder.gguf"));
  ASSERT_NE(ds, nullptr);
  // "õ" (32000) and "<|User|>" (32019) are user-defined: found even without parse_special.
  const std::vector<TokenId> ids = ds->encode("a\xC3\xB5<|User|>", false, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[ids.size() - 2], 32000);
  EXPECT_EQ(ids.back(), 32019);
  EXPECT_EQ(ds->token_to_piece(32019), "<|User|>");
  EXPECT_EQ(ds->detokenize(ids), "a\xC3\xB5<|User|>");
}

// Random strings built from awkward pieces (invalid UTF-8, U+2581, special-token texts, digits,
// white space) must never crash or produce an out-of-range id, and must come back from the
// pieces: exactly for SentencePiece when valid UTF-8, with invalid UTF-8 as U+FFFD for byte-level
// BPE. WordPiece and Unigram normalise (lowercase and no accents, or NFKC; single spaces), so
// their text only comes back as text that encodes to the same ids, when nothing was unknown.
// Strings holding special-token texts are only checked for sanity.
TEST_P(VocabFileTest, RandomTextSurvivesTheRoundTrip) {
  JF_REQUIRE_VOCAB(GetParam());
  const auto tokenizer = test::load_tokenizer(vocab_path(GetParam()));
  ASSERT_NE(tokenizer, nullptr);
  const bool spm = tokenizer->token_text(3) == "<0x00>";
  const bool normalizing = tokenizer->token_text(0) == "[PAD]" || tokenizer->token_text(0) == "<pad>";
  const TokenId unk = normalizing ? tokenizer->encode("\xEF\xBF\xBF", false).back() : -1;  // U+FFFF: unknown
  const std::vector<std::string> plain = {" ", "  ", "\n", "\t", "\r\n", "a", "Hello", "'s", "'LL", "123", "4",
                                          "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x99\x82", "\xE3\x80\x80",
                                          "\xCC\x81", "\xC3", "\x80", "\xFF", "\xF5\x80\x80\x80", "!!", "$", "\x00"};
  const std::vector<std::string> special = {"<|endoftext|>", "<s>", "</s>", "<|user|>", "<unk>", "\xE2\x96\x81"};
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    bool has_special = false;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      if (rng() % 8 == 0) {
        text += special[rng() % special.size()];
        has_special = true;
      } else {
        text += plain[rng() % plain.size()];
      }
    }
    SCOPED_TRACE("\"" + test::printable(text) + "\"");
    for (bool parse_special : {false, true}) {
      for (TokenId id : tokenizer->encode(text, true, parse_special)) ASSERT_TRUE(id >= 0 && id < tokenizer->n_vocab());
    }
    if (has_special) continue;
    const std::vector<TokenId> ids = tokenizer->encode(text, false);
    std::string normalized;
    for (uint32_t cpt : unicode::decode_utf8(text)) unicode::append_utf8(cpt, normalized);
    if (normalizing) {
      if (std::count(ids.begin(), ids.end(), unk) == 0) {  // the unknown token prints nothing
        EXPECT_EQ(tokenizer->encode(tokenizer->detokenize(ids), false), ids);
      }
    } else if (spm) {
      // A stray lead byte swallows the bytes after it into one "character" (as in llama.cpp), so
      // a space there comes back as U+2581: only valid UTF-8 round-trips exactly.
      if (normalized == text) {
        EXPECT_EQ(tokenizer->detokenize(ids), text);
      }
    } else {
      std::string joined;
      for (TokenId id : ids) joined += tokenizer->token_to_piece(id);
      EXPECT_EQ(joined, normalized);
    }
  }
}

}  // namespace
}  // namespace jf
