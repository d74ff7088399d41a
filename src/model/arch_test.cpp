// The architecture table: lookup, tensor names, and the checks every row must pass.
#include "model/arch.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "model/blocks.h"
#include "model/weights.h"

namespace jf {
namespace {

TEST(ArchTest, FindsEveryRowByItsName) {
  ASSERT_FALSE(all_archs().empty());
  for (const ArchInfo& a : all_archs()) EXPECT_EQ(find_arch(a.name), &a) << a.name;
  EXPECT_EQ(find_arch("mamba"), nullptr);
  EXPECT_EQ(find_arch(""), nullptr);
  EXPECT_EQ(find_arch("Llama"), nullptr) << "general.architecture is matched exactly";
  EXPECT_EQ(arch_names(), "llama, qwen2, gpt2, bert, t5, t5encoder");
}

TEST(ArchTest, Qwen2IsLlamaWithNeoxRopeAndQkvBiases) {
  const ArchInfo& llama = *find_arch("llama");
  const ArchInfo& qwen2 = *find_arch("qwen2");
  EXPECT_EQ(llama.positions, PositionKind::kRopeNormal);
  EXPECT_EQ(qwen2.positions, PositionKind::kRopeNeox);
  for (TensorRole bias : {TensorRole::kAttnQBias, TensorRole::kAttnKBias, TensorRole::kAttnVBias}) {
    EXPECT_EQ(llama.tensor(bias).need, Need::kOptional);
    EXPECT_EQ(qwen2.tensor(bias).need, Need::kRequired);
  }
  EXPECT_EQ(llama.tensor(TensorRole::kAttnOutBias).need, Need::kAbsent);
  EXPECT_EQ(required_tensors_per_layer(llama, false), 9);
  EXPECT_EQ(required_tensors_per_layer(llama, true), 2);  // the norms
  EXPECT_EQ(required_tensors_per_layer(qwen2, false), 12);
}

TEST(ArchTest, TensorNamesPutTheLayerInThePattern) {
  const ArchInfo& llama = *find_arch("llama");
  EXPECT_EQ(tensor_name(llama, TensorRole::kAttnQ, 0), "blk.0.attn_q.weight");
  EXPECT_EQ(tensor_name(llama, TensorRole::kFfnDown, 17), "blk.17.ffn_down.weight");
  EXPECT_EQ(tensor_name(llama, TensorRole::kTokenEmbd, 5), "token_embd.weight");
  EXPECT_EQ(tensor_name(llama, TensorRole::kPosEmbd, 0), "") << "llama has no learned positions";
}

// Every row: a pattern exactly for the roles it lists, "{}" exactly in the per-layer ones, distinct
// names, biases only of present weights, and kinds the shared blocks implement.
TEST(ArchTest, EveryRowIsConsistent) {
  for (const ArchInfo& a : all_archs()) {
    SCOPED_TRACE(a.name);
    std::set<std::string> names;
    for (size_t i = 0; i < kTensorRoleCount; ++i) {
      const TensorRole role = static_cast<TensorRole>(i);
      const TensorSpec& spec = a.tensor(role);
      SCOPED_TRACE(role_info(role).name);
      EXPECT_EQ(spec.pattern == nullptr, spec.need == Need::kAbsent);
      if (spec.pattern == nullptr) continue;
      EXPECT_EQ(std::string(spec.pattern).find("{}") != std::string::npos, role_info(role).per_layer);
      // A pattern names one tensor, except the parts of a fused one (each part once).
      const bool later_part = spec.part == FusedPart::kK || spec.part == FusedPart::kV;
      EXPECT_EQ(names.insert(spec.pattern).second, !later_part) << spec.pattern;
    }
    EXPECT_EQ(a.tensor(TensorRole::kTokenEmbd).need, Need::kRequired);
    // Decoders have a head; an encoder's output is its hidden states.
    EXPECT_EQ(a.tensor(TensorRole::kOutput).need != Need::kAbsent, a.forward != ForwardKind::kEncoder);
  }
}

TEST(ArchTest, RoleTableMatchesTheEnum) {
  EXPECT_STREQ(role_info(TensorRole::kTokenEmbd).name, "token_embd");
  EXPECT_STREQ(role_info(TensorRole::kFfnDownBias).name, "ffn_down_bias");
  EXPECT_EQ(role_info(TensorRole::kAttnQ).kind, RoleKind::kMatrix);
  EXPECT_EQ(role_info(TensorRole::kAttnQBias).kind, RoleKind::kVector);
  EXPECT_EQ(role_info(TensorRole::kAttnQBias).n_cols, Dim::kEmbdQ);
  EXPECT_FALSE(role_info(TensorRole::kOutput).per_layer);
  EXPECT_TRUE(role_info(TensorRole::kAttnNorm).per_layer);
}

// The loader fills, and the forward pass reads, one field per role: a role without one would fail
// at load time, so every role must map to a field of its own.
TEST(ArchTest, EveryRoleHasItsOwnField) {
  ModelWeights w;
  w.layers.resize(2);
  for (LayerWeights& layer : w.layers) layer.experts.resize(2);
  std::set<const TensorView*> fields;
  for (int layer = 0; layer < 2; ++layer) {
    for (size_t i = 0; i < kTensorRoleCount; ++i) {
      const TensorRole role = static_cast<TensorRole>(i);
      if (layer > 0 && !role_info(role).per_layer) continue;
      EXPECT_TRUE(fields.insert(&tensor_of(w, role, layer)).second) << role_info(role).name;
      if (role_info(role).moe == MoeUse::kPerExpert) {
        EXPECT_TRUE(fields.insert(&layer_tensor(w.layers[layer], role, 1)).second) << role_info(role).name;
      }
    }
  }
}

// Llama's row names Mixtral's tensors; a MoE file loads them instead of the dense FFN's.
TEST(ArchTest, LlamaRunsAMixtureOfExperts) {
  const ArchInfo& llama = *find_arch("llama");
  EXPECT_TRUE(supports_experts(llama));
  EXPECT_FALSE(supports_experts(*find_arch("qwen2")));
  EXPECT_FALSE(supports_experts(*find_arch("gpt2")));
  EXPECT_EQ(tensor_name(llama, TensorRole::kFfnGateInp, 4), "blk.4.ffn_gate_inp.weight");
  EXPECT_EQ(tensor_name(llama, TensorRole::kFfnDownExps, 4), "blk.4.ffn_down_exps.weight");
  EXPECT_EQ(role_info(TensorRole::kFfnGateInp).n_rows, Dim::kExperts);
  EXPECT_EQ(role_info(TensorRole::kFfnGateInp).moe, MoeUse::kMoe);
  EXPECT_EQ(role_info(TensorRole::kFfnUpExps).moe, MoeUse::kPerExpert);
  EXPECT_EQ(role_info(TensorRole::kFfnUp).moe, MoeUse::kDense);
  EXPECT_EQ(role_info(TensorRole::kAttnQ).moe, MoeUse::kAlways);
  // The older layout: one tensor per expert.
  EXPECT_EQ(split_expert_name(llama, TensorRole::kFfnGateExps, 4, 7), "blk.4.ffn_gate.7.weight");
  EXPECT_EQ(split_expert_name(llama, TensorRole::kFfnDownExps, 0, 0), "blk.0.ffn_down.0.weight");
  EXPECT_EQ(split_expert_name(llama, TensorRole::kFfnGateInp, 0, 0), "") << "the router is never split";
  // Norms, q, k, v, o and the dense FFN's three: a MoE layer has at least as many tensors.
  EXPECT_EQ(required_tensors_per_layer(llama, false), 9);
}

TEST(ArchTest, Gpt2ReadsQkvAsPartsOfOneFusedTensor) {
  const ArchInfo& gpt2 = *find_arch("gpt2");
  EXPECT_TRUE(has_fused_tensors(gpt2));
  EXPECT_FALSE(has_fused_tensors(*find_arch("llama")));
  for (TensorRole role : {TensorRole::kAttnQ, TensorRole::kAttnK, TensorRole::kAttnV}) {
    EXPECT_EQ(tensor_name(gpt2, role, 3), "blk.3.attn_qkv.weight");
  }
  EXPECT_EQ(gpt2.tensor(TensorRole::kAttnK).part, FusedPart::kK);
  EXPECT_EQ(tensor_name(gpt2, TensorRole::kFfnGate, 3), "") << "GELU FFN: no gate";
  // attn_norm(+bias), attn_qkv(+bias) once, attn_output(+bias), ffn_norm(+bias), up(+bias), down(+bias).
  EXPECT_EQ(required_tensors_per_layer(gpt2, false), 12);
}

TEST(ArchTest, BertIsAPostNormEncoder) {
  const ArchInfo& bert = *find_arch("bert");
  EXPECT_EQ(bert.forward, ForwardKind::kEncoder);
  EXPECT_EQ(bert.norm_placement, NormPlacement::kPost);
  EXPECT_EQ(tensor_name(bert, TensorRole::kAttnNorm, 0), "blk.0.attn_output_norm.weight");
  EXPECT_EQ(tensor_name(bert, TensorRole::kFfnNorm, 0), "blk.0.layer_output_norm.weight");
  EXPECT_EQ(bert.tensor(TensorRole::kOutput).need, Need::kAbsent) << "an encoder has no head";
}

TEST(ArchTest, T5IsAnEncoderDecoderWithItsEncoderStackAsARow) {
  const ArchInfo& t5 = *find_arch("t5");
  ASSERT_NE(t5.encoder, nullptr);
  EXPECT_STREQ(t5.encoder->name, "t5encoder");
  EXPECT_EQ(t5.forward, ForwardKind::kEncoderDecoder);
  EXPECT_EQ(t5.encoder->forward, ForwardKind::kEncoder);
  EXPECT_TRUE(t5.unscaled_attention);
  EXPECT_EQ(tensor_name(t5, TensorRole::kCrossK, 2), "dec.blk.2.cross_attn_k.weight");
  EXPECT_EQ(tensor_name(*t5.encoder, TensorRole::kAttnOut, 2), "enc.blk.2.attn_o.weight");
  EXPECT_EQ(tensor_name(*t5.encoder, TensorRole::kOutputNorm, 0), "enc.output_norm.weight");
}

// Buckets of T5's relative positions (32 buckets, max distance 128), worked out from the definition:
// exact below half the (per-direction) buckets, then log-spaced up to the last bucket.
TEST(ArchTest, RelativePositionBuckets) {
  // Bidirectional: 16 per direction, exact below 8; keys after the query in buckets 16..31.
  EXPECT_EQ(relative_position_bucket(0, 32, true), 0);
  EXPECT_EQ(relative_position_bucket(-7, 32, true), 7);
  EXPECT_EQ(relative_position_bucket(7, 32, true), 16 + 7);
  EXPECT_EQ(relative_position_bucket(-8, 32, true), 8);            // 8 + log(1) * 8 / log(16)
  EXPECT_EQ(relative_position_bucket(-20, 32, true), 10);           // 8 + floor(8 * log 2.5 / log 16) = 8 + 2
  EXPECT_EQ(relative_position_bucket(-1000, 32, true), 15);         // capped
  EXPECT_EQ(relative_position_bucket(1000, 32, true), 31);
  // Unidirectional: 32 buckets for past keys, exact below 16; future keys (never attended) bucket 0.
  EXPECT_EQ(relative_position_bucket(-15, 32, false), 15);
  EXPECT_EQ(relative_position_bucket(-40, 32, false), 23);          // 16 + floor(16 * log 2.5 / log 8) = 16 + 7
  EXPECT_EQ(relative_position_bucket(-500, 32, false), 31);
  EXPECT_EQ(relative_position_bucket(3, 32, false), 0);
}

}  // namespace
}  // namespace jf
