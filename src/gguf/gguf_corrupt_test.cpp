// One handcrafted file per defect the GGUF reader must reject, each checked for the status code,
// the field or tensor the message names and the exact byte offset it reports; plus round trips of
// every metadata type and a pass over every real GGUF file in ../shared.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "gguf_bytes.h"
#include "test_paths.h"

namespace jf {
namespace {

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ4_0 = 2;

using test::Bytes;

Result<GgufFile> open_bytes(std::vector<uint8_t> bytes) {
  return GgufFile::open(make_memory_source(std::move(bytes), "forged.gguf"));
}

// The status of opening `bytes` has `code`, names the file, says "byte offset <at>" and contains
// every string of `names` (the field, key or tensor at fault).
::testing::AssertionResult rejects(const std::vector<uint8_t>& bytes, StatusCode code, uint64_t at,
                                   const std::vector<std::string>& names) {
  const auto file = open_bytes(bytes);
  if (file.ok()) return ::testing::AssertionFailure() << "the file was accepted";
  const Status& status = file.status();
  if (status.code() != code) {
    return ::testing::AssertionFailure() << "code " << status_code_name(status.code()) << ", expected "
                                         << status_code_name(code) << ": " << status.message();
  }
  std::vector<std::string> wanted = names;
  wanted.push_back("forged.gguf");
  wanted.push_back("byte offset " + std::to_string(at) + ":");
  for (const std::string& want : wanted) {
    if (status.message().find(want) == std::string::npos) {
      return ::testing::AssertionFailure() << "message lacks \"" << want << "\": " << status.message();
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult rejects(const Bytes& bytes, StatusCode code, uint64_t at,
                                   const std::vector<std::string>& names) {
  return rejects(bytes.data(), code, at, names);
}

// A file whose only tensor info starts at `*tensor_at`, named "w". The zeros after it satisfy the
// header's tensor count check; the forged field is rejected before data placement is looked at.
Bytes one_tensor(const std::vector<uint64_t>& ne, uint32_t type, uint64_t* tensor_at) {
  Bytes b;
  b.header(1, 0);
  *tensor_at = b.size();
  return b.tensor("w", ne, type, 0).zeros(64);
}

// The field offsets inside a tensor info written by Bytes::tensor for a name of `name_bytes`.
uint64_t dims_field(uint64_t tensor_at, uint64_t name_bytes) {
  return tensor_at + 8 + name_bytes;
}
uint64_t dim_field(uint64_t tensor_at, uint64_t name_bytes, int d) {
  return dims_field(tensor_at, name_bytes) + 4 + 8 * d;
}

// --- header ---

TEST(GgufCorrupt, TruncatedHeader) {
  Bytes b;
  b.header(1, 2);
  EXPECT_TRUE(rejects(b.prefix(0), StatusCode::kCorruptFile, 0, {"truncated", "magic"}));
  EXPECT_TRUE(rejects(b.prefix(2), StatusCode::kCorruptFile, 0, {"truncated", "magic"}));
  EXPECT_TRUE(rejects(b.prefix(6), StatusCode::kCorruptFile, 4, {"truncated", "version"}));
  EXPECT_TRUE(rejects(b.prefix(12), StatusCode::kCorruptFile, 8, {"truncated", "tensor count"}));
  EXPECT_TRUE(rejects(b.prefix(20), StatusCode::kCorruptFile, 16, {"truncated", "metadata count"}));
  // A complete header whose counts promise more than the (absent) rest of the file.
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, 16, {"metadata count 2"}));
}

TEST(GgufCorrupt, TruncatedMetadataAndTensorInfo) {
  const std::string name = "blk.0.attn_q.weight";
  Bytes b;
  b.header(1, 2);
  b.kv_string("general.architecture", "llama");
  const uint64_t value_at = b.size() - 8 - 5;
  const uint64_t key1_at = b.size();
  b.kv_u32("llama.block_count", 1);
  const uint64_t tensor_at = b.size();
  b.tensor(name, {64, 2}, kF32, 0).pad_to(32).zeros(64 * 2 * 4);
  ASSERT_TRUE(open_bytes(b.data()).ok());

  EXPECT_TRUE(rejects(b.prefix(value_at + 4), StatusCode::kCorruptFile, value_at,
                      {"truncated", "general.architecture"}));
  EXPECT_TRUE(
      rejects(b.prefix(key1_at + 4), StatusCode::kCorruptFile, key1_at, {"truncated", "metadata key #1"}));
  // Cut inside the key's characters: its length now exceeds what is left.
  EXPECT_TRUE(
      rejects(b.prefix(key1_at + 10), StatusCode::kCorruptFile, key1_at, {"metadata key #1", "exceeds"}));
  const uint64_t dim1_at = dim_field(tensor_at, name.size(), 1);
  EXPECT_TRUE(rejects(b.prefix(dim1_at + 1), StatusCode::kCorruptFile, dim1_at,
                      {"truncated", "tensor '" + name + "' dimension 1"}));
  const uint64_t type_at = dim_field(tensor_at, name.size(), 2);
  EXPECT_TRUE(rejects(b.prefix(type_at + 2), StatusCode::kCorruptFile, type_at,
                      {"truncated", "tensor '" + name + "' type"}));
  const uint64_t offset_at = type_at + 4;
  EXPECT_TRUE(rejects(b.prefix(offset_at + 7), StatusCode::kCorruptFile, offset_at,
                      {"truncated", "tensor '" + name + "' data offset"}));
  // Cut inside the padding before the data section.
  EXPECT_TRUE(rejects(b.prefix(offset_at + 9), StatusCode::kCorruptFile, offset_at + 8, {"data section"}));
}

TEST(GgufCorrupt, TruncatedTensorCountAfterMetadata) {
  Bytes b;
  b.header(2, 1);
  b.kv_string("general.name", std::string(100, 'x'));
  b.zeros(40);  // room for the header's check (2 infos >= 64 bytes after it), not after the metadata
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, 8, {"tensor count 2", "after the metadata"}));
}

TEST(GgufCorrupt, BadMagic) {
  Bytes b;
  b.u32(0x4c4d4747).u32(3).u64(0).u64(0);  // "GGML"
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, 0, {"magic"}));
}

