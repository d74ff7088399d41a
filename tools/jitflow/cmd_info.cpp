// jitflow info FILE: metadata, tensor directory and bytes per layer of a GGUF file.
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "args.h"
#include "commands.h"
#include "gguf/gguf.h"

namespace jf::cli {
namespace {

// "blk.12.attn_q.weight" -> 12; anything else -> -1 (embeddings, output head, norms).
int layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  // Names come from the file: read at most 9 digits, so that a hostile index cannot overflow.
  int layer = 0, digits = 0;
  for (size_t i = 4; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && digits < 9; ++i, ++digits)
    layer = layer * 10 + (name[i] - '0');
  return digits > 0 ? layer : -1;
}

std::string human_bytes(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return str_printf("%.2f GiB", bytes / double(1ull << 30));
  if (bytes >= (1ull << 20)) return str_printf("%.2f MiB", bytes / double(1ull << 20));
  if (bytes >= (1ull << 10)) return str_printf("%.2f KiB", bytes / double(1ull << 10));
  return str_printf("%" PRIu64 " B", bytes);
}

void print_info(const GgufFile& file, bool all_tensors) {
  std::printf("file: %s\nGGUF version %u, %zu metadata keys, %zu tensors, alignment %" PRIu64
              ", data at byte %" PRIu64 ", file %s\n\n",
              file.path().c_str(), file.version(), file.metadata().size(), file.tensors().size(), file.alignment(),
              file.data_offset(), human_bytes(file.file_size()).c_str());
  std::printf("metadata:\n");
  for (const auto& [key, value] : file.metadata()) {
    std::printf("  %-44s %s\n", key.c_str(), gguf_value_to_string(value).c_str());
  }
  std::printf("\ntensors:\n");
  std::map<int, uint64_t> bytes_per_layer;
  std::map<std::string, std::pair<int, uint64_t>> per_type;
  uint64_t total = 0;
  for (const TensorInfo& t : file.tensors()) {
    const int layer = layer_of(t.name);
    bytes_per_layer[layer] += t.n_bytes;
    per_type[dtype_name(t.dtype)].first += 1;
    per_type[dtype_name(t.dtype)].second += t.n_bytes;
    total += t.n_bytes;
    if (all_tensors || layer <= 0) {
      std::printf("  %-32s %-6s %-22s %12" PRIu64 " bytes%s\n", t.name.c_str(), dtype_name(t.dtype),
                  t.shape_string().c_str(), t.n_bytes, dtype_info(t.dtype).supported ? "" : "  (unsupported type)");
    }
  }
  if (!all_tensors && bytes_per_layer.size() > 2) std::printf("  ... (layers 1+ omitted; --all shows every tensor)\n");
  std::printf("\nbytes per layer:\n");
  for (const auto& [layer, bytes] : bytes_per_layer) {
    if (layer < 0) std::printf("  %-10s %s\n", "non-layer", human_bytes(bytes).c_str());
    else std::printf("  blk.%-6d %s\n", layer, human_bytes(bytes).c_str());
  }
  std::printf("\nby type:\n");
  for (const auto& [type, count_bytes] : per_type) {
    std::printf("  %-8s %4d tensors %s\n", type.c_str(), count_bytes.first, human_bytes(count_bytes.second).c_str());
  }
  std::printf("\ntotal tensor data: %s\n", human_bytes(total).c_str());
}

}  // namespace

int cmd_info(int argc, char** argv) {
  bool all_tensors = false;
  std::vector<std::string> files;
  ArgParser parser("jitflow info", "Print a GGUF file's metadata, tensors and bytes per layer.");
  parser.add_flag("-a", "--all", &all_tensors, "list every tensor (default: non-layer tensors and layer 0)");
  parser.allow_positional("FILE...", &files);
  if (Status s = parser.parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  if (parser.help_requested() || files.empty()) {
    std::fprintf(parser.help_requested() ? stdout : stderr, "%s", parser.usage().c_str());
    return parser.help_requested() ? 0 : 2;
  }
  int exit_code = 0;
  for (const std::string& path : files) {
    auto file = GgufFile::open_path(path);
    if (!file.ok()) {
      std::fprintf(stderr, "jitflow info: %s\n", file.status().to_string().c_str());
      exit_code = 1;
      continue;
    }
    print_info(*file, all_tensors);
  }
  return exit_code;
}

}  // namespace jf::cli
