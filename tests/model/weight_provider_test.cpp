// Weight providers: the resident one hands out the loaded layers, and the forward pass follows the
// protocol (prefetch the next layer, acquire, release, in order) with the same logits whichever
// provider serves the weights.
#include "model/weight_provider.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "model/transformer.h"
#include "runtime/kernel_select.h"
#include "test_paths.h"
#include "test_model.h"

namespace jf {
namespace {

using Model = test::LoadedModel;

Model load_stories260k() { return test::load_model(test::source_path("models/stories260K.gguf")); }

// Serves the resident weights and records every call, as "a0" (acquire 0), "r0", "p1".
class RecordingProvider final : public WeightProvider {
 public:
  explicit RecordingProvider(const ModelWeights& weights) : resident_(weights) {}
  const ModelWeights& model() const override { return resident_.model(); }
  int n_layer() const override { return resident_.n_layer(); }
  const LayerWeights& acquire(int layer) override {
    calls.push_back("a" + std::to_string(layer));
    return resident_.acquire(layer);
  }
  void release(int layer) override { calls.push_back("r" + std::to_string(layer)); }
  void prefetch(int layer) override { calls.push_back("p" + std::to_string(layer)); }

  std::vector<std::string> calls;

 private:
  ResidentWeightProvider resident_;
};

TEST(WeightProviderTest, ResidentHandsOutTheLoadedLayers) {
  const Model m = load_stories260k();
  ASSERT_GT(m.config.n_layer, 1);
  ResidentWeightProvider provider(m.weights);
  EXPECT_EQ(&provider.model(), &m.weights);
  EXPECT_EQ(provider.n_layer(), m.config.n_layer);
  for (int l = 0; l < provider.n_layer(); ++l) {
    provider.prefetch(l);
    EXPECT_EQ(&provider.acquire(l), &m.weights.layers[l]);
    provider.release(l);
  }
}

TEST(WeightProviderTest, ForwardAcquiresEachLayerInOrderAndReleasesIt) {
  const Model m = load_stories260k();
  ThreadPool pool(2);
  KernelSelector kernels;
  RecordingProvider recording(m.weights);
  ResidentWeightProvider resident(m.weights);
  Transformer with_recording(m.config, recording, 16, pool, kernels);
  Transformer with_resident(m.config, resident, 16, pool, kernels);

  const std::vector<TokenId> prompt = {1, 5, 9};
  Result<const float*> a = with_recording.forward(prompt, false);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  const std::vector<float> logits_a(*a, *a + m.config.n_vocab);
  Result<const float*> b = with_resident.forward(prompt, false);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(logits_a, std::vector<float>(*b, *b + m.config.n_vocab));

  std::vector<std::string> expected;
  for (int l = 0; l < m.config.n_layer; ++l) {
    if (l + 1 < m.config.n_layer) expected.push_back("p" + std::to_string(l + 1));
    expected.push_back("a" + std::to_string(l));
    expected.push_back("r" + std::to_string(l));
  }
  EXPECT_EQ(recording.calls, expected);
}

TEST(WeightProviderTest, ModelLinearsAreEveryLayerMatrixThenTheHead) {
  const Model m = load_stories260k();
  const std::vector<NamedLinear> linears = model_linears(m.weights);
  ASSERT_EQ(linears.size(), 7u * m.config.n_layer + 1);
  const TensorRole order[] = {TensorRole::kAttnQ,   TensorRole::kAttnK,   TensorRole::kAttnV,
                              TensorRole::kAttnOut, TensorRole::kFfnGate, TensorRole::kFfnUp,
                              TensorRole::kFfnDown};
  for (int l = 0; l < m.config.n_layer; ++l) {
    for (int i = 0; i < 7; ++i) {
      const NamedLinear& linear = linears[l * 7 + i];
      EXPECT_EQ(linear.layer, l);
      EXPECT_EQ(linear.role, order[i]);
      EXPECT_EQ(linear.weight, &tensor_of(m.weights, order[i], l));
    }
  }
  EXPECT_EQ(linears.back().layer, -1);
  EXPECT_EQ(linears.back().weight, &m.weights.output.weight);
  EXPECT_EQ(m.weights.layers[0].q.weight.name, "blk.0.attn_q.weight");
}

}  // namespace
}  // namespace jf
