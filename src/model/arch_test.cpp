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
  EXPECT_EQ(arch_names(), "llama, qwen2");
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
    EXPECT_TRUE(check_blocks_support(a).ok()) << check_blocks_support(a).to_string();
    std::set<std::string> names;
    for (size_t i = 0; i < kTensorRoleCount; ++i) {
      const TensorRole role = static_cast<TensorRole>(i);
      const TensorSpec& spec = a.tensor(role);
      SCOPED_TRACE(role_info(role).name);
      EXPECT_EQ(spec.pattern == nullptr, spec.need == Need::kAbsent);
      if (spec.pattern == nullptr) continue;
      EXPECT_EQ(std::string(spec.pattern).find("{}") != std::string::npos, role_info(role).per_layer);
      EXPECT_TRUE(names.insert(spec.pattern).second) << spec.pattern;
    }
    EXPECT_EQ(a.tensor(TensorRole::kTokenEmbd).need, Need::kRequired);
    EXPECT_NE(a.tensor(TensorRole::kOutput).need, Need::kAbsent);
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
  std::set<const TensorView*> fields;
  for (int layer = 0; layer < 2; ++layer) {
    for (size_t i = 0; i < kTensorRoleCount; ++i) {
      const TensorRole role = static_cast<TensorRole>(i);
      if (layer > 0 && !role_info(role).per_layer) continue;
      EXPECT_TRUE(fields.insert(&tensor_of(w, role, layer)).second) << role_info(role).name;
    }
  }
}

// GPT-2, BERT and T5 written with the table's fields (as docs/architecture.md describes them). They
// are not rows of the table: the forward pass lacks their kinds, and reading such a config is
// refused naming the architecture and what is missing.
ArchInfo gpt2_like() {
  ArchInfo a;
  a.name = "gpt2";
  a.norm = NormKind::kLayer;
  a.ffn = FfnKind::kGelu;
  a.positions = PositionKind::kLearned;
  a.tied_output = true;
  a.norm_eps_key = "attention.layer_norm_epsilon";
  auto set = [&a](TensorRole role, const char* pattern) {
    a.tensors[static_cast<size_t>(role)] = {pattern, Need::kRequired};
  };
  set(TensorRole::kTokenEmbd, "token_embd.weight");
  set(TensorRole::kPosEmbd, "position_embd.weight");
  set(TensorRole::kOutputNorm, "output_norm.weight");
  set(TensorRole::kOutputNormBias, "output_norm.bias");
  set(TensorRole::kOutput, "output.weight");
  set(TensorRole::kAttnNorm, "blk.{}.attn_norm.weight");
  set(TensorRole::kAttnNormBias, "blk.{}.attn_norm.bias");
  set(TensorRole::kAttnOut, "blk.{}.attn_output.weight");
  set(TensorRole::kAttnOutBias, "blk.{}.attn_output.bias");
  set(TensorRole::kFfnNorm, "blk.{}.ffn_norm.weight");
  set(TensorRole::kFfnNormBias, "blk.{}.ffn_norm.bias");
  set(TensorRole::kFfnUp, "blk.{}.ffn_up.weight");
  set(TensorRole::kFfnUpBias, "blk.{}.ffn_up.bias");
  set(TensorRole::kFfnDown, "blk.{}.ffn_down.weight");
  set(TensorRole::kFfnDownBias, "blk.{}.ffn_down.bias");
  return a;
}

TEST(ArchTest, KindsTheBlocksLackAreRefusedNamingThem) {
  const ArchInfo gpt2 = gpt2_like();
  Status s = check_blocks_support(gpt2);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("'gpt2'"), std::string::npos) << s.message();
  EXPECT_EQ(tensor_name(gpt2, TensorRole::kFfnUpBias, 3), "blk.3.ffn_up.bias");
  EXPECT_EQ(tensor_name(gpt2, TensorRole::kFfnGate, 3), "") << "GELU FFN: no gate";

  ArchInfo layer_norm = *find_arch("llama");
  layer_norm.norm = NormKind::kLayer;
  s = check_blocks_support(layer_norm);
  EXPECT_NE(s.message().find("layer norm"), std::string::npos) << s.message();

  ArchInfo bert = *find_arch("llama");
  bert.name = "bert";
  bert.forward = ForwardKind::kEncoder;
  s = check_blocks_support(bert);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("encoder"), std::string::npos) << s.message();

  ArchInfo t5 = *find_arch("llama");
  t5.forward = ForwardKind::kEncoderDecoder;
  t5.positions = PositionKind::kRelativeBias;
  t5.ffn = FfnKind::kGeGlu;
  EXPECT_EQ(check_blocks_support(t5).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace jf
