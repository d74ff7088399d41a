#include "tune/matmul_bench.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <utility>

#include "base/cpu_isa.h"
#include "base/log.h"
#include "kernels/matmul/emit_wasm.h"
#include "kernels/matmul/ref.h"
#include "tensor/quant.h"
#include "tune/machine_limits.h"

#if defined(__EMSCRIPTEN__)
#include "jit/wasm_loader.h"
#endif

namespace jf::tune {
namespace {

// The SIMD ISAs of this CPU with a variant for `dtype` in `layout`, widest first; the scalar one
// (the reference) only when there is none.
std::vector<CpuIsa> searched_isas(DType dtype, WeightLayout layout) {
  std::vector<CpuIsa> isas;
  VariantInfo info;
  for (CpuIsa isa : compiled_isas()) {
    if (isa != CpuIsa::scalar && cpu_has_isa(isa) && variant_info(dtype, layout, isa, &info))
      isas.push_back(isa);
  }
  if (isas.empty()) isas.push_back(CpuIsa::scalar);
  return isas;
}

MatmulShape shape_of(const MatmulWorkload& w, int n_threads) {
  return MatmulShape{w.dtype, w.n_rows, w.n_cols, w.n_tokens, n_threads};
}

#if defined(__EMSCRIPTEN__)
// Emits and installs the kernels of `configs` (kernels/matmul/emit_wasm.h) into `out`.
void add_emitted(DType dtype, const std::vector<WasmMatmulConfig>& configs, std::vector<MatmulKernel>* out) {
  for (const WasmMatmulConfig& c : configs) {
    Result<MatmulKernel> k = load_wasm_matmul(dtype, c);
    if (k.ok()) {
      out->push_back(std::move(*k));
    } else {
      JF_LOG_WARN("tuner: %s", k.status().to_string().c_str());
    }
  }
}
#endif

std::vector<int64_t> checked_indices(const MatmulWorkload& w) {
  std::set<int64_t> index;
  for (int64_t t : {int64_t{0}, w.n_tokens / 2, w.n_tokens - 1}) {
    for (int64_t r = 0; r < w.n_rows; ++r) index.insert(t * w.n_rows + r);
  }
  // An odd stride lands on every position within the row tiles; the last row ends a remainder tile.
  const int64_t stride = std::max<int64_t>(1, w.n_rows / kCheckedRows) | 1;
  for (int64_t r = 0; r < w.n_rows; r += stride) {
    for (int64_t t = 0; t < w.n_tokens; ++t) index.insert(t * w.n_rows + r);
  }
  for (int64_t t = 0; t < w.n_tokens; ++t) index.insert(t * w.n_rows + w.n_rows - 1);
  return {index.begin(), index.end()};
}

}  // namespace

double measurement_ms(double call_ms) {
  return std::max(call_ms, std::min(kMaxCandidateMs, std::max(kMinTimeMs, kMinSamples * call_ms)));
}

std::vector<MatmulKernel> pruned_space(const MatmulWorkload& w, int n_threads, const DeviceLimits& limits) {
  std::vector<MatmulKernel> out;
  for (CpuIsa isa : searched_isas(w.dtype, w.layout)) {
    VariantInfo info;
    if (!variant_info(w.dtype, w.layout, isa, &info)) continue;
    for (const MatmulConfig& c : enumerate_space(shape_of(w, n_threads), info, machine_limits(limits, isa))) {
      MatmulKernel k = resolve_kernel(w.dtype, w.layout, isa, c);
      if (k.valid()) out.push_back(std::move(k));
    }
  }
#if defined(__EMSCRIPTEN__)
  if (w.layout == WeightLayout::rows && wasm_emitter_supports(w.dtype)) {
    const WasmSpaceLimits space_limits{machine_limits(limits, CpuIsa::wasm_simd128).n_vec_regs,
                                       wasm::engine_has_relaxed_madd(), wasm::engine_has_relaxed_dot()};
    add_emitted(w.dtype, wasm_matmul_space(w.dtype, w.n_tokens, space_limits), &out);
  }
#endif
  return out;
}

std::vector<MatmulKernel> full_space(DType dtype, WeightLayout layout) {
  std::vector<MatmulKernel> out;
  for (CpuIsa isa : searched_isas(dtype, layout)) {
    for (const MatmulConfig& c : candidate_configs()) {
      MatmulKernel k = resolve_kernel(dtype, layout, isa, c);
      if (k.valid()) out.push_back(std::move(k));
    }
  }
#if defined(__EMSCRIPTEN__)
  if (layout == WeightLayout::rows && wasm_emitter_supports(dtype)) add_emitted(dtype, wasm_matmul_full_space(dtype), &out);
#endif
  return out;
}

int full_space_size(DType dtype, WeightLayout layout) {
  int n = 0;
  for (CpuIsa isa : searched_isas(dtype, layout)) {
    for (const MatmulConfig& c : candidate_configs()) n += resolve_kernel(dtype, layout, isa, c).valid();
  }
#if defined(__EMSCRIPTEN__)
  if (layout == WeightLayout::rows && wasm_emitter_supports(dtype))
    n += static_cast<int>(wasm_matmul_full_space(dtype).size());
#endif
  return n;
}

int distance(const MatmulKernel& k, const MatmulKernel& from) {
  const MatmulConfig& a = k.config;
  const MatmulConfig& b = from.config;
  return (k.family != from.family) + (a.row_tile != b.row_tile) + (a.token_tile != b.token_tile) +
         (a.k_block != b.k_block) + (a.prefetch_rows != b.prefetch_rows);
}

// The oracle on the sampledoutputs: activations through quantize_row, then vec_dot_ref.
CheckSet make_check_set(const MatmulWorkload& w, const std::vector<float>& x, ThreadPool& pool) {
  const DType x_type = vec_dot_type(w.dtype);
  const size_t x_row_bytes = row_bytes(x_type, w.n_cols);
  std::vector<uint8_t> encoded(x_row_bytes * w.n_tokens);
  for (int64_t t = 0; t < w.n_tokens; ++t) {
    quantize_row(x_type, x.data() + t * w.n_cols, encoded.data() + t * x_row_bytes, w.n_cols);
  }
  CheckSet set;
  set.index = checked_indices(w);
  set.value.resize(set.index.size());
  const TensorView& weight = w.weights.front();
  const int64_t n_checked = static_cast<int64_t>(set.index.size());
  pool.parallel_for(n_checked, pool.chunk_count(n_checked), [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> row_scratch;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t t = set.index[i] / w.n_rows, r = set.index[i] % w.n_rows;
      set.value[i] =
          vec_dot_ref(w.dtype, w.n_cols, weight.gguf_row(r, &row_scratch), encoded.data() + t * x_row_bytes);
    }
  });
  double sum_sq = 0;
  for (float v : set.value) sum_sq += static_cast<double>(v) * v;
  set.tolerance = kCheckRelTolerance * std::sqrt(sum_sq / static_cast<double>(set.value.size()));
  return set;
}

