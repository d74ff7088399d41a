#include "gpu/plan.h"

#include <gtest/gtest.h>

#include <string>

#include "gpu/gpu_layout.h"
#include "test_paths.h"

namespace jf::gpu {
namespace {

Result<Plan> plan_of(const std::string& path, PlanOptions options = {}) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(path));
  return build_plan(file, options);
}

// The default options with this context and prefill batch.
PlanOptions options_for(int n_ctx, int batch = PlanOptions{}.batch) {
  PlanOptions options;
  options.n_ctx = n_ctx;
  options.batch = batch;
  return options;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(WebGpuPlan, StoriesPassesBindEveryKernelFully) {
  Result<Plan> plan = plan_of(test::source_path("models/stories260K.gguf"), options_for(128, 16));
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  const int n_layer = plan->shape.n_layer;
  // The embeddings, 14 steps per layer, the last row's norm, the head and the argmax.
  EXPECT_EQ(plan->steps.size(), static_cast<size_t>(1 + 14 * n_layer + 3));
  EXPECT_EQ(plan->prefill_steps.size(), plan->steps.size());
  EXPECT_EQ(plan->n_ctx, 128);
  EXPECT_EQ(plan->batch, 16);
  EXPECT_EQ(plan->buffers.at(static_cast<size_t>(plan->params)).bytes, 4u * (2 + 16));
  std::vector<PlanStep> all = plan->steps;
  all.insert(all.end(), plan->prefill_steps.begin(), plan->prefill_steps.end());
  int matmuls = 0;
  for (const PlanStep& step : plan->prefill_steps) {
    matmuls += plan->kernels.at(static_cast<size_t>(step.kernel)).name.find("-matmul-") != std::string::npos;
  }
  EXPECT_EQ(matmuls, 7 * n_layer);  // every linear of a layer; the head runs on the last row only
  for (const PlanStep& step : all) {
    const WgslKernel& k = plan->kernels.at(static_cast<size_t>(step.kernel));
    EXPECT_EQ(count_of(k.source, "@binding("), static_cast<int>(step.buffers.size())) << k.name;
    EXPECT_GE(step.groups.x, 1u);
    for (int b : step.buffers) ASSERT_LT(static_cast<size_t>(b), plan->buffers.size());
  }
  for (size_t i = 0; i < plan->kernels.size(); ++i) {
    for (size_t j = i + 1; j < plan->kernels.size(); ++j)
      EXPECT_NE(plan->kernels[i].source, plan->kernels[j].source);
  }
  for (const PlanBuffer& b : plan->buffers) {
    EXPECT_EQ(b.bytes % 4, 0u) << b.name;
    if (b.data_offset >= 0) {
      EXPECT_LE(static_cast<uint64_t>(b.data_offset) + b.bytes, plan->data.size()) << b.name;
    }
  }
  EXPECT_EQ(plan->buffers.at(static_cast<size_t>(plan->params)).name, "params");
  const Json json = plan_json(*plan);
  EXPECT_EQ(json.find("steps")->items().size(), plan->steps.size());
  EXPECT_EQ(json.find("format")->as_string(), "jitflow-webgpu-plan");
}

TEST(WebGpuPlan, QuantisedMatricesArePaddedToWords) {
  JF_REQUIRE_SHARED("models/synth/synth-Q4_0.gguf");
  Result<Plan> plan = plan_of(test::shared_path("models/synth/synth-Q4_0.gguf"), options_for(64));
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  const int64_t n_embd = plan->shape.n_embd;
  for (const PlanBuffer& b : plan->buffers) {
    if (b.name == "blk.0.attn_q.weight") {
      EXPECT_EQ(b.bytes, static_cast<uint64_t>(n_embd * (n_embd / 32) * 20));
    }
  }
  EXPECT_EQ(gpu_row_bytes(DType::Q8_0, 64), 72u);
  EXPECT_EQ(gpu_row_bytes(DType::F16, 64), 128u);
}

TEST(WebGpuPlan, KQuantsAreStoredAsF16WithANote) {
  JF_REQUIRE_SHARED("models/synth/synth-Q4_K_M.gguf");
  Result<Plan> plan = plan_of(test::shared_path("models/synth/synth-Q4_K_M.gguf"), options_for(64));
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_FALSE(plan->notes.empty());
  EXPECT_NE(plan->notes[0].find(" q4_k matrices stored as f16"), std::string::npos) << plan->notes[0];
  for (const WgslKernel& k : plan->kernels) EXPECT_EQ(k.name.find("q4_k"), std::string::npos) << k.name;
}

TEST(WebGpuPlan, BiasedArchitectureIsUnsupported) {
  JF_REQUIRE_SHARED("models/synth/synth-qwen2-F32.gguf");
  Result<Plan> plan = plan_of(test::shared_path("models/synth/synth-qwen2-F32.gguf"));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(plan.status().message().find("linear biases"), std::string::npos) << plan.status().message();
}

TEST(WebGpuPlan, BadOptionsAreInvalidArguments) {
  const std::string stories = test::source_path("models/stories260K.gguf");
  Result<Plan> long_ctx = plan_of(stories, options_for(kMaxWgslContext + 1));
  ASSERT_FALSE(long_ctx.ok());
  EXPECT_EQ(long_ctx.status().code(), StatusCode::kInvalidArgument);
  PlanOptions too_many_lanes = options_for(16);
  too_many_lanes.matvec = MatvecConfig{64, 2, 32};  // more lanes than threads
  Result<Plan> bad_config = plan_of(stories, too_many_lanes);
  ASSERT_FALSE(bad_config.ok());
  EXPECT_EQ(bad_config.status().code(), StatusCode::kInvalidArgument);
  PlanOptions too_many_threads = options_for(16);
  too_many_threads.matmul = MatmulConfig{4, 4, 16, 2};  // 32 threads
  Result<Plan> bad_tile = plan_of(stories, too_many_threads);
  ASSERT_FALSE(bad_tile.ok());
  EXPECT_EQ(bad_tile.status().code(), StatusCode::kInvalidArgument);
}

TEST(Wgsl, MatvecGroupsCoverEveryRow) {
  for (const MatvecConfig c : {MatvecConfig{1, 1, 64}, MatvecConfig{32, 2, 64}, MatvecConfig{4, 8, 256}}) {
    ASSERT_TRUE(is_valid(c));
    for (int64_t n_rows : {1, 63, 64, 65, 32000, 10000000}) {
      const Groups g = matvec_groups(n_rows, c);
      const int64_t rows = static_cast<int64_t>(g.x) * g.y * (c.workgroup / c.lanes) * c.tile;
      EXPECT_LE(g.x, 65535u);
      EXPECT_GE(rows, n_rows);
      EXPECT_LT(rows - n_rows, static_cast<int64_t>(g.x) * (c.workgroup / c.lanes) * c.tile) << n_rows;
    }
  }
  EXPECT_FALSE(is_valid(MatvecConfig{3, 1, 64}));
  EXPECT_FALSE(is_valid(MatvecConfig{1, 16, 64}));
  EXPECT_FALSE(is_valid(MatvecConfig{1, 1, 512}));
}

TEST(Wgsl, NamesCarryTypeAndKnobs) {
  EXPECT_EQ(wgsl_matvec(DType::Q4_0, 64, 64, true, {8, 4, 128}).name, "q4_0-f32-matvec-l8t4w128-acc__wgsl");
  EXPECT_EQ(wgsl_matvec(DType::F16, 64, 64, false, {}).name, "f16-f32-matvec-l32t2w64__wgsl");
  const WgslKernel single_lane = wgsl_matvec(DType::F32, 64, 64, false, {1, 1, 64});
  EXPECT_EQ(single_lane.source.find("workgroupBarrier"), std::string::npos);  // nothing to reduce
  EXPECT_EQ(single_lane.source.find("${"), std::string::npos);
}

}  // namespace
}  // namespace jf::gpu
