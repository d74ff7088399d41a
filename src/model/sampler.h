// Picks the next token from a row of logits. Greedy when temperature <= 0; otherwise the chain
// llama.cpp users know: repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw.
// Seeded and reproducible: the same seed, logits and history give the same tokens on every
// machine (the random generator and the float math are fully specified here).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/tokenizer/tokenizer.h"

namespace jf {

struct SamplerParams {
  float temperature = 0.8f;    // <= 0: greedy (argmax, lowest id on ties)
  int top_k = 40;              // <= 0: off
  float top_p = 0.95f;         // >= 1: off
  float min_p = 0.05f;         // <= 0: off
  float repeat_penalty = 1.0f; // 1: off; applied to the last repeat_last_n accepted tokens
  int repeat_last_n = 64;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // Chooses a token from logits[0..n_vocab). Does not record it: call accept().
  TokenId sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the repetition penalty.
  void accept(TokenId token);
  // Forgets the history and reseeds.
  void reset();

  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  uint64_t rng_state_;
  std::vector<TokenId> history_;
  std::vector<std::pair<float, TokenId>> candidates_;  // scratch, reused between calls
};

}  // namespace jf
