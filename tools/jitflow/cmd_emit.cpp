// jitflow emit: writes the WebAssembly modules the matmul emitter generates (src/kernels/matmul/
// emit_wasm.h), one .wasm per type and config, named by the kernel's canonical name, and beside it
// a .wat text dump when binaryen's wasm-dis is installed (Debian's emscripten brings it). The bytes
// are those the browser build emits at run time.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "args.h"
#include "base/file.h"
#include "commands.h"
#include "kernels/matmul/emit_wasm.h"

namespace jf::cli {
namespace {

// "r4t1u2" -> {4, 1, 2}; false when it is not that shape.
bool parse_config(const std::string& text, WasmMatmulConfig* c) {
  char tail = 0;
  return std::sscanf(text.c_str(), "r%dt%du%d%c", &c->row_tile, &c->token_tile, &c->unroll, &tail) == 3 &&
         is_valid(*c);
}

std::vector<WasmMatmulConfig> every_config() {
  std::vector<WasmMatmulConfig> out;
  for (int r : {1, 2, 4, 8}) {
    for (int t : {1, 2, 4, 8}) {
      for (int u : {1, 2, 4}) out.push_back({r, t, u, false});
    }
  }
  return out;
}

bool have_wasm_dis() {
  return std::system("command -v wasm-dis >/dev/null 2>&1") == 0;
}

}  // namespace

int cmd_emit(int argc, char** argv) {
  std::string out_dir, type_name, config_text;
  bool relaxed = false;
  ArgParser parser(
      "jitflow emit",
      "Write the emitted Wasm matmul kernels as .wasm files (and .wat with binaryen's wasm-dis).");
  parser.add("-o", "--output", &out_dir, "folder to write into (must exist)");
  parser.add("", "--type", &type_name, "weight type: f32, f16, q8_0 or q4_0 (default: all four)");
  parser.add("", "--config", &config_text, "r<rows>t<tokens>u<unroll>, e.g. r4t1u2 (default: every config)");
  parser.add_flag("", "--relaxed", &relaxed, "use the relaxed SIMD instructions");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (out_dir.empty()) {
    std::fprintf(stderr, "jitflow emit: -o FOLDER is required\n");
    return 2;
  }
  std::vector<DType> types = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0};
  if (!type_name.empty()) {
    const std::optional<DType> t = dtype_from_name(type_name);
    if (!t || !wasm_emitter_supports(*t)) {
      std::fprintf(stderr, "jitflow emit: no emitted kernels for type '%s' (f32, f16, q8_0, q4_0)\n",
                   type_name.c_str());
      return 2;
    }
    types = {*t};
  }
  std::vector<WasmMatmulConfig> configs = every_config();
  if (!config_text.empty()) {
    WasmMatmulConfig c;
    if (!parse_config(config_text, &c)) {
      std::fprintf(stderr, "jitflow emit: bad --config '%s' (r1|2|4|8 t1|2|4|8 u1|2|4, e.g. r4t1u2)\n",
                   config_text.c_str());
      return 2;
    }
    configs = {c};
  }
  const bool wat = have_wasm_dis();
  for (DType type : types) {
    for (WasmMatmulConfig c : configs) {
      c.relaxed = relaxed;
      const WasmMatmulModule m = emit_wasm_matmul(type, c);
      const std::string path = out_dir + "/" + m.name + ".wasm";
      if (Status s = write_file(path, std::string(m.bytes.begin(), m.bytes.end())); !s.ok()) {
        std::fprintf(stderr, "jitflow emit: %s\n", s.to_string().c_str());
        return 1;
      }
      std::printf("wrote %s (%zu bytes)\n", path.c_str(), m.bytes.size());
      if (!wat) continue;
      const std::string wat_path = out_dir + "/" + m.name + ".wat";
      const std::string command = "wasm-dis --enable-simd --enable-relaxed-simd --enable-threads '" + path +
                                  "' -o '" + wat_path + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) == 0) {
        std::printf("wrote %s\n", wat_path.c_str());
      } else {  // binaryen 108 (Debian 12) predates the final relaxed SIMD opcodes
        std::printf("no .wat for %s: wasm-dis could not read it\n", m.name.c_str());
      }
    }
  }
  return 0;
}

}  // namespace jf::cli
