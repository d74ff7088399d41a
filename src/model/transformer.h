// The llama-family forward pass (llama, qwen2) over an f32 KV cache.
//
// One Transformer is one sequence: forward() appends tokens at positions n_past.. and returns their
// logits. Prompts are processed in batches (all matmuls see every token of the batch at once);
// decode is a batch of one. Not thread-safe: one caller at a time; the kernels use the pool.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul/matmul.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace jf {

using TokenId = int32_t;

// K and V of every layer and position: [n_layer][n_ctx][n_embd_kv] f32.
class KvCache {
 public:
  KvCache() = default;
  KvCache(const ModelConfig& config, int n_ctx);
  // Bytes a cache of n_ctx positions holds; UINT64_MAX when that does not fit 64 bits.
  static uint64_t bytes_for(const ModelConfig& config, int64_t n_ctx);
  float* k(int layer, int64_t pos) { return k_.data() + (layer * n_ctx_ + pos) * row_; }
  float* v(int layer, int64_t pos) { return v_.data() + (layer * n_ctx_ + pos) * row_; }
  int n_ctx() const { return static_cast<int>(n_ctx_); }
  uint64_t n_bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

 private:
  int64_t n_ctx_ = 0;
  int64_t row_ = 0;
  std::vector<float> k_, v_;
};

// Chooses the kernel of each matmul of the forward pass (runtime/kernel_select.h consults the
// kdb): weights `w`, a batch of n_tokens. Called for every matmul, so it must be cheap; the kernel
// must be made for w.dtype and stay valid until the next call.
using MatmulKernelFn = std::function<const MatmulKernel&(const TensorView& w, int64_t n_tokens)>;

class Transformer {
 public:
  // `weights` and `pool` must outlive the Transformer. n_ctx: positions the KV cache holds.
  // choose_kernel: empty = select_default_kernel for every matmul.
  Transformer(const ModelConfig& config, const ModelWeights& weights, int n_ctx, ThreadPool& pool,
              MatmulKernelFn choose_kernel = {});

  // Runs `tokens` at positions n_past()..; returns logits [n_rows, n_vocab] where n_rows is
  // tokens.size() when all_logits, else 1 (the last token). The pointer stays valid until the next
  // call. Errors: an id outside the vocabulary (kInvalidArgument), the context full (kOutOfRange).
  Result<const float*> forward(std::span<const TokenId> tokens, bool all_logits);

  int n_past() const { return n_past_; }
  int n_ctx() const { return kv_.n_ctx(); }
  // Forgets the sequence (the cache is overwritten from position 0).
  void reset() { n_past_ = 0; }
  const ModelConfig& config() const { return config_; }
  uint64_t kv_cache_bytes() const { return kv_.n_bytes(); }

 private:
  // Activations of one batch of n tokens, each [n, width] row-major.
  struct Activations {
    std::vector<float> x, xn, q, k, v, attn, tmp, gate, up, logits, cos_sin;
  };

  void forward_batch(std::span<const TokenId> tokens, bool all_logits, int n_out);
  void attention_block(int layer, int64_t n, int64_t n_keep);
  void ffn_block(int layer, int64_t n);
  void reserve(int64_t n_tokens, int n_out);
  const MatmulKernel& kernel_for(const TensorView& w, int64_t n, MatmulKernel* storage);
  void project(const TensorView& w, const float* x, int64_t n, float* y);  // y = x · wᵀ
  // y_i = x · w_iᵀ for up to kMaxSharedOutputs (w_i, y_i) with one encoding of x.
  void project_shared(std::initializer_list<std::pair<const TensorView*, float*>> projections, const float* x,
                      int64_t n);

  ModelConfig config_;
  const ModelWeights& weights_;
  ThreadPool& pool_;
  KvCache kv_;
  int n_past_ = 0;
  Activations a_;
  MatmulScratch matmul_scratch_;
  MatmulKernelFn choose_kernel_;
};

// Tokens per forward batch: longer prompts are split so scratch memory stays bounded.
inline constexpr int kMaxBatchTokens = 512;

}  // namespace jf
