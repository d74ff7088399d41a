// jitflow plan: the ActiveFlow planner (flash/flash_plan.h) for a model under a memory budget: it
// measures this machine's flash reads and DRAM bandwidth, then prints the cost model's candidates
// and its choice of sparsity, layer group size and cache, with the predicted decode speed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "args.h"
#include "base/units.h"
#include "commands.h"
#include "flash/flash_plan.h"
#include "gguf/gguf.h"
#include "model/flash_layout.h"
#include "model/hparams.h"

namespace jf::cli {
namespace {

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / 1048576.0;
}

void print_costs(const FlashCosts& costs, bool direct) {
  std::printf("flash reads (%s), MB/s by chunk and queue depth:\n| chunk |",
              direct ? "O_DIRECT" : "buffered: O_DIRECT refused, the page cache may serve them");
  for (const int d : kCostDepths) std::printf(" depth %d |", d);
  std::printf("\n| ---: |");
  for (size_t i = 0; i < std::size(kCostDepths); ++i) std::printf(" ---: |");
  for (const size_t chunk : kCostChunks) {
    std::printf("\n| %zu KiB |", chunk >> 10);
    for (const ReadCost& r : costs.reads) {
      if (r.chunk_bytes == chunk) std::printf(" %.0f |", r.mb_per_s);
    }
  }
  std::printf("\nDRAM read bandwidth: %.1f GB/s\n\n", costs.dram_gbps);
}

void print_plan(const Plan& plan, const StreamShape& shape) {
  std::printf(
      "| N | fits | need MiB | cache MiB | hit rate | run KiB | reads | load | onload | preload | compute | "
      "predicted t/s |\n| -: | -- | ---: | ---: | ---: | ---: | -- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const PlanEstimate& e : plan.tried) {
    std::printf("| %d | %s | %.1f | %.1f | %.1f%% | %.1f | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
                e.group, e.fits ? "yes" : "no", mib(e.need_bytes), mib(e.cache_bytes), 100 * e.hit_rate,
                e.run_bytes / 1024, e.whole_reads ? "whole" : "by run", e.load_ms, e.onload_ms, e.preload_ms,
                e.comp_ms, e.fits ? e.tokens_per_s() : 0.0);
  }
  std::printf(
      "(ms per group of N layers; %d layers of %.1f MiB of linears, %.1f MiB resident, KV cache %.1f MiB, "
      "read buffers %.1f MiB)\n\n",
      shape.n_layer, mib(shape.layer_linear_bytes), mib(shape.resident_bytes), mib(shape.kv_bytes),
      mib(shape.read_buffer_bytes));
}

}  // namespace

int cmd_plan(int argc, char** argv) {
  std::string model_path, memory;
  double sparsity = -1, similarity = 0.8, seconds = 0.3;
  int n_ctx = 0, n_threads = 0;
  ArgParser parser(
      "jitflow plan",
      "Plan streaming a model from flash under a memory budget (ActiveFlow's cost model): measure\n"
      "this machine's flash reads by chunk size and queue depth and its DRAM bandwidth, then choose\n"
      "the sparsity, the layer group size N (jitflow convert --flash --group N) and the cache, and\n"
      "print the predicted decode tokens/s.");
  parser.add("-m", "--model", &model_path,
             "GGUF model, any layout (its file is what the reads are measured on)");
  parser.add("", "--mem", &memory, "memory budget: 300M, 1.5G or a percentage of the model file");
  parser.add("", "--sparsity", &sparsity, "fix the sparsity (default: the lowest the budget allows)");
  parser.add("", "--similarity", &similarity,
             "cross-layer similarity of the active sets, 0..1 (jitflow analyze measures it; default 0.8)");
  parser.add("-c", "--ctx", &n_ctx, "context length the KV cache holds (default: the model's, at most 2048)");
  parser.add("-t", "--threads", &n_threads, "threads for the DRAM bandwidth (default: all CPUs)");
  parser.add("", "--seconds", &seconds, "measuring time per read size and depth (default 0.3)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model_path.empty() || memory.empty()) {
    std::fprintf(stderr, "jitflow plan: needs -m MODEL and --mem BUDGET\n");
    return 2;
  }
  if (!(sparsity < 1) || !(similarity >= 0 && similarity <= 1) || !(seconds > 0)) {
    std::fprintf(stderr,
                 "jitflow plan: --sparsity must be below 1, --similarity in 0..1, --seconds above 0\n");
    return 2;
  }
  std::error_code size_error;
  const uint64_t file_bytes = std::filesystem::file_size(model_path, size_error);
  const Result<uint64_t> budget = parse_memory_size(memory, size_error ? 0 : file_bytes);
  if (!budget.ok()) {
    std::fprintf(stderr, "jitflow plan: --mem: %s\n", budget.status().message().c_str());
    return 2;
  }
  const auto fail = [](const Status& status) {
    std::fprintf(stderr, "jitflow plan: %s\n", status.to_string().c_str());
    return 1;
  };
  Result<GgufFile> file = GgufFile::open_path(model_path);
  if (!file.ok()) return fail(file.status());
  Result<ModelConfig> config = read_model_config(*file);
  if (!config.ok()) return fail(config.status());
  Result<StreamShape> shape =
      stream_shape(*file, *config, n_ctx > 0 ? n_ctx : std::min(config->n_ctx_train, 2048));
  if (!shape.ok()) return fail(shape.status());
  const Result<MeasuredCosts> measured = measure_flash_costs(model_path, n_threads, seconds);
  if (!measured.ok()) return fail(measured.status());
  shape->read_buffer_bytes = measured->read_buffer_bytes;
  const FlashCosts& costs = measured->costs;
  print_costs(costs, measured->direct);

  const Result<Plan> plan = make_plan(
      *shape, costs, *budget, sparsity >= 0 ? std::optional<double>(sparsity) : std::nullopt, similarity);
  if (!plan.ok()) return fail(plan.status());
  print_plan(*plan, *shape);
  const PlanEstimate& c = plan->chosen;
  std::printf(
      "plan for %.1f MiB: sparsity %.2f, groups of %d layers, cache %.1f MiB: predicted %.2f tokens/s\n",
      mib(*budget), c.sparsity, c.group, mib(c.cache_bytes), c.tokens_per_s());
  const Result<std::optional<FlashLayout>> layout = read_flash_layout(*file, config->n_layer);
  const int file_group = layout.ok() && layout->has_value() ? (*layout)->groups.size : 0;
  if (file_group != c.group) {
    std::printf("convert for it: jitflow convert --flash --group %d -m %s -o OUT%s\n", c.group,
                model_path.c_str(),
                file_group > 0 ? str_printf(" (this file has groups of %d)", file_group).c_str() : "");
  }
  std::printf("run it: jitflow run -m %s --mem %s --sparsity %.2f --stats\n",
              file_group == c.group ? model_path.c_str() : "OUT", memory.c_str(), c.sparsity);
  return 0;
}

}  // namespace jf::cli
