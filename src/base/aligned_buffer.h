// A heap buffer aligned for SIMD loads (64 bytes: one cache line, one AVX-512 register).
// Move-only; owns its memory. Buffers of 2 MiB and more (weights, KV cache) are aligned to 2 MiB
// and, on Linux, asked for transparent huge pages: decode streams the whole model per token, and
// with 4 KiB pages that is a TLB miss every 4 KiB.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#endif

namespace jf {

inline constexpr size_t kSimdAlignment = 64;
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// n rounded up to a multiple of `multiple` (> 0).
inline constexpr size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Zero-filled; returns an empty buffer (data() == nullptr) when the allocation fails.
  explicit AlignedBuffer(size_t size_bytes) {
    if (size_bytes == 0) return;
    const size_t alignment = size_bytes >= kHugePageBytes ? kHugePageBytes : kSimdAlignment;
    const size_t rounded = round_up(size_bytes, alignment);
    data_ = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
    if (data_ == nullptr) return;
#if defined(MADV_HUGEPAGE)
    if (alignment == kHugePageBytes) madvise(data_, rounded, MADV_HUGEPAGE);  // a hint: failure is fine
#endif
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
