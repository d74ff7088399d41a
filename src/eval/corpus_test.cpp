// Paragraph splitting and scoring windows of both protocols.
#include "eval/corpus.h"

#include <gtest/gtest.h>

#include "eval/text_file.h"
#include "test_paths.h"

namespace jf::eval {
namespace {

std::unique_ptr<Engine> stories() {
  auto engine = Engine::load(test::source_path("models/stories260K.gguf"), {});
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  return engine.ok() ? std::move(*engine) : nullptr;
}

TEST(CorpusTest, ParagraphsSplitOnBlankLinesWithWhitespaceCollapsed) {
  const std::vector<std::string> p =
      split_paragraphs("  One  two\nthree\t four \n\n \t\nFive.\r\n\n\n  Six\n");
  EXPECT_EQ(p, (std::vector<std::string>{"One two three four", "Five.", "Six"}));
  EXPECT_TRUE(split_paragraphs("\n \n\t\n").empty());
}

TEST(CorpusTest, CorpusWindowsAreConsecutiveSlicesOfBosLedParagraphs) {
  auto engine = stories();
  ASSERT_NE(engine, nullptr);
  const std::string text = "Once upon a time.\n\nThere was a cat.\n\nThe cat sat.\n";
  std::vector<int32_t> stream;
  for (const std::string& p : split_paragraphs(text)) {
    const std::vector<int32_t> t = engine->tokenize(p, true);
    EXPECT_EQ(t[0], 1);  // BOS in front of every paragraph
    stream.insert(stream.end(), t.begin(), t.end());
  }
  const int ctx = 4;
  const std::vector<ScoringWindow> windows = make_windows(*engine, text, TextProtocol::corpus, ctx, 0);
  ASSERT_EQ(windows.size(), stream.size() / (ctx + 1));
  for (size_t w = 0; w < windows.size(); ++w) {
    EXPECT_EQ(windows[w].tokens, std::vector<int32_t>(stream.begin() + w * 5, stream.begin() + w * 5 + 5));
    EXPECT_EQ(windows[w].n_scored(), ctx);
  }
  EXPECT_EQ(make_windows(*engine, text, TextProtocol::corpus, ctx, 2).size(), 2u);
}

TEST(CorpusTest, LlamaWindowsStartWithBosAndScoreTheSecondHalf) {
  auto engine = stories();
  ASSERT_NE(engine, nullptr);
  auto text = read_text_file(test::source_path("tests/data/valid-head.txt"));
  ASSERT_TRUE(text.ok());
  const std::vector<int32_t> stream = engine->tokenize(*text, true);
  const int ctx = 64;
  const std::vector<ScoringWindow> windows = make_windows(*engine, *text, TextProtocol::llama, ctx, 0);
  ASSERT_EQ(windows.size(), stream.size() / ctx);
  for (size_t w = 0; w < windows.size(); ++w) {
    EXPECT_EQ(windows[w].tokens[0], 1);
    EXPECT_EQ(windows[w].tokens[5], stream[w * ctx + 5]);
    EXPECT_EQ(windows[w].n_scored(), ctx - 1 - ctx / 2);  // llama-perplexity: j in [ctx/2, ctx - 1)
  }
}

}  // namespace
}  // namespace jf::eval
