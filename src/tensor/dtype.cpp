#include "tensor/dtype.h"

#include <cctype>
#include <string>

namespace jf {
namespace {

constexpr DTypeInfo kInfos[] = {
#define JF_DTYPE(Name, name, gguf_id, block_size, block_bytes, supported) \
  {DType::Name, name, gguf_id, block_size, block_bytes, supported},
#include "tensor/dtype.inc"
#undef JF_DTYPE
};

}  // namespace

const DTypeInfo& dtype_info(DType dtype) {
  return kInfos[static_cast<size_t>(dtype)];
}

std::optional<DType> dtype_from_gguf_id(uint32_t gguf_id) {
  for (const DTypeInfo& info : kInfos) {
    if (info.gguf_id == gguf_id) return info.dtype;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const DTypeInfo& info : kInfos) {
    if (lower == info.name) return info.dtype;
  }
  return std::nullopt;
}

}  // namespace jf
