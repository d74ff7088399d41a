// jitflow bench: llama-bench style throughput tests (bench.h has the method and the columns).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "base/units.h"
#include "bench.h"
#include "commands.h"
#include "jitflow/engine.h"

namespace jf::cli {
namespace {

struct BenchArgs {
  std::string models;  // comma-separated, plus positional arguments
  std::string n_prompt = "512";
  std::string n_gen = "128";
  std::string n_threads;
  std::string output = "md";
  int64_t seed = 1234;
  bool progress = false;
  std::string sparsity = "0";
  std::string sparsity_mode = "topk";
  std::string memory;
  bool no_kdb = false;
  bool no_preload = false;
};

Result<std::vector<int>> parse_list(const char* flag, const std::string& text) {
  auto values = parse_int_list(text);
  if (!values.ok())
    return error(StatusCode::kInvalidArgument, "%s: %s", flag, values.status().message().c_str());
  return values;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

Status fill_options(const BenchArgs& args, const std::vector<std::string>& positional,
                    bench::BenchOptions* options) {
  options->model_paths = split_commas(args.models);
  options->model_paths.insert(options->model_paths.end(), positional.begin(), positional.end());
  JF_ASSIGN_OR_RETURN(options->n_prompt, parse_list("-p", args.n_prompt));
  JF_ASSIGN_OR_RETURN(options->n_gen, parse_list("-n", args.n_gen));
  if (!args.n_threads.empty()) {
    JF_ASSIGN_OR_RETURN(options->n_threads, parse_list("-t", args.n_threads));
  }
  options->seed = static_cast<uint64_t>(args.seed);
  options->use_kdb = !args.no_kdb;
  options->flash_preload = !args.no_preload;
  auto levels = parse_float_list(args.sparsity);
  if (!levels.ok())
    return error(StatusCode::kInvalidArgument, "--sparsity: %s", levels.status().message().c_str());
  options->sparsity = *levels;
  JF_ASSIGN_OR_RETURN(options->sparsity_mode, parse_sparsity_mode(args.sparsity_mode));
  if (!args.memory.empty()) {
    options->memory_budgets.clear();
    for (const std::string& budget : split_commas(args.memory)) {
      // Checked against each model now (a percentage is of the model file), so that a bad value stops
      // the run before any test; a model whose size cannot be read fails when its turn comes.
      for (const std::string& path : budget == "none" ? std::vector<std::string>{} : options->model_paths) {
        std::error_code size_error;
        const uint64_t model_bytes = std::filesystem::file_size(path, size_error);
        if (size_error) continue;
        Result<uint64_t> checked = parse_memory_size(budget, model_bytes);
        if (!checked.ok()) return error(StatusCode::kInvalidArgument, "--mem: %s", checked.status().message().c_str());
      }
      options->memory_budgets.push_back(budget == "none" ? "" : budget);
    }
  }
  for (float level : options->sparsity) {
    JF_RETURN_IF_ERROR(
        check_options(SparsityOptions{level, options->sparsity_mode, options->thresholds_path}));
  }
  return bench::validate_options(*options);
}

void print_progress(const bench::TestResult& t) {
  std::fprintf(stderr, "jitflow bench: %s %s threads %d: %.2f t/s (median of %zu)\n",
               t.model.file_name.c_str(), t.test_name().c_str(), t.n_threads, t.median_ts(),
               t.samples_ns.size());
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  BenchArgs args;
  bench::BenchOptions options;
  std::vector<std::string> positional;
  ArgParser parser(
      "jitflow bench",
      "Prompt (pp) and generation (tg) tokens/s like llama-bench; tg rows add GB/s of weights read\n"
      "and its fraction of the measured DRAM bandwidth (%BW).");
  parser.add("-m", "--model", &args.models, "GGUF model(s), comma-separated (also as positional arguments)");
  parser.add("-p", "--n-prompt", &args.n_prompt, "prompt lengths, comma-separated; 0 skips (default 512)");
  parser.add("-n", "--n-gen", &args.n_gen, "generated lengths, comma-separated; 0 skips (default 128)");
  parser.add("-t", "--threads", &args.n_threads, "thread counts, comma-separated (default: all CPUs)");
  parser.add("-r", "--repetitions", &options.repetitions,
             "timed runs per test after one warm-up (default 5)");
  parser.add("-o", "--output", &args.output, "md, csv, json or jsonl (default md)");
  parser.add("-s", "--seed", &args.seed, "seed of the random token ids (default 1234)");
  parser.add("", "--bandwidth-gbps", &options.bandwidth_gbps,
             "DRAM bandwidth for %BW (default: measure around each tg test, ~0.5 s)");
  parser.add("", "--kdb", &options.kdb_path,
             "kernel database (default: $JITFLOW_KDB, else ~/.cache/jitflow/kdb.jsonl)");
  parser.add("", "--sparsity", &args.sparsity,
             "sparsity levels of the tg tests, comma-separated (default 0: dense)");
  parser.add("", "--sparsity-mode", &args.sparsity_mode, "topk or threshold (default topk)");
  parser.add("", "--thresholds", &options.thresholds_path, "thresholds file of the threshold mode");
  parser.add_flag("", "--no-kdb", &args.no_kdb, "run the default kernels, not the tuned ones");
  parser.add("", "--mem", &args.memory,
             "memory budgets, comma-separated: 300M, 1.5G, 50% of the model file, or none (in memory); a budget\n"
             "streams a flash-layout model (jitflow convert --flash) from its file (default: none)");
  parser.add_flag("", "--no-preload", &args.no_preload,
                  "under a budget, read every layer group when it computes, none ahead (the serial baseline)");
  parser.add_flag("", "--progress", &args.progress, "print each test's median to stderr as it finishes");
  parser.allow_positional("MODEL", &positional);
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  auto format = bench::parse_output_format(args.output);
  Status valid = format.ok() ? fill_options(args, positional, &options) : format.status();
  if (!valid.ok()) {
    std::fprintf(stderr, "jitflow bench: %s\n", valid.message().c_str());
    return 2;
  }
  auto report = bench::run_bench(options, args.progress ? print_progress : nullptr);
  if (!report.ok()) {
    std::fprintf(stderr, "jitflow bench: %s\n", report.status().to_string().c_str());
    return 1;
  }
  const std::string text = bench::format_report(*report, *format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace jf::cli
