// Bytes: a GGUF file forged field by field, for tests of how the reader meets defects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jf::test {

// Little-endian GGUF bytes written field by field, so that a test can forge any defect and knows
// the byte offset of every field it wrote (size() before writing it).
class Bytes {
 public:
  template <typename T>
  Bytes& pod(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    data_.insert(data_.end(), p, p + sizeof(T));
    return *this;
  }
  Bytes& u32(uint32_t v) { return pod(v); }
  Bytes& u64(uint64_t v) { return pod(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& zeros(uint64_t n) {
    data_.resize(data_.size() + n, 0);
    return *this;
  }
  Bytes& pad_to(uint64_t alignment) { return zeros((alignment - data_.size() % alignment) % alignment); }

  Bytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(0x46554747).u32(version).u64(n_tensors).u64(n_kv);
  }
  Bytes& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
  Bytes& kv_string(const std::string& key, const std::string& v) { return str(key).u32(8).str(v); }
  Bytes& tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }

  uint64_t size() const { return data_.size(); }
  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t> prefix(uint64_t n) const { return {data_.begin(), data_.begin() + n}; }

 private:
  std::vector<uint8_t> data_;
};

}  // namespace jf::test
