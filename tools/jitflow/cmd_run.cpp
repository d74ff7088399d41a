// jitflow run: generate text from a prompt, streaming it as it is produced.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "args.h"
#include "base/clock.h"
#include "base/units.h"
#include "commands.h"
#include "flash/flash_plan.h"
#include "jitflow/engine.h"

namespace jf::cli {
namespace {

// A memory budget from a token of the generation on (--mem, --mem-schedule).
struct BudgetChange {
  int token;
  uint64_t bytes;
  std::string text;  // as written
};

// --mem (the budget from token 0) and --mem-schedule ("0:60%,64:30%") as one list, ascending by token,
// starting at token 0.
Result<std::vector<BudgetChange>> parse_schedule(const std::string& memory, const std::string& schedule,
                                                 uint64_t model_bytes) {
  std::vector<BudgetChange> changes;
  if (!memory.empty()) {
    Result<uint64_t> bytes = parse_memory_size(memory, model_bytes);
    if (!bytes.ok()) return error(StatusCode::kInvalidArgument, "--mem: %s", bytes.status().message().c_str());
    changes.push_back({0, *bytes, memory});
  }
  size_t start = 0;
  while (start < schedule.size()) {
    const size_t comma = std::min(schedule.find(',', start), schedule.size());
    const std::string item = schedule.substr(start, comma - start);
    start = comma + 1;
    const size_t colon = item.find(':');
    char* end = nullptr;
    const long token = colon == std::string::npos ? -1 : std::strtol(item.c_str(), &end, 10);
    Result<uint64_t> bytes = colon == std::string::npos ? Result<uint64_t>(0) : parse_memory_size(item.substr(colon + 1), model_bytes);
    const bool ascending = changes.empty() ? token == 0 : token > changes.back().token;
    if (colon == std::string::npos || end != item.c_str() + colon || token < 0 || token > INT32_MAX || !bytes.ok() ||
        !ascending) {
      return error(StatusCode::kInvalidArgument,
                   "--mem-schedule: '%s' is not TOKEN:BUDGET with tokens ascending from 0 (or from 1 after --mem)%s%s",
                   item.c_str(), bytes.ok() ? "" : ": ", bytes.ok() ? "" : bytes.status().message().c_str());
    }
    changes.push_back({static_cast<int>(token), *bytes, item.substr(colon + 1)});
  }
  return changes;
}

// --stats: what streaming from flash read, per token of the run.
void print_streaming_stats(const StreamingStats& s, int n_tokens) {
  if (!s.streaming) {
    std::fprintf(stderr, "jitflow: not streaming: every weight is resident (--mem streams a flash-layout model)\n");
    return;
  }
  const double per_token = n_tokens > 0 ? 1.0 / n_tokens : 0.0;
  const auto percent = [](uint64_t part, uint64_t whole) { return whole > 0 ? 100.0 * part / whole : 0.0; };
  std::fprintf(stderr,
               "jitflow: streaming | memory %.1f MiB (load buffers %.1f MiB, cache %.1f MiB), peak RSS %.1f MiB | "
               "read %.2f MiB/token in %.1f reads/token | stalled %.1f ms/token (on-demand reads %.1f, waiting "
               "for the preload %.1f); loader busy %.1f ms/token | channels asked for: %.1f%% from the cache, "
               "%.1f%% from the group buffer, %.1f%% read on demand | preload: %s precision %.1f%% | %s\n",
               s.memory_bytes / 1048576.0, s.buffer_bytes / 1048576.0, s.cache_bytes / 1048576.0,
               peak_rss_bytes() / 1048576.0, s.bytes_read * per_token / 1048576.0, s.reads * per_token,
               (s.read_ms + s.preload_wait_ms) * per_token, s.read_ms * per_token, s.preload_wait_ms * per_token,
               s.loader_ms * per_token, percent(s.cache_hits, s.channels_asked),
               percent(s.buffer_hits, s.channels_asked), percent(s.on_demand, s.channels_asked),
               s.preloading ? "on," : "off,", percent(s.preload_used, s.preloaded),
               s.direct_io ? "O_DIRECT" : "buffered reads (O_DIRECT refused)");
  if (s.expert_groups > 0) {
    std::fprintf(
        stderr,
        "jitflow: experts | %.1f groups of expert matrices begun/token | read ahead as predicted by the "
        "next layer's router: precision %.1f%%, recall %.1f%%\n",
        s.expert_groups * per_token, percent(s.expert_preloads_used, s.expert_preloads),
        percent(s.expert_preloads_used, s.expert_groups));
  }
}

}  // namespace

int cmd_run(int argc, char** argv) {
  std::string model_path, prompt;
  GenerateOptions gen;
  EngineOptions engine_options;
  SparsityOptions sparsity;
  std::string sparsity_mode = "topk", memory, memory_schedule;
  bool ignore_eos = false, show_stats = false, no_preload = false, plan_first = false;
  float sparsity_level = -1;  // -1: not given
  int64_t seed = 0;
  ArgParser parser("jitflow run", "Generate text from a prompt; ends with a stats line on stderr.");
  parser.add("-m", "--model", &model_path, "GGUF model file (required)");
  parser.add("-p", "--prompt", &prompt, "prompt text (default: empty, i.e. BOS only)");
  parser.add("-n", "--n-predict", &gen.n_predict, "tokens to generate (default 128)");
  parser.add("", "--temp", &gen.sampling.temperature, "temperature; 0 = greedy (default 0.8)");
  parser.add("", "--top-k", &gen.sampling.top_k, "top-k, <= 0 off (default 40)");
  parser.add("", "--top-p", &gen.sampling.top_p, "top-p, 1 off (default 0.95)");
  parser.add("", "--min-p", &gen.sampling.min_p, "min-p, 0 off (default 0.05)");
  parser.add("", "--repeat-penalty", &gen.sampling.repeat_penalty, "repetition penalty, 1 off (default 1)");
  parser.add("", "--repeat-last-n", &gen.sampling.repeat_last_n, "tokens the penalty looks back (default 64)");
  parser.add("-s", "--seed", &seed, "random seed (default 0)");
  parser.add("-t", "--threads", &engine_options.n_threads, "threads (default: one per core)");
  parser.add("-c", "--ctx-size", &engine_options.n_ctx, "context length (default: min(model, 2048))");
  parser.add("", "--sparsity", &sparsity_level,
             "fraction of each linear's input channels skipped, [0, 1) (default 0; with --plan, the plan's)");
  parser.add("", "--sparsity-mode", &sparsity_mode, "topk (per token) or threshold (calibrated; default topk)");
  parser.add("", "--thresholds", &sparsity.thresholds_path, "thresholds file of the threshold mode (jitflow calibrate)");
  parser.add_flag("", "--ignore-eos", &ignore_eos, "keep generating after an end-of-generation token");
  parser.add("", "--mem", &memory,
             "DRAM budget for the model: bytes (300M, 1.5G) or a percent of the model file (40%); the model must\n"
             "be in the flash layout (jitflow convert --flash): its linears are streamed from the file");
  parser.add("", "--mem-schedule", &memory_schedule,
             "budgets that change while generating: TOKEN:BUDGET,... (\"0:60%,64:30%\": 60% of the model from\n"
             "the start, 30% from the 64th generated token); the first at token 0 unless --mem gives it");
  parser.add_flag("", "--stats", &show_stats, "print what streaming read (with --mem)");
  parser.add_flag("", "--no-preload", &no_preload,
                  "with --mem, read every layer group when it computes, none ahead (the serial baseline)");
  parser.add_flag("", "--plan", &plan_first,
                  "with --mem, first measure this machine's disk (~2 s) and print the cost model's prediction for\n"
                  "this file's group size (jitflow plan shows all); without --sparsity, run at the plan's");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model_path.empty()) {
    std::fprintf(stderr, "jitflow run: -m MODEL is required\n\n%s", parser.usage().c_str());
    return 2;
  }
  std::vector<BudgetChange> schedule;
  if (!memory.empty() || !memory_schedule.empty()) {
    std::error_code size_error;
    const uint64_t model_bytes = std::filesystem::file_size(model_path, size_error);
    if (size_error) {
      std::fprintf(stderr, "jitflow run: %s: %s\n", model_path.c_str(), size_error.message().c_str());
      return 1;
    }
    Result<std::vector<BudgetChange>> parsed = parse_schedule(memory, memory_schedule, model_bytes);
    if (!parsed.ok()) {
      std::fprintf(stderr, "jitflow run: %s\n", parsed.status().message().c_str());
      return 2;
    }
    schedule = std::move(*parsed);
    engine_options.memory_budget = schedule.front().bytes;
    engine_options.flash_preload = !no_preload;
  }
  sparsity.level = std::max(sparsity_level, 0.0f);
  if (plan_first) {
    if (engine_options.memory_budget == 0) {
      std::fprintf(stderr, "jitflow run: --plan goes with --mem\n");
      return 2;
    }
    const Result<PlanEstimate> plan =
        plan_for_file(model_path, engine_options.memory_budget, engine_options.n_ctx, engine_options.n_threads,
                      sparsity_level >= 0 ? std::optional<double>(sparsity_level) : std::nullopt, 0.8, 0.1);
    if (!plan.ok()) {
      std::fprintf(stderr, "jitflow run: --plan: %s\n", plan.status().to_string().c_str());
      return 1;
    }
    std::fprintf(stderr,
                 "jitflow: plan: groups of %d layers (the file's), sparsity %.2f, cache %.1f MiB (estimated hit rate "
                 "%.0f%%), %s reads: predicted %.2f tokens/s\n",
                 plan->group, plan->sparsity, plan->cache_bytes / 1048576.0, 100 * plan->hit_rate,
                 plan->whole_reads ? "whole-stretch" : "run-by-run", plan->tokens_per_s());
    if (sparsity_level < 0) sparsity.level = static_cast<float>(plan->sparsity);
  }
  gen.sampling.seed = static_cast<uint64_t>(seed);
  gen.stop_at_eog = !ignore_eos;
  Result<SparsityMode> mode = parse_sparsity_mode(sparsity_mode);
  if (!mode.ok()) {
    std::fprintf(stderr, "jitflow run: %s\n", mode.status().message().c_str());
    return 2;
  }
  sparsity.mode = *mode;
  for (const Status& s : {check_options(engine_options), check_options(gen), check_options(sparsity)}) {
    if (!s.ok()) {
      std::fprintf(stderr, "jitflow run: %s\n", s.message().c_str());
      return 2;
    }
  }