TEST(GgufCorrupt, UnknownVersion) {
  EXPECT_TRUE(
      rejects(Bytes().header(0, 0, 4), StatusCode::kCorruptFile, 4, {"version", "unknown GGUF version 4"}));
  EXPECT_TRUE(rejects(Bytes().header(0, 0, 0), StatusCode::kCorruptFile, 4, {"version"}));
}

TEST(GgufCorrupt, VersionOneIsUnsupported) {
  EXPECT_TRUE(rejects(Bytes().header(0, 0, 1), StatusCode::kUnsupported, 4, {"version", "version 1"}));
}

TEST(GgufCorrupt, BigEndianIsUnsupported) {
  EXPECT_TRUE(
      rejects(Bytes().header(0, 0, 0x03000000), StatusCode::kUnsupported, 4, {"version", "big-endian"}));
  EXPECT_TRUE(
      rejects(Bytes().header(0, 0, 0x02000000), StatusCode::kUnsupported, 4, {"version", "big-endian"}));
}

TEST(GgufCorrupt, VersionTwoReads) {
  Bytes b;
  b.header(1, 1, 2).kv_u32("llama.block_count", 7);
  b.tensor("w", {8}, kF32, 0).pad_to(32).zeros(32);
  auto file = open_bytes(b.data());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->version(), 2u);
  EXPECT_EQ(*file->get_uint("llama.block_count"), 7u);
  EXPECT_EQ(file->tensors()[0].offset, file->data_offset());
}

TEST(GgufCorrupt, AbsurdMetadataCount) {
  EXPECT_TRUE(
      rejects(Bytes().header(0, 1ull << 60).zeros(64), StatusCode::kCorruptFile, 16, {"metadata count"}));
  EXPECT_TRUE(
      rejects(Bytes().header(0, UINT64_MAX).zeros(64), StatusCode::kCorruptFile, 16, {"metadata count"}));
}

TEST(GgufCorrupt, AbsurdTensorCount) {
  EXPECT_TRUE(
      rejects(Bytes().header(1ull << 60, 0).zeros(64), StatusCode::kCorruptFile, 8, {"tensor count"}));
  EXPECT_TRUE(
      rejects(Bytes().header(UINT64_MAX, 0).zeros(64), StatusCode::kCorruptFile, 8, {"tensor count"}));
}

// --- metadata ---

TEST(GgufCorrupt, AbsurdKeyLength) {
  Bytes b;
  b.header(0, 1).u64(1ull << 62).zeros(64);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, 24, {"metadata key #0", "string length"}));
  // Longer than the spec's 65535-byte key limit, though the file holds that many bytes.
  Bytes long_key;
  long_key.header(0, 1).kv_u32(std::string(70000, 'k'), 1);
  EXPECT_TRUE(rejects(long_key, StatusCode::kCorruptFile, 24, {"metadata key #0", "limit"}));
}

