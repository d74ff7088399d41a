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
// The spec caps keys at 65535 bytes; tensor names get the same cap (ggml itself allows only 63).
constexpr uint64_t kMaxNameBytes = 65535;
constexpr size_t kReadChunkBytes = 1 << 20;
// All metadata arrays of one file together hold at most this many elements. The largest real
// vocabularies (256K tokens with scores, types and merges) need about 1M; each element costs ~48
// bytes in memory, so the cap bounds metadata at ~800 MiB even in a (sparse) file big enough to
// pass the bytes-left checks with a forged count such as a vocabulary of 2^31 tokens.
constexpr uint64_t kMaxArrayItemsPerFile = 1ull << 24;
// Smallest encodings, used to reject counts the file cannot hold before allocating for them:
// a key-value pair is key length + type + a 1-byte value; a tensor info is name length + n_dims +
// one dimension + type + offset.
constexpr uint64_t kMinMetadataBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Smallest encoded size of one value of `type`, used to reject counts the file cannot hold.
uint64_t min_encoded_bytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

bool is_known_type(uint32_t raw) {
  return raw <= static_cast<uint32_t>(GgufType::kFloat64);
}

bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// Where a tensor's fields sit in the file, kept for messages about its data placement.
struct TensorRecord {
  uint64_t info_at = 0;
  uint64_t offset_field_at = 0;
  uint64_t relative_offset = 0;
};

}  // namespace

// Sequential reader over a ByteSource that buffers reads and reports errors with byte offsets.
class GgufParser {
 public:
  GgufParser(const ByteSource& source, GgufFile* file) : source_(source), file_(*file) {}

  Status parse();

 private:
  uint64_t remaining() const { return source_.size() - pos_; }

  Status fail(StatusCode code, uint64_t offset, const char* fmt, va_list args) {
    const std::string what = str_vprintf(fmt, args);
    return error(code, "%s: %s GGUF at byte offset %" PRIu64 ": %s", source_.name().c_str(),
                 code == StatusCode::kCorruptFile ? "corrupt" : "unsupported", offset, what.c_str());
  }
  Status corrupt(uint64_t offset, const char* fmt, ...) __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, fmt);
    Status status = fail(StatusCode::kCorruptFile, offset, fmt, args);
    va_end(args);
    return status;
  }
  Status unsupported(uint64_t offset, const char* fmt, ...) __attribute__((format(printf, 3, 4))) {
    va_list args;
    va_start(args, fmt);
    Status status = fail(StatusCode::kUnsupported, offset, fmt, args);
    va_end(args);
    return status;
  }

  Status read_bytes(void* dst, uint64_t n, const char* field);
  template <typename T>
  Status read_pod(T* value, const char* field) {
    return read_bytes(value, sizeof(T), field);
  }
  // Reads a T and stores it widened to Wide, the GgufValue alternative for T's family.
  template <typename T, typename Wide>
  Status read_widened(GgufValue* value, const char* field) {
    T v;
    JF_RETURN_IF_ERROR(read_pod(&v, field));
    value->data = static_cast<Wide>(v);
    return Status();
  }
  Status read_bool(GgufValue* value, const char* field);
  Status read_string(std::string* out, uint64_t max_bytes, const char* field);
  Status read_value(GgufType type, GgufValue* value, const std::string& key, int depth);
  Status read_array(GgufArray* array, const std::string& key, int depth);

  Status parse_header(uint64_t* n_tensors, uint64_t* n_kv);
  Status parse_version();
  Status parse_metadata_entry(uint64_t index);
  Status apply_alignment(const GgufValue& value, uint64_t type_at, uint64_t value_at);
  Status parse_tensor_info(uint64_t index, TensorInfo* info, TensorRecord* record);
  Status parse_dims(uint32_t n_dims, TensorInfo* info, uint64_t* n_elements);
  Status place_tensor_data(const std::vector<TensorRecord>& records);
  Status check_no_overlap(const std::vector<TensorRecord>& records);

  const ByteSource& source_;
  GgufFile& file_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_start_ = 0;
  uint64_t n_array_items_ = 0;  // elements of all arrays read so far, nested ones included
};

