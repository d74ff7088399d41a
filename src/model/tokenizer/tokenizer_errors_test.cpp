// Tokenizers from handcrafted GGUF metadata: the merge rules on tiny vocabularies, WordPiece's and
// Unigram's rules, and bad metadata, which must give an error naming the key (never a crash).
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

// The WpmRules and UgmRules expectations below are llama.cpp's: the same vocabularies written to
// files and run through libllama v0.5.0 (tools/llama_ref tokenize, with and without --add-special,
// and llama_detokenize) gave these ids and texts.

// "[PAD]" "[UNK]" "[CLS]" "[SEP]" (control), then `pieces`; the ids of the four given by keys, as
// BERT's defaults (100-102) lie outside so small a vocabulary.
GgufWriter wpm_writer(const std::vector<std::string>& pieces) {
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
  std::vector<int32_t> types(tokens.size(), 1);
  std::fill(types.begin(), types.begin() + 4, 3);
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "bert");
  w.set_value("tokenizer.ggml.tokens", strings(tokens));
  w.set_value("tokenizer.ggml.token_type", ints(types));
  w.set_uint32("tokenizer.ggml.unknown_token_id", 1);
  w.set_uint32("tokenizer.ggml.bos_token_id", 2);
  w.set_uint32("tokenizer.ggml.seperator_token_id", 3);
  return w;
}

TEST(WpmRules, LongestMatchFromTheLeftAndUnknownWords) {
  // ids 4.. : "▁hello" "▁hell" "o" "▁," "▁wor" "ld" "▁caf" "e"
  const auto t = tokenizer_of(
      wpm_writer({"\xE2\x96\x81hello", "\xE2\x96\x81hell", "o", "\xE2\x96\x81,", "\xE2\x96\x81wor", "ld",
                  "\xE2\x96\x81"
                  "caf",
                  "e"}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  // Lowercased, punctuation split off; "!" has no token, so its word is [UNK].
  EXPECT_EQ((*t)->encode("Hello, World!", false), (std::vector<TokenId>{4, 7, 8, 9, 1}));
  // A word that cannot be covered to its end is one [UNK], whatever matched before.
  EXPECT_EQ((*t)->encode("hellx hello", false), (std::vector<TokenId>{1, 4}));
  // Accents stripped (the first codepoint of the NFD form), control characters dropped.
  EXPECT_EQ((*t)->encode("CAF\xC3\x89\x07", false), (std::vector<TokenId>{10, 11}));
  EXPECT_EQ((*t)->encode("hello", true), (std::vector<TokenId>{2, 4, 3}));  // [CLS] ... [SEP]
  EXPECT_EQ((*t)->encode("", true), (std::vector<TokenId>{2, 3}));
  EXPECT_EQ((*t)->bos_id(), 2);
  EXPECT_EQ((*t)->eos_id(), -1);  // llama.cpp gives BERT no EOS
  EXPECT_EQ((*t)->token_to_piece(4), " hello");
  EXPECT_EQ((*t)->token_to_piece(9), "ld");
  EXPECT_EQ((*t)->token_to_piece(3), "");
  // The word-start space stays in front (no dummy prefix to remove); " ," loses its space.
  EXPECT_EQ((*t)->detokenize((*t)->encode("Hello, World", true)), " hello, world");
}

TEST(WpmRules, NormaliserOptionsFromTheFile) {
  GgufWriter w = wpm_writer({"\xE2\x96\x81Hello", "\xE2\x96\x81h\xC3\xA9"});
  w.set_bool("tokenizer.ggml.normalizer.lowercase", false);  // strip_accents follows it
  auto t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("Hello h\xC3\xA9 hello", false), (std::vector<TokenId>{4, 5, 1}));
  w.set_bool("tokenizer.ggml.normalizer.strip_accents", true);
  t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("h\xC3\xA9", false), (std::vector<TokenId>{1}));
}

// "<pad>" "</s>" (control), "<unk>", then `pieces` with `scores`: T5's layout.
GgufWriter ugm_writer(const std::vector<std::string>& pieces, const std::vector<float>& scores) {
  std::vector<std::string> tokens = {"<pad>", "</s>", "<unk>"};
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
  std::vector<float> all_scores = {0, 0, 0};
  all_scores.insert(all_scores.end(), scores.begin(), scores.end());
  std::vector<int32_t> types(tokens.size(), 1);
  types[0] = types[1] = 3;
  types[2] = 2;
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "t5");
  w.set_value("tokenizer.ggml.tokens", strings(tokens));
  w.set_value("tokenizer.ggml.scores", floats(all_scores));
  w.set_value("tokenizer.ggml.token_type", ints(types));
  w.set_bool("tokenizer.ggml.add_space_prefix", true);
  w.set_bool("tokenizer.ggml.remove_extra_whitespaces", true);
  return w;
}

GgufValue bytes_of(const std::vector<uint8_t>& bytes) {
  std::vector<GgufValue> items;
  for (uint8_t b : bytes) items.push_back(value_of(GgufType::kUint8, uint64_t{b}));
  return array_of(GgufType::kUint8, std::move(items));
}

// A precompiled charsmap that replaces the byte `from` with `to`: a 512-unit XOR-compressed
// double array (the root's base is 256; its child for `from`, unit 256 ^ from, is a leaf whose
// value sits in unit 2 and names `offset` in the strings), then the strings `to` + NUL.
std::vector<uint8_t> one_rule_charsmap(uint8_t from, const std::string& to, uint32_t offset = 0,
                                       bool terminated = true) {
  std::vector<uint32_t> units(512, 0);
  units[0] = 256u << 10;
  const uint32_t child = 256u ^ from;
  units[child] = ((child ^ 2u) << 10) | (1u << 8) | from;
  units[2] = (1u << 31) | offset;
  std::vector<uint8_t> bytes;
  const auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(static_cast<uint32_t>(units.size() * 4));
  for (uint32_t u : units) put32(u);
  bytes.insert(bytes.end(), to.begin(), to.end());
  if (terminated) bytes.push_back(0);
  return bytes;
}

