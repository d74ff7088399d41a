// GGUF (v2, v3) model files: metadata, tensor directory and where each tensor's bytes are.
//
// The reader trusts nothing: every count, length, offset and dimension is checked with overflow-
// checked arithmetic against the file size, and a defect comes back as kCorruptFile with a message
// naming the file, the field and its byte offset. A well-formed file this build cannot read (GGUF v1,
// big-endian, a tensor type id newer than tensor/dtype.inc) is kUnsupported with the same details.
// Reading the file never touches tensor data; call GgufFile::read_tensor (or ByteSource::read_at
// with TensorInfo::offset) for that.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "io/byte_source.h"
#include "jitflow/status.h"
#include "tensor/dtype.h"

namespace jf {

// GGUF metadata value types (gguf_type in the spec).
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
const char* gguf_type_name(GgufType type);

struct GgufValue;

struct GgufArray {
  GgufType elem_type = GgufType::kUint8;
  std::vector<GgufValue> items;
};

// One metadata value. Integers keep their GGUF type in `type` but are stored widened.
struct GgufValue {
  GgufType type = GgufType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> data;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::kFloat32 || type == GgufType::kFloat64; }
};

inline constexpr int kGgufMaxDims = 4;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  int n_dims = 0;
  int64_t ne[kGgufMaxDims] = {1, 1, 1, 1};  // ggml order: ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;                       // absolute byte offset of the data in the file
  uint64_t n_bytes = 0;
  uint64_t info_at = 0;  // byte offset of this tensor's entry in the tensor directory (for error messages)

  // The reader guarantees that the product of the nonzero dimensions fits in int64.
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  // "[4096, 11008]" in ggml order.
  std::string shape_string() const;
};

class GgufFile {
 public:
  // Parses the header, metadata and tensor directory of `source`.
  static Result<GgufFile> open(std::unique_ptr<ByteSource> source);
  static Result<GgufFile> open_path(const std::string& path);

  const std::string& path() const { return source_->name(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Where the aligned tensor data section starts; past file_size() only in a file without tensors
  // that ends unpadded (vocabulary-only files do).
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return source_->size(); }
  const ByteSource& source() const { return *source_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  // Byte offset of the value of `key` in the file (for error messages), or 0 when it is absent.
  uint64_t value_offset(const std::string& key) const;

  // Typed getters. A missing key is kNotFound; a value of another type (or out of the target's
  // range) is kCorruptFile naming the key. Integer getters accept any integer GGUF type.
  Result<uint64_t> get_uint(const std::string& key) const;
  Result<int64_t> get_int(const std::string& key) const;
  Result<double> get_float(const std::string& key) const;  // float32/float64 only
  Result<bool> get_bool(const std::string& key) const;
  Result<std::string> get_string(const std::string& key) const;
  Result<const GgufArray*> get_array(const std::string& key) const;

  // The same, with a fallback for an absent key (a present key of the wrong type is still an error).
  Result<uint64_t> get_uint_or(const std::string& key, uint64_t fallback) const;
  Result<double> get_float_or(const std::string& key, double fallback) const;
  Result<bool> get_bool_or(const std::string& key, bool fallback) const;
  Result<std::string> get_string_or(const std::string& key, const std::string& fallback) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(const std::string& name) const;

  // Reads the raw bytes of `tensor` into dst (tensor.n_bytes bytes).
  Status read_tensor(const TensorInfo& tensor, void* dst) const;

  // 16 hex digits that tell this model's weights from another's: a hash of every tensor's name, type
  // and shape and of up to 4 KiB at the start, middle and end of its data (not the whole file, so
  // that it costs milliseconds for a model of gigabytes). Files that differ only in metadata share it.
  Result<std::string> content_fingerprint() const;

 private:
  std::unique_ptr<ByteSource> source_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<uint64_t> metadata_value_at_;  // per metadata_ entry: where its value starts
  std::map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;

  friend class GgufParser;
};

// Renders a value for `jitflow info`: scalars as text, long arrays abbreviated.
std::string gguf_value_to_string(const GgufValue& value, size_t max_items = 8);

}  // namespace jf
