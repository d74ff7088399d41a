// What emitting a kernel costs and what it buys, in the engine that runs it (Emscripten build, under
// Node or in a page): per module, the C++ emission and the engine's compile + instantiate (medians
// over distinct modules: V8 caches identical bytes), then decode-shaped matrix-vector products
// (rows x cols Q4_0 / Q8_0 / F32, 1 token) with the scalar family, the compiled default, and every
// emitted config, in GB/s of weights.
// With --f16, F16 matrices of the shapes listed instead (e.g. docs-28M's: 512x512 256x512 1408x512
// 512x1408 4096x512, rows x cols): the matrix-vector time of the same values widened to F32 (what
// the loader keeps when it widens: compiled and best emitted kernel) and kept as F16 (compiled and
// best emitted), for matmul.cpp's resident_dtype policy.
// Usage: node --experimental-wasm-relaxed-simd build/wasm/src/kernels/emit_wasm_bench.js [rows cols]
//        node --experimental-wasm-relaxed-simd build/wasm/src/kernels/emit_wasm_bench.js --f16 RxC...
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/fp16.h"
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

// Median ms of one matmul of `w` with one token, over repeats after a warm-up (V8 tiers up hot code);
// a repeat runs it often enough to stream >= 4 MiB of weights, so that small matrices are not
// timed at the clock's resolution.
double time_matvec(const TensorView& w, const std::vector<float>& x, const MatmulKernel& k,
                   ThreadPool& pool) {
  std::vector<float> y(w.n_rows);
  MatmulScratch scratch;
  const int64_t bytes = w.n_rows * static_cast<int64_t>(w.row_stride_bytes());
  const int64_t calls = std::max<int64_t>(1, (int64_t{4} << 20) / bytes);
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    const double start = now_ms();
    for (int64_t c = 0; c < calls; ++c) matmul(w, x.data(), 1, y.data(), pool, scratch, k);
    if (i >= 10) ms.push_back((now_ms() - start) / static_cast<double>(calls));
  }
  return median(ms);
}

// The best emitted kernel of `dtype` for one token (plain and relaxed configs) and its median ms.
std::pair<std::string, double> best_emitted(DType dtype, const TensorView& w, const std::vector<float>& x,
                                            ThreadPool& pool) {
  std::pair<std::string, double> best{"", 1e30};
  for (bool relaxed : {false, true}) {
    for (const WasmMatmulConfig& c : configs(relaxed, 1)) {
      const Result<MatmulKernel> k = load_wasm_matmul(dtype, c);
      if (!k.ok()) continue;  // relaxed instructions this engine lacks
      const double ms = time_matvec(w, x, *k, pool);
      if (ms < best.second) best = {k->name, ms};
    }
  }
  return best;
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
    const auto [best_name, best_ms] = best_emitted(dtype, w, x, pool);
    report(best_name + " (best emitted)", best_ms);
  }
}

// One F16 matrix of rows x cols, widened to F32 and kept as F16: compiled and best emitted kernel
// of each, 1 token, 1 thread. Values N(0, 0.02), as trained projections (about 0.2% of them fp16
// subnormals, which the conversion multiplies as f32 subnormals).
void f16_matvec_speeds(int64_t rows, int64_t cols, ThreadPool& pool) {
  std::mt19937 rng(1);
  std::normal_distribution<float> weight(0.0f, 0.02f), act(0.0f, 1.0f);
  std::vector<uint16_t> halves(rows * cols);
  for (uint16_t& h : halves) h = f32_to_fp16(weight(rng));
  std::vector<float> widened(rows * cols);
  for (size_t i = 0; i < halves.size(); ++i) widened[i] = fp16_to_f32(halves[i]);
  std::vector<float> x(cols);
  for (float& v : x) v = act(rng);
  std::printf("F16 %lld x %lld, 1 token, 1 thread:\n", static_cast<long long>(rows),
              static_cast<long long>(cols));
  const auto report = [&](const char* what, const std::string& name, double ms) {
    std::printf("  %-14s %-46s %8.4f ms\n", what, name.c_str(), ms);
  };
  for (DType dtype : {DType::F32, DType::F16}) {
    const void* data = dtype == DType::F32 ? static_cast<const void*>(widened.data()) : halves.data();
    const TensorView w{"w", dtype, cols, rows, static_cast<const uint8_t*>(data)};
    const char* kept = dtype == DType::F32 ? "widened" : "F16 resident";
    const MatmulKernel compiled = select_default_kernel(dtype, WeightLayout::rows, rows, cols, 1);
    report(kept, compiled.name, time_matvec(w, x, compiled, pool));
    const auto [best_name, best_ms] = best_emitted(dtype, w, x, pool);
    report(kept, best_name + " (best emitted)", best_ms);
  }
}

}  // namespace
}  // namespace jf

int main(int argc, char** argv) {
  std::printf("relaxed SIMD: madd %s, dot %s\n", jf::wasm::engine_has_relaxed_madd() ? "yes" : "no",
              jf::wasm::engine_has_relaxed_dot() ? "yes" : "no");
  if (argc > 1 && std::strcmp(argv[1], "--f16") == 0) {
    jf::ThreadPool pool(1);
    for (int i = 2; i < argc; ++i) {
      long long rows = 0, cols = 0;
      if (std::sscanf(argv[i], "%lldx%lld", &rows, &cols) != 2 || rows <= 0 || cols <= 0) {
        std::fprintf(stderr, "emit_wasm_bench: '%s' is not ROWSxCOLS\n", argv[i]);
        return 2;
      }
      jf::f16_matvec_speeds(rows, cols, pool);
    }
    return 0;
  }
  const int64_t rows = argc > 2 ? std::atoll(argv[1]) : 2048;
  const int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2048;
  jf::compile_costs();
  jf::matvec_speeds(rows, cols);
  return 0;
}
