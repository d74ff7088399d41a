// Tokenizers from handcrafted GGUF metadata: the merge rules on tiny vocabularies, and bad
// metadata, which must give an error naming the key (never a crash).
#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/unicode.h"

namespace jf {
namespace {

template <typename T>
GgufValue value_of(GgufType type, T data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

GgufValue array_of(GgufType type, std::vector<GgufValue> items) {
  return value_of(GgufType::kArray, GgufArray{type, std::move(items)});
}

GgufValue strings(const std::vector<std::string>& texts) {
  std::vector<GgufValue> items;
  for (const std::string& t : texts) items.push_back(value_of(GgufType::kString, t));
  return array_of(GgufType::kString, std::move(items));
}

GgufValue floats(const std::vector<float>& values) {
  std::vector<GgufValue> items;
  for (float f : values) items.push_back(value_of(GgufType::kFloat32, static_cast<double>(f)));
  return array_of(GgufType::kFloat32, std::move(items));
}

GgufValue ints(const std::vector<int32_t>& values) {
  std::vector<GgufValue> items;
  for (int32_t i : values) items.push_back(value_of(GgufType::kInt32, static_cast<int64_t>(i)));
  return array_of(GgufType::kInt32, std::move(items));
}

Result<std::unique_ptr<Tokenizer>> tokenizer_of(const GgufWriter& writer) {
  auto bytes = writer.to_bytes();
  if (!bytes.ok()) return bytes.status();
  auto file = GgufFile::open(make_memory_source(std::move(*bytes), "handmade.gguf"));
  if (!file.ok()) return file.status();
  return Tokenizer::from_gguf(*file);
}

// <unk> <s> </s>, the 256 byte tokens, then `pieces` with `scores`.
GgufWriter spm_writer(const std::vector<std::string>& pieces, const std::vector<float>& scores) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> all_scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    tokens.push_back(hex);
    all_scores.push_back(0);
    types.push_back(6);
  }
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
  all_scores.insert(all_scores.end(), scores.begin(), scores.end());
  types.resize(tokens.size(), 1);
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_value("tokenizer.ggml.tokens", strings(tokens));
  w.set_value("tokenizer.ggml.scores", floats(all_scores));
  w.set_value("tokenizer.ggml.token_type", ints(types));
  return w;
}

constexpr TokenId kFirstPiece = 3 + 256;

// The 256 byte letters of the GPT-2 alphabet (ids 0..255 in byte order), then `extra`.
GgufWriter bpe_writer(const std::vector<std::string>& extra, const std::vector<std::string>& merges) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string letter;
    unicode::append_utf8(unicode::byte_to_codepoint(static_cast<uint8_t>(b)), letter);
    tokens.push_back(letter);
  }
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  w.set_value("tokenizer.ggml.tokens", strings(tokens));
  w.set_value("tokenizer.ggml.merges", strings(merges));
  return w;
}

void expect_error(const GgufWriter& writer, StatusCode code, const std::string& key) {
  const auto tokenizer = tokenizer_of(writer);
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.status().code(), code) << tokenizer.status().to_string();
  EXPECT_NE(tokenizer.status().message().find(key), std::string::npos) << tokenizer.status().to_string();
  EXPECT_NE(tokenizer.status().message().find("handmade.gguf"), std::string::npos) << tokenizer.status().to_string();
}

