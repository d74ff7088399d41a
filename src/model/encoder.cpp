#include "model/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/attention/attention.h"
#include "model/weights.h"

namespace jf {

EncoderStack encoder_stack(const ModelWeights& w, const ModelConfig& model_config) {
  if (model_config.arch_info->forward == ForwardKind::kEncoderDecoder) {
    return {&w, w.encoder_layers, &w.encoder_output_norm};
  }
  return {&w, w.layers, w.output_norm.weight.present() ? &w.output_norm : nullptr};
}

Encoder::Encoder(const ModelConfig& config, const EncoderStack& stack, ThreadPool& pool,
                 KernelChooser& kernels)
    : config_(config),
      stack_(stack),
      pool_(pool),
      linears_(pool, kernels),
      norm_row_(norm_row_fn(config.arch_info->norm)),
      activation_row_(activation_row_fn(config.ffn)) {
  JF_CHECK(config.arch_info->forward == ForwardKind::kEncoder);
  JF_CHECK(static_cast<int>(stack.layers.size()) == config.n_layer);
  JF_CHECK(norm_row_ != nullptr && activation_row_ != nullptr);
}

Status Encoder::check_input(std::span<const TokenId> tokens, std::span<const int> lengths) const {
  const bool learned = config_.arch_info->positions == PositionKind::kLearned;
  int64_t total = 0;
  for (int length : lengths) {
    if (length < 1)
      return error(StatusCode::kInvalidArgument, "an encoder sequence needs at least one token");
    if (learned && length > config_.n_ctx_train) {
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
  for (std::vector<float>* a : {&x_, &xn_, &tmp_}) a->resize(n * c.n_embd);
  q_.resize(n * c.n_embd_q());
  attn_.resize(n * c.n_embd_q());
  k_.resize(n * c.n_embd_kv());
  v_.resize(n * c.n_embd_kv());
  gate_.resize(n * c.n_ff);
  up_.resize(n * c.n_ff);
  embed(tokens, lengths);
  for (int layer = 0; layer < c.n_layer; ++layer) {
    JF_RETURN_IF_ERROR(attention_block(layer, lengths, n));
    JF_RETURN_IF_ERROR(ffn_block(stack_.layers[layer], n));
  }
  if (stack_.output_norm != nullptr) norm_rows(*stack_.output_norm, x_, x_, n);
  return std::span<const float>(x_.data(), n * c.n_embd);
}

void Encoder::embed(std::span<const TokenId> tokens, std::span<const int> lengths) {
  const ModelConfig& c = config_;
  const ModelWeights& m = *stack_.model;
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (int64_t t = 0; t < n; ++t) get_row_f32(m.token_embd, tokens[t], x_.data() + t * c.n_embd);
  if (c.arch_info->positions != PositionKind::kLearned) return;
  std::vector<float> segment(c.n_embd, 0.0f);
  if (m.token_types.present()) get_row_f32(m.token_types, 0, segment.data());
  int64_t t = 0;
  for (int length : lengths) {
    for (int pos = 0; pos < length; ++pos, ++t) {
      float* x = x_.data() + t * c.n_embd;
      get_row_f32(m.pos_embd, pos, tmp_.data());
      add_into(x, tmp_.data(), c.n_embd);
      add_into(x, segment.data(), c.n_embd);
    }
  }
  if (m.token_embd_norm.weight.present()) norm_rows(m.token_embd_norm, x_, x_, n);
}

// out = norm(in), row by row (out may be in).
void Encoder::norm_rows(const NormWeight& w, const std::vector<float>& in, std::vector<float>& out,
                        int64_t n) {
  const int64_t width = config_.n_embd;
  for_each_row(pool_, n, [&](int64_t t) {
    norm_row_(in.data() + t * width, w, out.data() + t * width, width, config_.norm_eps);
  });
}

std::vector<float> Encoder::relative_bias_by_distance(int layer, int max_length) const {
  // Layers without their own table use layer 0's (T5 checkpoints store only that one).
  const TensorView& table =
      stack_.layers[layer].rel_bias.present() ? stack_.layers[layer].rel_bias : stack_.layers[0].rel_bias;
  const float* bias = table.f32();  // [n_buckets rows of n_head]
  const int n_head = config_.n_head;
  const int64_t width = 2 * static_cast<int64_t>(max_length) - 1;
  std::vector<float> out(static_cast<size_t>(n_head * width));
  for (int64_t d = 0; d < width; ++d) {
    const int relative = static_cast<int>(d - (max_length - 1));
    const int bucket = relative_position_bucket(relative, config_.n_rel_buckets, /*bidirectional=*/true);
    for (int h = 0; h < n_head; ++h) out[h * width + d] = bias[bucket * n_head + h];
  }
  return out;
}

Status Encoder::attention_block(int layer, std::span<const int> lengths, int64_t n) {
  const ModelConfig& c = config_;
  const LayerWeights& w = stack_.layers[layer];
  const bool pre_norm = c.arch_info->norm_placement == NormPlacement::kPre;
  if (pre_norm) norm_rows(w.attn_norm, x_, xn_, n);
  const float* in = pre_norm ? xn_.data() : x_.data();
  JF_RETURN_IF_ERROR(linears_.forward({{&w.q, q_.data()}, {&w.k, k_.data()}, {&w.v, v_.data()}}, in, n));

  const bool relative = c.arch_info->positions == PositionKind::kRelativeBias;
  const AttentionShape shape = attention_shape(c, c.n_embd_kv());
  // One item = a tile of up to 32 query rows of one sequence and one head, which share every block
  // of its keys (attention_rows). T5: all heads (the bias rows are made once per token), in tiles
  // small enough that short inputs still spread over the threads.
  struct Item {
    int64_t first, row0;  // the sequence's first token; the tile's first row in it
    int rows, length, h;
  };
  std::vector<Item> items;
  int64_t first = 0;
  for (int length : lengths) {
    const int tile = relative ? static_cast<int>(std::clamp<int64_t>(
                                    (length + 4 * pool_.n_threads() - 1) / (4 * pool_.n_threads()), 1, 32))
                              : 32;
    for (int h = 0; h < (relative ? 1 : c.n_head); ++h) {
      for (int row0 = 0; row0 < length; row0 += tile)
        items.push_back({first, row0, std::min(tile, length - row0), length, h});
    }
    first += length;
  }
  const int max_length = lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  const std::vector<float> by_distance =
      relative && max_length > 0 ? relative_bias_by_distance(layer, max_length) : std::vector<float>();
  const int64_t distance_width = 2 * static_cast<int64_t>(max_length) - 1;
  const int64_t n_items = static_cast<int64_t>(items.size());
  pool_.parallel_for(n_items, n_items, [&](int64_t item_index, int64_t) {
    const Item& item = items[item_index];
    const std::vector<int64_t> n_kv(item.rows, item.length);
    std::vector<float> bias;
    AttentionShape item_shape = shape;
    if (relative) {
      // [row][head][key]
      bias.resize(static_cast<size_t>(item.rows) * c.n_head * item.length);
      for (int i = 0; i < item.rows; ++i) {
        const int64_t pos = item.row0 + i;
        float* row = bias.data() + static_cast<int64_t>(i) * c.n_head * item.length;
        for (int h = 0; h < c.n_head; ++h) {
          const float* from = by_distance.data() + h * distance_width + (max_length - 1 - pos);
          std::memcpy(row + static_cast<int64_t>(h) * item.length, from, item.length * sizeof(float));
        }
      }
      item_shape.bias = bias.data();
      item_shape.bias_stride = item.length;
      item_shape.bias_row_stride = static_cast<int64_t>(c.n_head) * item.length;
    }
    const int64_t row = item.first + item.row0;
    attention_rows(item_shape, item.h, relative ? c.n_head : item.h + 1, q_.data() + row * c.n_embd_q(),
                   c.n_embd_q(), item.rows, k_.data() + item.first * shape.kv_stride,
                   v_.data() + item.first * shape.kv_stride, n_kv.data(), attn_.data() + row * c.n_embd_q(),
                   c.n_embd_q());
  });

  JF_RETURN_IF_ERROR(linears_.forward(w.o, attn_.data(), n, tmp_.data()));
  add_into(x_.data(), tmp_.data(), n * c.n_embd);
  if (!pre_norm) norm_rows(w.attn_norm, x_, x_, n);
  return Status();
}

Status Encoder::ffn_block(const LayerWeights& w, int64_t n) {
  const ModelConfig& c = config_;
  const bool pre_norm = c.arch_info->norm_placement == NormPlacement::kPre;
  if (pre_norm) norm_rows(w.ffn_norm, x_, xn_, n);
  const float* in = pre_norm ? xn_.data() : x_.data();
  const bool gated = w.gate.present();
  if (gated) {
    JF_RETURN_IF_ERROR(linears_.forward({{&w.gate, gate_.data()}, {&w.up, up_.data()}}, in, n));
  } else {
    JF_RETURN_IF_ERROR(linears_.forward(w.up, in, n, up_.data()));
  }
  for_each_row(pool_, n, [&](int64_t t) {
    float* gate = gate_.data() + t * c.n_ff;
    activation_row_(gated ? gate : nullptr, up_.data() + t * c.n_ff, gate, c.n_ff);
  });
  JF_RETURN_IF_ERROR(linears_.forward(w.down, gate_.data(), n, tmp_.data()));
  add_into(x_.data(), tmp_.data(), n * c.n_embd);
  if (!pre_norm) norm_rows(w.ffn_norm, x_, x_, n);
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
