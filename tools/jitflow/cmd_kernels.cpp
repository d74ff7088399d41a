// jitflow kernels: the kernel registry of this build (src/kernels/kernel_list.inc), one line per
// kernel by canonical name, so that a name in a log, a kdb record or a test can be looked up.
#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "kernels/registry.h"

namespace jf::cli {

int cmd_kernels(int argc, char** argv) {
  std::string op;
  ArgParser parser("jitflow kernels",
                   "List the compiled kernels by canonical name (matmul with its default config r1t1k0p0).\n"
                   "here: this CPU runs it (JITFLOW_MAX_ISA included); *: the one an op without a\n"
                   "tuned choice runs for its weight type and layout.");
  parser.add("", "--op", &op, "only the kernels of this op (matmul, rmsnorm, ...)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  int listed = 0;
  for (const KernelArtifact& k : registered_kernels()) {
    if (!op.empty() && op != op_name(k.key.op)) continue;
    const bool selected = select_kernel(k.key.op, k.key.dtype, k.key.layout) == &k;
    std::printf("%-46s %-5s %s\n", k.name.c_str(), cpu_has_isa(k.key.isa) ? "here" : "-",
                selected ? "*" : "");
    ++listed;
  }
  if (listed == 0) {
    std::fprintf(stderr, "jitflow kernels: no kernel of op '%s' in this build\n", op.c_str());
    return 2;
  }
  return 0;
}

}  // namespace jf::cli
