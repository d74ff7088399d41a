// Writes GGUF v3 files: metadata in insertion order, then the tensor directory, then the aligned
// tensor data. Used by `jitflow synth`, tests that build files, and the flash-layout converter.
// A tensor's bytes are either given up front or made by a function when the file is written, so a
// generated model larger than memory can be written one tensor at a time.
#pragma once

#include <cstdint>
#include <functional>
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
  // Adds a tensor whose bytes `make` returns when they are written: to_bytes and write_file call each
  // maker once per call, in file order, and write_file frees a tensor's bytes before making the next
  // one's. The bytes must be exactly those of `ne` in `dtype`; a maker's error or a wrong size fails
  // the write with an error naming the tensor. Makers run on the thread that writes.
  using TensorMaker = std::function<Result<std::vector<uint8_t>>()>;
  void add_tensor(const std::string& name, DType dtype, std::vector<int64_t> ne, TensorMaker make);
  // Adds `tensor` of `file` as it is there (name, type, shape, bytes). Errors: the read's.
  Status copy_tensor(const GgufFile& file, const TensorInfo& tensor);

  // Serialises everything to bytes / to a file. Errors name the offending tensor or path.
  // `alignment` alone decides general.alignment: a value set for that key is not written.
  Result<std::vector<uint8_t>> to_bytes(uint32_t alignment = 32) const;
  Status write_file(const std::string& path, uint32_t alignment = 32) const;
  // The size in bytes of what to_bytes / write_file would write, without making any tensor's bytes.
  Result<uint64_t> file_bytes(uint32_t alignment = 32) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;  // empty where `make` is set
    TensorMaker make;
  };
  // Everything before the tensor data: header, metadata, tensor directory, padding. `data_bytes`, if
  // given, gets the size of the data section that follows (padding included).
  Result<std::vector<uint8_t>> header_bytes(uint32_t alignment, uint64_t* data_bytes = nullptr) const;
  // The bytes of `t`: its own, or what its maker returned (moved into `*made`), checked against its shape.
  static Result<const std::vector<uint8_t>*> data_of(const PendingTensor& t, std::vector<uint8_t>* made);

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace jf
