// jitflow synth: writes a random-weight GGUF model with the shapes of a real one (see synth.h).
#include <cstdio>
#include <filesystem>
#include <string>

#include "args.h"
#include "base/clock.h"
#include "commands.h"
#include "synth.h"

namespace jf::cli {

int cmd_synth(int argc, char** argv) {
  std::string preset, type_name = "q4_0", output, vocab_from;
  int64_t seed = 1;
  int n_threads = 0;
  bool split_experts = false;
  const std::string preset_help = "model shape: " + synth::preset_names();
  ArgParser parser("jitflow synth", "Write a random-weight GGUF model with the shapes, names and metadata of a real one.");
  parser.add("-p", "--preset", &preset, preset_help.c_str());
  parser.add("", "--type", &type_name, "f16, q8_0, q4_0 or q4_k (Q4_K_M mixture) (default q4_0)");
  parser.add("-o", "--output", &output, "GGUF file to write");
  parser.add("", "--vocab-from", &vocab_from, "copy the tokenizer of this GGUF (default: generate a SentencePiece vocabulary)");
  parser.add("", "--seed", &seed, "random seed (default 1)");
  parser.add("", "--threads", &n_threads, "threads (default: all logical CPUs)");
  parser.add_flag(
      "", "--split-experts", &split_experts,
      "MoE presets: each expert's FFN matrices as tensors of their own (blk.N.ffn_gate.E.weight, the "
      "older layout) instead of stacked 3-D ones (blk.N.ffn_gate_exps.weight)");
  if (Status s = parser.parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  if (parser.help_requested() || preset.empty() || output.empty()) {
    std::fprintf(parser.help_requested() ? stdout : stderr, "%s", parser.usage().c_str());
    return parser.help_requested() ? 0 : 2;
  }
  const synth::Shape* shape = synth::find_shape(preset);
  if (shape == nullptr) {
    std::fprintf(stderr, "jitflow synth: unknown preset '%s' (%s)\n", preset.c_str(), synth::preset_names().c_str());
    return 2;
  }
  const Result<synth::FileType> type = synth::parse_file_type(type_name);
  if (!type.ok()) {
    std::fprintf(stderr, "jitflow %s\n", type.status().message().c_str());
    return 2;
  }
  synth::Options options;
  options.shape = *shape;
  options.type = *type;
  options.vocab_from = vocab_from;
  options.seed = static_cast<uint64_t>(seed);
  options.n_threads = n_threads;
  options.split_experts = split_experts;

  const double start_ms = now_ms();
  Result<GgufWriter> model = synth::build_model(options);
  if (!model.ok()) {
    std::fprintf(stderr, "jitflow synth: %s\n", model.status().to_string().c_str());
    return 1;
  }
  if (Status s = model->write_file(output); !s.ok()) {
    std::fprintf(stderr, "jitflow synth: %s\n", s.to_string().c_str());
    return 1;
  }
  const double written_ms = now_ms();
  std::error_code ec;
  const uintmax_t file_bytes = std::filesystem::file_size(output, ec);
  std::printf("wrote %s: %s %s, %.2f GiB, in %.1f s (generate, quantise and write), peak RSS %.2f GiB\n",
              output.c_str(), shape->preset, type_name.c_str(), ec ? 0.0 : file_bytes / double(1ull << 30),
              (written_ms - start_ms) / 1000, peak_rss_bytes() / double(1ull << 30));
  return 0;
}

}  // namespace jf::cli
