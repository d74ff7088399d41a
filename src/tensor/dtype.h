// Tensor element types. The facts (name, GGUF id, block geometry) come from dtype.inc only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace jf {

enum class DType : uint8_t {
#define JF_DTYPE(Name, name, gguf_id, block_size, block_bytes, supported) Name,
#include "tensor/dtype.inc"
#undef JF_DTYPE
};

struct DTypeInfo {
  DType dtype;
  const char* name;  // lower-case, as in canonical kernel names: "q4_0"
  uint32_t gguf_id;  // ggml_type
  uint32_t block_size;
  uint32_t block_bytes;
  bool supported;
};

const DTypeInfo& dtype_info(DType dtype);
inline const char* dtype_name(DType dtype) {
  return dtype_info(dtype).name;
}

// The DType for a GGUF/ggml type id, or nullopt for an id this build does not know.
std::optional<DType> dtype_from_gguf_id(uint32_t gguf_id);
// The DType named `name` ("q4_0", "Q4_0", "f16"), or nullopt.
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes of one row of `n_elements` elements; n_elements must be a multiple of the block size.
inline size_t row_bytes(DType dtype, int64_t n_elements) {
  const DTypeInfo& info = dtype_info(dtype);
  return static_cast<size_t>(n_elements / info.block_size) * info.block_bytes;
}

}  // namespace jf