TEST(GgufCorrupt, AbsurdStringValueLength) {
  Bytes b;
  b.header(0, 1).str("general.name").u32(8);
  const uint64_t value_at = b.size();
  b.u64(UINT64_MAX).zeros(16);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, value_at, {"general.name", "string length"}));
}

TEST(GgufCorrupt, AbsurdArrayCount) {
  Bytes b;
  b.header(0, 1).str("tokenizer.ggml.scores").u32(9);
  const uint64_t array_at = b.size();
  b.u32(6).u64(1ull << 40).zeros(64);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, array_at + 4, {"tokenizer.ggml.scores", "array count"}));
}

// Arrays of arrays, `levels` deep; the innermost one is an empty uint8 array.
Bytes nested_arrays(int levels, uint64_t* level_at) {
  Bytes b;
  b.header(0, 1).str("deep").u32(9);
  for (int level = 1; level < levels; ++level) {
    if (level_at != nullptr) level_at[level] = b.size();
    b.u32(9).u64(1);
  }
  if (level_at != nullptr) level_at[levels] = b.size();
  return b.u32(0).u64(0);
}

// Each array element costs ~48 bytes in memory, so a file's arrays are capped at 2^24 elements in
// all, however many bytes the file has left.
TEST(GgufCorrupt, ArrayElementsPastTheFileLimit) {
  Bytes b;
  b.header(0, 1).str("big").u32(9);
  const uint64_t array_at = b.size();
  b.u32(0).u64((1ull << 24) + 1).zeros((1ull << 24) + 1);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, array_at + 4,
                      {"'big'", "array count 16777217", "limit of 16777216"}));
}

TEST(GgufCorrupt, NestedArraysTooDeep) {
  EXPECT_TRUE(open_bytes(nested_arrays(8, nullptr).data()).ok());
  uint64_t level_at[10] = {};
  const Bytes b = nested_arrays(9, level_at);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, level_at[9], {"'deep'", "nested deeper than 8"}));
}

TEST(GgufCorrupt, UnknownMetadataValueType) {
  Bytes b;
  b.header(0, 1).str("general.name");
  const uint64_t type_at = b.size();
  b.u32(13).zeros(16);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, type_at, {"general.name", "unknown value type 13"}));
}

TEST(GgufCorrupt, UnknownArrayElementType) {
  Bytes b;
  b.header(0, 1).str("tokenizer.ggml.tokens").u32(9);
  const uint64_t array_at = b.size();
  b.u32(0xffffffff).u64(0).zeros(16);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, array_at,
                      {"tokenizer.ggml.tokens", "unknown array element type"}));
}

TEST(GgufCorrupt, BoolNeitherZeroNorOne) {
  Bytes b;
  b.header(0, 1).str("tokenizer.ggml.add_bos_token").u32(7);
  const uint64_t value_at = b.size();
  b.pod<uint8_t>(2);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, value_at, {"tokenizer.ggml.add_bos_token", "bool"}));
}

TEST(GgufCorrupt, DuplicateMetadataKeys) {
  Bytes b;
  b.header(0, 2).kv_string("general.name", "a");
  const uint64_t second_at = b.size();
  b.kv_string("general.name", "b");
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, second_at, {"duplicate metadata key 'general.name'"}));
}

// --- alignment ---

TEST(GgufCorrupt, BadAlignmentValue) {
  for (uint32_t alignment : {0u, 48u, 0x80000001u}) {
    Bytes b;
    b.header(0, 1).str("general.alignment").u32(4);
    const uint64_t value_at = b.size();
    b.u32(alignment);
    EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, value_at, {"general.alignment", "power of two"}))
        << alignment;
  }
}

TEST(GgufCorrupt, BadAlignmentType) {
  Bytes as_u64;
  as_u64.header(0, 1).str("general.alignment");
  const uint64_t type_at = as_u64.size();
  as_u64.u32(10).u64(32);
  EXPECT_TRUE(
      rejects(as_u64, StatusCode::kCorruptFile, type_at, {"general.alignment", "uint64", "expected uint32"}));
  Bytes as_string;
  as_string.header(0, 1).kv_string("general.alignment", "32");
  EXPECT_TRUE(rejects(as_string, StatusCode::kCorruptFile, type_at, {"general.alignment", "string"}));
}

