// The golden prompts of ../shared/golden (produced by llama.cpp): prompt token ids and pieces
// (tokens.json), and the pieces and detokenized text of the greedy continuations (greedy.json).
#include <gtest/gtest.h>

#include <map>

#include "json_lite.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/tokenizer_test_util.h"
#include "test_paths.h"

namespace jf {
namespace {

using json_lite::Value;

std::vector<TokenId> ids_of(const Value& array) {
  std::vector<TokenId> ids;
  for (const Value& v : array.as_array()) ids.push_back(static_cast<TokenId>(v.as_int()));
  return ids;
}

// Tokenizers by model path: the golden sets share a few models.
const Tokenizer* tokenizer_for(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[model];
  if (slot == nullptr) slot = test::load_tokenizer(test::shared_path(model));
  return slot.get();
}

class GoldenTest : public ::testing::TestWithParam<const char*> {
 protected:
  // The golden JSON file `name` of this set, or nullopt (test skipped or failed) when unusable.
  std::optional<Value> load(const char* name) {
    const std::string path = std::string("golden/") + GetParam() + "/" + name;
    if (!test::shared_exists(path)) return std::nullopt;
    std::string err;
    auto doc = json_lite::parse_file(test::shared_path(path), &err);
    EXPECT_TRUE(doc.has_value()) << err;
    return doc;
  }
};

TEST_P(GoldenTest, PromptTokensAndPieces) {
  JF_REQUIRE_SHARED(std::string("golden/") + GetParam() + "/tokens.json");
  const auto doc = load("tokens.json");
  ASSERT_TRUE(doc.has_value());
  const Tokenizer* tokenizer = tokenizer_for((*doc)["model"].as_string());
  ASSERT_NE(tokenizer, nullptr);
  ASSERT_GT((*doc)["prompts"].size(), 0u);
  for (const Value& prompt : (*doc)["prompts"].as_array()) {
    const std::string& text = prompt["text"].as_string();
    SCOPED_TRACE(prompt["id"].as_string() + " \"" + test::printable(text) + "\"");
    ASSERT_EQ(test::to_hex(text), prompt["text_utf8_hex"].as_string());
    const std::vector<TokenId> expected = ids_of(prompt["tokens"]);
    const std::vector<TokenId> got = tokenizer->encode(text, /*add_special=*/true);
    ASSERT_EQ(got, expected) << "expected " << test::ids_to_string(expected) << " got " << test::ids_to_string(got);
    for (size_t i = 0; i < got.size(); ++i) {
      // pieces_hex were written with special=true; control tokens render as "" here.
      if (got[i] == tokenizer->bos_id() || got[i] == tokenizer->eos_id()) continue;
      EXPECT_EQ(test::to_hex(tokenizer->token_to_piece(got[i])), prompt["pieces_hex"][i].as_string()) << "token " << i;
    }
  }
}

TEST_P(GoldenTest, GeneratedPiecesAndFullText) {
  JF_REQUIRE_SHARED(std::string("golden/") + GetParam() + "/greedy.json");
  const auto doc = load("greedy.json");
  ASSERT_TRUE(doc.has_value());
  const Tokenizer* tokenizer = tokenizer_for((*doc)["model"].as_string());
  ASSERT_NE(tokenizer, nullptr);
  for (const Value& result : (*doc)["results"].as_array()) {
    SCOPED_TRACE(result["id"].as_string());
    const std::vector<TokenId> generated = ids_of(result["gen_tokens"]);
    for (size_t i = 0; i < generated.size(); ++i) {
      EXPECT_EQ(test::to_hex(tokenizer->token_to_piece(generated[i])), result["gen_pieces_hex"][i].as_string())
          << "token " << i << " = " << generated[i];
      // No golden continuation contains an end-of-generation token (first_eog_index is null).
      if (result["first_eog_index"].is_null()) {
        EXPECT_FALSE(tokenizer->is_eog(generated[i])) << "token " << i;
      }
    }
    std::vector<TokenId> all = ids_of(result["prompt_tokens"]);
    all.insert(all.end(), generated.begin(), generated.end());
    EXPECT_EQ(test::to_hex(tokenizer->detokenize(all)), result["full_text_hex"].as_string());
  }
}

INSTANTIATE_TEST_SUITE_P(Shared, GoldenTest,
                         ::testing::Values("stories260K", "synth-F32", "synth-F16", "synth-BF16", "synth-Q8_0",
                                           "synth-Q4_0", "synth-Q4_1", "synth-Q5_0", "synth-Q5_1", "synth-Q4_K_M",
                                           "synth-Q5_K_M", "synth-Q6_K", "docs-28M", "docs-28M-Q8_0", "docs-28M-Q4_0",
                                           "docs-28M-Q4_K_M", "synth-qwen2-F32", "synth-qwen2-Q8_0",
                                           "synth-qwen2-Q4_0"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(Golden, CommittedStoriesModelMatchesTheReadme) {
  const auto tokenizer = test::load_tokenizer(test::source_path("models/stories260K.gguf"));
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->encode("Once upon a time", true), (std::vector<TokenId>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tokenizer->encode("", true), (std::vector<TokenId>{1}));
  EXPECT_EQ(tokenizer->encode("", false), (std::vector<TokenId>{}));
  EXPECT_EQ(tokenizer->n_vocab(), 512);
  EXPECT_EQ(tokenizer->bos_id(), 1);
  EXPECT_EQ(tokenizer->eos_id(), 2);
  EXPECT_TRUE(tokenizer->add_bos());
  EXPECT_TRUE(tokenizer->is_eog(2));
  EXPECT_FALSE(tokenizer->is_eog(1));
  EXPECT_EQ(tokenizer->token_text(13), "<0x0A>");
  EXPECT_EQ(tokenizer->token_to_piece(13), "\n");
  EXPECT_EQ(tokenizer->token_to_piece(1), "");
  EXPECT_EQ(tokenizer->token_to_piece(-1), "");
  EXPECT_EQ(tokenizer->token_to_piece(512), "");
  EXPECT_EQ(tokenizer->token_text(512), "");
}

}  // namespace
}  // namespace jf
