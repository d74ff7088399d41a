#include "model/hparams.h"

#include <algorithm>
#include <cinttypes>
#include <climits>

#include "base/check.h"
#include "model/flash_layout.h"
#include "model/moe.h"

namespace jf {
namespace {

Status out_of_range(const GgufFile& file, const std::string& key, uint64_t v, const char* why) {
  return error(StatusCode::kCorruptFile,
               "%s: metadata '%s' = %" PRIu64 " at byte offset %" PRIu64 " is out of range%s",
               file.path().c_str(), key.c_str(), v, file.value_offset(key), why);
}

// Reads `<arch>.<suffix>` as a positive int.
Result<int> read_positive(const GgufFile& file, const std::string& key) {
  JF_ASSIGN_OR_RETURN(uint64_t v, file.get_uint(key));
  if (v == 0 || v > (1u << 30)) return out_of_range(file, key, v, "");
  return static_cast<int>(v);
}

// The layer count, bounded by the tensors the file has before anything is sized by it.
Result<int> read_layer_count(const GgufFile& file, const ArchInfo& arch, const std::string& key) {
  JF_ASSIGN_OR_RETURN(int n_layer, read_positive(file, key));
  const bool flash = file.find(kFlashKey) != nullptr;
  const uint64_t per_layer = static_cast<uint64_t>(std::max(1, required_tensors_per_layer(arch, flash)));
  if (static_cast<uint64_t>(n_layer) > file.tensors().size() / per_layer) {
    const std::string why = str_printf(": the file has %zu tensors, fewer than %" PRIu64 " per layer",
                                       file.tensors().size(), per_layer);
    return out_of_range(file, key, static_cast<uint64_t>(n_layer), why.c_str());
  }
  return n_layer;
}

Result<int> read_positive_or(const GgufFile& file, const std::string& key, int fallback) {
  if (file.find(key) == nullptr) return fallback;
  return read_positive(file, key);
}

Status invalid(const GgufFile& file, const char* what) {
  return error(StatusCode::kCorruptFile, "%s: inconsistent model shape: %s", file.path().c_str(), what);
}

Result<float> read_rope_freq_scale(const GgufFile& file, const std::string& a) {
  JF_ASSIGN_OR_RETURN(std::string scaling, file.get_string_or(a + ".rope.scaling.type", "none"));
  if (scaling == "linear") {
    JF_ASSIGN_OR_RETURN(double factor, file.get_float_or(a + ".rope.scaling.factor", 1.0));
    if (!(factor > 0)) return invalid(file, "rope.scaling.factor must be > 0");
    return static_cast<float>(1.0 / factor);
  }
  if (scaling != "none" && scaling != "llama3") {
    // llama3-style scaling is carried by the rope_freqs.weight tensor, not by a scalar.
    return error(StatusCode::kUnsupported, "%s: rope scaling type '%s' is not supported", file.path().c_str(),
                 scaling.c_str());
  }
  JF_ASSIGN_OR_RETURN(double legacy, file.get_float_or(a + ".rope.scale_linear", 1.0));
  if (!(legacy > 0)) return invalid(file, "rope.scale_linear must be > 0");
  return static_cast<float>(1.0 / legacy);
}

// n_rot, the base frequency and the scaling of a RoPE architecture.
Status read_rope(const GgufFile& file, const std::string& a, ModelConfig* c) {
  JF_ASSIGN_OR_RETURN(c->n_rot, read_positive_or(file, a + ".rope.dimension_count", c->head_dim));
  if (c->n_rot > c->head_dim || c->n_rot % 2 != 0) {
    return invalid(file, "rope.dimension_count must be even and <= head_dim");
  }
  JF_ASSIGN_OR_RETURN(double base, file.get_float_or(a + ".rope.freq_base", 10000.0));
  if (!(base > 1)) return invalid(file, "rope.freq_base must be > 1");
  c->rope_freq_base = static_cast<float>(base);
  JF_ASSIGN_OR_RETURN(c->rope_freq_scale, read_rope_freq_scale(file, a));
  return Status();
}

// Rows of the segment embeddings: tokenizer.ggml.token_type_count, or the tensor's own row count
// when a file lacks the key (0 without the tensor).
Result<int> read_token_type_count(const GgufFile& file, const ArchInfo& arch) {
  if (arch.tensor(TensorRole::kTokenTypes).need == Need::kAbsent) return 0;
  constexpr char kKey[] = "tokenizer.ggml.token_type_count";
  if (file.find(kKey) != nullptr) return read_positive(file, kKey);
  const TensorInfo* types = file.find_tensor(tensor_name(arch, TensorRole::kTokenTypes, 0));
  if (types == nullptr) return 0;
  if (types->ne[1] < 1 || types->ne[1] > 1024) {
    return error(StatusCode::kCorruptFile, "%s: tensor '%s' has shape %s: not a table of segment embeddings",
                 file.path().c_str(), types->name.c_str(), types->shape_string().c_str());
  }
  return static_cast<int>(types->ne[1]);
}

// The row's FFN kind, or ReLU for a gated-GELU row whose file has no gate (original T5).
FfnKind resolve_ffn(const GgufFile& file, const ArchInfo& row) {
  if (row.ffn != FfnKind::kGeGlu) return row.ffn;
  return file.find_tensor(tensor_name(row, TensorRole::kFfnGate, 0)) != nullptr ? FfnKind::kGeGlu : FfnKind::kRelu;
}

// The relative buckets, the encoder's layers and the decoder's start token (T5).
Status read_t5(const GgufFile& file, const std::string& a, ModelConfig* c) {
  JF_ASSIGN_OR_RETURN(c->n_rel_buckets, read_positive(file, a + ".attention.relative_buckets_count"));
  if (c->n_rel_buckets < 2 || c->n_rel_buckets > 4096) return invalid(file, "relative_buckets_count must be in 2..4096");
  if (c->arch_info->forward != ForwardKind::kEncoderDecoder) return Status();
  c->n_enc_layer = c->n_layer;
  JF_ASSIGN_OR_RETURN(c->n_layer, read_positive_or(file, a + ".decoder_block_count", c->n_enc_layer));
  JF_ASSIGN_OR_RETURN(const uint64_t start, file.get_uint_or(a + ".decoder_start_token_id", UINT64_MAX));
  if (start != UINT64_MAX) c->decoder_start_token = start > INT32_MAX ? INT32_MAX : static_cast<int>(start);
  c->encoder_ffn = resolve_ffn(file, *c->arch_info->encoder);
  return Status();
}

// Experts per FFN and per token (a mixture of experts), as llama.cpp reads them: an expert_count of
// 0 or 1 is a dense FFN.
Status read_experts(const GgufFile& file, const std::string& a, ModelConfig* c) {
  const std::string count_key = a + ".expert_count", used_key = a + ".expert_used_count";
  JF_ASSIGN_OR_RETURN(const uint64_t n_expert, file.get_uint_or(count_key, 0));
  if (n_expert <= 1) return Status();
  if (n_expert > static_cast<uint64_t>(kMaxExperts)) {
    return out_of_range(file, count_key, n_expert, str_printf(" (at most %d experts)", kMaxExperts).c_str());
  }
  if (!supports_experts(*c->arch_info)) {
    return error(StatusCode::kUnsupported,
                 "%s: '%s' with %s = %" PRIu64 ": jitflow runs mixtures of experts only as llama",
                 file.path().c_str(), a.c_str(), count_key.c_str(), n_expert);
  }
  JF_ASSIGN_OR_RETURN(const uint64_t n_used, file.get_uint(used_key));
  if (n_used == 0 || n_used > n_expert) {
    const std::string why = str_printf(": each token uses 1..%" PRIu64 " experts", n_expert);
    return out_of_range(file, used_key, n_used, why.c_str());
  }
  c->n_expert = static_cast<int>(n_expert);
  c->n_expert_used = static_cast<int>(n_used);
  JF_ASSIGN_OR_RETURN(const double scale, file.get_float_or(a + ".expert_weights_scale", 0.0));
  if (!(scale >= 0) || scale > 1e6) return invalid(file, "expert_weights_scale must be in [0, 1e6]");
  c->expert_weights_scale = static_cast<float>(scale);
  return Status();
}

}  // namespace

ModelConfig encoder_config(const ModelConfig& c) {
  JF_CHECK(c.arch_info->encoder != nullptr);
  ModelConfig e = c;
  e.arch_info = c.arch_info->encoder;
  e.n_layer = c.n_enc_layer;
  e.ffn = c.encoder_ffn;
  return e;
}

Result<ModelConfig> read_model_config(const GgufFile& file) {
  ModelConfig c;
  JF_ASSIGN_OR_RETURN(c.arch, file.get_string("general.architecture"));
  c.arch_info = find_arch(c.arch);
  if (c.arch_info == nullptr) {
    return error(StatusCode::kUnsupported, "%s: architecture '%s' is not supported (jitflow runs %s)",
                 file.path().c_str(), c.arch.c_str(), arch_names().c_str());
  }
  const ArchInfo& arch = *c.arch_info;
  JF_ASSIGN_OR_RETURN(c.name, file.get_string_or("general.name", ""));
  const std::string& a = c.arch;
  // First: a mixture of experts in an architecture without one explains its tensors' absence.
  JF_RETURN_IF_ERROR(read_experts(file, a, &c));
  JF_ASSIGN_OR_RETURN(c.n_embd, read_positive(file, a + ".embedding_length"));
  JF_ASSIGN_OR_RETURN(c.n_layer, read_layer_count(file, arch, a + ".block_count"));
  JF_ASSIGN_OR_RETURN(c.n_ff, read_positive(file, a + ".feed_forward_length"));
  JF_ASSIGN_OR_RETURN(c.n_head, read_positive(file, a + ".attention.head_count"));
  JF_ASSIGN_OR_RETURN(c.n_head_kv, read_positive_or(file, a + ".attention.head_count_kv", c.n_head));
  JF_ASSIGN_OR_RETURN(c.n_ctx_train, read_positive_or(file, a + ".context_length", 2048));
  if (c.n_embd % c.n_head != 0) return invalid(file, "head_count does not divide embedding_length");
  JF_ASSIGN_OR_RETURN(c.head_dim, read_positive_or(file, a + ".attention.key_length", c.n_embd / c.n_head));
  JF_ASSIGN_OR_RETURN(int value_length, read_positive_or(file, a + ".attention.value_length", c.head_dim));
  if (value_length != c.head_dim) return error(StatusCode::kUnsupported, "%s: value_length != key_length", file.path().c_str());
  if (c.n_head % c.n_head_kv != 0) return invalid(file, "head_count_kv does not divide head_count");
  JF_ASSIGN_OR_RETURN(double eps, file.get_float_or(a + "." + arch.norm_eps_key, 1e-5));
  if (!(eps > 0) || eps > 1)
    return invalid(file, (std::string(arch.norm_eps_key) + " must be in (0, 1]").c_str());
  c.norm_eps = static_cast<float>(eps);
  if (uses_rope(arch.positions)) JF_RETURN_IF_ERROR(read_rope(file, a, &c));
  JF_ASSIGN_OR_RETURN(c.n_token_types, read_token_type_count(file, arch));
  c.ffn = resolve_ffn(file, arch);
  if (arch.positions == PositionKind::kRelativeBias) JF_RETURN_IF_ERROR(read_t5(file, a, &c));
  if (arch.forward == ForwardKind::kEncoder) {
    JF_ASSIGN_OR_RETURN(const uint64_t pooling, file.get_uint_or(a + ".pooling_type", 0));
    if (pooling > 3) {
      return error(StatusCode::kUnsupported, "%s: %s.pooling_type %llu (rank or later) is not supported",
                   file.path().c_str(), a.c_str(), static_cast<unsigned long long>(pooling));
    }
    c.pooling_type = static_cast<int>(pooling);
  }

  // The vocabulary size is the row count of the embedding; vocab_size or the token list may say too.
  const std::string embd_name = tensor_name(arch, TensorRole::kTokenEmbd, 0);
  const TensorInfo* embd = file.find_tensor(embd_name);
  if (embd == nullptr) {
    return error(StatusCode::kNotFound, "%s: tensor '%s' is missing", file.path().c_str(), embd_name.c_str());
  }
  if (embd->ne[1] < 1 || embd->ne[1] > INT32_MAX) {
    return error(
        StatusCode::kCorruptFile,
        "%s: tensor '%s' at byte offset %" PRIu64 " has shape %s: %" PRId64 " rows is not a vocabulary size",
        file.path().c_str(), embd_name.c_str(), embd->info_at, embd->shape_string().c_str(), embd->ne[1]);
  }
  c.n_vocab = static_cast<int>(embd->ne[1]);
  return c;
}

}  // namespace jf
