#include "model/transformer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "base/checked_math.h"
#include "kernels/attention/attention.h"
#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/rope/rope.h"
#include "kernels/swiglu/swiglu.h"

namespace jf {
namespace {

void add_bias(float* rows, const TensorView& bias, int64_t n_rows) {
  if (!bias.present()) return;
  const float* b = bias.f32();
  for (int64_t t = 0; t < n_rows; ++t) {
    float* row = rows + t * bias.n_cols;
    for (int64_t i = 0; i < bias.n_cols; ++i) row[i] += b[i];
  }
}

void add_into(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// Calls fn(t) for every row t in [0, n): spread over the pool for a prefill batch, inline for one
// token (a pool job costs more than one row of these element-wise ops).
template <typename Fn>
void for_each_row(ThreadPool& pool, int64_t n, const Fn& fn) {
  if (n == 1) {
    fn(0);
    return;
  }
  pool.parallel_for(n, pool.chunk_count(n), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) fn(t);
  });
}

// Query heads per attention work item: a whole KV group when that leaves an item for every thread
// (the group's K and V rows are then read once per token), else the largest divisor of the group
// that does (decode has few tokens and few KV heads).
int heads_per_item(int group, int64_t n_groups, int n_threads) {
  for (int heads = group; heads > 1; --heads) {
    if (group % heads == 0 && n_groups * (group / heads) >= n_threads) return heads;
  }
  return 1;
}

RopeParams rope_params(const ModelConfig& c, const ModelWeights& w) {
  RopeParams p;
  p.n_rot = c.n_rot;
  p.freq_base = c.rope_freq_base;
  p.freq_scale = c.rope_freq_scale;
  p.pairing = c.rope_style == RopeStyle::kNormal ? RopePairing::kAdjacent : RopePairing::kHalves;
  p.freq_factors = w.rope_freqs.present() ? w.rope_freqs.f32() : nullptr;
  return p;
}

}  // namespace

KvCache::KvCache(const ModelConfig& config, int n_ctx)
    : n_ctx_(n_ctx),
      row_(config.n_embd_kv()),
      k_(static_cast<size_t>(config.n_layer) * n_ctx * config.n_embd_kv()),
      v_(static_cast<size_t>(config.n_layer) * n_ctx * config.n_embd_kv()) {}

uint64_t KvCache::bytes_for(const ModelConfig& config, int64_t n_ctx) {
  std::optional<uint64_t> bytes = checked_mul(static_cast<uint64_t>(config.n_layer), static_cast<uint64_t>(n_ctx));
  if (bytes) bytes = checked_mul(*bytes, static_cast<uint64_t>(config.n_embd_kv()));
  if (bytes) bytes = checked_mul(*bytes, 2 * sizeof(float));  // K and V
  return bytes.value_or(UINT64_MAX);
}

Transformer::Transformer(const ModelConfig& config, const ModelWeights& weights, int n_ctx, ThreadPool& pool,
                         MatmulKernelFn choose_kernel)
    : config_(config),
      weights_(weights),
      pool_(pool),
      kv_(config, n_ctx),
      choose_kernel_(std::move(choose_kernel)) {}

const MatmulKernel& Transformer::kernel_for(const TensorView& w, int64_t n, MatmulKernel* storage) {
  if (choose_kernel_) return choose_kernel_(w, n);
  *storage = select_default_kernel(w.dtype, w.layout, w.n_rows, w.n_cols, n);
  return *storage;
}

void Transformer::project(const TensorView& w, const float* x, int64_t n, float* y) {
  if (!choose_kernel_) return matmul(w, x, n, y, pool_, matmul_scratch_);
  matmul(w, x, n, y, pool_, matmul_scratch_, choose_kernel_(w, n));
}

void Transformer::project_shared(std::initializer_list<std::pair<const TensorView*, float*>> projections,
                                 const float* x, int64_t n) {
  std::array<MatmulKernel, kMaxSharedOutputs> storage;
  std::array<MatmulOutput, kMaxSharedOutputs> outputs;
  size_t count = 0;
  for (const auto& [w, y] : projections) {
    outputs[count] = {w, &kernel_for(*w, n, &storage[count]), y};
    ++count;
  }
  matmul_shared_input({outputs.data(), count}, x, n, pool_, matmul_scratch_);
}

