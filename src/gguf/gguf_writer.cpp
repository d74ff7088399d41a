#include "gguf/gguf_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "base/checked_math.h"

namespace jf {
namespace {

constexpr const char* kAlignmentKey = "general.alignment";

class ByteBuilder {
 public:
  template <typename T>
  void pod(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void string(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::kUint8: pod<uint8_t>(static_cast<uint8_t>(std::get<uint64_t>(v.data))); break;
      case GgufType::kUint16: pod<uint16_t>(static_cast<uint16_t>(std::get<uint64_t>(v.data))); break;
      case GgufType::kUint32: pod<uint32_t>(static_cast<uint32_t>(std::get<uint64_t>(v.data))); break;
      case GgufType::kUint64: pod<uint64_t>(std::get<uint64_t>(v.data)); break;
      case GgufType::kInt8: pod<int8_t>(static_cast<int8_t>(std::get<int64_t>(v.data))); break;
      case GgufType::kInt16: pod<int16_t>(static_cast<int16_t>(std::get<int64_t>(v.data))); break;
      case GgufType::kInt32: pod<int32_t>(static_cast<int32_t>(std::get<int64_t>(v.data))); break;
      case GgufType::kInt64: pod<int64_t>(std::get<int64_t>(v.data)); break;
      case GgufType::kFloat32: pod<float>(static_cast<float>(std::get<double>(v.data))); break;
      case GgufType::kFloat64: pod<double>(std::get<double>(v.data)); break;
      case GgufType::kBool: pod<uint8_t>(std::get<bool>(v.data) ? 1 : 0); break;
      case GgufType::kString: string(std::get<std::string>(v.data)); break;
      case GgufType::kArray: {
        const auto& array = std::get<GgufArray>(v.data);
        pod<uint32_t>(static_cast<uint32_t>(array.elem_type));
        pod<uint64_t>(array.items.size());
        for (const GgufValue& item : array.items) value(item);
        break;
      }
    }
  }
  void pad_to(uint64_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
  }
  std::vector<uint8_t> bytes;
};

GgufValue make_value(GgufType type, decltype(GgufValue::data) data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t d = 0; d < ne.size(); ++d) s += (d > 0 ? ", " : "") + std::to_string(ne[d]);
  return s + "]";
}

// The data bytes of a tensor of shape `ne` in `dtype`, or an error naming it where no such tensor can
// exist (no dimensions or too many, rows not whole blocks, a size beyond 64 bits).
Result<uint64_t> tensor_data_bytes(const std::string& name, DType dtype, const std::vector<int64_t>& ne) {
  const DTypeInfo& info = dtype_info(dtype);
  std::optional<uint64_t> n_elements = 1;
  for (int64_t d : ne) n_elements = d < 0 || !n_elements ? std::nullopt : checked_mul(*n_elements, d);
  const std::optional<uint64_t> n_bytes =
      n_elements ? checked_mul(*n_elements / info.block_size, info.block_bytes) : std::nullopt;
  if (ne.empty() || ne.size() > kGgufMaxDims || ne[0] % info.block_size != 0 || !n_bytes) {
    return error(StatusCode::kInvalidArgument, "tensor '%s': shape %s does not fit type %s", name.c_str(),
                 shape_string(ne).c_str(), info.name);
  }
  return *n_bytes;
}

}  // namespace

void GgufWriter::set_uint32(const std::string& key, uint32_t value) {
  set_value(key, make_value(GgufType::kUint32, uint64_t{value}));
}
void GgufWriter::set_int32(const std::string& key, int32_t value) {
  set_value(key, make_value(GgufType::kInt32, int64_t{value}));
}
void GgufWriter::set_uint64(const std::string& key, uint64_t value) {
  set_value(key, make_value(GgufType::kUint64, value));
}
void GgufWriter::set_float32(const std::string& key, float value) {
  set_value(key, make_value(GgufType::kFloat32, double{value}));
}
void GgufWriter::set_bool(const std::string& key, bool value) { set_value(key, make_value(GgufType::kBool, value)); }
void GgufWriter::set_string(const std::string& key, const std::string& value) {
  set_value(key, make_value(GgufType::kString, value));
}

void GgufWriter::set_value(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> ne,
                            std::vector<uint8_t> data) {
  tensors_.push_back({name, dtype, std::move(ne), std::move(data), nullptr});
}

void GgufWriter::add_tensor(const std::string& name, DType dtype, std::vector<int64_t> ne, TensorMaker make) {
  tensors_.push_back({name, dtype, std::move(ne), {}, std::move(make)});
}

Status GgufWriter::copy_tensor(const GgufFile& file, const TensorInfo& tensor) {
  std::vector<uint8_t> bytes(tensor.n_bytes);
  JF_RETURN_IF_ERROR(file.read_tensor(tensor, bytes.data()));
  add_tensor(tensor.name, tensor.dtype, std::vector<int64_t>(tensor.ne, tensor.ne + tensor.n_dims),
             std::move(bytes));
  return Status();
}

