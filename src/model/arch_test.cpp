// The architecture table: lookup, tensor names, and the checks every row must pass.
#include "model/arch.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "model/blocks.h"

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
  EXPECT_EQ(required_tensors_per_layer(llama), 9);
  EXPECT_EQ(required_tensors_per_layer(qwen2), 12);
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

// A row the blocks cannot run (a GPT-2-like one) is refused naming the architecture and the kind.
TEST(ArchTest, KindsTheBlocksLackAreRefused) {
  ArchInfo gpt2 = *find_arch("llama");
  gpt2.name = "gpt2";
  gpt2.norm = NormKind::kLayer;
  Status s = check_blocks_support(gpt2);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("gpt2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("layer norm"), std::string::npos) << s.message();

  ArchInfo learned = *find_arch("llama");
  learned.positions = PositionKind::kLearned;
  s = check_blocks_support(learned);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("positions"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace jf
