// jitflow run: generate text from a prompt, streaming it as it is produced.
#include <cstdio>

#include "args.h"
#include "base/clock.h"
#include "commands.h"
#include "jitflow/engine.h"

namespace jf::cli {

int cmd_run(int argc, char** argv) {
  std::string model_path, prompt;
  GenerateOptions gen;
  EngineOptions engine_options;
  SparsityOptions sparsity;
  std::string sparsity_mode = "topk";
  bool ignore_eos = false;
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
  parser.add("", "--sparsity", &sparsity.level, "fraction of each linear's input channels skipped, [0, 1) (default 0)");
  parser.add("", "--sparsity-mode", &sparsity_mode, "topk (per token) or threshold (calibrated; default topk)");
  parser.add("", "--thresholds", &sparsity.thresholds_path, "thresholds file of the threshold mode (jitflow calibrate)");
  parser.add_flag("", "--ignore-eos", &ignore_eos, "keep generating after an end-of-generation token");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model_path.empty()) {
    std::fprintf(stderr, "jitflow run: -m MODEL is required\n\n%s", parser.usage().c_str());
    return 2;
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
  auto stats = session->generate(prompt, gen, [&](std::string_view piece) {
    echo_prompt();
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
  });
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
  return 0;
}

}  // namespace jf::cli
