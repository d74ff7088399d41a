// The stored bytes of a GGUF file's tensor, for tests that compare what a writer wrote.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace jf::test {

// The bytes of tensor `name`; a missing tensor or a failed read is a test failure (and gives {}).
inline std::vector<uint8_t> tensor_bytes(const GgufFile& file, const std::string& name) {
  const TensorInfo* info = file.find_tensor(name);
  EXPECT_NE(info, nullptr) << name;
  if (info == nullptr) return {};
  std::vector<uint8_t> bytes(info->n_bytes);
  EXPECT_TRUE(file.read_tensor(*info, bytes.data()).ok()) << name;
  return bytes;
}

}  // namespace jf::test
