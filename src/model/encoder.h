// The bidirectional encoder's forward pass (BERT and RoBERTa-style checkpoints, T5's encoder stack):
// hidden states for whole sequences at once, no KV cache, no head.
//
// Several sequences run as one batch (every linear sees all their tokens), each token attending to
// the tokens of its own sequence only: what a padding mask does for a padded batch, without
// computing the padding. Per layer, by the row's norm placement:
//   post-norm (BERT): x = norm(x + o(attention(q(x), k(x), v(x))));  x = norm(x + down(act(up(x))))
//   pre-norm (T5):    x += o(attention(qkv(norm(x))));               x += down(act(norm(x)))
// Embeddings: token + segment 0 + learned position (from 0 in each sequence), then the embedding
// norm, for BERT; T5 adds its relative-position bias to the attention scores instead, and
// normalises the last layer's output. Not thread-safe: one caller at a time; the kernels use the pool.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "model/blocks.h"
#include "model/hparams.h"
#include "model/linear.h"
#include "model/weights.h"

namespace jf {

using TokenId = int32_t;

// How token states become one vector per sequence (llama.cpp's pooling types, same numbers in
// <arch>.pooling_type): none keeps every token's state.
enum class PoolingKind : uint8_t { kNone = 0, kMean = 1, kCls = 2, kLast = 3 };

// The weights an encoder runs: the model's embeddings, and its layers and final norm (null: none).
struct EncoderStack {
  const ModelWeights* model = nullptr;
  std::span<const LayerWeights> layers;
  const NormWeight* output_norm = nullptr;
};

// The encoder of `w`: the model itself (BERT, t5encoder) or an encoder-decoder's encoder stack.
EncoderStack encoder_stack(const ModelWeights& w, const ModelConfig& model_config);

class Encoder {
 public:
  // `stack`'s weights, `pool` and `kernels` must outlive the Encoder; the config is the encoder's
  // (the model's, or encoder_config() of an encoder-decoder), whose forward kind is kEncoder.
  Encoder(const ModelConfig& config, const EncoderStack& stack, ThreadPool& pool, KernelChooser& kernels);

  // The final hidden states [n_tokens, n_embd] of `tokens`, the concatenation of sequences of
  // `lengths` tokens each. Valid until the next call. Errors (kInvalidArgument): an id outside the
  // vocabulary, an empty sequence, lengths that do not sum to tokens.size(); a sequence longer than
  // the model's learned positions (kOutOfRange).
  Result<std::span<const float>> forward(std::span<const TokenId> tokens, std::span<const int> lengths);

  const ModelConfig& config() const { return config_; }

 private:
  Status check_input(std::span<const TokenId> tokens, std::span<const int> lengths) const;
  void embed(std::span<const TokenId> tokens, std::span<const int> lengths);
  void norm_rows(const NormWeight& w, const std::vector<float>& in, std::vector<float>& out, int64_t n);
  Status attention_block(int layer, std::span<const int> lengths, int64_t n);
  Status ffn_block(const LayerWeights& w, int64_t n);
  // T5: the layer's bias by distance, [n_head rows of 2 * max_length - 1]: element d of head h's row
  // is the bias of a key at j - pos = d - (max_length - 1) (the bucket depends on j - pos alone), so
  // the bias row of head h for the query at pos of a sequence of length L <= max_length is the L
  // elements from max_length - 1 - pos.
  std::vector<float> relative_bias_by_distance(int layer, int max_length) const;

  ModelConfig config_;
  EncoderStack stack_;
  ThreadPool& pool_;
  LinearRunner linears_;
  NormRowFn norm_row_;
  ActivationRowFn activation_row_;
  // Activations of the batch, each [n, width] row-major.
  std::vector<float> x_, xn_, q_, k_, v_, attn_, tmp_, gate_, up_;
};

// One vector per sequence of `states` ([sum(lengths), n_embd]), or a copy of states for kNone;
// normalize: each vector scaled to unit L2 norm (a zero vector stays zero).
std::vector<std::vector<float>> pool_states(std::span<const float> states, std::span<const int> lengths,
                                            int n_embd, PoolingKind pooling, bool normalize);

}  // namespace jf