TEST(SpmRules, MergesTheHighestScoringPairFirst) {
  // "abc": "bc" (-1) beats "ab" (-2), and "abc" is not reachable from "a" + "bc".
  const auto t = tokenizer_of(spm_writer({"\xE2\x96\x81", "a", "b", "c", "ab", "bc"}, {-5, -5, -5, -5, -2, -1}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const TokenId space = kFirstPiece, a = kFirstPiece + 1, bc = kFirstPiece + 5;
  EXPECT_EQ((*t)->encode("abc", false), (std::vector<TokenId>{space, a, bc}));
  EXPECT_EQ((*t)->encode("abc", true), (std::vector<TokenId>{1, space, a, bc}));
  EXPECT_EQ((*t)->detokenize((*t)->encode("abc", false)), "abc");
  EXPECT_EQ((*t)->detokenize((*t)->encode("abc", true)), " abc");  // llama.cpp keeps the space after BOS
}

TEST(SpmRules, BreaksTiesTowardsTheLeftAndFallsBackToBytes) {
  const auto t = tokenizer_of(spm_writer({"\xE2\x96\x81", "a", "aa"}, {-5, -5, -1}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const TokenId space = kFirstPiece, a = kFirstPiece + 1, aa = kFirstPiece + 2;
  EXPECT_EQ((*t)->encode("aaa", false), (std::vector<TokenId>{space, aa, a}));
  // "é" is not in the vocabulary: its two UTF-8 bytes become <0xC3> <0xA9>.
  EXPECT_EQ((*t)->encode("\xC3\xA9", false), (std::vector<TokenId>{space, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ((*t)->token_to_piece(3 + 0xC3), "\xC3");
  EXPECT_EQ((*t)->detokenize((*t)->encode("a \xC3\xA9 a", false)), "a \xC3\xA9 a");
}

TEST(SpmRules, AddSpacePrefixCanBeTurnedOff) {
  GgufWriter w = spm_writer({"\xE2\x96\x81", "a"}, {-5, -5});
  w.set_bool("tokenizer.ggml.add_space_prefix", false);
  const auto t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("a a", false), (std::vector<TokenId>{kFirstPiece + 1, kFirstPiece, kFirstPiece + 1}));
  EXPECT_EQ((*t)->detokenize((*t)->encode("a a", false)), "a a");
}

TEST(BpeRules, MergesByRankThenLeftmost) {
  // ids: 256 "ab", 257 "bc", 258 "abc", 259 "aa"
  const auto t = tokenizer_of(bpe_writer({"ab", "bc", "abc", "aa"}, {"b c", "a b", "a bc", "a a"}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("abc", false), (std::vector<TokenId>{258}));  // b+c first, then a+bc
  EXPECT_EQ((*t)->encode("aaa", false), (std::vector<TokenId>{259, TokenId{'a'}}));
  EXPECT_EQ((*t)->encode(" abc", false), (std::vector<TokenId>{TokenId{' '}, 258}));
  EXPECT_EQ((*t)->token_to_piece(0x20), " ");
  EXPECT_EQ((*t)->detokenize((*t)->encode("abc aaa\n", false)), "abc aaa\n");
}

TEST(BpeRules, InvalidUtf8BecomesTheReplacementCharacter) {
  const auto t = tokenizer_of(bpe_writer({}, {}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("\xFF", false), (std::vector<TokenId>{0xEF, 0xBF, 0xBD}));
}

TEST(TokenizerErrors, MissingTokenizerKeys) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  expect_error(w, StatusCode::kNotFound, "tokenizer.ggml.model");
  w.set_string("tokenizer.ggml.model", "llama");
  expect_error(w, StatusCode::kNotFound, "tokenizer.ggml.tokens");
}

TEST(TokenizerErrors, UnknownModelOrPreTokenizer) {
  GgufWriter w = spm_writer({}, {});
  w.set_string("tokenizer.ggml.model", "rwkv");
  expect_error(w, StatusCode::kUnsupported, "tokenizer.ggml.model");
  GgufWriter b = bpe_writer({}, {});
  b.set_string("tokenizer.ggml.pre", "no-such-regex");
  expect_error(b, StatusCode::kUnsupported, "tokenizer.ggml.pre");
}

TEST(TokenizerErrors, MalformedTokenArrays) {
  GgufWriter w = spm_writer({"a"}, {-1});
  w.set_value("tokenizer.ggml.scores", floats({0, 0}));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.scores");
  w = spm_writer({"a"}, {-1});
  w.set_value("tokenizer.ggml.token_type", ints({1}));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.token_type");
  w = spm_writer({"a"}, {-1});
  w.set_value("tokenizer.ggml.tokens", ints({1, 2, 3}));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.tokens");
  w = spm_writer({"a"}, {-1});
  w.set_string("tokenizer.ggml.tokens", "a");
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.tokens");
  w = spm_writer({"a"}, {-1});
  w.set_value("tokenizer.ggml.tokens", strings({}));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.tokens");
  w = spm_writer({"a", "a"}, {-1, -1});
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.tokens");
  w = spm_writer({"a"}, {-1});
  w.set_value("tokenizer.ggml.scores", strings(std::vector<std::string>(3 + 256 + 1, "x")));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.scores");
}

TEST(TokenizerErrors, MalformedMerges) {
  expect_error(bpe_writer({"ab"}, {"a b", "a zz"}), StatusCode::kCorruptFile, "tokenizer.ggml.merges[1]");
  expect_error(bpe_writer({"ab"}, {"ab"}), StatusCode::kCorruptFile, "tokenizer.ggml.merges[0]");
  GgufWriter w = bpe_writer({}, {});
  w.set_value("tokenizer.ggml.merges", ints({1}));
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.merges");
  GgufWriter missing;
  missing.set_string("tokenizer.ggml.model", "gpt2");
  missing.set_value("tokenizer.ggml.tokens", strings({"a"}));
  expect_error(missing, StatusCode::kNotFound, "tokenizer.ggml.merges");
}

TEST(TokenizerErrors, SpecialTokenIds) {
  // Out-of-range ids (converters write 0xFFFFFFFF for "none") are ignored, as in llama.cpp...
  GgufWriter w = spm_writer({"a"}, {-1});
  w.set_uint32("tokenizer.ggml.eos_token_id", 0xFFFFFFFFu);
  w.set_uint32("tokenizer.ggml.padding_token_id", 0xFFFFFFFFu);
  auto t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->eos_id(), 2);
  // ... but a BOS that must be added has to exist, and an id must be an integer.
  GgufWriter b = bpe_writer({}, {});
  b.set_bool("tokenizer.ggml.add_bos_token", true);
  b.set_uint32("tokenizer.ggml.bos_token_id", 1000);
  auto with_default_bos = tokenizer_of(b);  // 1000 is out of range: the gpt2 default 11 stays
  ASSERT_TRUE(with_default_bos.ok()) << with_default_bos.status().to_string();
  EXPECT_EQ((*with_default_bos)->encode("", true), (std::vector<TokenId>{11}));
  GgufWriter tiny;
  tiny.set_string("tokenizer.ggml.model", "gpt2");
  tiny.set_string("tokenizer.ggml.pre", "gpt-2");
  tiny.set_value("tokenizer.ggml.tokens", strings({"a", "b"}));
  tiny.set_value("tokenizer.ggml.merges", strings({}));
  tiny.set_bool("tokenizer.ggml.add_bos_token", true);
  expect_error(tiny, StatusCode::kCorruptFile, "tokenizer.ggml.add_bos_token");
  GgufWriter s = spm_writer({"a"}, {-1});
  s.set_string("tokenizer.ggml.bos_token_id", "1");
  expect_error(s, StatusCode::kCorruptFile, "tokenizer.ggml.bos_token_id");
  GgufWriter flag = spm_writer({"a"}, {-1});
  flag.set_uint32("tokenizer.ggml.add_bos_token", 1);
  expect_error(flag, StatusCode::kCorruptFile, "tokenizer.ggml.add_bos_token");
}

}  // namespace
}  // namespace jf
