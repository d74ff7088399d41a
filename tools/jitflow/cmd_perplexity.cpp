// jitflow perplexity: perplexity on a text, dense and sparse, with KL(dense || sparse) and top-1
// agreement against the dense model on the same positions in the same run.
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "base/json.h"
#include "commands.h"
#include "eval/perplexity.h"
#include "eval/text_file.h"
#include "jitflow/engine.h"

namespace jf::cli {
namespace {

struct PerplexityArgs {
  std::string model, text, sparsity = "0", modes = "topk", thresholds, protocol = "corpus", output = "text";
  int ctx = 1024, chunks = 0;
  bool progress = false;
  EngineOptions engine;
};

// Every (level, mode) pair asked for, except level 0 (the dense model, always scored).
Result<std::vector<SparsityOptions>> sparse_configs(const PerplexityArgs& a) {
  auto levels = parse_float_list(a.sparsity);
  if (!levels.ok())
    return error(StatusCode::kInvalidArgument, "--sparsity: %s", levels.status().message().c_str());
  std::vector<SparsityOptions> configs;
  size_t start = 0;
  std::vector<SparsityMode> modes;
  while (start <= a.modes.size()) {
    const size_t comma = a.modes.find(',', start);
    JF_ASSIGN_OR_RETURN(SparsityMode mode, parse_sparsity_mode(a.modes.substr(start, comma - start)));
    modes.push_back(mode);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (float level : *levels) {
    for (SparsityMode mode : modes) {
      if (level == 0) continue;
      SparsityOptions config{level, mode, a.thresholds};
      JF_RETURN_IF_ERROR(check_options(config));
      configs.push_back(config);
    }
  }
  return configs;
}

std::string mode_label(const SparsityOptions& s) {
  return s.level == 0 ? "dense" : sparsity_mode_name(s.mode);
}

void print_table(const std::vector<eval::PerplexityResult>& results) {
  const double dense = results[0].perplexity;
  std::printf("| sparsity | mode | realised | perplexity | / dense | KL(dense||this) | top-1 |\n");
  std::printf("| ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const eval::PerplexityResult& r : results) {
    std::printf("| %.2f | %s | %.3f | %.4f | %.4f | %.5f | %.4f |\n", r.sparsity.level,
                mode_label(r.sparsity).c_str(), r.realised_sparsity, r.perplexity, r.perplexity / dense, r.kl,
                r.top1);
  }
}

void print_json(const PerplexityArgs& a, const std::vector<eval::PerplexityResult>& results) {
  Json list = Json::array();
  for (const eval::PerplexityResult& r : results) {
    Json j = Json::object();
    j.set("sparsity", Json::number(r.sparsity.level));
    j.set("mode", Json::string(mode_label(r.sparsity)));
    j.set("realised_sparsity", Json::number(r.realised_sparsity));
    j.set("ppl", Json::number(r.perplexity));
    j.set("kl", Json::number(r.kl));
    j.set("top1", Json::number(r.top1));
    j.set("tokens", Json::number(static_cast<double>(r.n_scored)));
    list.push_back(std::move(j));
  }
  Json out = Json::object();
  out.set("model", Json::string(a.model));
  out.set("text", Json::string(a.text));
  out.set("protocol", Json::string(a.protocol));
  out.set("ctx", Json::number(a.ctx));
  out.set("windows", Json::number(results[0].n_windows));
  out.set("results", std::move(list));
  std::printf("%s\n", to_json(out).c_str());
}

int fail(const Status& s, int code) {
  std::fprintf(stderr, "jitflow perplexity: %s\n", s.message().c_str());
  return code;
}

}  // namespace

int cmd_perplexity(int argc, char** argv) {
  PerplexityArgs a;
  ArgParser parser(
      "jitflow perplexity",
      "Perplexity of a model on a text; beside the dense model, sparse configurations with mean\n"
      "KL(dense || sparse) per token and top-1 agreement. Ends with one line per configuration:\n"
      "  perplexity: ppl=<x> kl=<x> top1=<x> tokens=<n> sparsity=<s> mode=<m>");
  parser.add("-m", "--model", &a.model, "GGUF model file (required)");
  parser.add("-f", "--file", &a.text, "text file, plain or .xz (required)");
  parser.add("", "--sparsity", &a.sparsity,
             "sparsity levels, comma-separated, e.g. 0.5,0.7 (default 0: dense only)");
  parser.add("", "--sparsity-mode", &a.modes, "topk, threshold or both comma-separated (default topk)");
  parser.add("", "--thresholds", &a.thresholds, "thresholds file of the threshold mode (jitflow calibrate)");
  parser.add("", "--ctx", &a.ctx, "positions per window (default 1024)");
  parser.add("", "--chunks", &a.chunks, "windows scored, from the start (default 0: all)");
  parser.add("", "--protocol", &a.protocol,
             "corpus (../shared/corpus/README.md) or llama (llama-perplexity's)");
  parser.add("-o", "--output", &a.output, "text or json (default text)");
  parser.add("-t", "--threads", &a.engine.n_threads, "threads (default: one per core)");
  parser.add_flag("", "--progress", &a.progress, "print the running figures to stderr after each window");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (a.model.empty() || a.text.empty()) {
    std::fprintf(stderr, "jitflow perplexity: -m MODEL and -f TEXT are required\n\n%s",
                 parser.usage().c_str());
    return 2;
  }
  eval::PerplexityOptions options;
  options.ctx = a.ctx;
  options.max_windows = a.chunks;
  if (a.protocol != "corpus" && a.protocol != "llama") {
    return fail(error(StatusCode::kInvalidArgument, "--protocol: '%s' is neither corpus nor llama",
                      a.protocol.c_str()),
                2);
  }
  if (a.output != "text" && a.output != "json") {
    return fail(error(StatusCode::kInvalidArgument, "-o: '%s' is neither text nor json", a.output.c_str()),
                2);
  }
  if (a.ctx < 2 || a.chunks < 0) {
    return fail(error(StatusCode::kInvalidArgument, "--ctx must be >= 2 and --chunks >= 0"), 2);
  }
  options.protocol = a.protocol == "llama" ? eval::TextProtocol::llama : eval::TextProtocol::corpus;
  auto configs = sparse_configs(a);
  if (!configs.ok()) return fail(configs.status(), 2);
  options.sparse = *configs;
  a.engine.n_ctx = a.ctx;

  auto text = read_text_file(a.text);
  if (!text.ok()) return fail(text.status(), 1);
  auto engine = Engine::load(a.model, a.engine);
  if (!engine.ok()) return fail(engine.status(), 1);
  eval::PerplexityProgress progress;
  if (a.progress) {
    progress = [](int window, int n_windows, const std::vector<eval::PerplexityResult>& running) {
      std::fprintf(stderr, "[%d/%d]", window + 1, n_windows);
      for (const eval::PerplexityResult& r : running) std::fprintf(stderr, " %.4f", r.perplexity);
      std::fprintf(stderr, "\n");
    };
  }
  auto results = eval::evaluate_perplexity(**engine, *text, options, progress);
  if (!results.ok()) return fail(results.status(), 1);
  if (a.output == "json") {
    print_json(a, *results);
    return 0;
  }
  std::printf("%s on %s: %s protocol, ctx %d, %d windows, %lld positions scored\n\n",
              std::filesystem::path(a.model).filename().c_str(),
              std::filesystem::path(a.text).filename().c_str(), a.protocol.c_str(), a.ctx,
              (*results)[0].n_windows, static_cast<long long>((*results)[0].n_scored));
  print_table(*results);
  std::printf("\n");
  // The machine-readable lines: the configurations asked for (the dense one alone when none was).
  for (size_t i = results->size() == 1 ? 0 : 1; i < results->size(); ++i) {
    const eval::PerplexityResult& r = (*results)[i];
    std::printf("perplexity: ppl=%.6g kl=%.6g top1=%.6g tokens=%lld sparsity=%g mode=%s\n", r.perplexity,
                r.kl, r.top1, static_cast<long long>(r.n_scored), r.sparsity.level,
                mode_label(r.sparsity).c_str());
  }
  return 0;
}

}  // namespace jf::cli