TEST(GgufCorrupt, CustomAlignmentIsHonoured) {
  Bytes b;
  b.header(2, 1).kv_u32("general.alignment", 64);
  b.tensor("a", {4}, kF32, 0).tensor("b", {4}, kF32, 64).pad_to(64).zeros(128);
  auto file = open_bytes(b.data());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->data_offset() % 64, 0u);
  EXPECT_EQ(file->find_tensor("b")->offset, file->data_offset() + 64);
}

// --- tensor infos ---

TEST(GgufCorrupt, AbsurdTensorNameLength) {
  Bytes b;
  b.header(1, 0);
  b.u64(1ull << 50).zeros(64);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, 24, {"tensor #0 name", "string length"}));
}

TEST(GgufCorrupt, UnknownTensorType) {
  for (uint32_t type_id : {4u, 40u, 0xffffffffu}) {
    uint64_t tensor_at = 0;
    const Bytes b = one_tensor({32}, type_id, &tensor_at);
    EXPECT_TRUE(rejects(b, StatusCode::kUnsupported, dim_field(tensor_at, 1, 1),
                        {"tensor 'w'", "unknown tensor type id " + std::to_string(type_id)}));
  }
}

TEST(GgufCorrupt, NDimsOutOfRange) {
  uint64_t tensor_at = 0;
  const Bytes zero = one_tensor({}, kF32, &tensor_at);
  EXPECT_TRUE(rejects(zero, StatusCode::kCorruptFile, dims_field(tensor_at, 1), {"tensor 'w'", "n_dims 0"}));
  const Bytes five = one_tensor({1, 1, 1, 1, 1}, kF32, &tensor_at);
  EXPECT_TRUE(rejects(five, StatusCode::kCorruptFile, dims_field(tensor_at, 1), {"tensor 'w'", "n_dims 5"}));
}

TEST(GgufCorrupt, DimensionProductOverflows) {
  uint64_t tensor_at = 0;
  const Bytes product = one_tensor({1ull << 32, 1ull << 32}, kF32, &tensor_at);
  EXPECT_TRUE(rejects(product, StatusCode::kCorruptFile, dim_field(tensor_at, 1, 1),
                      {"tensor 'w'", "dimension 1", "overflow"}));
  const Bytes negative = one_tensor({1ull << 63}, kF32, &tensor_at);
  EXPECT_TRUE(rejects(negative, StatusCode::kCorruptFile, dim_field(tensor_at, 1, 0),
                      {"tensor 'w'", "dimension 0", "overflow"}));
  // A zero dimension must not hide an overflowing n_rows() = ne[1] * ne[2] * ne[3].
  const Bytes zero_first = one_tensor({0, 1ull << 40, 1ull << 40}, kF32, &tensor_at);
  EXPECT_TRUE(rejects(zero_first, StatusCode::kCorruptFile, dim_field(tensor_at, 1, 2),
                      {"tensor 'w'", "dimension 2", "overflow"}));
}

TEST(GgufCorrupt, RowLengthNotAMultipleOfTheBlockSize) {
  uint64_t tensor_at = 0;
  const Bytes b = one_tensor({33, 2}, kQ4_0, &tensor_at);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, dim_field(tensor_at, 1, 0),
                      {"tensor 'w'", "row length 33", "q4_0"}));
}

TEST(GgufCorrupt, DuplicateTensorNames) {
  Bytes b;
  b.header(2, 0).tensor("w", {8}, kF32, 0);
  const uint64_t second_at = b.size();
  b.tensor("w", {8}, kF32, 32).pad_to(32).zeros(64);
  EXPECT_TRUE(rejects(b, StatusCode::kCorruptFile, second_at, {"duplicate tensor name 'w'"}));
}

// --- tensor data ---

// One f32 tensor "w" of `n_floats` at `relative_offset`, followed by `data_bytes` bytes of data.
struct PlacedTensor {
  Bytes bytes;
  uint64_t offset_field_at = 0;
};

PlacedTensor placed_tensor(uint64_t n_floats, uint64_t relative_offset, uint64_t data_bytes) {
  PlacedTensor out;
  out.bytes.header(1, 0).tensor("w", {n_floats}, kF32, relative_offset);
  out.offset_field_at = out.bytes.size() - 8;
  out.bytes.pad_to(32).zeros(data_bytes);
  return out;
}