  auto engine = Engine::load(model_path, engine_options);
  if (!engine.ok()) {
    std::fprintf(stderr, "jitflow run: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  auto made = (*engine)->new_session(sparsity);
  if (!made.ok()) {
    std::fprintf(stderr, "jitflow run: %s\n", made.status().to_string().c_str());
    return 1;
  }
  std::unique_ptr<Session> session = std::move(*made);
  // The prompt is echoed once the model has accepted it (with the first piece), so that a refused
  // prompt prints nothing but the error.
  bool echoed = false;
  auto echo_prompt = [&] {
    if (!echoed) std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    echoed = true;
  };
  int n_pieces = 0;
  size_t next_change = 1;  // schedule[0] is the budget the engine was loaded with
  Status budget_status;
  auto stats = session->generate(prompt, gen, [&](std::string_view piece) {
    echo_prompt();
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    ++n_pieces;
    if (next_change < schedule.size() && schedule[next_change].token == n_pieces) {
      budget_status = session->set_memory_budget(schedule[next_change].bytes);
      if (show_stats) {
        std::fprintf(stderr, "\njitflow: memory budget %s from token %d\n", schedule[next_change].text.c_str(),
                     n_pieces);
      }
      ++next_change;
      return budget_status.ok();
    }
    return true;
  });
  if (!budget_status.ok()) {
    std::fprintf(stderr, "jitflow run: --mem-schedule: %s\n", budget_status.message().c_str());
    return 1;
  }
  if (!stats.ok()) {
    std::fprintf(stderr, "jitflow run: %s\n", stats.status().to_string().c_str());
    return 1;
  }
  echo_prompt();
  std::printf("\n");
  std::fflush(stdout);
  if (stats->context_full) {
    std::fprintf(stderr, "jitflow run: stopped after %d tokens: the context (%d) is full (raise -c)\n",
                 stats->n_generated, session->n_ctx());
  }
  std::fprintf(stderr,
               "jitflow: load %.1f ms | prefill %d tokens %.1f tokens/s | decode %d tokens %.1f tokens/s | "
               "threads %d | peak RSS %.1f MiB\n",
               (*engine)->load_ms(), stats->n_prompt_tokens, stats->prefill_tokens_per_s(), stats->n_generated,
               stats->decode_tokens_per_s(), (*engine)->n_threads(), peak_rss_bytes() / (1024.0 * 1024.0));
  if (show_stats) print_streaming_stats((*engine)->streaming_stats(), stats->n_prompt_tokens + stats->n_decode_evals);
  return 0;
}

}  // namespace jf::cli
