#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/byte_source.h"

namespace jf {
namespace {

class PosixFileSource final : public ByteSource {
 public:
  PosixFileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~PosixFileSource() override { ::close(fd_); }

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }

  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) {
      return error(StatusCode::kOutOfRange, "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)",
                   path_.c_str(), n, static_cast<unsigned long long>(offset),
                   static_cast<unsigned long long>(size_));
    }
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        return error(StatusCode::kIoError, "%s: read at offset %llu failed: %s", path_.c_str(),
                     static_cast<unsigned long long>(offset), got == 0 ? "unexpected end of file" : std::strerror(errno));
      }
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
    return Status();
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::vector<uint8_t> bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      return error(StatusCode::kOutOfRange, "%s: read of %zu bytes at offset %llu is past the end (%zu bytes)",
                   name_.c_str(), n, static_cast<unsigned long long>(offset), bytes_.size());
    }
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
    return Status();
  }

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const StatusCode code = errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError;
    return error(code, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error(StatusCode::kIoError, "%s: not a regular file", path.c_str());
  }
  return std::unique_ptr<ByteSource>(new PosixFileSource(fd, static_cast<uint64_t>(st.st_size), path));
}

std::unique_ptr<ByteSource> make_memory_source(std::vector<uint8_t> bytes, std::string name) {
  return std::make_unique<MemorySource>(std::move(bytes), std::move(name));
}

}  // namespace jf
