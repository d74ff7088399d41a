#include "model/arch.h"

#include <algorithm>
#include <cmath>

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
    {"attn_rel_bias", RoleKind::kVector, true, D::kHeads, D::kRelBuckets},
    {"attn_q", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdQ},
    {"attn_q_bias", RoleKind::kVector, true, D::kEmbdQ, D::kOne},
    {"attn_k", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"attn_k_bias", RoleKind::kVector, true, D::kEmbdKv, D::kOne},
    {"attn_v", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"attn_v_bias", RoleKind::kVector, true, D::kEmbdKv, D::kOne},
    {"attn_output", RoleKind::kMatrix, true, D::kEmbdQ, D::kEmbd},
    {"attn_output_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"cross_attn_norm", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"cross_attn_q", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdQ},
    {"cross_attn_k", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"cross_attn_v", RoleKind::kMatrix, true, D::kEmbd, D::kEmbdKv},
    {"cross_attn_output", RoleKind::kMatrix, true, D::kEmbdQ, D::kEmbd},
    {"ffn_norm", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"ffn_norm_bias", RoleKind::kVector, true, D::kEmbd, D::kOne},
    {"ffn_gate", RoleKind::kMatrix, true, D::kEmbd, D::kFf, MoeUse::kDense},
    {"ffn_gate_bias", RoleKind::kVector, true, D::kFf, D::kOne, MoeUse::kDense},
    {"ffn_up", RoleKind::kMatrix, true, D::kEmbd, D::kFf, MoeUse::kDense},
    {"ffn_up_bias", RoleKind::kVector, true, D::kFf, D::kOne, MoeUse::kDense},
    {"ffn_down", RoleKind::kMatrix, true, D::kFf, D::kEmbd, MoeUse::kDense},
    {"ffn_down_bias", RoleKind::kVector, true, D::kEmbd, D::kOne, MoeUse::kDense},
    {"ffn_gate_inp", RoleKind::kMatrix, true, D::kEmbd, D::kExperts, MoeUse::kMoe},
    {"ffn_gate_exps", RoleKind::kMatrix, true, D::kEmbd, D::kFf, MoeUse::kPerExpert},
    {"ffn_up_exps", RoleKind::kMatrix, true, D::kEmbd, D::kFf, MoeUse::kPerExpert},
    {"ffn_down_exps", RoleKind::kMatrix, true, D::kFf, D::kEmbd, MoeUse::kPerExpert},
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
  // Mixtral and other llama-family MoE models.
  set(a, R::kFfnGateInp, "blk.{}.ffn_gate_inp.weight", Need::kRequired);
  set(a, R::kFfnGateExps, "blk.{}.ffn_gate_exps.weight", Need::kRequired);
  set(a, R::kFfnUpExps, "blk.{}.ffn_up_exps.weight", Need::kRequired);
  set(a, R::kFfnDownExps, "blk.{}.ffn_down_exps.weight", Need::kRequired);
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

// The kinds and per-layer tensors both T5 stacks share: pre-RMSNorm, unscaled attention with a
// relative-position bias, gated-GELU FFN (flan-T5; ReLU when the file has no gate, original T5), no
// biases. `stack` is "enc" or "dec".
constexpr void set_t5_stack(ArchInfo& a, const char* const (&names)[9]) {
  a.norm = NormKind::kRms;
  a.ffn = FfnKind::kGeGlu;
  a.positions = PositionKind::kRelativeBias;
  a.unscaled_attention = true;
  set(a, R::kTokenEmbd, "token_embd.weight", Need::kRequired);
  set(a, R::kAttnNorm, names[0], Need::kRequired);
  set(a, R::kAttnRelBias, names[1], Need::kOptional);
  set(a, R::kAttnQ, names[2], Need::kRequired);
  set(a, R::kAttnK, names[3], Need::kRequired);
  set(a, R::kAttnV, names[4], Need::kRequired);
  set(a, R::kAttnOut, names[5], Need::kRequired);
  set(a, R::kFfnNorm, names[6], Need::kRequired);
  set(a, R::kFfnGate, names[7], Need::kOptional);
  set(a, R::kFfnUp, names[8], Need::kRequired);
}

// T5's encoder alone (llama.cpp's t5encoder), and the encoder stack of t5: bidirectional, its
// output RMS-normalised by enc.output_norm.
constexpr ArchInfo kT5Encoder = [] {
  ArchInfo a;
  a.name = "t5encoder";
  a.forward = ForwardKind::kEncoder;
  set_t5_stack(a, {"enc.blk.{}.attn_norm.weight", "enc.blk.{}.attn_rel_b.weight", "enc.blk.{}.attn_q.weight",
                   "enc.blk.{}.attn_k.weight", "enc.blk.{}.attn_v.weight", "enc.blk.{}.attn_o.weight",
                   "enc.blk.{}.ffn_norm.weight", "enc.blk.{}.ffn_gate.weight", "enc.blk.{}.ffn_up.weight"});
  set(a, R::kFfnDown, "enc.blk.{}.ffn_down.weight", Need::kRequired);
  set(a, R::kOutputNorm, "enc.output_norm.weight", Need::kRequired);
  return a;
}();

// T5: the encoder above, and a causal decoder whose layers also attend to the encoder's output. The
// head is tied to the token embedding unless the file has output.weight (llama.cpp does not apply
// the d_model^-0.5 rescale of tied T5 checkpoints, and nor does jitflow).
constexpr ArchInfo kT5 = [] {
  ArchInfo a;
  a.name = "t5";
  a.forward = ForwardKind::kEncoderDecoder;
  a.encoder = &kT5Encoder;
  a.tied_output = true;
  set_t5_stack(a, {"dec.blk.{}.attn_norm.weight", "dec.blk.{}.attn_rel_b.weight", "dec.blk.{}.attn_q.weight",
                   "dec.blk.{}.attn_k.weight", "dec.blk.{}.attn_v.weight", "dec.blk.{}.attn_o.weight",
                   "dec.blk.{}.ffn_norm.weight", "dec.blk.{}.ffn_gate.weight", "dec.blk.{}.ffn_up.weight"});
  set(a, R::kFfnDown, "dec.blk.{}.ffn_down.weight", Need::kRequired);
  set(a, R::kCrossNorm, "dec.blk.{}.cross_attn_norm.weight", Need::kRequired);
  set(a, R::kCrossQ, "dec.blk.{}.cross_attn_q.weight", Need::kRequired);
  set(a, R::kCrossK, "dec.blk.{}.cross_attn_k.weight", Need::kRequired);
  set(a, R::kCrossV, "dec.blk.{}.cross_attn_v.weight", Need::kRequired);
  set(a, R::kCrossOut, "dec.blk.{}.cross_attn_o.weight", Need::kRequired);
  set(a, R::kOutputNorm, "dec.output_norm.weight", Need::kRequired);
  set(a, R::kOutput, "output.weight", Need::kRequired);
  return a;
}();

constexpr std::array<ArchInfo, 6> kArchs = {kLlama, kQwen2, kGpt2, kBert, kT5, kT5Encoder};

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

bool supports_experts(const ArchInfo& arch) {
  return arch.tensor(TensorRole::kFfnUpExps).need != Need::kAbsent;
}

std::string split_expert_name(const ArchInfo& arch, TensorRole role, int layer, int expert) {
  TensorRole dense = TensorRole::kCount;
  if (role == TensorRole::kFfnGateExps) dense = TensorRole::kFfnGate;
  if (role == TensorRole::kFfnUpExps) dense = TensorRole::kFfnUp;
  if (role == TensorRole::kFfnDownExps) dense = TensorRole::kFfnDown;
  if (dense == TensorRole::kCount) return "";
  std::string name = tensor_name(arch, dense, layer);
  constexpr std::string_view kSuffix = ".weight";
  if (!name.ends_with(kSuffix)) return "";
  name.insert(name.size() - kSuffix.size(), "." + std::to_string(expert));
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
    // A mixture of experts has at least as many FFN tensors as the dense FFN it replaces.
    const bool dense_or_always = kRoles[i].moe == MoeUse::kAlways || kRoles[i].moe == MoeUse::kDense;
    n += dense_or_always && kRoles[i].per_layer && spec.need == Need::kRequired && counted && first_of_file;
  }
  return n;
}

int relative_position_bucket(int relative, int n_buckets, bool bidirectional) {
  constexpr double kMaxDistance = 128;
  int bucket = 0;
  if (bidirectional) {
    n_buckets /= 2;
    bucket = relative > 0 ? n_buckets : 0;
    relative = relative < 0 ? -relative : relative;
  } else {
    relative = relative < 0 ? -relative : 0;
  }
  const int max_exact = n_buckets / 2;
  if (relative < max_exact) return bucket + relative;
  // In llama.cpp's precisions (a float log, a double denominator), so that boundary cases agree.
  const float log_ratio = std::log(static_cast<float>(static_cast<double>(relative) / max_exact));
  const double scaled = max_exact + log_ratio * static_cast<float>(n_buckets - max_exact) / std::log(kMaxDistance / max_exact);
  const int large = static_cast<int>(std::floor(static_cast<float>(scaled)));
  return bucket + std::min(large, n_buckets - 1);
}

bool uses_rope(PositionKind positions) {
  return positions == PositionKind::kRopeNormal || positions == PositionKind::kRopeNeox;
}

}  // namespace jf
