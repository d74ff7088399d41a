// The decoder-only forward pass (llama, qwen2 and any architecture whose row of the table the
// shared blocks implement) over an f32 KV cache.
//
// One Transformer is one sequence: forward() appends tokens at positions n_past.. and returns their
// logits. Prompts are processed in batches (all linears see every token of the batch at once);
// decode is a batch of one. A layer is a norm, attention with the KV cache, a norm and an FFN, each
// a shared block set up from the architecture's kinds (blocks.h); every linear goes through the
// linear seam (linear.h); layer weights come from a WeightProvider. Not thread-safe: one caller at
// a time; the kernels use the pool.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/attention/attention.h"
#include "model/blocks.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/moe.h"
#include "model/sparsity.h"
#include "model/weight_provider.h"

namespace jf {

using TokenId = int32_t;

class Transformer {
 public:
  // `weights`, `pool` and `kernels` must outlive the Transformer. n_ctx: positions the KV cache
  // holds.
  Transformer(const ModelConfig& config, WeightProvider& weights, int n_ctx, ThreadPool& pool,
              KernelChooser& kernels);

  // Runs `tokens` at positions n_past()..; returns logits [n_rows, n_vocab] where n_rows is
  // tokens.size() when all_logits, else 1 (the last token). The pointer stays valid until the next
  // call. Errors: an id outside the vocabulary (kInvalidArgument), the context full (kOutOfRange), a
  // streamed weight's failed read (n_past() then counts the batches that completed).
  Result<const float*> forward(std::span<const TokenId> tokens, bool all_logits);

  int n_past() const { return n_past_; }
  int n_ctx() const { return kv_.n_ctx(); }
  // Forgets the sequence (the cache is overwritten from position 0).
  void reset() { n_past_ = 0; }
  // Encoder-decoder models: the encoder's output [n_tokens, n_embd] that every decoder layer's cross
  // attention reads (its keys and values are computed here, once); starts a new decoder sequence.
  Status set_cross_input(std::span<const float> states, int n_tokens);
  const ModelConfig& config() const { return config_; }
  // Every linear's input goes through `sites` (sparsification, calibration); null: dense. It must
  // outlive its use.
  void set_activation_sites(ActivationSites* sites) { sites_ = sites; }
  uint64_t kv_cache_bytes() const { return kv_.n_bytes(); }
  // Weight bytes every linear (output head included) has read since construction.
  uint64_t linear_bytes_read() const { return linears_.bytes_read(); }

 private:
  // Activations of one batch of n tokens, each [n, width] row-major.
  struct Activations {
    std::vector<float> x, xn, q, k, v, attn, tmp, gate, up, logits, cos_sin;
    // A mixture of experts: router logits [n, n_expert], each token's choices [n, n_expert_used],
    // one expert's rows of input and output [<= n, n_embd].
    std::vector<float> router, expert_x, expert_y;
    std::vector<ExpertChoice> choices;
  };
  // A token routed to an expert, and the weight of the expert's output for it.
  struct ExpertRow {
    int64_t token;
    float weight;
  };

  Status forward_batch(std::span<const TokenId> tokens, bool all_logits, int n_out);
  void embed(std::span<const TokenId> tokens);
  void norm_block(const NormWeight& w, int64_t n);  // xn = norm(x), rows 0..n-1
  Status attention_block(const LayerWeights& w, int layer, int64_t n, int64_t n_keep);
  Status cross_attention_block(const LayerWeights& w, int layer, int64_t n);
  void relative_bias(const LayerWeights& w, int pos, int n_kv, int h_begin, int h_end, float* bias);
  Status ffn_block(const LayerWeights& w, int layer, int64_t n);
  Status moe_ffn_block(const LayerWeights& w, int layer, int64_t n);
  LinearInput keep_input(const LinearInput& in, int64_t n);
  void predict_experts(int layer, int64_t n);
  Status expert_ffn(const ExpertWeights& e, int layer, const LinearInput& in, int64_t n,
                    std::span<const ExpertRow> rows);
  Status output_head(int64_t n);
  LinearInput site_input(int layer, SparseSite site, const float* x, int64_t n, int64_t width);
  void reserve(int64_t n_tokens, int n_out);

  ModelConfig config_;
  WeightProvider& weights_;
  ThreadPool& pool_;
  LinearRunner linears_;
  NormRowFn norm_row_;
  ActivationRowFn activation_row_;
  RopeParams rope_;
  const float* rel_bias0_;  // T5: layer 0's relative-position table, for layers without their own
  // T5: the decoder's bucket of a key `d` positions before the query, d = 0..n_ctx-1 (a bucket costs
  // a log: computed once, not per key and token).
  std::vector<int> decoder_buckets_;
  KvCache kv_;
  // T5: the encoder output's keys and values per layer [n_cross, n_embd_kv].
  std::vector<std::vector<float>> cross_k_, cross_v_;
  int n_cross_ = 0;
  ActivationSites* sites_ = nullptr;
  std::vector<ExpertRow> expert_rows_;
  std::vector<int> predicted_experts_;
  std::vector<int32_t> moe_channels_;
  ActiveChannels moe_active_;
  int n_past_ = 0;
  Activations a_;
};

// Tokens per forward batch: longer prompts are split so scratch memory stays bounded.
inline constexpr int kMaxBatchTokens = 512;

}  // namespace jf
