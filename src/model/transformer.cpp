#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/attention/attention.h"
#include "kernels/rope/rope.h"

namespace jf {

Transformer::Transformer(const ModelConfig& config, WeightProvider& weights, int n_ctx, ThreadPool& pool,
                         KernelChooser& kernels)
    : config_(config),
      weights_(weights),
      pool_(pool),
      linears_(pool, kernels),
      norm_row_(norm_row_fn(config.arch_info->norm)),
      activation_row_(activation_row_fn(config.ffn)),
      rope_(rope_params(config, weights.model().rope_freqs)),
      rel_bias0_(config.n_layer > 0 && config.n_rel_buckets > 0 && weights.model().layers.size() > 0 &&
                         weights.model().layers[0].rel_bias.present()
                     ? weights.model().layers[0].rel_bias.f32()
                     : nullptr),
      kv_(config, n_ctx) {
  JF_CHECK(norm_row_ != nullptr && activation_row_ != nullptr);
  if (config.n_rel_buckets > 0) {
    decoder_buckets_.resize(static_cast<size_t>(std::max(n_ctx, 0)));
    for (int d = 0; d < n_ctx; ++d) {
      decoder_buckets_[d] = relative_position_bucket(-d, config.n_rel_buckets, /*bidirectional=*/false);
    }
  }
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
  if (c.n_expert > 0) {
    a_.router.resize(n * c.n_expert);
    a_.choices.resize(n * c.n_expert_used);
    a_.expert_x.resize(n * c.n_embd);
    a_.expert_y.resize(n * c.n_embd);
  }
}

Result<const float*> Transformer::forward(std::span<const TokenId> tokens, bool all_logits) {
  if (config_.arch_info->forward == ForwardKind::kEncoder) {
    return error(StatusCode::kUnsupported,
                 "'%s' is an encoder: it computes embeddings (jitflow embed), not next-token logits",
                 config_.arch.c_str());
  }
  if (tokens.empty()) return error(StatusCode::kInvalidArgument, "forward() needs at least one token");
  if (config_.arch_info->forward == ForwardKind::kEncoderDecoder && n_cross_ == 0) {
    return error(StatusCode::kInvalidArgument, "'%s' decodes from an encoder's output: encode the input first",
                 config_.arch.c_str());
  }
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
  if (n_past_ == 0) weights_.start_sequence();
  const int64_t total_out = all_logits ? static_cast<int64_t>(tokens.size()) : 1;
  std::vector<float> all;  // only used when logits of several batches must be concatenated
  for (size_t start = 0; start < tokens.size(); start += kMaxBatchTokens) {
    const auto batch = tokens.subspan(start, std::min<size_t>(kMaxBatchTokens, tokens.size() - start));
    const bool last_batch = start + batch.size() == tokens.size();
    if (!all_logits && !last_batch) {
      JF_RETURN_IF_ERROR(forward_batch(batch, false, 0));
      continue;
    }
    const int n_out = all_logits ? static_cast<int>(batch.size()) : 1;
    JF_RETURN_IF_ERROR(forward_batch(batch, all_logits, n_out));
    if (total_out > n_out)
      all.insert(all.end(), a_.logits.begin(), a_.logits.begin() + n_out * config_.n_vocab);
  }
  if (!all.empty()) a_.logits = std::move(all);
  return a_.logits.data();
}

Status Transformer::forward_batch(std::span<const TokenId> tokens, bool all_logits, int n_out) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  reserve(n, std::max(n_out, 1));
  embed(tokens);

  // Only the rows whose logits are wanted go on after the last layer has cached its keys and values
  // (llama.cpp does the same): the others' attention output and FFN would never be read.
  const int64_t n_final = all_logits ? n : 1;
  for (int layer = 0; layer < c.n_layer; ++layer) {
    if (layer + 1 < c.n_layer) weights_.prefetch(layer + 1);
    const LayerWeights& w = weights_.acquire(layer);
    const int64_t n_keep = layer == c.n_layer - 1 ? n_final : n;
    Status status = attention_block(w, layer, n, n_keep);
    if (status.ok() && w.cross_q.present()) status = cross_attention_block(w, layer, n_keep);
    if (status.ok()) status = ffn_block(w, layer, n_keep);
    weights_.release(layer);
    JF_RETURN_IF_ERROR(status);
    if (c.n_expert > 0 && layer + 1 < c.n_layer && weights_.wants_expert_predictions()) {
      predict_experts(layer + 1, n_keep);
    }
  }
  n_past_ += static_cast<int>(n);
  return n_out > 0 ? output_head(n_final) : Status();
}