WorkloadBench::WorkloadBench(const MatmulWorkload& w, ThreadPool& pool, uint64_t seed,
                             TimeOverride time_override)
    : w_(w),
      pool_(pool),
      time_override_(std::move(time_override)),
      x_(w.n_tokens * w.n_cols),
      y_(w.n_tokens * w.n_rows) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x_) v = normal(rng);
}

bool WorkloadBench::check(const MatmulKernel& kernel, const CheckSet& set) {
  std::fill(y_.begin(), y_.end(), std::nanf(""));
  const double start_ns = steady_now_ns();
  matmul(w_.weights.front(), x_.data(), w_.n_tokens, y_.data(), pool_, scratch_, kernel);
  last_call_ns_ = steady_now_ns() - start_ns;
  last_kernel_ = kernel.name;
  for (float v : y_) {
    if (!std::isfinite(v)) return false;
  }
  for (size_t i = 0; i < set.index.size(); ++i) {
    if (!(std::fabs(static_cast<double>(y_[set.index[i]]) - set.value[i]) <= set.tolerance)) return false;
  }
  return true;
}

double WorkloadBench::time_ns(const MatmulKernel& kernel, double max_time_ms) {
  MeasureSettings settings;
  settings.warmup_runs = last_kernel_ == kernel.name ? 0 : 1;
  last_kernel_ = kernel.name;
  settings.min_samples = kMinSamples;
  settings.min_time_ms = std::min(kMinTimeMs, max_time_ms);
  settings.max_time_ms = max_time_ms;
  settings.calls_per_sample =
      static_cast<int>(std::clamp(kMinSampleNs / std::max(last_call_ns_, 1.0), 1.0, 1000.0));
  const Measurement m = measure(settings, [&] {
    const TensorView& w = w_.weights[next_weight_++ % w_.weights.size()];
    matmul(w, x_.data(), w_.n_tokens, y_.data(), pool_, scratch_, kernel);
  });
  return time_override_ ? time_override_(kernel, m.median_ns) : m.median_ns;
}

AlternateNs WorkloadBench::time_alternately(const MatmulKernel& a, const MatmulKernel& b,
                                            double max_time_ms) {
  std::vector<double> a_ns, b_ns;
  for (int round = 0; round < kRetimeRounds; ++round) {
    a_ns.push_back(time_ns(a, max_time_ms));
    b_ns.push_back(time_ns(b, max_time_ms));
  }
  return {summarize_samples(a_ns).median_ns, summarize_samples(b_ns).median_ns};
}

}  // namespace jf::tune
