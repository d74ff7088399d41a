#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "base/checked_math.h"
#include "gguf/gguf.h"

namespace jf {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian uint32
constexpr int kMaxArrayNesting = 8;
constexpr uint64_t kMaxStringBytes = 1ull << 30;
constexpr size_t kReadChunkBytes = 1 << 20;

// Smallest encoded size of one value of `type`, used to reject counts the file cannot hold.
uint64_t min_encoded_bytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 1;
}

bool is_known_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufType::kFloat64); }

}  // namespace

// Sequential reader over a ByteSource that buffers reads and reports errors with byte offsets.
class GgufParser {
 public:
  explicit GgufParser(const ByteSource& source) : source_(source) {}

  Status parse(GgufFile* file);

 private:
  uint64_t remaining() const { return source_.size() - pos_; }

  Status corrupt(uint64_t offset, const char* fmt, ...) __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, fmt);
    std::string what = str_vprintf(fmt, args);
    va_end(args);
    return error(StatusCode::kCorruptFile, "%s: corrupt GGUF at byte offset %" PRIu64 ": %s", source_.name().c_str(),
                 offset, what.c_str());
  }

  // Copies n bytes at the cursor into dst and advances; `field` names what was being read.
  Status read_bytes(void* dst, uint64_t n, const char* field) {
    if (n > remaining()) {
      return corrupt(pos_, "file truncated while reading %s (need %" PRIu64 " bytes, %" PRIu64 " left)", field, n,
                     remaining());
    }
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      if (pos_ < buffer_start_ || pos_ >= buffer_start_ + buffer_.size()) {
        const uint64_t want = std::min<uint64_t>(kReadChunkBytes, remaining());
        buffer_.resize(want);
        JF_RETURN_IF_ERROR(source_.read_at(pos_, buffer_.data(), want));
        buffer_start_ = pos_;
      }
      const uint64_t in_buffer = buffer_start_ + buffer_.size() - pos_;
      const uint64_t take = std::min(n, in_buffer);
      std::memcpy(out, buffer_.data() + (pos_ - buffer_start_), take);
      out += take;
      pos_ += take;
      n -= take;
    }
    return Status();
  }

  template <typename T>
  Status read_pod(T* value, const char* field) {
    return read_bytes(value, sizeof(T), field);
  }

  Status read_string(std::string* out, const char* field) {
    const uint64_t at = pos_;
    uint64_t length = 0;
    JF_RETURN_IF_ERROR(read_pod(&length, field));
    if (length > remaining() || length > kMaxStringBytes) {
      return corrupt(at, "%s: string length %" PRIu64 " exceeds the %" PRIu64 " bytes left in the file", field, length,
                     remaining());
    }
    out->resize(length);
    return read_bytes(out->data(), length, field);
  }

  Status read_value(GgufType type, GgufValue* value, const std::string& key, int depth);
  Status read_array(GgufArray* array, const std::string& key, int depth);
  Status read_tensor_info(TensorInfo* info, uint64_t* relative_offset);

  const ByteSource& source_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_start_ = 0;
};

Status GgufParser::read_value(GgufType type, GgufValue* value, const std::string& key, int depth) {
  value->type = type;
  const char* field = key.c_str();
  switch (type) {
    case GgufType::kUint8: { uint8_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = uint64_t{v}; break; }
    case GgufType::kUint16: { uint16_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = uint64_t{v}; break; }
    case GgufType::kUint32: { uint32_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = uint64_t{v}; break; }
    case GgufType::kUint64: { uint64_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = v; break; }
    case GgufType::kInt8: { int8_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = int64_t{v}; break; }
    case GgufType::kInt16: { int16_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = int64_t{v}; break; }
    case GgufType::kInt32: { int32_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = int64_t{v}; break; }
    case GgufType::kInt64: { int64_t v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = v; break; }
    case GgufType::kFloat32: { float v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = double{v}; break; }
    case GgufType::kFloat64: { double v; JF_RETURN_IF_ERROR(read_pod(&v, field)); value->data = v; break; }
    case GgufType::kBool: {
      const uint64_t at = pos_;
      uint8_t v;
      JF_RETURN_IF_ERROR(read_pod(&v, field));
      if (v > 1) return corrupt(at, "metadata '%s': bool value %u is neither 0 nor 1", field, v);
      value->data = v == 1;
      break;
    }
    case GgufType::kString: {
      std::string s;
      JF_RETURN_IF_ERROR(read_string(&s, field));
      value->data = std::move(s);
      break;
    }
    case GgufType::kArray: {
      GgufArray array;
      JF_RETURN_IF_ERROR(read_array(&array, key, depth + 1));
      value->data = std::move(array);
      break;
    }
  }
  return Status();
}