void Transformer::reserve(int64_t n, int n_out) {
  const ModelConfig& c = config_;
  a_.x.resize(n * c.n_embd);
  a_.xn.resize(n * c.n_embd);
  a_.q.resize(n * c.n_embd_q());
  a_.k.resize(n * c.n_embd_kv());
  a_.v.resize(n * c.n_embd_kv());
  a_.attn.resize(n * c.n_embd_q());
  a_.tmp.resize(n * c.n_embd);
  a_.gate.resize(n * c.n_ff);
  a_.up.resize(n * c.n_ff);
  a_.logits.resize(static_cast<size_t>(n_out) * c.n_vocab);
  a_.cos_sin.resize(n * c.n_rot);
}

Result<const float*> Transformer::forward(std::span<const TokenId> tokens, bool all_logits) {
  if (tokens.empty()) return error(StatusCode::kInvalidArgument, "forward() needs at least one token");
  for (TokenId id : tokens) {
    if (id < 0 || id >= config_.n_vocab) {
      return error(StatusCode::kInvalidArgument, "token id %d is outside the vocabulary (0..%d)", id,
                   config_.n_vocab - 1);
    }
  }
  if (static_cast<int64_t>(n_past_) + static_cast<int64_t>(tokens.size()) > kv_.n_ctx()) {
    return error(StatusCode::kOutOfRange,
                 "context length %d exceeded: %d tokens already in the context + %zu new (raise -c / n_ctx)",
                 kv_.n_ctx(), n_past_, tokens.size());
  }
  const int64_t total_out = all_logits ? static_cast<int64_t>(tokens.size()) : 1;
  std::vector<float> all;  // only used when logits of several batches must be concatenated
  for (size_t start = 0; start < tokens.size(); start += kMaxBatchTokens) {
    const auto batch = tokens.subspan(start, std::min<size_t>(kMaxBatchTokens, tokens.size() - start));
    const bool last_batch = start + batch.size() == tokens.size();
    if (!all_logits && !last_batch) {
      forward_batch(batch, false, 0);
      continue;
    }
    const int n_out = all_logits ? static_cast<int>(batch.size()) : 1;
    forward_batch(batch, all_logits, n_out);
    if (total_out > n_out)
      all.insert(all.end(), a_.logits.begin(), a_.logits.begin() + n_out * config_.n_vocab);
  }
  if (!all.empty()) a_.logits = std::move(all);
  return a_.logits.data();
}

void Transformer::forward_batch(std::span<const TokenId> tokens, bool all_logits, int n_out) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  reserve(n, std::max(n_out, 1));
  for (int64_t t = 0; t < n; ++t) {
    get_row_f32(weights_.token_embd, tokens[t], a_.x.data() + t * c.n_embd);
  }
  const RopeParams rope = rope_params(c, weights_);
  for (int64_t t = 0; t < n; ++t) rope_angles(rope, n_past_ + t, a_.cos_sin.data() + t * c.n_rot);

  // Only the rows whose logits are wanted go on after the last layer has cached its keys and values
  // (llama.cpp does the same): the others' attention output and FFN would never be read.
  const int64_t n_final = all_logits ? n : 1;
  for (int layer = 0; layer < c.n_layer; ++layer) {
    const int64_t n_keep = layer == c.n_layer - 1 ? n_final : n;
    attention_block(layer, n, n_keep);
    ffn_block(layer, n_keep);
  }
  n_past_ += static_cast<int>(n);
  if (n_out == 0) return;

  for_each_row(pool_, n_final, [&](int64_t row) {
    rmsnorm(a_.x.data() + row * c.n_embd, weights_.output_norm.f32(), a_.xn.data() + row * c.n_embd, c.n_embd,
            c.rms_eps);
  });
  project(weights_.output, a_.xn.data(), n_final, a_.logits.data());
}

