#include "tune/matmul_record.h"

#include <climits>
#include <iterator>
#include <optional>

#include "kernels/matmul/emit_wasm.h"

namespace jf::tune {
namespace {

struct Knob {
  const char* name;
  int MatmulConfig::*field;
};

// Every knob of MatmulConfig, by name: a record must name exactly these.
constexpr Knob kKnobs[] = {
    {"row_tile", &MatmulConfig::row_tile},
    {"token_tile", &MatmulConfig::token_tile},
    {"k_block", &MatmulConfig::k_block},
    {"prefetch_rows", &MatmulConfig::prefetch_rows},
};

bool config_from_knobs(const std::map<std::string, int64_t>& knobs, MatmulConfig* config) {
  if (knobs.size() != std::size(kKnobs)) return false;
  for (const Knob& knob : kKnobs) {
    const auto it = knobs.find(knob.name);
    if (it == knobs.end() || it->second < INT32_MIN || it->second > INT32_MAX) return false;
    config->*knob.field = static_cast<int>(it->second);
  }
  return true;
}

MatmulKernel fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return {};
}

}  // namespace

kdb::Workload matmul_workload(DType dtype, int64_t n_rows, int64_t n_cols, int64_t n_tokens, int n_threads) {
  return kdb::Workload{dtype_name(dtype), n_rows, n_cols, n_tokens, n_threads};
}

std::map<std::string, int64_t> matmul_knobs(const MatmulConfig& config) {
  std::map<std::string, int64_t> knobs;
  for (const Knob& knob : kKnobs) knobs[knob.name] = config.*knob.field;
  return knobs;
}

MatmulKernel kernel_from_record(const kdb::Record& record, std::string* why) {
  if (record.op != kMatmulOp) return fail(why, "op is " + record.op + ", not " + kMatmulOp);
  if (record.generator != kMatmulGenerator) {
    return fail(why, "generator " + record.generator + " is not " + kMatmulGenerator + " (stale)");
  }
  const std::optional<DType> dtype = dtype_from_name(record.workload.dtype);
  if (!dtype) return fail(why, "unknown dtype " + record.workload.dtype);
  MatmulConfig config;
  if (!config_from_knobs(record.config, &config))
    return fail(why, "config knobs are not those of a matmul kernel");
  for (WeightLayout layout : {WeightLayout::rows, WeightLayout::x16}) {
    for (CpuIsa isa : compiled_isas()) {
      MatmulKernel kernel = resolve_kernel(*dtype, layout, isa, config);
      if (kernel.valid() && kernel.name == record.canonical_name) return kernel;
    }
  }
#if defined(__EMSCRIPTEN__)
  // An emitted Wasm kernel: emitted again from its name (the bytes are a function of it).
  DType emitted_type;
  WasmMatmulConfig emitted;
  if (parse_wasm_matmul_name(record.canonical_name, &emitted_type, &emitted) && emitted_type == *dtype &&
      emitted.row_tile == config.row_tile && emitted.token_tile == config.token_tile) {
    Result<MatmulKernel> kernel = load_wasm_matmul(emitted_type, emitted);
    if (kernel.ok()) return std::move(*kernel);
    return fail(why, kernel.status().to_string());
  }
#endif
  return fail(why, "no kernel of this build and CPU is " + record.canonical_name);
}

kdb::Record matmul_record(const MatmulKernel& kernel, const kdb::Workload& workload, double median_ns,
                          double default_ns, int64_t tried) {
  return kdb::new_record(kMatmulGenerator, kMatmulOp, workload, matmul_knobs(kernel.config), kernel.name,
                         median_ns, default_ns, tried);
}

}  // namespace jf::tune