// x = the tokens' embeddings (plus their positions' for learned positions); cos_sin = their RoPE
// angles (RoPE architectures).
void Transformer::embed(std::span<const TokenId> tokens) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (int64_t t = 0; t < n; ++t) {
    get_row_f32(weights_.model().token_embd, tokens[t], a_.x.data() + t * c.n_embd);
  }
  if (c.arch_info->positions == PositionKind::kLearned) {
    for (int64_t t = 0; t < n; ++t) {
      get_row_f32(weights_.model().pos_embd, n_past_ + t, a_.tmp.data());
      add_into(a_.x.data() + t * c.n_embd, a_.tmp.data(), c.n_embd);
    }
  }
  if (!uses_rope(c.arch_info->positions)) return;
  for (int64_t t = 0; t < n; ++t) rope_angles(rope_, n_past_ + t, a_.cos_sin.data() + t * c.n_rot);
}

void Transformer::norm_block(const NormWeight& w, int64_t n) {
  const int64_t width = config_.n_embd;
  for_each_row(pool_, n, [&](int64_t t) {
    norm_row_(a_.x.data() + t * width, w, a_.xn.data() + t * width, width, config_.norm_eps);
  });
}

// logits = head(norm(x)) for rows 0..n-1.
Status Transformer::output_head(int64_t n) {
  norm_block(weights_.model().output_norm, n);
  return linears_.forward(weights_.model().output, a_.xn.data(), n, a_.logits.data());
}

LinearInput Transformer::site_input(int layer, SparseSite site, const float* x, int64_t n, int64_t width) {
  if (sites_ == nullptr) return {x, nullptr};
  return sites_->at_site(layer, site, x, n, width);
}

