// Writes GGUF v3 files: metadata in insertion order, then the tensor directory, then the aligned
// tensor data. Used by `jitflow synth`, tests that build files, and the flash-layout converter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "jitflow/status.h"

namespace jf {

class GgufWriter {
 public:
  void set_uint32(const std::string& key, uint32_t value);
  void set_int32(const std::string& key, int32_t value);
  void set_uint64(const std::string& key, uint64_t value);
  void set_float32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_string(const std::string& key, const std::string& value);
  // Any value, arrays included (e.g. one copied from another GgufFile).
  void set_value(const std::string& key, GgufValue value);

  // Adds a tensor; `data` must hold exactly the bytes of `ne` in `dtype` (checked at write time).
  void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> ne, std::vector<uint8_t> data);
  // Adds `tensor` of `file` as it is there (name, type, shape, bytes). Errors: the read's.
  Status copy_tensor(const GgufFile& file, const TensorInfo& tensor);

  // Serialises everything to bytes / to a file. Errors name the offending tensor or path.
  // `alignment` alone decides general.alignment: a value set for that key is not written.
  Result<std::vector<uint8_t>> to_bytes(uint32_t alignment = 32) const;
  Status write_file(const std::string& path, uint32_t alignment = 32) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
  };
  // Everything before the tensor data: header, metadata, tensor directory, padding.
  Result<std::vector<uint8_t>> header_bytes(uint32_t alignment) const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace jf
