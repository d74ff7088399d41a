// A heap buffer aligned for SIMD loads (64 bytes: one cache line, one AVX-512 register).
// Move-only; owns its memory.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace jf {

inline constexpr size_t kSimdAlignment = 64;

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Zero-filled; returns an empty buffer (data() == nullptr) when the allocation fails.
  explicit AlignedBuffer(size_t size_bytes) {
    if (size_bytes == 0) return;
    const size_t rounded = (size_bytes + kSimdAlignment - 1) / kSimdAlignment * kSimdAlignment;
    data_ = static_cast<std::byte*>(std::aligned_alloc(kSimdAlignment, rounded));
    if (data_ == nullptr) return;
    std::memset(data_, 0, rounded);
    size_ = size_bytes;
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace jf
