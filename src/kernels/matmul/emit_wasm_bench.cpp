// What emitting a kernel costs and what it buys, in the engine that runs it (Emscripten build, under
// Node or in a page): per module, the C++ emission and the engine's compile + instantiate (medians
// over distinct modules: V8 caches identical bytes), then decode-shaped matrix-vector products
// (rows x cols Q4_0 / Q8_0 / F32, 1 token) with the scalar family, the compiled default, and every
// emitted config, in GB/s of weights.
// Usage: node --experimental-wasm-relaxed-simd build/wasm/src/kernels/emit_wasm_bench.js [rows cols]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "base/clock.h"
#include "base/thread_pool.h"
#include "jit/wasm_loader.h"
#include "kernels/matmul/emit_wasm.h"
#include "kernels/matmul/matmul.h"
#include "tensor/quant.h"

namespace jf {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<WasmMatmulConfig> configs(bool relaxed, int max_token_tile) {
  std::vector<WasmMatmulConfig> out;
  for (int r : {1, 2, 4, 8}) {
    for (int t = 1; t <= max_token_tile; t *= 2) {
      for (int u : {1, 2, 4}) out.push_back({r, t, u, relaxed});
    }
  }
  return out;
}

void compile_costs() {
  std::vector<double> emit_ms, load_ms;
  for (DType dtype : {DType::F32, DType::Q8_0, DType::Q4_0}) {
    for (const WasmMatmulConfig& c : configs(false, 4)) {
      const double start = now_ms();
      const WasmMatmulModule m = emit_wasm_matmul(dtype, c);
      emit_ms.push_back(now_ms() - start);
      uint32_t slot = 0;
      if (Status s = wasm::load_module(m.bytes, m.exports, m.name, &slot); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        std::exit(1);
      }
      load_ms.push_back(wasm::last_load_ms());
    }
  }
  std::printf("per module (%zu modules): emit %.3f ms, compile + instantiate %.3f ms (medians)\n",
              emit_ms.size(), median(emit_ms), median(load_ms));
}

// Median ms of one matmul of `w` with one token, over repeats after a warm-up (V8 tiers up hot code).
double time_matvec(const TensorView& w, const std::vector<float>& x, const MatmulKernel& k,
                   ThreadPool& pool) {
  std::vector<float> y(w.n_rows);
  MatmulScratch scratch;
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    const double start = now_ms();
    matmul(w, x.data(), 1, y.data(), pool, scratch, k);
    if (i >= 10) ms.push_back(now_ms() - start);
  }
  return median(ms);
}

void matvec_speeds(int64_t rows, int64_t cols) {
  ThreadPool pool(1);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<float> x(cols);
  for (float& v : x) v = static_cast<float>(byte(rng) - 128) / 64.0f;
  for (DType dtype : {DType::Q4_0, DType::Q8_0, DType::F32}) {
    std::vector<float> values(rows * cols);
    for (float& v : values) v = static_cast<float>(byte(rng) - 128) / 256.0f;
    std::vector<uint8_t> data(row_bytes(dtype, cols) * rows);
    for (int64_t r = 0; r < rows; ++r) {
      quantize_row(dtype, values.data() + r * cols, data.data() + r * row_bytes(dtype, cols), cols);
    }
    const TensorView w{"w", dtype, cols, rows, data.data()};
    const double gb = static_cast<double>(data.size()) / 1e9;
    const auto report = [&](const std::string& name, double ms) {
      std::printf("  %-46s %8.3f ms %7.2f GB/s\n", name.c_str(), ms, gb / (ms / 1e3));
    };
    std::printf("%s %lld x %lld, 1 token, 1 thread:\n", dtype_name(dtype), static_cast<long long>(rows),
                static_cast<long long>(cols));
    const MatmulKernel scalar = resolve_kernel(dtype, WeightLayout::rows, CpuIsa::scalar, {});
    report(scalar.name, time_matvec(w, x, scalar, pool));
    const MatmulKernel compiled = select_default_kernel(dtype, WeightLayout::rows, rows, cols, 1);
    report(compiled.name, time_matvec(w, x, compiled, pool));
    std::string best_name;
    double best_ms = 1e30;
    for (bool relaxed : {false, true}) {
      for (const WasmMatmulConfig& c : configs(relaxed, 1)) {
        const Result<MatmulKernel> k = load_wasm_matmul(dtype, c);
        if (!k.ok()) continue;  // relaxed instructions this engine lacks
        const double ms = time_matvec(w, x, *k, pool);
        if (ms < best_ms) best_ms = ms, best_name = k->name;
      }
    }
    report(best_name + " (best emitted)", best_ms);
  }
}

}  // namespace
}  // namespace jf

int main(int argc, char** argv) {
  const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 2048;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
  std::printf("relaxed SIMD: madd %s, dot %s\n", jf::wasm::engine_has_relaxed_madd() ? "yes" : "no",
              jf::wasm::engine_has_relaxed_dot() ? "yes" : "no");
  jf::compile_costs();
  jf::matvec_speeds(rows, cols);
  return 0;
}