Result<std::vector<uint8_t>> GgufWriter::header_bytes(uint32_t alignment, uint64_t* data_bytes) const {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return error(StatusCode::kInvalidArgument, "GGUF alignment %u is not a power of two", alignment);
  }
  ByteBuilder out;
  out.pod<uint32_t>(0x46554747);
  out.pod<uint32_t>(3);
  out.pod<uint64_t>(tensors_.size());
  // The `alignment` argument is the only source of general.alignment: a copy of the key taken
  // from another file is dropped, or the output would hold it twice (or contradict its layout).
  const bool custom_alignment = alignment != 32;
  const auto copied_alignment = std::count_if(metadata_.begin(), metadata_.end(),
                                              [](const auto& kv) { return kv.first == kAlignmentKey; });
  out.pod<uint64_t>(metadata_.size() - copied_alignment + (custom_alignment ? 1 : 0));
  if (custom_alignment) {
    out.string(kAlignmentKey);
    out.pod<uint32_t>(static_cast<uint32_t>(GgufType::kUint32));
    out.pod<uint32_t>(alignment);
  }
  for (const auto& [key, value] : metadata_) {
    if (key == kAlignmentKey) continue;
    out.string(key);
    out.pod<uint32_t>(static_cast<uint32_t>(value.type));
    out.value(value);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    JF_ASSIGN_OR_RETURN(const uint64_t n_bytes, tensor_data_bytes(t.name, t.dtype, t.ne));
    if (!t.make && n_bytes != t.data.size()) {
      return error(StatusCode::kInvalidArgument,
                   "tensor '%s': %zu data bytes do not match its shape and type %s", t.name.c_str(),
                   t.data.size(), dtype_name(t.dtype));
    }
    out.string(t.name);
    out.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) out.pod<uint64_t>(static_cast<uint64_t>(d));
    out.pod<uint32_t>(dtype_info(t.dtype).gguf_id);
    out.pod<uint64_t>(offset);
    const std::optional<uint64_t> end = checked_add(offset, n_bytes);
    const std::optional<uint64_t> next = end ? checked_align_up(*end, alignment) : std::nullopt;
    if (!next) {
      return error(StatusCode::kInvalidArgument, "tensor '%s' ends beyond 2^64 bytes", t.name.c_str());
    }
    offset = *next;
  }
  out.pad_to(alignment);
  if (data_bytes != nullptr) *data_bytes = offset;
  return std::move(out.bytes);
}

Result<const std::vector<uint8_t>*> GgufWriter::data_of(const PendingTensor& t, std::vector<uint8_t>* made) {
  if (!t.make) return &t.data;
  Result<std::vector<uint8_t>> bytes = t.make();
  if (!bytes.ok()) {
    return Status(bytes.status().code(), "tensor '" + t.name + "': " + bytes.status().message());
  }
  *made = std::move(bytes).value();
  JF_ASSIGN_OR_RETURN(const uint64_t n_bytes, tensor_data_bytes(t.name, t.dtype, t.ne));
  if (made->size() != n_bytes) {
    return error(StatusCode::kInvalidArgument,
                 "tensor '%s': its maker gave %zu bytes, but shape %s in %s takes %llu", t.name.c_str(),
                 made->size(), shape_string(t.ne).c_str(), dtype_name(t.dtype),
                 static_cast<unsigned long long>(n_bytes));
  }
  return made;
}

Result<std::vector<uint8_t>> GgufWriter::to_bytes(uint32_t alignment) const {
  JF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, header_bytes(alignment));
  for (const PendingTensor& t : tensors_) {
    std::vector<uint8_t> made;
    JF_ASSIGN_OR_RETURN(const std::vector<uint8_t>* data, data_of(t, &made));
    bytes.insert(bytes.end(), data->begin(), data->end());
    bytes.resize(*checked_align_up(bytes.size(), alignment), 0);
  }
  return bytes;
}

Status GgufWriter::write_file(const std::string& path, uint32_t alignment) const {
  // Streams tensor data straight from the pending tensors, made one at a time: a 7B model is never
  // copied whole, and a generated one never exists whole.
  JF_ASSIGN_OR_RETURN(std::vector<uint8_t> header, header_bytes(alignment));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return error(StatusCode::kIoError, "%s: cannot open for writing: %s", path.c_str(), std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  Status made_status;
  const std::vector<uint8_t> padding(alignment, 0);
  for (const PendingTensor& t : tensors_) {
    if (!ok) break;
    std::vector<uint8_t> made;  // a lazy tensor's bytes, freed before the next tensor's are made
    const Result<const std::vector<uint8_t>*> data = data_of(t, &made);
    if (!data.ok()) {
      made_status = data.status();
      break;
    }
    const std::vector<uint8_t>& bytes = **data;
    ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const size_t pad = (alignment - bytes.size() % alignment) % alignment;
    ok = ok && std::fwrite(padding.data(), 1, pad, f) == pad;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!made_status.ok()) return made_status;
  if (!ok) return error(StatusCode::kIoError, "%s: write failed: %s", path.c_str(), std::strerror(errno));
  return Status();
}

Result<uint64_t> GgufWriter::file_bytes(uint32_t alignment) const {
  uint64_t data_bytes = 0;
  JF_ASSIGN_OR_RETURN(const std::vector<uint8_t> header, header_bytes(alignment, &data_bytes));
  return header.size() + data_bytes;
}

}  // namespace jf