// All n tokens' keys and values go into the cache; the last n_keep tokens' outputs go on, moved to
// rows 0..n_keep-1 of x.
Status Transformer::attention_block(const LayerWeights& w, int layer, int64_t n, int64_t n_keep) {
  const ModelConfig& c = config_;
  norm_block(w.attn_norm, n);
  const LinearInput in = site_input(layer, SparseSite::attn_in, a_.xn.data(), n, c.n_embd);
  JF_RETURN_IF_ERROR(
      linears_.forward({{&w.q, a_.q.data()}, {&w.k, a_.k.data()}, {&w.v, a_.v.data()}}, in.x, n, in.active));

  const int64_t kv_width = c.n_embd_kv();
  const bool rope = uses_rope(c.arch_info->positions);
  for_each_row(pool_, n, [&](int64_t t) {
    if (rope) {
      const float* cos_sin = a_.cos_sin.data() + t * c.n_rot;
      rope_apply(rope_, cos_sin, a_.q.data() + t * c.n_embd_q(), c.n_head, c.head_dim);
      rope_apply(rope_, cos_sin, a_.k.data() + t * kv_width, c.n_head_kv, c.head_dim);
    }
    std::memcpy(kv_.k(layer, n_past_ + t), a_.k.data() + t * kv_width, kv_width * sizeof(float));
    std::memcpy(kv_.v(layer, n_past_ + t), a_.v.data() + t * kv_width, kv_width * sizeof(float));
  });

  const AttentionShape shape = attention_shape(config_, kv_width);
  const bool relative = c.arch_info->positions == PositionKind::kRelativeBias;
  // One item = query heads [h, h + item_heads) of one token, all of one KV group.
  const int item_heads = heads_per_item(c.n_head / c.n_head_kv, n_keep * c.n_head_kv, pool_.n_threads());
  const int64_t items_per_token = c.n_head / item_heads;
  const int64_t n_items = n_keep * items_per_token;
  const int64_t first = n - n_keep;
  // One chunk per item: later tokens of a batch attend to more keys, and items claimed one at a
  // time keep the threads busy until the end. Prefill runs the decode kernel (attention_heads), not
  // the encoder's attention_rows: each token's attention is then the same bits in a batch and alone,
  // which sparse sessions need (top-k moves a channel whose magnitude differs in the last bit across
  // its boundary, and the change grows layer by layer: with attention_rows, docs-28M Q8_0 at top-k 0.6
  // gave prefill logits 16-47 % off decode's in the -O1 ASan build, bit-equal at -O3).
  pool_.parallel_for(n_items, n_items, [&](int64_t item, int64_t) {
    const int64_t row = item / items_per_token;
    const int64_t t = first + row;
    const int h = static_cast<int>(item % items_per_token) * item_heads;
    const int64_t n_kv = n_past_ + t + 1;
    AttentionShape item_shape = shape;
    std::vector<float> bias;
    if (relative) {
      bias.resize(static_cast<size_t>(c.n_head) * n_kv);
      relative_bias(w, static_cast<int>(n_kv - 1), static_cast<int>(n_kv), h, h + item_heads, bias.data());
      item_shape.bias = bias.data();
      item_shape.bias_stride = n_kv;
    }
    attention_heads(item_shape, h, h + item_heads, a_.q.data() + t * c.n_embd_q(), kv_.k(layer, 0),
                    kv_.v(layer, 0), n_kv, a_.attn.data() + row * c.n_embd_q());
  });

  const LinearInput out = site_input(layer, SparseSite::attn_out, a_.attn.data(), n_keep, c.n_embd_q());
  JF_RETURN_IF_ERROR(linears_.forward(w.o, out.x, n_keep, a_.tmp.data(), out.active));
  if (first > 0) std::memmove(a_.x.data(), a_.x.data() + first * c.n_embd, n_keep * c.n_embd * sizeof(float));
  add_into(a_.x.data(), a_.tmp.data(), n_keep * c.n_embd);
  return Status();
}

// bias[h * n_kv + j] for heads [h_begin, h_end) of the query at `pos` over keys 0..n_kv-1: T5's
// decoder buckets (unidirectional) of the layer's table, or layer 0's.
void Transformer::relative_bias(const LayerWeights& w, int pos, int n_kv, int h_begin, int h_end,
                                float* bias) {
  const TensorView& own = w.rel_bias;
  const float* table = own.present() ? own.f32() : rel_bias0_;  // [n_buckets rows of n_head]
  JF_CHECK(table != nullptr);
  JF_CHECK(pos < static_cast<int>(decoder_buckets_.size()) && n_kv <= pos + 1);
  for (int j = 0; j < n_kv; ++j) {
    const int bucket = decoder_buckets_[pos - j];
    for (int h = h_begin; h < h_end; ++h) bias[static_cast<int64_t>(h) * n_kv + j] = table[bucket * config_.n_head + h];
  }
}

Status Transformer::set_cross_input(std::span<const float> states, int n_tokens) {
  const ModelConfig& c = config_;
  JF_CHECK(static_cast<int64_t>(states.size()) == static_cast<int64_t>(n_tokens) * c.n_embd);
  n_cross_ = n_tokens;
  cross_k_.resize(c.n_layer);
  cross_v_.resize(c.n_layer);
  for (int layer = 0; layer < c.n_layer; ++layer) {
    const LayerWeights& w = weights_.acquire(layer);
    cross_k_[layer].resize(static_cast<size_t>(n_tokens) * c.n_embd_kv());
    cross_v_[layer].resize(static_cast<size_t>(n_tokens) * c.n_embd_kv());
    const Status s = linears_.forward({{&w.cross_k, cross_k_[layer].data()}, {&w.cross_v, cross_v_[layer].data()}},
                                      states.data(), n_tokens);
    weights_.release(layer);
    JF_RETURN_IF_ERROR(s);
  }
  n_past_ = 0;
  return Status();
}

