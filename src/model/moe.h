// The routing of a mixture of experts (Mixtral; llama.cpp's build_moe_ffn with softmax gating):
// each token's router logits become probabilities, the token goes to its k most probable experts,
// and their outputs are summed weighted by those probabilities renormalised to sum to 1.
#pragma once

#include <cstdint>
#include <span>

namespace jf {

// Experts per FFN a model may have (llama.cpp's LLAMA_MAX_EXPERTS).
inline constexpr int kMaxExperts = 512;

// One of a token's experts and the weight of its output.
struct ExpertChoice {
  int32_t expert;
  float weight;
};

// The choices of one token, most probable first: softmax(logits) [n_expert], the out.size() most
// probable (ties: the lower index), weights = their probabilities / their sum (at least 2^-14, as
// llama.cpp clamps it), times `scale` unless it is 0 or 1. `logits` is overwritten.
// out.size() must be in 1..logits.size().
void route_token(std::span<float> logits, float scale, std::span<ExpertChoice> out);

}  // namespace jf