constexpr TokenId kFirstUgmPiece = 3;

TEST(UgmRules, ViterbiPicksTheBestTotalScore) {
  // ids 3.. : "▁" "a" "b" "ab"
  const std::vector<std::string> pieces = {"\xE2\x96\x81", "a", "b", "ab"};
  auto t = tokenizer_of(ugm_writer(pieces, {-1, -1, -1, -3.5f}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const TokenId space = kFirstUgmPiece, a = space + 1, b = space + 2, ab = space + 3;
  EXPECT_EQ((*t)->encode("ab", false), (std::vector<TokenId>{space, a, b}));  // -3 beats -4.5
  t = tokenizer_of(ugm_writer(pieces, {-1, -1, -1, -1.5f}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("ab", false), (std::vector<TokenId>{space, ab}));    // -2.5 beats -3
  EXPECT_EQ((*t)->encode("ab", true), (std::vector<TokenId>{space, ab, 1}));  // </s>, no BOS
  EXPECT_FALSE((*t)->add_bos());
  EXPECT_EQ((*t)->detokenize((*t)->encode("ab  a", true)), "ab a");
}

TEST(UgmRules, UnknownCharactersCostAPenaltyAndMergeIntoOneToken) {
  const auto t = tokenizer_of(ugm_writer({"\xE2\x96\x81", "a"}, {-1, -1}));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const TokenId space = kFirstUgmPiece, a = space + 1;
  EXPECT_EQ((*t)->encode("aq\xC3\xA9qa", false), (std::vector<TokenId>{space, a, 2, a}));
  EXPECT_EQ((*t)->encode("\xFF", false), (std::vector<TokenId>{space, 2}));  // U+FFFD, unknown
  EXPECT_EQ((*t)->token_to_piece(2), "");
}

TEST(UgmRules, WhiteSpaceOptionsFromTheFile) {
  GgufWriter w = ugm_writer({"\xE2\x96\x81", "a", "b"}, {-1, -1, -1});
  const TokenId space = kFirstUgmPiece, a = space + 1, b = space + 2;
  auto t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("  a   b  ", false), (std::vector<TokenId>{space, a, space, b}));
  w.set_bool("tokenizer.ggml.remove_extra_whitespaces", false);
  w.set_bool("tokenizer.ggml.add_space_prefix", false);
  t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("a  b ", false), (std::vector<TokenId>{a, space, space, b, space}));
  EXPECT_EQ((*t)->detokenize((*t)->encode("a  b ", false)), "a  b ");
}

TEST(UgmRules, TheCharsmapReplacesTheLongestPrefixItKnows) {
  // ids 3.. : "▁" "x" "y" "▁xy"; the charsmap turns "A" into "xy".
  GgufWriter w = ugm_writer({"\xE2\x96\x81", "x", "y", "\xE2\x96\x81xy"}, {-1, -1, -1, -1});
  const TokenId space = kFirstUgmPiece, xy = space + 3;
  auto t = tokenizer_of(w);  // no charsmap: no normalisation but spaces, as in llama.cpp
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("A", false), (std::vector<TokenId>{space, 2}));
  w.set_value("tokenizer.ggml.precompiled_charsmap", bytes_of(one_rule_charsmap('A', "xy")));
  t = tokenizer_of(w);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("A", false), (std::vector<TokenId>{xy}));
  EXPECT_EQ((*t)->encode("AA", false), (std::vector<TokenId>{xy, space + 1, space + 2}));
}

TEST(TokenizerErrors, MalformedCharsmap) {
  const char* key = "tokenizer.ggml.precompiled_charsmap";
  GgufWriter w = ugm_writer({"\xE2\x96\x81"}, {-1});
  w.set_string(key, "not bytes");
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, ints({1, 2, 3, 4, 5}));
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, bytes_of({8, 0, 0}));  // shorter than its header
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, bytes_of({8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));  // no strings after the trie
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, bytes_of(one_rule_charsmap('A', "xy", /*offset=*/100)));  // names a string past the end
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, bytes_of(one_rule_charsmap('A', "xy", 0, /*terminated=*/false)));
  expect_error(w, StatusCode::kCorruptFile, key);
  w.set_value(key, bytes_of(one_rule_charsmap('A', "xy")));
  EXPECT_TRUE(tokenizer_of(w).ok());
  w.set_string("tokenizer.ggml.remove_extra_whitespaces", "yes");
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.remove_extra_whitespaces");
}

TEST(TokenizerErrors, WordPieceAndUnigramNeedAnUnknownToken) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "t5");
  w.set_value("tokenizer.ggml.tokens", strings({"<pad>", "</s>"}));  // T5's default <unk> is id 2
  expect_error(w, StatusCode::kCorruptFile, "tokenizer.ggml.unknown_token_id");
  GgufWriter b = wpm_writer({"a"});
  b.set_uint32("tokenizer.ggml.unknown_token_id", 1000);  // out of range: BERT's default 100 is too
  expect_error(b, StatusCode::kCorruptFile, "tokenizer.ggml.unknown_token_id");
  b = wpm_writer({"a"});
  b.set_string("tokenizer.ggml.normalizer.lowercase", "no");
  expect_error(b, StatusCode::kCorruptFile, "tokenizer.ggml.normalizer.lowercase");
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