Status GgufParser::read_array(GgufArray* array, const std::string& key, int depth) {
  const uint64_t at = pos_;
  if (depth > kMaxArrayNesting) {
    return corrupt(at, "metadata '%s': arrays nested deeper than %d levels", key.c_str(), kMaxArrayNesting);
  }
  uint32_t raw_type = 0;
  JF_RETURN_IF_ERROR(read_pod(&raw_type, key.c_str()));
  if (!is_known_type(raw_type)) {
    return corrupt(at, "metadata '%s': unknown array element type %u", key.c_str(), raw_type);
  }
  array->elem_type = static_cast<GgufType>(raw_type);
  uint64_t count = 0;
  JF_RETURN_IF_ERROR(read_pod(&count, key.c_str()));
  if (count > remaining() / min_encoded_bytes(array->elem_type)) {
    return corrupt(at + 4, "metadata '%s': array count %" PRIu64 " of %s cannot fit in the %" PRIu64 " bytes left",
                   key.c_str(), count, gguf_type_name(array->elem_type), remaining());
  }
  array->items.resize(count);
  for (GgufValue& item : array->items) {
    JF_RETURN_IF_ERROR(read_value(array->elem_type, &item, key, depth));
  }
  return Status();
}

Status GgufParser::read_tensor_info(TensorInfo* info, uint64_t* relative_offset) {
  const uint64_t at = pos_;
  JF_RETURN_IF_ERROR(read_string(&info->name, "tensor name"));
  const char* name = info->name.c_str();
  const uint64_t dims_at = pos_;
  uint32_t n_dims = 0;
  JF_RETURN_IF_ERROR(read_pod(&n_dims, "tensor n_dims"));
  if (n_dims == 0 || n_dims > kGgufMaxDims) {
    return corrupt(dims_at, "tensor '%s': n_dims %u is outside 1..%d", name, n_dims, kGgufMaxDims);
  }
  info->n_dims = static_cast<int>(n_dims);
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t dim_at = pos_;
    uint64_t ne = 0;
    JF_RETURN_IF_ERROR(read_pod(&ne, "tensor dimension"));
    const auto product = checked_mul(n_elements, ne);
    if (ne > static_cast<uint64_t>(INT64_MAX) || !product || *product > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt(dim_at, "tensor '%s': dimension %u = %" PRIu64 " makes the element count overflow", name, d, ne);
    }
    n_elements = *product;
    info->ne[d] = static_cast<int64_t>(ne);
  }
  const uint64_t type_at = pos_;
  uint32_t type_id = 0;
  JF_RETURN_IF_ERROR(read_pod(&type_id, "tensor type"));
  const auto dtype = dtype_from_gguf_id(type_id);
  if (!dtype) return corrupt(type_at, "tensor '%s': unknown tensor type id %u", name, type_id);
  info->dtype = *dtype;
  const DTypeInfo& type_info = dtype_info(*dtype);
  if (info->ne[0] % type_info.block_size != 0) {
    return corrupt(dims_at, "tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %u", name,
                   info->ne[0], type_info.name, type_info.block_size);
  }
  const auto n_bytes = checked_mul(n_elements / type_info.block_size, type_info.block_bytes);
  if (!n_bytes) return corrupt(at, "tensor '%s': byte size overflows", name);
  info->n_bytes = *n_bytes;
  JF_RETURN_IF_ERROR(read_pod(relative_offset, "tensor data offset"));
  return Status();
}

