// Test support shared by the libFuzzer target (gguf_fuzz.cpp) and the deterministic replay test
// (gguf_mutation_test.cpp): open untrusted bytes, then touch everything a caller of GgufFile can.
// Header-only so that both builds (clang + libFuzzer, gcc + gtest) compile the same code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace jf::test {

// Calls every getter on one key. Results are discarded: a wrong-type error is fine, a crash is not.
inline void exercise_gguf_key(const GgufFile& file, const std::string& key, const GgufValue& value) {
  (void)file.get_uint(key);
  (void)file.get_int(key);
  (void)file.get_float(key);
  (void)file.get_bool(key);
  (void)file.get_string(key);
  (void)file.get_array(key);
  (void)file.get_uint_or(key, 0);
  (void)file.get_float_or(key, 0.0);
  (void)file.get_bool_or(key, false);
  (void)file.get_string_or(key, "");
  (void)gguf_value_to_string(value);
}

// Checks what the reader promises about one tensor and reads its bytes. False if a promise is broken.
inline bool exercise_gguf_tensor(const GgufFile& file, const TensorInfo& tensor) {
  if (file.find_tensor(tensor.name) != &tensor) return false;
  if (tensor.n_dims < 1 || tensor.n_dims > kGgufMaxDims) return false;
  if (tensor.offset < file.data_offset() || tensor.offset % file.alignment() != 0) return false;
  if (tensor.offset > file.file_size() || tensor.n_bytes > file.file_size() - tensor.offset) return false;
  // Signed products the reader guarantees not to overflow (UBSan reports it if they do).
  const int64_t n_elements = tensor.n_elements();
  const int64_t n_rows = tensor.n_rows();
  const DTypeInfo& info = dtype_info(tensor.dtype);
  if (n_elements < 0 || n_rows < 0 || tensor.ne[0] % info.block_size != 0) return false;
  if (static_cast<uint64_t>(n_elements) / info.block_size * info.block_bytes != tensor.n_bytes) return false;
  (void)tensor.shape_string();
  std::vector<uint8_t> bytes(tensor.n_bytes);
  return file.read_tensor(tensor, bytes.data()).ok();
}

// A rejection must be a format error that says where: kCorruptFile or kUnsupported, with a byte offset.
inline bool is_located_format_error(const Status& status) {
  return (status.code() == StatusCode::kCorruptFile || status.code() == StatusCode::kUnsupported) &&
         status.message().find("byte offset") != std::string::npos;
}

// Opens `bytes` and exercises every key and tensor. Returns the open status; sets *promise_broken
// when the reader breaks a promise: a rejection that is not a located format error, or an opened
// file that violates an invariant (the caller turns that into a test failure or a trap).
inline Status exercise_gguf_bytes(std::vector<uint8_t> bytes, bool* promise_broken) {
  *promise_broken = false;
  auto file = GgufFile::open(make_memory_source(std::move(bytes), "fuzz-input"));
  if (!file.ok()) {
    *promise_broken = !is_located_format_error(file.status());
    return file.status();
  }
  if (file->alignment() == 0 || (file->alignment() & (file->alignment() - 1)) != 0) *promise_broken = true;
  for (const auto& [key, value] : file->metadata()) {
    if (file->find(key) != &value) *promise_broken = true;
    // Every value has at least one byte, after the 24-byte header.
    if (file->value_offset(key) < 24 || file->value_offset(key) >= file->file_size()) *promise_broken = true;
    exercise_gguf_key(*file, key, value);
  }
  (void)file->get_uint("no.such.key");
  uint64_t tensor_bytes = 0;  // no two tensors share bytes, so they add up to at most the file
  for (const TensorInfo& tensor : file->tensors()) {
    if (!exercise_gguf_tensor(*file, tensor)) *promise_broken = true;
    tensor_bytes += tensor.n_bytes;
    if (tensor_bytes > file->file_size()) *promise_broken = true;
  }
  return Status();
}

}  // namespace jf::test
