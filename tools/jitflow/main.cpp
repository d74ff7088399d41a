// jitflow: the command-line front end. `jitflow <command> --help` explains each command.
#include <cstdio>
#include <cstring>

#include "commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"run", jf::cli::cmd_run, "generate text from a prompt with a GGUF model"},
    {"embed", jf::cli::cmd_embed, "print the embedding of a text with an encoder model (bert)"},
    {"bench", jf::cli::cmd_bench, "prompt and generation tokens/s, GB/s and %BW, like llama-bench"},
    {"info", jf::cli::cmd_info, "print a GGUF file's metadata, tensors and bytes per layer"},
    {"tune", jf::cli::cmd_tune, "tune a model's kernels here (-m), measure device limits (--microbench)"},
    {"kernels", jf::cli::cmd_kernels, "list the compiled kernels by canonical name (the kernel registry)"},
    {"emit", jf::cli::cmd_emit, "write the Wasm matmul kernels the emitter generates (.wasm, .wat)"},
    {"webgpu", jf::cli::cmd_webgpu, "write a model's decode step as WGSL kernels for a WebGPU device"},
    {"kdb", jf::cli::cmd_kdb, "list, merge, export or import tuned kernels (kernel database)"},
    {"synth", jf::cli::cmd_synth, "write a random-weight GGUF model with the shapes of a real one"},
    {"perplexity", jf::cli::cmd_perplexity, "perplexity on a text, dense and sparse, with KL and top-1 vs dense"},
    {"calibrate", jf::cli::cmd_calibrate, "sparsity thresholds per layer and site from text (threshold mode)"},
    {"analyze", jf::cli::cmd_analyze, "cross-layer similarity, top-k prediction and hot channels of a model's activations"},
    {"convert", jf::cli::cmd_convert, "rewrite a GGUF model's linears channel-major (--channel-major)"},
    {"plan", jf::cli::cmd_plan, "plan streaming a model under a memory budget: measured costs, N, sparsity, predicted t/s"},
    {"plot", jf::cli::cmd_plot, "draw a CSV table as an SVG line chart (the benchmarks' curves)"},
};

void print_usage() {
  std::fprintf(stderr, "usage: jitflow <command> [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(stderr, "  %-12s %s\n", c.name, c.summary);
  std::fprintf(stderr, "\nrun `jitflow <command> --help` for the options of a command\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "jitflow: unknown command '%s'\n\n", argv[1]);
  print_usage();
  return 2;
}
