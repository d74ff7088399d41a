// Text to scoring windows, by the two protocols `jitflow perplexity` offers.
//
// corpus (the protocol of ../shared/corpus/README.md, behind our reference figures): the text is
// split on blank lines into paragraphs, runs of whitespace in each collapsed to one space; each
// paragraph is tokenised on its own with BOS in front (as the vocabulary asks) and the streams
// concatenated; then cut into non-overlapping windows of ctx + 1 tokens from the start (the tail is
// dropped); every one of the ctx positions of a window is scored.
//
// llama (llama-perplexity's): the whole text tokenised at once with BOS, cut into chunks of ctx
// tokens whose first token is replaced by BOS; only the second half of each chunk is scored
// (positions ctx/2 .. ctx-2, each predicting the next token).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jitflow/engine.h"

namespace jf::eval {

enum class TextProtocol : uint8_t { corpus, llama };

// One window: the model reads tokens[0 .. n - 1) from an empty context; position j's logits are
// scored against tokens[j + 1] for j in [first_scored, n - 1).
struct ScoringWindow {
  std::vector<int32_t> tokens;
  int first_scored = 0;

  int n_inputs() const { return static_cast<int>(tokens.size()) - 1; }
  int n_scored() const { return n_inputs() - first_scored; }
};

// The paragraphs of `text`: split on blank lines (lines of nothing but whitespace), whitespace
// runs collapsed to one space, leading and trailing whitespace dropped, empty paragraphs dropped.
std::vector<std::string> split_paragraphs(std::string_view text);

// At most max_windows windows (0: all) of `text` for a context of ctx positions.
std::vector<ScoringWindow> make_windows(const Engine& engine, std::string_view text, TextProtocol protocol,
                                        int ctx, int max_windows);

const char* protocol_name(TextProtocol protocol);  // "corpus", "llama"

}  // namespace jf::eval
