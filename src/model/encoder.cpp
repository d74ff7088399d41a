#include "model/encoder.h"

#include <cmath>
#include <numeric>

#include "base/check.h"
#include "kernels/attention/attention.h"
#include "model/weights.h"

namespace jf {

Encoder::Encoder(const ModelConfig& config, WeightProvider& weights, ThreadPool& pool, KernelChooser& kernels)
    : config_(config),
      weights_(weights),
      pool_(pool),
      linears_(pool, kernels),
      norm_row_(norm_row_fn(config.arch_info->norm)),
      activation_row_(activation_row_fn(config.arch_info->ffn)) {
  JF_CHECK(config.arch_info->forward == ForwardKind::kEncoder);
  JF_CHECK(norm_row_ != nullptr && activation_row_ != nullptr);
}

Status Encoder::check_input(std::span<const TokenId> tokens, std::span<const int> lengths) const {
  int64_t total = 0;
  for (int length : lengths) {
    if (length < 1)
      return error(StatusCode::kInvalidArgument, "an encoder sequence needs at least one token");
    if (length > config_.n_ctx_train) {
      return error(StatusCode::kOutOfRange,
                   "a sequence of %d tokens is longer than the %d positions the model '%s' learned", length,
                   config_.n_ctx_train, config_.arch.c_str());
    }
    total += length;
  }
  if (total != static_cast<int64_t>(tokens.size())) {
    return error(StatusCode::kInvalidArgument, "sequence lengths sum to %lld, but %zu tokens were given",
                 static_cast<long long>(total), tokens.size());
  }
  for (TokenId id : tokens) {
    if (id < 0 || id >= config_.n_vocab) {
      return error(StatusCode::kInvalidArgument, "token id %d is outside the vocabulary (0..%d)", id,
                   config_.n_vocab - 1);
    }
  }
  return Status();
}

Result<std::span<const float>> Encoder::forward(std::span<const TokenId> tokens,
                                                std::span<const int> lengths) {
  JF_RETURN_IF_ERROR(check_input(tokens, lengths));
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  x_.resize(n * c.n_embd);
  q_.resize(n * c.n_embd_q());
  k_.resize(n * c.n_embd_kv());
  v_.resize(n * c.n_embd_kv());
  attn_.resize(n * c.n_embd_q());
  tmp_.resize(n * c.n_embd);
  gate_.resize(n * c.n_ff);
  up_.resize(n * c.n_ff);
  embed(tokens, lengths);
  for (int layer = 0; layer < c.n_layer; ++layer) {
    const LayerWeights& w = weights_.acquire(layer);
    Status status = attention_block(w, lengths, n);
    if (status.ok()) status = ffn_block(w, n);
    weights_.release(layer);
    JF_RETURN_IF_ERROR(status);
  }
  return std::span<const float>(x_.data(), n * c.n_embd);
}

void Encoder::embed(std::span<const TokenId> tokens, std::span<const int> lengths) {
  const ModelConfig& c = config_;
  const ModelWeights& m = weights_.model();
  std::vector<float> segment(c.n_embd, 0.0f);
  if (m.token_types.present()) get_row_f32(m.token_types, 0, segment.data());
  int64_t t = 0;
  for (int length : lengths) {
    for (int pos = 0; pos < length; ++pos, ++t) {
      float* x = x_.data() + t * c.n_embd;
      get_row_f32(m.token_embd, tokens[t], x);
      get_row_f32(m.pos_embd, pos, tmp_.data());
      add_into(x, tmp_.data(), c.n_embd);
      add_into(x, segment.data(), c.n_embd);
    }
  }
  norm_rows(m.token_embd_norm, t);
}

void Encoder::norm_rows(const NormWeight& w, int64_t n) {
  const int64_t width = config_.n_embd;
  for_each_row(pool_, n, [&](int64_t t) {
    float* x = x_.data() + t * width;
    norm_row_(x, w, x, width, config_.norm_eps);
  });
}

Status Encoder::attention_block(const LayerWeights& w, std::span<const int> lengths, int64_t n) {
  const ModelConfig& c = config_;
  JF_RETURN_IF_ERROR(
      linears_.forward({{&w.q, q_.data()}, {&w.k, k_.data()}, {&w.v, v_.data()}}, x_.data(), n));

  // Each token's sequence: where it starts and how long it is.
  std::vector<int64_t> seq_start(n), seq_length(n);
  int64_t t = 0;
  for (int length : lengths) {
    for (int i = 0; i < length; ++i, ++t) {
      seq_start[t] = t - i;
      seq_length[t] = length;
    }
  }
  AttentionShape shape;
  shape.n_head = c.n_head;
  shape.n_head_kv = c.n_head_kv;
  shape.head_dim = c.head_dim;
  shape.kv_stride = c.n_embd_kv();
  shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const int item_heads = heads_per_item(c.n_head / c.n_head_kv, n * c.n_head_kv, pool_.n_threads());
  const int64_t items_per_token = c.n_head / item_heads;
  const int64_t n_items = n * items_per_token;
  pool_.parallel_for(n_items, pool_.chunk_count(n_items), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t row = item / items_per_token;
      const int h = static_cast<int>(item % items_per_token) * item_heads;
      const int64_t first = seq_start[row] * shape.kv_stride;
      attention_heads(shape, h, h + item_heads, q_.data() + row * c.n_embd_q(), k_.data() + first,
                      v_.data() + first, seq_length[row], attn_.data() + row * c.n_embd_q());
    }
  });

  JF_RETURN_IF_ERROR(linears_.forward(w.o, attn_.data(), n, tmp_.data()));
  add_into(x_.data(), tmp_.data(), n * c.n_embd);
  norm_rows(w.attn_norm, n);
  return Status();
}

