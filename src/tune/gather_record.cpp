#include "tune/gather_record.h"

#include <optional>

#include "kernels/registry.h"

namespace jf::tune {
namespace {

CmKernel fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return {};
}

std::optional<CmGatherConfig> config_from_knobs(const std::map<std::string, int64_t>& knobs) {
  const auto get = [&](const char* name) -> std::optional<int64_t> {
    const auto it = knobs.find(name);
    return it == knobs.end() ? std::nullopt : std::optional<int64_t>(it->second);
  };
  const std::optional<int64_t> split = get("split"), step = get("channels_per_step"), tile = get("out_tile"),
                               prefetch = get("prefetch");
  if (knobs.size() != 4 || !split || !step || !tile || !prefetch || *split < 0 || *split > 1 || *step > 64 ||
      *prefetch < 0 || *prefetch > 1) {
    return std::nullopt;
  }
  CmGatherConfig config{*split == 0 ? CmSplit::outputs : CmSplit::channels, static_cast<int>(*step), *tile,
                        *prefetch == 1};
  return cm_config_valid(config) ? std::optional<CmGatherConfig>(config) : std::nullopt;
}

}  // namespace

kdb::Workload gather_workload(DType dtype, int64_t n_rows, int64_t n_cols, int n_threads) {
  return kdb::Workload{dtype_name(dtype), n_rows, n_cols, 1, n_threads};
}

std::map<std::string, int64_t> gather_knobs(const CmGatherConfig& config) {
  return {{"split", config.split == CmSplit::outputs ? 0 : 1},
          {"channels_per_step", config.channels_per_step},
          {"out_tile", config.out_tile},
          {"prefetch", config.prefetch ? 1 : 0}};
}

CmKernel cm_kernel_from_record(const kdb::Record& record, std::string* why) {
  if (record.op != kGatherOp) return fail(why, "op is " + record.op + ", not " + kGatherOp);
  if (record.generator != kChannelMajorGenerator) {
    return fail(why, "generator " + record.generator + " is not " + kChannelMajorGenerator + " (stale)");
  }
  const std::optional<DType> dtype = dtype_from_name(record.workload.dtype);
  if (!dtype) return fail(why, "unknown dtype " + record.workload.dtype);
  const std::optional<CmGatherConfig> config = config_from_knobs(record.config);
  if (!config) return fail(why, "config knobs are not those of a gathered matvec");
  for (CpuIsa isa : compiled_isas()) {
    CmKernel kernel = resolve_cm_kernel(*dtype, isa, *config);
    if (kernel.valid() && kernel.gather->name == record.canonical_name) return kernel;
  }
  return fail(why, "no kernel of this build and CPU is " + record.canonical_name);
}

kdb::Record gather_record(const CmKernel& kernel, const kdb::Workload& workload, double median_ns,
                          double default_ns, int64_t tried) {
  return kdb::new_record(kChannelMajorGenerator, kGatherOp, workload, gather_knobs(kernel.config),
                         kernel.gather->name, median_ns, default_ns, tried);
}

}  // namespace jf::tune