Status GgufParser::parse(GgufFile* file) {
  uint32_t magic = 0;
  if (source_.size() < 4) return corrupt(0, "file truncated: %" PRIu64 " bytes is too short for a GGUF header", source_.size());
  JF_RETURN_IF_ERROR(read_pod(&magic, "magic"));
  if (magic != kGgufMagic) return corrupt(0, "bad magic 0x%08x (expected \"GGUF\")", magic);
  JF_RETURN_IF_ERROR(read_pod(&file->version_, "version"));
  if (file->version_ == 1) {
    return error(StatusCode::kUnsupported, "%s: GGUF version 1 is not supported (re-convert the model)",
                 source_.name().c_str());
  }
  if (file->version_ != 2 && file->version_ != 3) {
    if ((file->version_ & 0xffff) == 0 && (file->version_ >> 16) != 0) {
      return error(StatusCode::kUnsupported, "%s: big-endian GGUF files are not supported", source_.name().c_str());
    }
    return corrupt(4, "unknown GGUF version %u (jitflow reads versions 2 and 3)", file->version_);
  }
  uint64_t n_tensors = 0, n_kv = 0;
  JF_RETURN_IF_ERROR(read_pod(&n_tensors, "tensor count"));
  JF_RETURN_IF_ERROR(read_pod(&n_kv, "metadata count"));
  if (n_kv > remaining() / 13) {
    return corrupt(16, "metadata count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file", n_kv, source_.size());
  }
  if (n_tensors > remaining() / 24) {
    return corrupt(8, "tensor count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file", n_tensors, source_.size());
  }

  file->metadata_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = pos_;
    std::string key;
    JF_RETURN_IF_ERROR(read_string(&key, "metadata key"));
    const uint64_t type_at = pos_;
    uint32_t raw_type = 0;
    JF_RETURN_IF_ERROR(read_pod(&raw_type, "metadata value type"));
    if (!is_known_type(raw_type)) return corrupt(type_at, "metadata '%s': unknown value type %u", key.c_str(), raw_type);
    if (file->metadata_index_.count(key) != 0) return corrupt(at, "duplicate metadata key '%s'", key.c_str());
    GgufValue value;
    JF_RETURN_IF_ERROR(read_value(static_cast<GgufType>(raw_type), &value, key, 0));
    file->metadata_index_[key] = file->metadata_.size();
    file->metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* alignment = file->find("general.alignment")) {
    const auto* v = std::get_if<uint64_t>(&alignment->data);
    if (alignment->type != GgufType::kUint32 || v == nullptr || *v == 0 || (*v & (*v - 1)) != 0) {
      return corrupt(0, "general.alignment must be a power-of-two uint32");
    }
    file->alignment_ = *v;
  }

  std::vector<uint64_t> relative_offsets(n_tensors);
  file->tensors_.resize(n_tensors);
  std::vector<uint64_t> info_offsets(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    info_offsets[i] = pos_;
    JF_RETURN_IF_ERROR(read_tensor_info(&file->tensors_[i], &relative_offsets[i]));
    if (file->tensor_index_.count(file->tensors_[i].name) != 0) {
      return corrupt(info_offsets[i], "duplicate tensor name '%s'", file->tensors_[i].name.c_str());
    }
    file->tensor_index_[file->tensors_[i].name] = i;
  }

  const auto data_offset = checked_align_up(pos_, file->alignment_);
  if (!data_offset || (n_tensors > 0 && *data_offset > source_.size())) {
    return corrupt(pos_, "tensor data section starts past the end of the file");
  }
  file->data_offset_ = *data_offset;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo& info = file->tensors_[i];
    if (relative_offsets[i] % file->alignment_ != 0) {
      return corrupt(info_offsets[i], "tensor '%s': data offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                     info.name.c_str(), relative_offsets[i], file->alignment_);
    }
    const auto start = checked_add(file->data_offset_, relative_offsets[i]);
    const auto end = start ? checked_add(*start, info.n_bytes) : std::nullopt;
    if (!end || *end > source_.size()) {
      return corrupt(info_offsets[i],
                     "tensor '%s': data [%" PRIu64 " + %" PRIu64 " bytes) lies outside the %" PRIu64 "-byte file",
                     info.name.c_str(), relative_offsets[i], info.n_bytes, source_.size());
    }
    info.offset = *start;
  }
  return Status();
}

Result<GgufFile> GgufFile::open(std::unique_ptr<ByteSource> source) {
  GgufFile file;
  file.source_ = std::move(source);
  GgufParser parser(*file.source_);
  JF_RETURN_IF_ERROR(parser.parse(&file));
  return file;
}

Result<GgufFile> GgufFile::open_path(const std::string& path) {
  JF_ASSIGN_OR_RETURN(auto source, open_file_source(path));
  return open(std::move(source));
}

}  // namespace jf
