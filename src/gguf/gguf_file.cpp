#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <vector>

#include "gguf/gguf.h"

namespace jf {

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8: return "uint8";
    case GgufType::kInt8: return "int8";
    case GgufType::kUint16: return "uint16";
    case GgufType::kInt16: return "int16";
    case GgufType::kUint32: return "uint32";
    case GgufType::kInt32: return "int32";
    case GgufType::kFloat32: return "float32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "uint64";
    case GgufType::kInt64: return "int64";
    case GgufType::kFloat64: return "float64";
  }
  return "?";
}

bool GgufValue::is_integer() const {
  return std::holds_alternative<uint64_t>(data) || std::holds_alternative<int64_t>(data);
}

std::string TensorInfo::shape_string() const {
  std::string out = "[";
  for (int d = 0; d < n_dims; ++d) {
    if (d > 0) out += ", ";
    out += std::to_string(ne[d]);
  }
  return out + "]";
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

uint64_t GgufFile::value_offset(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? 0 : metadata_value_at_[it->second];
}

const TensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Status missing(const GgufFile& file, const std::string& key) {
  return error(StatusCode::kNotFound, "%s: metadata key '%s' is missing", file.path().c_str(), key.c_str());
}

Status wrong_type(const GgufFile& file, const std::string& key, const GgufValue& v, const char* want) {
  return error(StatusCode::kCorruptFile, "%s: metadata '%s' is %s, expected %s", file.path().c_str(), key.c_str(),
               gguf_type_name(v.type), want);
}

}  // namespace

Result<uint64_t> GgufFile::get_uint(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* u = std::get_if<uint64_t>(&v->data)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v->data); i != nullptr && *i >= 0) return static_cast<uint64_t>(*i);
  return wrong_type(*this, key, *v, "a non-negative integer");
}

Result<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* i = std::get_if<int64_t>(&v->data)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v->data); u != nullptr && *u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*u);
  }
  return wrong_type(*this, key, *v, "an integer");
}

Result<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* d = std::get_if<double>(&v->data)) return *d;
  return wrong_type(*this, key, *v, "a float");
}

Result<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* b = std::get_if<bool>(&v->data)) return *b;
  return wrong_type(*this, key, *v, "a bool");
}

Result<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* s = std::get_if<std::string>(&v->data)) return *s;
  return wrong_type(*this, key, *v, "a string");
}

Result<const GgufArray*> GgufFile::get_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(*this, key);
  if (const auto* a = std::get_if<GgufArray>(&v->data)) return a;
  return wrong_type(*this, key, *v, "an array");
}

Result<uint64_t> GgufFile::get_uint_or(const std::string& key, uint64_t fallback) const {
  return find(key) == nullptr ? Result<uint64_t>(fallback) : get_uint(key);
}
Result<double> GgufFile::get_float_or(const std::string& key, double fallback) const {
  return find(key) == nullptr ? Result<double>(fallback) : get_float(key);
}
Result<bool> GgufFile::get_bool_or(const std::string& key, bool fallback) const {
  return find(key) == nullptr ? Result<bool>(fallback) : get_bool(key);
}
Result<std::string> GgufFile::get_string_or(const std::string& key, const std::string& fallback) const {
  return find(key) == nullptr ? Result<std::string>(fallback) : get_string(key);
}

Status GgufFile::read_tensor(const TensorInfo& tensor, void* dst) const {
  return source_->read_at(tensor.offset, dst, tensor.n_bytes);
}

namespace {

// FNV-1a, 64-bit.
void hash_into(uint64_t* h, const void* bytes, size_t n) {
  const auto* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < n; ++i) *h = (*h ^ p[i]) * 0x100000001b3ull;
}

}  // namespace

Result<std::string> GgufFile::content_fingerprint() const {
  constexpr uint64_t kSample = 4096;
  uint64_t h = 0xcbf29ce484222325ull;
  std::vector<uint8_t> sample(kSample);
  for (const TensorInfo& t : tensors_) {
    hash_into(&h, t.name.data(), t.name.size());
    hash_into(&h, &t.dtype, sizeof t.dtype);
    hash_into(&h, t.ne, sizeof t.ne);
    const uint64_t n = std::min(kSample, t.n_bytes);
    for (uint64_t at : {uint64_t{0}, (t.n_bytes - n) / 2, t.n_bytes - n}) {
      JF_RETURN_IF_ERROR(source_->read_at(t.offset + at, sample.data(), n));
      hash_into(&h, sample.data(), n);
    }
  }
  return str_printf("%016llx", static_cast<unsigned long long>(h));
}

std::string gguf_value_to_string(const GgufValue& value, size_t max_items) {
  if (const auto* u = std::get_if<uint64_t>(&value.data)) return std::to_string(*u);
  if (const auto* i = std::get_if<int64_t>(&value.data)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value.data)) return str_printf("%g", *d);
  if (const auto* b = std::get_if<bool>(&value.data)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&value.data)) {
    std::string out = "\"";
    for (char c : s->substr(0, 120)) {
      if (c == '\n') out += "\\n";
      else if (static_cast<unsigned char>(c) < 0x20) out += str_printf("\\x%02x", static_cast<unsigned char>(c));
      else out += c;
    }
    return out + (s->size() > 120 ? "...\"" : "\"");
  }
  const auto& array = std::get<GgufArray>(value.data);
  std::string out = str_printf("%s[%zu]: [", gguf_type_name(array.elem_type), array.items.size());
  for (size_t k = 0; k < array.items.size() && k < max_items; ++k) {
    if (k > 0) out += ", ";
    out += gguf_value_to_string(array.items[k], max_items);
  }
  if (array.items.size() > max_items) out += ", ...";
  return out + "]";
}

}  // namespace jf