// All n tokens' keys and values go into the cache; the last n_keep tokens' outputs go on, moved to
// rows 0..n_keep-1 of x.
void Transformer::attention_block(int layer, int64_t n, int64_t n_keep) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[layer];
  for_each_row(pool_, n, [&](int64_t t) {
    rmsnorm(a_.x.data() + t * c.n_embd, w.attn_norm.f32(), a_.xn.data() + t * c.n_embd, c.n_embd, c.rms_eps);
  });
  project_shared({{&w.wq, a_.q.data()}, {&w.wk, a_.k.data()}, {&w.wv, a_.v.data()}}, a_.xn.data(), n);
  add_bias(a_.q.data(), w.bq, n);
  add_bias(a_.k.data(), w.bk, n);
  add_bias(a_.v.data(), w.bv, n);

  const RopeParams rope = rope_params(c, weights_);
  const int64_t kv_width = c.n_embd_kv();
  for_each_row(pool_, n, [&](int64_t t) {
    const float* cos_sin = a_.cos_sin.data() + t * c.n_rot;
    rope_apply(rope, cos_sin, a_.q.data() + t * c.n_embd_q(), c.n_head, c.head_dim);
    rope_apply(rope, cos_sin, a_.k.data() + t * kv_width, c.n_head_kv, c.head_dim);
    std::memcpy(kv_.k(layer, n_past_ + t), a_.k.data() + t * kv_width, kv_width * sizeof(float));
    std::memcpy(kv_.v(layer, n_past_ + t), a_.v.data() + t * kv_width, kv_width * sizeof(float));
  });

  AttentionShape shape;
  shape.n_head = c.n_head;
  shape.n_head_kv = c.n_head_kv;
  shape.head_dim = c.head_dim;
  shape.kv_stride = kv_width;
  shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  // One item = query heads [h, h + item_heads) of one token, all of one KV group.
  const int item_heads = heads_per_item(c.n_head / c.n_head_kv, n_keep * c.n_head_kv, pool_.n_threads());
  const int64_t items_per_token = c.n_head / item_heads;
  const int64_t n_items = n_keep * items_per_token;
  const int64_t first = n - n_keep;
  // One chunk per item: later tokens of a batch attend to more keys, and items claimed one at a
  // time keep the threads busy until the end.
  pool_.parallel_for(n_items, n_items, [&](int64_t item, int64_t) {
    const int64_t row = item / items_per_token;
    const int64_t t = first + row;
    const int h = static_cast<int>(item % items_per_token) * item_heads;
    attention_heads(shape, h, h + item_heads, a_.q.data() + t * c.n_embd_q(), kv_.k(layer, 0),
                    kv_.v(layer, 0), n_past_ + t + 1, a_.attn.data() + row * c.n_embd_q());
  });

  project(w.wo, a_.attn.data(), n_keep, a_.tmp.data());
  if (first > 0) std::memmove(a_.x.data(), a_.x.data() + first * c.n_embd, n_keep * c.n_embd * sizeof(float));
  add_into(a_.x.data(), a_.tmp.data(), n_keep * c.n_embd);
}

void Transformer::ffn_block(int layer, int64_t n) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[layer];
  for_each_row(pool_, n, [&](int64_t t) {
    rmsnorm(a_.x.data() + t * c.n_embd, w.ffn_norm.f32(), a_.xn.data() + t * c.n_embd, c.n_embd, c.rms_eps);
  });
  project_shared({{&w.w_gate, a_.gate.data()}, {&w.w_up, a_.up.data()}}, a_.xn.data(), n);
  for_each_row(pool_, n, [&](int64_t t) {
    swiglu(a_.gate.data() + t * c.n_ff, a_.up.data() + t * c.n_ff, a_.gate.data() + t * c.n_ff, c.n_ff);
  });
  project(w.w_down, a_.gate.data(), n, a_.tmp.data());
  add_into(a_.x.data(), a_.tmp.data(), n * c.n_embd);
}

}  // namespace jf