::testing::AssertionResult rejects_placement(const PlacedTensor& file,
                                             const std::vector<std::string>& names) {
  return rejects(file.bytes, StatusCode::kCorruptFile, file.offset_field_at, names);
}

TEST(GgufCorrupt, TensorDataOutsideTheFile) {
  EXPECT_TRUE(rejects_placement(placed_tensor(8, 1ull << 20, 32), {"tensor 'w'", "outside"}));
  EXPECT_TRUE(rejects_placement(placed_tensor(1024, 0, 32), {"tensor 'w'", "4096 bytes", "outside"}));
  // data_offset + relative offset wraps around 2^64.
  EXPECT_TRUE(rejects_placement(placed_tensor(8, UINT64_MAX - 31, 32), {"tensor 'w'", "outside"}));
  // The last byte is one past the end.
  EXPECT_TRUE(rejects_placement(placed_tensor(8, 0, 31), {"tensor 'w'", "outside"}));
  EXPECT_TRUE(open_bytes(placed_tensor(8, 0, 32).bytes.data()).ok());
}

// Tensors a and b of 8 floats (32 bytes) each at the given offsets; a comes first in the directory.
PlacedTensor two_tensors(uint64_t a_offset, uint64_t b_offset, uint64_t b_floats = 8) {
  PlacedTensor out;
  out.bytes.header(2, 0).tensor("a", {8}, kF32, a_offset).tensor("b", {b_floats}, kF32, b_offset);
  out.offset_field_at = out.bytes.size() - 8;
  out.bytes.pad_to(32).zeros(128);
  return out;
}

// Shared bytes would let a small file declare tensors that add up to more than it holds.
TEST(GgufCorrupt, OverlappingTensorData) {
  EXPECT_TRUE(rejects_placement(two_tensors(0, 0), {"tensor 'b'", "overlaps tensor 'a'", "bytes 96..128"}));
  // b sorts first, so a (whose offset field follows the header and its name, dims and type) is reported.
  PlacedTensor a_inside_b = two_tensors(32, 0, 16);
  a_inside_b.offset_field_at = 24 + 8 + 1 + 4 + 8 + 4;
  EXPECT_TRUE(rejects_placement(a_inside_b, {"tensor 'a'", "overlaps tensor 'b'"}));
  EXPECT_TRUE(open_bytes(two_tensors(0, 32).bytes.data()).ok());
  EXPECT_TRUE(open_bytes(two_tensors(32, 0).bytes.data()).ok());
  // An empty tensor holds no bytes and may share an offset.
  EXPECT_TRUE(open_bytes(two_tensors(0, 0, 0).bytes.data()).ok());
}

TEST(GgufCorrupt, MisalignedTensorOffset) {
  EXPECT_TRUE(rejects_placement(placed_tensor(4, 16, 64), {"tensor 'w'", "data offset 16", "alignment 32"}));
}

// --- well-formed files ---

GgufValue scalar(GgufType type, decltype(GgufValue::data) data) {
  GgufValue v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

GgufValue array(GgufType elem_type, std::vector<GgufValue> items) {
  return scalar(GgufType::kArray, GgufArray{elem_type, std::move(items)});
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.data.index() != b.data.index()) return false;
  const auto* x = std::get_if<GgufArray>(&a.data);
  const auto* y = std::get_if<GgufArray>(&b.data);
  if (x == nullptr) {
    return std::visit(
        [&b](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, GgufArray>)
            return false;
          else
            return v == std::get<V>(b.data);
        },
        a.data);
  }
  if (x->elem_type != y->elem_type || x->items.size() != y->items.size()) return false;
  for (size_t i = 0; i < x->items.size(); ++i) {
    if (!same_value(x->items[i], y->items[i])) return false;
  }
  return true;
}

