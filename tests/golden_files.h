// Reading llama.cpp's golden files (../shared/golden, tests/data/golden): id arrays of the JSON
// files and the raw little-endian f32 logit or embedding files.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "json_lite.h"

namespace jf::test {

inline std::vector<int32_t> ids_of(const json_lite::Value& array) {
  std::vector<int32_t> ids;
  for (const auto& v : array.as_array()) ids.push_back(static_cast<int32_t>(v.as_int()));
  return ids;
}

// The whole file as floats (empty when it cannot be read).
inline std::vector<float> read_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::vector<float> data(static_cast<size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  return data;
}

}  // namespace jf::test
