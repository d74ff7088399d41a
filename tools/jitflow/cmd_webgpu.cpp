// jitflow webgpu: writes a model's decode step as a WebGPU program (src/gpu/plan.h): DIR/plan.json
// (buffers, WGSL kernels, dispatches) and DIR/data.bin (the weights in their GPU layout, the RoPE
// table). web/gpu/run_plan.mjs runs it in node with Dawn; the page gets the same plan from the
// engine.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "args.h"
#include "base/file.h"
#include "base/json.h"
#include "commands.h"
#include "gguf/gguf.h"
#include "gpu/adapter_limits.h"
#include "gpu/plan.h"

namespace jf::cli {
namespace {

// An adapter's limits document (web/gpu/adapter.mjs writes one).
Status read_adapter_limits(const std::string& path, gpu::AdapterLimits* limits) {
  JF_ASSIGN_OR_RETURN(const std::string text, read_file(path));
  Result<Json> json = parse_json(text);
  Result<gpu::AdapterLimits> read =
      json.ok() ? gpu::adapter_limits_from_json(*json) : Result<gpu::AdapterLimits>(json.status());
  if (!read.ok())
    return error(StatusCode::kCorruptFile, "%s: %s", path.c_str(), read.status().message().c_str());
  *limits = *read;
  return Status::ok_status();
}

}  // namespace

int cmd_webgpu(int argc, char** argv) {
  std::string model_path, out_dir, adapter_path;
  gpu::PlanOptions options;
  ArgParser parser("jitflow webgpu",
                   "Write a model's decode step as WGSL kernels and dispatches for a WebGPU device:\n"
                   "DIR/plan.json and DIR/data.bin (run them with node web/gpu/run_plan.mjs DIR).");
  parser.add("-m", "--model", &model_path, "GGUF model (Llama family; F32, F16, Q8_0 or Q4_0 matrices)");
  parser.add("-o", "--out", &out_dir, "folder to write plan.json and data.bin into (created)");
  parser.add("-c", "--ctx", &options.n_ctx,
             "context length of the KV cache (default: the model's, at most 4096)");
  parser.add("-b", "--batch", &options.batch, "tokens per prefill pass (default 32)");
  parser.add("", "--top-k", &options.top_k,
             "candidates each pass reads back for sampling, 1 to 32 (default 32)");
  parser.add("", "--lanes", &options.matvec.lanes,
             "matvec threads per row: a power of two up to --workgroup (default 32)");
  parser.add("", "--tile", &options.matvec.tile, "matvec rows per thread: 1, 2, 4, 8 (default 2)");
  parser.add("", "--workgroup", &options.matvec.workgroup,
             "matvec threads per workgroup: 32, 64, 128, 256 (default 64)");
  parser.add_flag("", "--candidates", &options.candidates,
                  "add each matvec workload's pruned space for a tuner (node web/gpu/tune_plan.mjs DIR)");
  parser.add_flag("", "--full-space", &options.full_space,
                  "with --candidates: every config, unpruned (to measure what pruning loses)");
  parser.add(
      "", "--adapter", &adapter_path,
      "JSON of the adapter's limits to prune by (node web/gpu/adapter.mjs writes it; default: WebGPU's "
      "default limits)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model_path.empty() || out_dir.empty()) {
    std::fprintf(stderr, "jitflow webgpu: needs -m MODEL and -o DIR\n");
    return 2;
  }
  if (!adapter_path.empty()) {
    if (Status s = read_adapter_limits(adapter_path, &options.adapter); !s.ok()) {
      std::fprintf(stderr, "jitflow webgpu: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  Result<GgufFile> file = GgufFile::open_path(model_path);
  Result<gpu::Plan> plan = file.ok() ? gpu::build_plan(*file, options) : Result<gpu::Plan>(file.status());
  if (!plan.ok()) {
    std::fprintf(stderr, "jitflow webgpu: %s\n", plan.status().to_string().c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  const std::string json_path = out_dir + "/plan.json", data_path = out_dir + "/data.bin";
  Status s = write_file(json_path, to_json(gpu::plan_json(*plan)));
  if (s.ok()) s = write_file(data_path, std::string(plan->data.begin(), plan->data.end()));
  if (!s.ok()) {
    std::fprintf(stderr, "jitflow webgpu: %s\n", s.to_string().c_str());
    return 1;
  }
  for (const gpu::PlanWorkload& w : plan->workloads) {
    if (options.candidates)
      std::printf("space %s: %zu configs, %zu after pruning\n", w.name.c_str(), w.full_space,
                  w.candidates.size());
  }
  std::vector<int> running;  // the kernels the passes run (the rest are candidates)
  for (const auto* steps : {&plan->steps, &plan->prefill_steps}) {
    for (const gpu::PlanStep& step : *steps) {
      if (std::find(running.begin(), running.end(), step.kernel) == running.end())
        running.push_back(step.kernel);
    }
  }
  std::printf(
      "%s: %zu kernels (%zu in the passes), %zu decode steps, %zu prefill steps of up to %d tokens, %zu "
      "buffers, %.1f MiB of data, context %d\n",
      json_path.c_str(), plan->kernels.size(), running.size(), plan->steps.size(), plan->prefill_steps.size(),
      plan->batch, plan->buffers.size(), static_cast<double>(plan->data.size()) / 1048576.0, plan->n_ctx);
  for (int k : running) std::printf("  %s\n", plan->kernels[static_cast<size_t>(k)].name.c_str());
  for (const std::string& note : plan->notes) std::printf("note: %s\n", note.c_str());
  return 0;
}

}  // namespace jf::cli
