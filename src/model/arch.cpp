#include "model/arch.h"

#include "base/check.h"

namespace jf {
namespace {

using R = TensorRole;
using D = Dim;

// The role table, in TensorRole order: shapes as the config gives them.
constexpr std::array<RoleInfo, kTensorRoleCount> kRoles = {{
    {"token_embd", RoleKind::kEmbedding, false, D::kEmbd, D::kVocab},
    {"token_types", RoleKind::kEmbedding, false, D::kEmbd, D::kTokenTypes},
    {"pos_embd", RoleKind::kEmbedding, false, D::kEmbd, D::kCtxTrain},
    {"token_embd_norm", RoleKind::kVector, false, D::kEmbd, D::kOne},
    {"token_embd_norm_bias", RoleKind::kVector, false, D::kEmbd, D::kOne},
    {"rope_freqs", RoleKind::kVector, false, D::kRotHalf, D::kOne},
    {"output_norm", RoleKind::kVector, false, D::kEmbd, D::kOne},
    {"output_norm_bias", RoleKind::kVector, false, D::kEmbd, D::kOne},
    {"output", RoleKind::kMatrix, false, D::kEmbd, D::kVocab},
    {"output_bias", RoleKind::kVector, false, D::kVocab, D::kOne},
    {"attn_norm", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"attn_norm_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"attn_q", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdQ},
    {"attn_q_bias", RoleKind::kVector, true, D::kEmbdQ, D::kOne},
    {"attn_k", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"attn_k_bias", RoleKind::kVector, true, D::kEmbdKv, D::kOne},
    {"attn_v", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"attn_v_bias", RoleKind::kVector, true, D::kEmbdKv, D::kOne},
    {"attn_output", RoleKind::kMatrix, true, D::kEmbdQ, D::kEmbd},
    {"attn_output_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"ffn_norm", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"ffn_norm_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"ffn_gate", RoleKind::kMatrix, true, D::kEmbd, D::kFf},
    {"ffn_gate_bias", RoleKind::kVector, true, D::kFf, D::kOne},
    {"ffn_up", RoleKind::kMatrix, true, D::kEmbd, D::kFf},
    {"ffn_up_bias", RoleKind::kVector, true, D::kFf, D::kOne},
    {"ffn_down", RoleKind::kMatrix, true, D::kFf, D::kEmbd},
    {"ffn_down_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
}};

constexpr void set(ArchInfo& a, TensorRole role, const char* pattern, Need need,
                   FusedPart part = FusedPart::kWhole) {
  a.tensors[static_cast<size_t>(role)] = {pattern, need, part};
}

// The tensors of a pre-norm decoder with RMSNorm and a SwiGLU FFN, as llama.cpp names them.
constexpr void set_llama_tensors(ArchInfo& a) {
  set(a, R::kTokenEmbd, "token_embd.weight", Need::kRequired);
  set(a, R::kRopeFreqs, "rope_freqs.weight", Need::kOptional);  // Llama 3.1 frequency factors
  set(a, R::kOutputNorm, "output_norm.weight", Need::kRequired);
  set(a, R::kOutput, "output.weight", Need::kRequired);
  set(a, R::kAttnNorm, "blk.{}.attn_norm.weight", Need::kRequired);
  set(a, R::kAttnQ, "blk.{}.attn_q.weight", Need::kRequired);
  set(a, R::kAttnK, "blk.{}.attn_k.weight", Need::kRequired);
  set(a, R::kAttnV, "blk.{}.attn_v.weight", Need::kRequired);
  set(a, R::kAttnOut, "blk.{}.attn_output.weight", Need::kRequired);
  set(a, R::kFfnNorm, "blk.{}.ffn_norm.weight", Need::kRequired);
  set(a, R::kFfnGate, "blk.{}.ffn_gate.weight", Need::kRequired);
  set(a, R::kFfnUp, "blk.{}.ffn_up.weight", Need::kRequired);
  set(a, R::kFfnDown, "blk.{}.ffn_down.weight", Need::kRequired);
}

constexpr ArchInfo kLlama = [] {
  ArchInfo a;
  a.name = "llama";
  a.positions = PositionKind::kRopeNormal;
  a.tied_output = true;
  set_llama_tensors(a);
  // Some llama-family conversions carry q/k/v biases; they are applied when present.
  set(a, R::kAttnQBias, "blk.{}.attn_q.bias", Need::kOptional);
  set(a, R::kAttnKBias, "blk.{}.attn_k.bias", Need::kOptional);
  set(a, R::kAttnVBias, "blk.{}.attn_v.bias", Need::kOptional);
  return a;
}();

constexpr ArchInfo kQwen2 = [] {
  ArchInfo a;
  a.name = "qwen2";
  a.positions = PositionKind::kRopeNeox;
  a.tied_output = true;
  set_llama_tensors(a);
  set(a, R::kAttnQBias, "blk.{}.attn_q.bias", Need::kRequired);
  set(a, R::kAttnKBias, "blk.{}.attn_k.bias", Need::kRequired);
  set(a, R::kAttnVBias, "blk.{}.attn_v.bias", Need::kRequired);
  return a;
}();

// GPT-2: pre-LayerNorm decoder, learned positions, Q/K/V fused in one tensor, a bias on every
// linear, GELU FFN, the head tied to the embedding unless the file has output.weight.
constexpr ArchInfo kGpt2 = [] {
  ArchInfo a;
  a.name = "gpt2";
  a.norm = NormKind::kLayer;
  a.ffn = FfnKind::kGelu;
  a.positions = PositionKind::kLearned;
  a.tied_output = true;
  a.norm_eps_key = "attention.layer_norm_epsilon";
  set(a, R::kTokenEmbd, "token_embd.weight", Need::kRequired);
  set(a, R::kPosEmbd, "position_embd.weight", Need::kRequired);
  set(a, R::kOutputNorm, "output_norm.weight", Need::kRequired);
  set(a, R::kOutputNormBias, "output_norm.bias", Need::kRequired);
  set(a, R::kOutput, "output.weight", Need::kRequired);
  set(a, R::kAttnNorm, "blk.{}.attn_norm.weight", Need::kRequired);
  set(a, R::kAttnNormBias, "blk.{}.attn_norm.bias", Need::kRequired);
  set(a, R::kAttnQ, "blk.{}.attn_qkv.weight", Need::kRequired, FusedPart::kQ);
  set(a, R::kAttnK, "blk.{}.attn_qkv.weight", Need::kRequired, FusedPart::kK);
  set(a, R::kAttnV, "blk.{}.attn_qkv.weight", Need::kRequired, FusedPart::kV);
  set(a, R::kAttnQBias, "blk.{}.attn_qkv.bias", Need::kRequired, FusedPart::kQ);
  set(a, R::kAttnKBias, "blk.{}.attn_qkv.bias", Need::kRequired, FusedPart::kK);
  set(a, R::kAttnVBias, "blk.{}.attn_qkv.bias", Need::kRequired, FusedPart::kV);
  set(a, R::kAttnOut, "blk.{}.attn_output.weight", Need::kRequired);
  set(a, R::kAttnOutBias, "blk.{}.attn_output.bias", Need::kRequired);
  set(a, R::kFfnNorm, "blk.{}.ffn_norm.weight", Need::kRequired);
  set(a, R::kFfnNormBias, "blk.{}.ffn_norm.bias", Need::kRequired);
  set(a, R::kFfnUp, "blk.{}.ffn_up.weight", Need::kRequired);
  set(a, R::kFfnUpBias, "blk.{}.ffn_up.bias", Need::kRequired);
  set(a, R::kFfnDown, "blk.{}.ffn_down.weight", Need::kRequired);
  set(a, R::kFfnDownBias, "blk.{}.ffn_down.bias", Need::kRequired);
  return a;
}();

// BERT (and RoBERTa-style checkpoints converted to it): a bidirectional post-LayerNorm encoder.
// Token, segment and position embeddings are summed and normalised; each layer normalises the
// stream after the attention's residual add (attn_output_norm, the kAttnNorm role) and after the
// FFN's (layer_output_norm, kFfnNorm). No head: the output is the hidden states, pooled.
constexpr ArchInfo kBert = [] {
  ArchInfo a;
  a.name = "bert";
  a.forward = ForwardKind::kEncoder;
  a.norm = NormKind::kLayer;
  a.norm_placement = NormPlacement::kPost;
  a.ffn = FfnKind::kGelu;
  a.positions = PositionKind::kLearned;
  a.norm_eps_key = "attention.layer_norm_epsilon";
  set(a, R::kTokenEmbd, "token_embd.weight", Need::kRequired);
  set(a, R::kTokenTypes, "token_types.weight", Need::kOptional);
  set(a, R::kPosEmbd, "position_embd.weight", Need::kRequired);
  set(a, R::kTokenEmbdNorm, "token_embd_norm.weight", Need::kRequired);
  set(a, R::kTokenEmbdNormBias, "token_embd_norm.bias", Need::kRequired);
  set(a, R::kAttnQ, "blk.{}.attn_q.weight", Need::kRequired);
  set(a, R::kAttnQBias, "blk.{}.attn_q.bias", Need::kRequired);
  set(a, R::kAttnK, "blk.{}.attn_k.weight", Need::kRequired);
  set(a, R::kAttnKBias, "blk.{}.attn_k.bias", Need::kRequired);
  set(a, R::kAttnV, "blk.{}.attn_v.weight", Need::kRequired);
  set(a, R::kAttnVBias, "blk.{}.attn_v.bias", Need::kRequired);
  set(a, R::kAttnOut, "blk.{}.attn_output.weight", Need::kRequired);
  set(a, R::kAttnOutBias, "blk.{}.attn_output.bias", Need::kOptional);
  set(a, R::kAttnNorm, "blk.{}.attn_output_norm.weight", Need::kRequired);
  set(a, R::kAttnNormBias, "blk.{}.attn_output_norm.bias", Need::kRequired);
  set(a, R::kFfnUp, "blk.{}.ffn_up.weight", Need::kRequired);
  set(a, R::kFfnUpBias, "blk.{}.ffn_up.bias", Need::kOptional);
  set(a, R::kFfnDown, "blk.{}.ffn_down.weight", Need::kRequired);
  set(a, R::kFfnDownBias, "blk.{}.ffn_down.bias", Need::kOptional);
  set(a, R::kFfnNorm, "blk.{}.layer_output_norm.weight", Need::kRequired);
  set(a, R::kFfnNormBias, "blk.{}.layer_output_norm.bias", Need::kRequired);
  return a;
}();

constexpr std::array<ArchInfo, 4> kArchs = {kLlama, kQwen2, kGpt2, kBert};

}  // namespace

const RoleInfo& role_info(TensorRole role) {
  JF_CHECK(role < TensorRole::kCount);
  return kRoles[static_cast<size_t>(role)];
}

std::span<const ArchInfo> all_archs() {
  return kArchs;
}

const ArchInfo* find_arch(std::string_view name) {
  for (const ArchInfo& a : kArchs) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

std::string arch_names() {
  std::string names;
  for (const ArchInfo& a : kArchs) names += (names.empty() ? "" : ", ") + std::string(a.name);
  return names;
}

std::string tensor_name(const ArchInfo& arch, TensorRole role, int layer) {
  const TensorSpec& spec = arch.tensor(role);
  if (spec.pattern == nullptr) return "";
  std::string name = spec.pattern;
  if (const size_t at = name.find("{}"); at != std::string::npos) name.replace(at, 2, std::to_string(layer));
  return name;
}

bool has_fused_tensors(const ArchInfo& arch) {
  for (const TensorSpec& spec : arch.tensors) {
    if (spec.part != FusedPart::kWhole) return true;
  }
  return false;
}

int required_tensors_per_layer(const ArchInfo& arch, bool grouped_linears) {
  int n = 0;
  for (size_t i = 0; i < kTensorRoleCount; ++i) {
    const TensorSpec& spec = arch.tensors[i];
    // A fused tensor is one tensor of the file, counted with its first part.
    const bool first_of_file = spec.part == FusedPart::kWhole || spec.part == FusedPart::kQ;
    const bool counted = !(grouped_linears && kRoles[i].kind == RoleKind::kMatrix);
    n += kRoles[i].per_layer && spec.need == Need::kRequired && counted && first_of_file;
  }
  return n;
}

bool uses_rope(PositionKind positions) {
  return positions == PositionKind::kRopeNormal || positions == PositionKind::kRopeNeox;
}

}  // namespace jf
