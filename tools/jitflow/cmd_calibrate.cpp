// jitflow calibrate: sparsity thresholds for a model, per layer and site, from text (the threshold
// mode of `run --sparsity-mode threshold` and `perplexity` reads the file it writes).
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "base/clock.h"
#include "commands.h"
#include "eval/calibrate.h"
#include "eval/text_file.h"
#include "jitflow/engine.h"

namespace jf::cli {
namespace {

int fail(const Status& s, int code) {
  std::fprintf(stderr, "jitflow calibrate: %s\n", s.message().c_str());
  return code;
}

}  // namespace

int cmd_calibrate(int argc, char** argv) {
  std::string model, text_path, levels_text = "0.4,0.5,0.6,0.7,0.8", out;
  eval::CalibrationOptions options;
  EngineOptions engine_options;
  bool progress = false;
  ArgParser parser(
      "jitflow calibrate",
      "Calibrate sparsity thresholds on text: per layer and site, the s-quantile of |x| over the\n"
      "dense model's activations, for each level s.");
  parser.add("-m", "--model", &model, "GGUF model file (required)");
  parser.add("-f", "--file", &text_path, "calibration text, plain or .xz (required)");
  parser.add("", "--levels", &levels_text, "sparsity levels, comma-separated (default 0.4,0.5,0.6,0.7,0.8)");
  parser.add("-o", "--output", &out, "thresholds file to write (required)");
  parser.add("", "--ctx", &options.ctx, "positions per window (default 1024)");
  parser.add("", "--chunks", &options.max_windows, "windows read, from the start (default 256; 0: all)");
  parser.add("-t", "--threads", &engine_options.n_threads, "threads (default: one per core)");
  parser.add_flag("", "--progress", &progress, "print each window to stderr");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (model.empty() || text_path.empty() || out.empty()) {
    std::fprintf(stderr, "jitflow calibrate: -m MODEL, -f TEXT and -o FILE are required\n\n%s",
                 parser.usage().c_str());
    return 2;
  }
  auto levels = parse_float_list(levels_text);
  if (!levels.ok())
    return fail(error(StatusCode::kInvalidArgument, "--levels: %s", levels.status().message().c_str()), 2);
  options.levels = *levels;
  if (options.ctx < 2 || options.max_windows < 0) {
    return fail(error(StatusCode::kInvalidArgument, "--ctx must be >= 2 and --chunks >= 0"), 2);
  }
  options.text_name = std::filesystem::path(text_path).filename().string();
  engine_options.n_ctx = options.ctx;

  const double start_ms = now_ms();
  auto text = read_text_file(text_path);
  if (!text.ok()) return fail(text.status(), 1);
  auto engine = Engine::load(model, engine_options);
  if (!engine.ok()) return fail(engine.status(), 1);
  std::function<void(int, int)> report;
  if (progress) report = [](int w, int n) { std::fprintf(stderr, "[%d/%d]\n", w + 1, n); };
  auto thresholds = eval::calibrate_thresholds(**engine, *text, options, report);
  if (!thresholds.ok())
    return fail(thresholds.status(), thresholds.status().code() == StatusCode::kInvalidArgument ? 2 : 1);
  if (Status s = write_thresholds(*thresholds, out); !s.ok()) return fail(s, 1);
  std::printf("wrote %s: %zu levels x %d layers x 4 sites, from %lld tokens of %s in %.1f s\n", out.c_str(),
              thresholds->levels.size(), thresholds->n_layer,
              static_cast<long long>(thresholds->calibration_tokens), options.text_name.c_str(),
              (now_ms() - start_ms) / 1000.0);
  return 0;
}

}  // namespace jf::cli
