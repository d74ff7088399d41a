// The jitflow subcommands. Each takes the arguments after its name and returns the exit code.
#pragma once

namespace jf::cli {

int cmd_run(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_kdb(int argc, char** argv);
int cmd_tune(int argc, char** argv);
int cmd_synth(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_kernels(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);
int cmd_analyze(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_plan(int argc, char** argv);
int cmd_plot(int argc, char** argv);
int cmd_emit(int argc, char** argv);
int cmd_webgpu(int argc, char** argv);

}  // namespace jf::cli
