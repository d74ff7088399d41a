// jitflow convert: rewrites a GGUF model for jitflow's kernels (convert.h).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "convert.h"

namespace jf::cli {
namespace {

// Per linear kind ("attn_q.weight", ...): the mean and the largest error over the layers.
int print_product_errors(const std::string& input, const std::string& output) {
  const Result<std::vector<convert::ProductError>> errors = convert::product_errors(input, output, 4);
  if (!errors.ok()) {
    std::fprintf(stderr, "jitflow convert: %s\n", errors.status().to_string().c_str());
    return 1;
  }
  std::map<std::string, std::vector<double>> by_kind;
  for (const convert::ProductError& e : *errors) {
    const size_t dot = e.name.find('.', e.name.find('.') + 1);  // after "blk.N."
    by_kind[e.name.substr(dot + 1)].push_back(e.rel_rms);
  }
  std::printf("relative RMS error of W·x (4 random x), converted vs source:\n");
  for (const auto& [kind, values] : by_kind) {
    double sum = 0, worst = 0;
    for (double v : values) sum += v, worst = std::max(worst, v);
    std::printf("  %-20s mean %.4f  max %.4f  (%zu layers)\n", kind.c_str(), sum / values.size(), worst, values.size());
  }
  return 0;
}

}  // namespace

int cmd_convert(int argc, char** argv) {
  std::string input, output, type_name, thresholds;
  bool channel_major = false, flash = false, measure = false;
  int group = 0;
  ArgParser parser("jitflow convert",
                   "Rewrite a GGUF model with the 7 linears of every layer stored channel-major (one run of\n"
                   "blocks per input channel), for decode over active channels, or in the flash layout: channel-\n"
                   "major and grouped N layers at a time, so that a group's active channel is one read. Other\n"
                   "tools refuse the result.");
  parser.add("-m", "--model", &input, "GGUF file to read");
  parser.add("-o", "--output", &output, "GGUF file to write");
  parser.add_flag("", "--channel-major", &channel_major, "convert to channel-major linears");
  parser.add_flag("", "--flash", &flash,
                  "convert to the flash layout (from a row-major or a channel-major model; needs --group)");
  parser.add("", "--group", &group, "layers per group of the flash layout (1 .. the model's layers)");
  parser.add("", "--thresholds", &thresholds,
             "with --flash: sparsity thresholds `jitflow calibrate` wrote for the input, carried in the output\n"
             "(sessions in threshold mode then need no --thresholds)");
  parser.add("", "--type", &type_name,
             "f32, f16, q8_0, q4_0 or q4_k: the type of the converted linears (default: each keeps its own; a\n"
             "quantised source is quantised a second time along the outputs)");
  parser.add_flag("", "--measure-error", &measure,
                  "then print the relative RMS error of W·x over random x, converted against source, per\n"
                  "linear kind (mean and largest over the layers)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (channel_major == flash || input.empty() || output.empty() || (flash && group == 0) || (!flash && group != 0)) {
    std::fprintf(stderr, "%s", parser.usage().c_str());
    return 2;
  }
  if (!thresholds.empty() && !flash) {
    std::fprintf(stderr, "jitflow convert: --thresholds goes with --flash\n");
    return 2;
  }
  if (measure && flash) {
    std::fprintf(stderr, "jitflow convert: --measure-error measures --channel-major conversions\n");
    return 2;
  }
  std::optional<DType> type;
  if (!type_name.empty()) {
    type = dtype_from_name(type_name);
    if (!type) {
      std::fprintf(stderr, "jitflow convert: --type '%s' is not f32, f16, q8_0, q4_0 or q4_k\n", type_name.c_str());
      return 2;
    }
  }
  const Result<convert::Summary> s =
      flash ? convert::flash(input, output, group, type, thresholds) : convert::channel_major(input, output, type);
  if (!s.ok()) {
    std::fprintf(stderr, "jitflow convert: %s\n", s.status().to_string().c_str());
    return 1;
  }
  std::printf("wrote %s: %d linears channel-major%s (%.1f MiB -> %.1f MiB), %d tensors copied\n", output.c_str(),
              s->n_converted, flash ? (", grouped by " + std::to_string(group) + " layers").c_str() : "",
              s->bytes_in / 1048576.0, s->bytes_out / 1048576.0, s->n_copied);
  if (s->n_fallback > 0) {
    std::printf("  %d of them q4_0: their outputs are no multiple of 256 (q4_k's super-block)\n", s->n_fallback);
  }
  if (measure) return print_product_errors(input, output);
  return 0;
}

}  // namespace jf::cli
