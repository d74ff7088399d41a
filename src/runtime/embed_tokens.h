// Embeddings of token ids: Engine::embed (jitflow/engine.h) of sequences already tokenized, for the
// runtime's own tools (`jitflow bench` times the model without the tokenizer). Not part of the public
// API yet.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "jitflow/engine.h"

namespace jf {

// Engine::embed of `sequences`, each run as given: it should carry the special tokens
// tokenize(text, true) adds ([CLS] ... [SEP]). Errors as embed(): a decoder model (kUnsupported),
// no sequence, an empty one or an id outside the vocabulary (kInvalidArgument), a sequence longer
// than the model's positions (kOutOfRange).
Result<std::vector<std::vector<float>>> embed_tokens(const Engine& engine,
                                                     std::span<const std::vector<int32_t>> sequences,
                                                     const EmbedOptions& options);

}  // namespace jf
