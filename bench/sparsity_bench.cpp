// Active-set selection per decode token (kernels/select): the fastest top-k and threshold entries
// this CPU runs and the top-k reference, over rows as wide as tinyllama's sites (2048 and 5632).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/select/select.h"

namespace {

std::vector<float> activations(int64_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

void BM_Topk(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = activations(n);
  std::vector<int32_t> out(n);
  jf::TopkScratch scratch;
  for (auto _ : state) {
    jf::select_topk(x.data(), n, n / 2, out.data(), scratch);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_TopkReference(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = activations(n);
  std::vector<int32_t> out(n);
  jf::TopkScratch scratch;
  for (auto _ : state) {
    jf::select_topk_ref(x.data(), n, n / 2, out.data(), scratch);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_Threshold(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = activations(n);
  std::vector<int32_t> out(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(jf::select_at_least(x.data(), n, 0.2f, out.data()));
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_Topk)->Arg(2048)->Arg(5632);
BENCHMARK(BM_TopkReference)->Arg(2048)->Arg(5632);
BENCHMARK(BM_Threshold)->Arg(2048)->Arg(5632);

}  // namespace