Status Encoder::ffn_block(const LayerWeights& w, int64_t n) {
  const ModelConfig& c = config_;
  const bool gated = w.gate.present();
  if (gated) {
    JF_RETURN_IF_ERROR(linears_.forward({{&w.gate, gate_.data()}, {&w.up, up_.data()}}, x_.data(), n));
  } else {
    JF_RETURN_IF_ERROR(linears_.forward(w.up, x_.data(), n, up_.data()));
  }
  for_each_row(pool_, n, [&](int64_t t) {
    float* gate = gate_.data() + t * c.n_ff;
    activation_row_(gated ? gate : nullptr, up_.data() + t * c.n_ff, gate, c.n_ff);
  });
  JF_RETURN_IF_ERROR(linears_.forward(w.down, gate_.data(), n, tmp_.data()));
  add_into(x_.data(), tmp_.data(), n * c.n_embd);
  norm_rows(w.ffn_norm, n);
  return Status();
}

std::vector<std::vector<float>> pool_states(std::span<const float> states, std::span<const int> lengths,
                                            int n_embd, PoolingKind pooling, bool normalize) {
  std::vector<std::vector<float>> out;
  int64_t first = 0;
  for (int length : lengths) {
    const float* seq = states.data() + first * n_embd;
    if (pooling == PoolingKind::kNone) {
      for (int t = 0; t < length; ++t) out.emplace_back(seq + t * n_embd, seq + (t + 1) * n_embd);
    } else if (pooling == PoolingKind::kMean) {
      std::vector<double> sum(n_embd, 0.0);
      for (int t = 0; t < length; ++t) {
        for (int i = 0; i < n_embd; ++i) sum[i] += seq[t * n_embd + i];
      }
      std::vector<float>& v = out.emplace_back(n_embd);
      for (int i = 0; i < n_embd; ++i) v[i] = static_cast<float>(sum[i] / length);
    } else {
      const int t = pooling == PoolingKind::kCls ? 0 : length - 1;
      out.emplace_back(seq + t * n_embd, seq + (t + 1) * n_embd);
    }
    first += length;
  }
  if (normalize) {
    for (std::vector<float>& v : out) {
      double squares = 0;
      for (float x : v) squares += static_cast<double>(x) * x;
      if (squares == 0) continue;
      const float scale = static_cast<float>(1.0 / std::sqrt(squares));
      for (float& x : v) x *= scale;
    }
  }
  return out;
}

}  // namespace jf
