#include "model/arch.h"

#include "base/check.h"

namespace jf {
namespace {

using R = TensorRole;
using D = Dim;

// The role table, in TensorRole order: shapes as the config gives them.
constexpr std::array<RoleInfo, kTensorRoleCount> kRoles = {{
    {"token_embd", RoleKind::kEmbedding, false, D::kEmbd, D::kVocab},
    {"pos_embd", RoleKind::kEmbedding, false, D::kEmbd, D::kCtxTrain},
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

constexpr void set(ArchInfo& a, TensorRole role, const char* pattern, Need need) {
  a.tensors[static_cast<size_t>(role)] = {pattern, need};
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

constexpr std::array<ArchInfo, 2> kArchs = {kLlama, kQwen2};

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

int required_tensors_per_layer(const ArchInfo& arch, bool grouped_linears) {
  int n = 0;
  for (size_t i = 0; i < kTensorRoleCount; ++i) {
    const bool counted = !(grouped_linears && kRoles[i].kind == RoleKind::kMatrix);
    n += kRoles[i].per_layer && arch.tensors[i].need == Need::kRequired && counted;
  }
  return n;
}

bool uses_rope(PositionKind positions) {
  return positions == PositionKind::kRopeNormal || positions == PositionKind::kRopeNeox;
}

}  // namespace jf
