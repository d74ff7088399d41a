// Writes the seed corpus for gguf_fuzz: a few tiny handmade files, and a shrunk copy of each model
// given on the command line (its metadata and tensor directory kept, every tensor cut to one block
// per row of zeros) so that the fuzzer mutates real headers without megabytes of weights.
// Usage: gguf_fuzz_seeds OUT_DIR [MODEL.gguf ...]
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"

namespace jf {
namespace {

// Seeds past libFuzzer's -max_len would be cut and lose their tensor directory (see scripts/fuzz.sh).
constexpr uint64_t kMaxSeedBytes = 64 * 1024;

GgufValue make_value(GgufType type, decltype(GgufValue::data) data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

// One key of each metadata type, a nested array and tensors of several block geometries.
GgufWriter every_type_writer() {
  GgufWriter w;
  w.set_value("u8", make_value(GgufType::kUint8, uint64_t{1}));
  w.set_value("i8", make_value(GgufType::kInt8, int64_t{-1}));
  w.set_value("u16", make_value(GgufType::kUint16, uint64_t{2}));
  w.set_value("i16", make_value(GgufType::kInt16, int64_t{-2}));
  w.set_uint32("u32", 3);
  w.set_int32("i32", -3);
  w.set_float32("f32", 0.5f);
  w.set_bool("bool", true);
  w.set_string("general.architecture", "llama");
  w.set_uint64("u64", 4);
  w.set_value("i64", make_value(GgufType::kInt64, int64_t{-4}));
  w.set_value("f64", make_value(GgufType::kFloat64, 0.25));
  const GgufValue inner = make_value(
      GgufType::kArray, GgufArray{GgufType::kString, {make_value(GgufType::kString, std::string("tok"))}});
  w.set_value("nested", make_value(GgufType::kArray, GgufArray{GgufType::kArray, {inner, inner}}));
  w.add_tensor("f32", DType::F32, {4, 2}, std::vector<uint8_t>(32, 1));
  w.add_tensor("q4_0", DType::Q4_0, {32, 1, 1, 2}, std::vector<uint8_t>(36, 2));
  w.add_tensor("q4_k", DType::Q4_K, {256}, std::vector<uint8_t>(144, 3));
  // Zero elements: one mutated dimension away from the overflow a zero hides from the element count.
  w.add_tensor("empty", DType::F32, {0, 4, 1}, std::vector<uint8_t>{});
  return w;
}

// The model's metadata and tensor names, types and ranks, with one zero block per tensor.
Result<GgufWriter> shrunk_copy(const std::string& path) {
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(path));
  GgufWriter w;
  for (const auto& [key, value] : file.metadata()) w.set_value(key, value);
  for (const TensorInfo& t : file.tensors()) {
    const DTypeInfo& info = dtype_info(t.dtype);
    std::vector<int64_t> ne(static_cast<size_t>(t.n_dims), 1);
    ne[0] = info.block_size;
    w.add_tensor(t.name, t.dtype, ne, std::vector<uint8_t>(info.block_bytes, 0));
  }
  return w;
}

bool write_seed(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (bytes.size() > kMaxSeedBytes) {
    std::fprintf(stderr, "skipping %s: %zu bytes is over the %llu-byte seed limit\n", path.c_str(),
                 bytes.size(), static_cast<unsigned long long>(kMaxSeedBytes));
    return true;
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

bool write_seeds(const std::string& out_dir, int argc, char** argv) {
  const GgufWriter every = every_type_writer();
  std::vector<uint8_t> v3 = *every.to_bytes();
  std::vector<uint8_t> v2 = v3;
  v2[4] = 2;  // the version field; v2 and v3 share the little-endian layout
  bool ok = write_seed(v3, out_dir + "/every-type-v3.gguf") &&
            write_seed(v2, out_dir + "/every-type-v2.gguf") &&
            write_seed(*every.to_bytes(64), out_dir + "/every-type-align64.gguf");
  for (int i = 0; i < argc; ++i) {
    auto writer = shrunk_copy(argv[i]);
    if (!writer.ok()) {
      std::fprintf(stderr, "%s\n", writer.status().to_string().c_str());
      return false;
    }
    const std::string stem = std::filesystem::path(argv[i]).stem().string();
    ok = ok && write_seed(*writer->to_bytes(), out_dir + "/" + stem + "-shrunk.gguf");
  }
  return ok;
}

}  // namespace
}  // namespace jf

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [MODEL.gguf ...]\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  return jf::write_seeds(argv[1], argc - 2, argv + 2) ? 0 : 1;
}