// x += cross_o(attention(cross_q(norm(x)), the encoder's keys and values)): T5's decoder, rows 0..n-1.
Status Transformer::cross_attention_block(const LayerWeights& w, int layer, int64_t n) {
  const ModelConfig& c = config_;
  norm_block(w.cross_norm, n);
  JF_RETURN_IF_ERROR(linears_.forward(w.cross_q, a_.xn.data(), n, a_.q.data()));
  const AttentionShape shape = attention_shape(c, c.n_embd_kv());
  const int group = c.n_head / c.n_head_kv;
  const int64_t n_items = n * c.n_head_kv;
  pool_.parallel_for(n_items, pool_.chunk_count(n_items), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / c.n_head_kv;
      const int h = static_cast<int>(item % c.n_head_kv) * group;
      attention_heads(shape, h, h + group, a_.q.data() + t * c.n_embd_q(), cross_k_[layer].data(),
                      cross_v_[layer].data(), n_cross_, a_.attn.data() + t * c.n_embd_q());
    }
  });
  JF_RETURN_IF_ERROR(linears_.forward(w.cross_o, a_.attn.data(), n, a_.tmp.data()));
  add_into(a_.x.data(), a_.tmp.data(), n * c.n_embd);
  return Status();
}

// x += down(act(gate(norm(x)), up(norm(x)))); an ungated FFN has no gate and act reads up alone.
Status Transformer::ffn_block(const LayerWeights& w, int layer, int64_t n) {
  if (!w.experts.empty()) return moe_ffn_block(w, layer, n);
  const ModelConfig& c = config_;
  norm_block(w.ffn_norm, n);
  const bool gated = w.gate.present();
  const LinearInput in = site_input(layer, SparseSite::ffn_in, a_.xn.data(), n, c.n_embd);
  if (gated) {
    JF_RETURN_IF_ERROR(linears_.forward({{&w.gate, a_.gate.data()}, {&w.up, a_.up.data()}}, in.x, n, in.active));
  } else {
    JF_RETURN_IF_ERROR(linears_.forward(w.up, in.x, n, a_.up.data(), in.active));
  }
  for_each_row(pool_, n, [&](int64_t t) {
    float* gate = a_.gate.data() + t * c.n_ff;
    activation_row_(gated ? gate : nullptr, a_.up.data() + t * c.n_ff, gate, c.n_ff);
  });
  const LinearInput down = site_input(layer, SparseSite::ffn_down, a_.gate.data(), n, c.n_ff);
  JF_RETURN_IF_ERROR(linears_.forward(w.down, down.x, n, a_.tmp.data(), down.active));
  add_into(a_.x.data(), a_.tmp.data(), n * c.n_embd);
  return Status();
}

// x += sum over each token's experts e of weight_e * expert_e(norm(x)): the router picks the experts
// (moe.h), then each expert runs once over the batch's tokens routed to it (prefill batches tokens by
// expert; decode runs its n_expert_used experts). The router reads the FFN site's input, so sparsity
// applies to it and to every expert's gate and up; each expert's down reads its own ffn_down site.
Status Transformer::moe_ffn_block(const LayerWeights& w, int layer, int64_t n) {
  const ModelConfig& c = config_;
  norm_block(w.ffn_norm, n);
  const LinearInput in = keep_input(site_input(layer, SparseSite::ffn_in, a_.xn.data(), n, c.n_embd), n);
  JF_RETURN_IF_ERROR(linears_.forward(w.router, in.x, n, a_.router.data(), in.active));
  const int k = c.n_expert_used;
  for (int64_t t = 0; t < n; ++t) {
    route_token({a_.router.data() + t * c.n_expert, static_cast<size_t>(c.n_expert)}, c.expert_weights_scale,
                {a_.choices.data() + t * k, static_cast<size_t>(k)});
  }
  std::fill(a_.tmp.begin(), a_.tmp.begin() + n * c.n_embd, 0.0f);
  for (int e = 0; e < c.n_expert; ++e) {
    expert_rows_.clear();
    for (int64_t t = 0; t < n; ++t) {
      for (int i = 0; i < k; ++i) {
        const ExpertChoice& choice = a_.choices[t * k + i];
        if (choice.expert == e) expert_rows_.push_back({t, choice.weight});
      }
    }
    if (!expert_rows_.empty()) JF_RETURN_IF_ERROR(expert_ffn(w.experts[e], layer, in, n, expert_rows_));
  }
  add_into(a_.x.data(), a_.tmp.data(), n * c.n_embd);
  return Status();
}