std::vector<std::pair<std::string, GgufValue>> every_type() {
  using T = GgufType;
  return {
      {"t.uint8", scalar(T::kUint8, uint64_t{255})},
      {"t.int8", scalar(T::kInt8, int64_t{-128})},
      {"t.uint16", scalar(T::kUint16, uint64_t{65535})},
      {"t.int16", scalar(T::kInt16, int64_t{-32768})},
      {"t.uint32", scalar(T::kUint32, uint64_t{UINT32_MAX})},
      {"t.int32", scalar(T::kInt32, int64_t{INT32_MIN})},
      {"t.float32", scalar(T::kFloat32, double{-1.5f})},
      {"t.bool", scalar(T::kBool, true)},
      {"t.string", scalar(T::kString, std::string("a\0b\n\xe2\x82\xac", 7))},
      {"t.uint64", scalar(T::kUint64, uint64_t{UINT64_MAX})},
      {"t.int64", scalar(T::kInt64, int64_t{INT64_MIN})},
      {"t.float64", scalar(T::kFloat64, 0.1)},
      {"t.empty_string", scalar(T::kString, std::string())},
      {"t.array_f32", array(T::kFloat32, {scalar(T::kFloat32, 0.25), scalar(T::kFloat32, -2.0)})},
      {"t.array_string",
       array(T::kString, {scalar(T::kString, std::string("x")), scalar(T::kString, std::string())})},
      {"t.array_empty", array(T::kInt32, {})},
      {"t.array_of_arrays",
       array(T::kArray,
             {array(T::kUint16, {scalar(T::kUint16, uint64_t{1}), scalar(T::kUint16, uint64_t{2})}),
              array(T::kString, {scalar(T::kString, std::string("inner"))}),
              array(T::kArray, {array(T::kBool, {scalar(T::kBool, false)})})})},
  };
}

TEST(GgufRoundTrip, EveryMetadataTypeAndNestedArrays) {
  GgufWriter writer;
  const auto values = every_type();
  for (const auto& [key, value] : values) writer.set_value(key, value);
  auto bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto file = open_bytes(*bytes);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_EQ(file->metadata().size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(file->metadata()[i].first, values[i].first);
    EXPECT_TRUE(same_value(file->metadata()[i].second, values[i].second)) << values[i].first;
  }
  EXPECT_EQ(*file->get_int("t.int64"), INT64_MIN);
  EXPECT_EQ(*file->get_uint("t.uint64"), UINT64_MAX);
  EXPECT_EQ(file->get_int("t.uint64").status().code(), StatusCode::kCorruptFile);  // out of int64 range
  EXPECT_EQ(file->get_uint("t.int8").status().code(), StatusCode::kCorruptFile);   // negative
  EXPECT_EQ(file->get_float("t.uint8").status().code(), StatusCode::kCorruptFile);
  EXPECT_EQ(file->get_string("missing").status().code(), StatusCode::kNotFound);
}

TEST(GgufRoundTrip, CopiedAlignmentKeyIsNotWrittenTwice) {
  GgufWriter writer;
  writer.set_uint32("general.alignment", 32);  // as copied from another file
  writer.add_tensor("w", DType::F32, {4}, std::vector<uint8_t>(16, 1));
  auto bytes = writer.to_bytes(64);
  ASSERT_TRUE(bytes.ok());
  auto file = open_bytes(*bytes);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(*file->get_uint("general.alignment"), 64u);
}

TEST(GgufFiles, MissingFileIsNotFound) {
  const std::string path = "/nonexistent/jitflow/model.gguf";
  auto file = GgufFile::open_path(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound);
  EXPECT_NE(file.status().message().find(path), std::string::npos) << file.status().message();
}

// Every tensor of a real file lies inside it, aligned, after the data section start; reading the
// first and last tensors exercises the file source at both ends of the data.
void expect_well_formed(const std::string& path) {
  SCOPED_TRACE(path);
  auto file = GgufFile::open_path(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  for (const TensorInfo& t : file->tensors()) {
    EXPECT_GE(t.offset, file->data_offset()) << t.name;
    EXPECT_EQ(t.offset % file->alignment(), 0u) << t.name;
    EXPECT_LE(t.offset + t.n_bytes, file->file_size()) << t.name;
    EXPECT_EQ(row_bytes(t.dtype, t.ne[0]) * static_cast<uint64_t>(t.n_rows()), t.n_bytes) << t.name;
  }
  if (file->tensors().empty()) return;
  for (const TensorInfo* t : {&file->tensors().front(), &file->tensors().back()}) {
    std::vector<uint8_t> bytes(t->n_bytes);
    EXPECT_TRUE(file->read_tensor(*t, bytes.data()).ok()) << t->name;
  }
}

TEST(GgufFiles, EverySharedGgufParses) {
  JF_REQUIRE_SHARED("models");
  int n_files = 0;
  for (const char* dir : {"models", "models/synth", "models/docs-28M", "vocab"}) {
    if (!test::shared_exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(test::shared_path(dir))) {
      if (entry.path().extension() != ".gguf") continue;
      expect_well_formed(entry.path().string());
      ++n_files;
    }
  }
  EXPECT_GT(n_files, 0);
}

}  // namespace
}  // namespace jf