// Copies n bytes at the cursor into dst and advances; `field` names what was being read.
Status GgufParser::read_bytes(void* dst, uint64_t n, const char* field) {
  if (n > remaining()) {
    return corrupt(pos_, "file truncated while reading %s (need %" PRIu64 " bytes, %" PRIu64 " left)", field,
                   n, remaining());
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

Status GgufParser::read_string(std::string* out, uint64_t max_bytes, const char* field) {
  const uint64_t at = pos_;
  uint64_t length = 0;
  JF_RETURN_IF_ERROR(read_pod(&length, field));
  // Both checks come before the allocation, so a forged length never reserves memory.
  if (length > remaining()) {
    return corrupt(at, "%s: string length %" PRIu64 " exceeds the %" PRIu64 " bytes left in the file", field,
                   length, remaining());
  }
  if (length > max_bytes) {
    return corrupt(at, "%s: string length %" PRIu64 " exceeds the limit of %" PRIu64 " bytes", field, length,
                   max_bytes);
  }
  out->resize(length);
  return read_bytes(out->data(), length, field);
}

Status GgufParser::read_bool(GgufValue* value, const char* field) {
  const uint64_t at = pos_;
  uint8_t v;
  JF_RETURN_IF_ERROR(read_pod(&v, field));
  if (v > 1) return corrupt(at, "metadata '%s': bool value %u is neither 0 nor 1", field, v);
  value->data = v == 1;
  return Status();
}

Status GgufParser::read_value(GgufType type, GgufValue* value, const std::string& key, int depth) {
  value->type = type;
  const char* field = key.c_str();
  switch (type) {
    case GgufType::kUint8:
      return read_widened<uint8_t, uint64_t>(value, field);
    case GgufType::kUint16:
      return read_widened<uint16_t, uint64_t>(value, field);
    case GgufType::kUint32:
      return read_widened<uint32_t, uint64_t>(value, field);
    case GgufType::kUint64:
      return read_widened<uint64_t, uint64_t>(value, field);
    case GgufType::kInt8:
      return read_widened<int8_t, int64_t>(value, field);
    case GgufType::kInt16:
      return read_widened<int16_t, int64_t>(value, field);
    case GgufType::kInt32:
      return read_widened<int32_t, int64_t>(value, field);
    case GgufType::kInt64:
      return read_widened<int64_t, int64_t>(value, field);
    case GgufType::kFloat32:
      return read_widened<float, double>(value, field);
    case GgufType::kFloat64:
      return read_widened<double, double>(value, field);
    case GgufType::kBool:
      return read_bool(value, field);
    case GgufType::kString: {
      std::string s;
      JF_RETURN_IF_ERROR(read_string(&s, kMaxStringBytes, field));
      value->data = std::move(s);
      return Status();
    }
    case GgufType::kArray: {
      GgufArray array;
      JF_RETURN_IF_ERROR(read_array(&array, key, depth + 1));
      value->data = std::move(array);
      return Status();
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
    return corrupt(at + 4,
                   "metadata '%s': array count %" PRIu64 " of %s cannot fit in the %" PRIu64 " bytes left",
                   key.c_str(), count, gguf_type_name(array->elem_type), remaining());
  }
  if (count > kMaxArrayItemsPerFile - n_array_items_) {
    return corrupt(at + 4,
                   "metadata '%s': array count %" PRIu64 " takes the file past the limit of %" PRIu64
                   " array elements in all",
                   key.c_str(), count, kMaxArrayItemsPerFile);
  }
  n_array_items_ += count;
  // Grown as values are read rather than sized from the count, so that memory follows the bytes
  // the file actually holds.
  for (uint64_t i = 0; i < count; ++i) {
    GgufValue item;
    JF_RETURN_IF_ERROR(read_value(array->elem_type, &item, key, depth));
    array->items.push_back(std::move(item));
  }
  return Status();
}

Status GgufParser::parse_version() {
  JF_RETURN_IF_ERROR(read_pod(&file_.version_, "version"));
  const uint32_t version = file_.version_;
  if (version == 2 || version == 3) return Status();
  if (version == 1) return unsupported(4, "version: GGUF version 1 is not supported (re-convert the model)");
  // A big-endian writer stores version 2 or 3 as 0x02000000 / 0x03000000.
  if ((version & 0xffff) == 0 && (version >> 16) != 0) {
    return unsupported(4, "version: 0x%08x looks like a big-endian GGUF file, which is not supported",
                       version);
  }
  return corrupt(4, "version: unknown GGUF version %u (jitflow reads versions 2 and 3)", version);
}

Status GgufParser::parse_header(uint64_t* n_tensors, uint64_t* n_kv) {
  uint32_t magic = 0;
  JF_RETURN_IF_ERROR(read_pod(&magic, "magic"));
  if (magic != kGgufMagic) return corrupt(0, "magic: 0x%08x is not \"GGUF\" (0x%08x)", magic, kGgufMagic);
  JF_RETURN_IF_ERROR(parse_version());
  JF_RETURN_IF_ERROR(read_pod(n_tensors, "tensor count"));
  JF_RETURN_IF_ERROR(read_pod(n_kv, "metadata count"));
  if (*n_kv > remaining() / kMinMetadataBytes) {
    return corrupt(16, "metadata count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file", *n_kv,
                   source_.size());
  }
  if (*n_tensors > remaining() / kMinTensorInfoBytes) {
    return corrupt(8, "tensor count %" PRIu64 " cannot fit in a %" PRIu64 "-byte file", *n_tensors,
                   source_.size());
  }
  return Status();
}

// general.alignment overrides the default 32-byte alignment of tensor data; the spec makes it a
// uint32, and the alignment arithmetic needs a nonzero power of two.
Status GgufParser::apply_alignment(const GgufValue& value, uint64_t type_at, uint64_t value_at) {
  if (value.type != GgufType::kUint32) {
    return corrupt(type_at, "metadata 'general.alignment' is %s, expected uint32",
                   gguf_type_name(value.type));
  }
  const uint64_t alignment = std::get<uint64_t>(value.data);
  if (!is_power_of_two(alignment)) {
    return corrupt(value_at, "metadata 'general.alignment' = %" PRIu64 " is not a power of two", alignment);
  }
  file_.alignment_ = alignment;
  return Status();
}

Status GgufParser::parse_metadata_entry(uint64_t index) {
  const uint64_t at = pos_;
  const std::string key_field = str_printf("metadata key #%" PRIu64, index);
  std::string key;
  JF_RETURN_IF_ERROR(read_string(&key, kMaxNameBytes, key_field.c_str()));
  const uint64_t type_at = pos_;
  uint32_t raw_type = 0;
  JF_RETURN_IF_ERROR(read_pod(&raw_type, key_field.c_str()));
  if (!is_known_type(raw_type))
    return corrupt(type_at, "metadata '%s': unknown value type %u", key.c_str(), raw_type);
  if (file_.metadata_index_.count(key) != 0) return corrupt(at, "duplicate metadata key '%s'", key.c_str());
  const uint64_t value_at = pos_;
  GgufValue value;
  JF_RETURN_IF_ERROR(read_value(static_cast<GgufType>(raw_type), &value, key, 0));
  if (key == "general.alignment") JF_RETURN_IF_ERROR(apply_alignment(value, type_at, value_at));
  file_.metadata_index_[key] = file_.metadata_.size();
  file_.metadata_.emplace_back(std::move(key), std::move(value));
  file_.metadata_value_at_.push_back(value_at);
  return Status();
}

// Reads the dimensions and checks that the element count, and every partial product of the
// nonzero dimensions (TensorInfo::n_rows and friends), fit in int64.
Status GgufParser::parse_dims(uint32_t n_dims, TensorInfo* info, uint64_t* n_elements) {
  uint64_t nonzero_product = 1;
  bool any_zero = false;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t dim_at = pos_;
    uint64_t ne = 0;
    JF_RETURN_IF_ERROR(read_pod(&ne, str_printf("tensor '%s' dimension %u", info->name.c_str(), d).c_str()));
    const auto product = checked_mul(nonzero_product, std::max<uint64_t>(ne, 1));
    if (!product || *product > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt(dim_at, "tensor '%s': dimension %u = %" PRIu64 " makes the element count overflow int64",
                     info->name.c_str(), d, ne);
    }
    nonzero_product = *product;
    any_zero = any_zero || ne == 0;
    info->ne[d] = static_cast<int64_t>(ne);
  }
  *n_elements = any_zero ? 0 : nonzero_product;
  return Status();
}

Status GgufParser::parse_tensor_info(uint64_t index, TensorInfo* info, TensorRecord* record) {
  record->info_at = pos_;
  const std::string name_field = str_printf("tensor #%" PRIu64 " name", index);
  JF_RETURN_IF_ERROR(read_string(&info->name, kMaxNameBytes, name_field.c_str()));
  const char* name = info->name.c_str();
  const uint64_t dims_at = pos_;
  uint32_t n_dims = 0;
  JF_RETURN_IF_ERROR(read_pod(&n_dims, str_printf("tensor '%s' n_dims", name).c_str()));
  if (n_dims == 0 || n_dims > kGgufMaxDims) {
    return corrupt(dims_at, "tensor '%s': n_dims %u is outside 1..%d", name, n_dims, kGgufMaxDims);
  }
  info->n_dims = static_cast<int>(n_dims);
  uint64_t n_elements = 0;
  JF_RETURN_IF_ERROR(parse_dims(n_dims, info, &n_elements));
  const uint64_t type_at = pos_;
  uint32_t type_id = 0;
  JF_RETURN_IF_ERROR(read_pod(&type_id, str_printf("tensor '%s' type", name).c_str()));
  // An id this build does not know may be a newer ggml type rather than corruption.
  const auto dtype = dtype_from_gguf_id(type_id);
  if (!dtype) return unsupported(type_at, "tensor '%s': unknown tensor type id %u", name, type_id);
  info->dtype = *dtype;
  const DTypeInfo& type_info = dtype_info(*dtype);
  if (info->ne[0] % type_info.block_size != 0) {
    return corrupt(dims_at + 4,
                   "tensor '%s': row length %" PRId64 " is not a multiple of the %s block size %u", name,
                   info->ne[0], type_info.name, type_info.block_size);
  }
  const auto n_bytes = checked_mul(n_elements / type_info.block_size, type_info.block_bytes);
  if (!n_bytes) return corrupt(dims_at, "tensor '%s': byte size overflows", name);
  info->n_bytes = *n_bytes;
  record->offset_field_at = pos_;
  return read_pod(&record->relative_offset, str_printf("tensor '%s' data offset", name).c_str());
}

// Turns each tensor's offset relative to the data section into an absolute one inside the file.
Status GgufParser::place_tensor_data(const std::vector<TensorRecord>& records) {
  const uint64_t alignment = file_.alignment_;
  const auto data_offset = checked_align_up(pos_, alignment);
  if (!data_offset || (!records.empty() && *data_offset > source_.size())) {
    return corrupt(
        pos_, "tensor data section (aligned to %" PRIu64 ") starts past the end of the %" PRIu64 "-byte file",
        alignment, source_.size());
  }
  file_.data_offset_ = *data_offset;
  for (size_t i = 0; i < records.size(); ++i) {
    TensorInfo& info = file_.tensors_[i];
    const TensorRecord& record = records[i];
    if (record.relative_offset % alignment != 0) {
      return corrupt(record.offset_field_at,
                     "tensor '%s': data offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                     info.name.c_str(), record.relative_offset, alignment);
    }
    const auto start = checked_add(file_.data_offset_, record.relative_offset);
    const auto end = start ? checked_add(*start, info.n_bytes) : std::nullopt;
    if (!end || *end > source_.size()) {
      return corrupt(record.offset_field_at,
                     "tensor '%s': data offset %" PRIu64 " + %" PRIu64
                     " bytes after the data section at %" PRIu64 " lies outside the %" PRIu64 "-byte file",
                     info.name.c_str(), record.relative_offset, info.n_bytes, file_.data_offset_,
                     source_.size());
    }
    info.offset = *start;
  }
  return check_no_overlap(records);
}

// No two tensors share data bytes, so that the tensors of a file add up to at most its size and
// whoever copies them all (load_weights) allocates no more than the file holds. Empty tensors
// hold no bytes and may sit anywhere.
Status GgufParser::check_no_overlap(const std::vector<TensorRecord>& records) {
  const std::vector<TensorInfo>& tensors = file_.tensors_;
  std::vector<size_t> order;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].n_bytes > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& before = tensors[order[k - 1]];
    const TensorInfo& after = tensors[order[k]];
    if (after.offset < before.offset + before.n_bytes) {
      const uint64_t before_end = before.offset + before.n_bytes;
      return corrupt(records[order[k]].offset_field_at,
                     "tensor '%s': data at byte %" PRIu64 " overlaps tensor '%s'"
                     " (bytes %" PRIu64 "..%" PRIu64 ")",
                     after.name.c_str(), after.offset, before.name.c_str(), before.offset, before_end);
    }
  }
  return Status();
}

Status GgufParser::parse() {
  uint64_t n_tensors = 0, n_kv = 0;
  JF_RETURN_IF_ERROR(parse_header(&n_tensors, &n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) JF_RETURN_IF_ERROR(parse_metadata_entry(i));

  // Checked again now that the metadata is consumed, before allocating the tensor directory.
  if (n_tensors > remaining() / kMinTensorInfoBytes) {
    return corrupt(8, "tensor count %" PRIu64 " cannot fit in the %" PRIu64 " bytes after the metadata",
                   n_tensors, remaining());
  }
  // Grown as tensor infos are read, like arrays: a forged count in a large file costs nothing.
  std::vector<TensorRecord> records;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo info;
    TensorRecord record;
    JF_RETURN_IF_ERROR(parse_tensor_info(i, &info, &record));
    if (file_.tensor_index_.count(info.name) != 0) {
      return corrupt(record.info_at, "duplicate tensor name '%s'", info.name.c_str());
    }
    file_.tensor_index_[info.name] = i;
    info.info_at = record.info_at;
    file_.tensors_.push_back(std::move(info));
    records.push_back(record);
  }
  return place_tensor_data(records);
}

Result<GgufFile> GgufFile::open(std::unique_ptr<ByteSource> source) {
  GgufFile file;
  file.source_ = std::move(source);
  GgufParser parser(*file.source_, &file);
  JF_RETURN_IF_ERROR(parser.parse());
  return file;
}

Result<GgufFile> GgufFile::open_path(const std::string& path) {
  JF_ASSIGN_OR_RETURN(auto source, open_file_source(path));
  return open(std::move(source));
}

}  // namespace jf