// Tells the provider the experts `layer` will likely route rows 0..n-1 to: every row's top k of its
// router on the state entering it, before its attention adds to that state (a streaming provider reads
// them ahead while the attention runs). The prediction is a hint: a failed router product gives none.
void Transformer::predict_experts(int layer, int64_t n) {
  const ModelConfig& c = config_;
  const LayerWeights& next = weights_.model().layers[layer];
  for_each_row(pool_, n, [&](int64_t t) {
    norm_row_(a_.x.data() + t * c.n_embd, next.ffn_norm, a_.expert_x.data() + t * c.n_embd, c.n_embd,
              c.norm_eps);
  });
  if (!linears_.forward(next.router, a_.expert_x.data(), n, a_.router.data()).ok()) return;
  const int k = c.n_expert_used;
  predicted_experts_.clear();
  for (int64_t t = 0; t < n; ++t) {
    route_token({a_.router.data() + t * c.n_expert, static_cast<size_t>(c.n_expert)}, c.expert_weights_scale,
                {a_.choices.data() + t * k, static_cast<size_t>(k)});
    for (int i = 0; i < k; ++i) {
      const int e = a_.choices[t * k + i].expert;
      if (std::find(predicted_experts_.begin(), predicted_experts_.end(), e) == predicted_experts_.end()) {
        predicted_experts_.push_back(e);
      }
    }
  }
  weights_.predict_experts(layer, predicted_experts_);
}

// The FFN input as its site gave it, moved into xn (and its active channels into moe_active_): the
// sites hold one input at a time, and every expert's down site comes before the next expert reads it.
LinearInput Transformer::keep_input(const LinearInput& in, int64_t n) {
  if (in.x != a_.xn.data()) std::copy_n(in.x, n * config_.n_embd, a_.xn.data());
  if (in.active == nullptr) return {a_.xn.data(), nullptr};
  moe_channels_.assign(in.active->channels.begin(), in.active->channels.end());
  moe_active_.channels = moe_channels_;
  return {a_.xn.data(), &moe_active_};
}

// tmp[token] += weight * down(silu(gate(x)) * up(x)) for the expert's rows, x = in's rows of their
// tokens (in itself when every token of the batch is routed here, as in decode, keeping its active
// channels).
Status Transformer::expert_ffn(const ExpertWeights& e, int layer, const LinearInput& in, int64_t n,
                               std::span<const ExpertRow> rows) {
  const ModelConfig& c = config_;
  const int64_t m = static_cast<int64_t>(rows.size());
  LinearInput x = in;
  if (m < n) {
    for (int64_t r = 0; r < m; ++r) {
      std::copy_n(in.x + rows[r].token * c.n_embd, c.n_embd, a_.expert_x.data() + r * c.n_embd);
    }
    x = {a_.expert_x.data(), nullptr};
  }
  JF_RETURN_IF_ERROR(linears_.forward({{&e.gate, a_.gate.data()}, {&e.up, a_.up.data()}}, x.x, m, x.active));
  for_each_row(pool_, m, [&](int64_t r) {
    float* gate = a_.gate.data() + r * c.n_ff;
    activation_row_(gate, a_.up.data() + r * c.n_ff, gate, c.n_ff);
  });
  const LinearInput down = site_input(layer, SparseSite::ffn_down, a_.gate.data(), m, c.n_ff);
  JF_RETURN_IF_ERROR(linears_.forward(e.down, down.x, m, a_.expert_y.data(), down.active));
  for (int64_t r = 0; r < m; ++r) {
    float* out = a_.tmp.data() + rows[r].token * c.n_embd;
    const float* y = a_.expert_y.data() + r * c.n_embd;
    for (int64_t i = 0; i < c.n_embd; ++i) out[i] += rows[r].weight * y[i];
  }
  return Status();
}

}  // namespace jf
