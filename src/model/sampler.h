// Picks the next token from a row of logits: the chain llama.cpp users know,
// repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw, or greedy (argmax of the
// penalised logits) when temperature <= 0.
//
// Seeded and reproducible: the same seed, logits and history give the same tokens on every
// machine. The random generator is splitmix64 (spelled out in sampler.cpp), one draw per sampled
// token is its top 53 bits times 2^-53, and the probabilities are computed in double with IEEE
// +, -, *, / only (no libm exp, no fused multiply-add), so no platform's rounding can move a draw
// across a token boundary.
//
// Threads: a Sampler is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "jitflow/options.h"
#include "jitflow/status.h"
#include "model/tokenizer/tokenizer.h"

namespace jf {

// kInvalidArgument naming the field when a parameter is unusable (NaN or infinite values,
// repeat_penalty <= 0). Sampler's constructor requires params that pass.
Status check_sampler_params(const SamplingOptions& params);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& params);

  // Chooses a token in [0, logits.size()) (logits must not be empty). NaN logits count as -inf;
  // a -inf logit is never drawn unless every logit is -inf, and then the result is token 0.
  // Does not record the token: call accept().
  TokenId sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the repetition penalty. Ids outside the vocabulary
  // of a later sample() call are ignored there.
  void accept(TokenId token);
  // Forgets the history and reseeds.
  void reset();

  const SamplingOptions& params() const { return params_; }

 private:
  using Candidate = std::pair<float, TokenId>;  // (logit, id)

  void load_candidates(std::span<const float> logits);
  void keep_top_k();
  void keep_top_p();
  void keep_min_p();
  TokenId draw();
  double next_uniform();

  SamplingOptions params_;
  uint64_t rng_state_;
  std::vector<TokenId> history_;
  std::vector<Candidate> candidates_;  // scratch, reused between calls
};

}  // namespace jf
