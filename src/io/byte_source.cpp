#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(JITFLOW_HAVE_IO_URING)
#include <liburing.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "base/aligned_buffer.h"
#include "io/byte_source.h"

namespace jf {
namespace {

Status past_the_end(const std::string& name, uint64_t offset, size_t n, uint64_t size) {
  return error(StatusCode::kOutOfRange, "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)",
               name.c_str(), n, static_cast<unsigned long long>(offset), static_cast<unsigned long long>(size));
}

// Reads into out[0 .. length) from `offset` of fd until at least `want` bytes came (pread returns
// short reads; an O_DIRECT read asks for whole blocks, of which fewer than `length` exist at the end
// of the file), or the error naming path.
Status pread_at_least(int fd, const std::string& path, uint64_t offset, uint8_t* out, size_t length,
                      size_t want) {
  size_t done = 0;
  while (done < want) {
    const ssize_t got = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return error(StatusCode::kIoError, "%s: read at offset %llu failed: %s", path.c_str(),
                   static_cast<unsigned long long>(offset + done),
                   got == 0 ? "unexpected end of file" : std::strerror(errno));
    }
    done += static_cast<size_t>(got);
  }
  return Status();
}

class PosixFileSource final : public ByteSource {
 public:
  PosixFileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~PosixFileSource() override { ::close(fd_); }

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }

  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return past_the_end(path_, offset, n, size_);
    return pread_at_least(fd_, path_, offset, static_cast<uint8_t*>(dst), n, n);
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

#if defined(JITFLOW_HAVE_IO_URING)
// An io_uring submission and completion queue pair (liburing); `ok` false where the kernel refuses
// one (old kernels, seccomp), and the reads then go one at a time.
struct Ring {
  static constexpr unsigned kDepth = 64;
  io_uring ring{};
  bool ok = false;
  Ring() { ok = io_uring_queue_init(kDepth, &ring, 0) == 0; }
  ~Ring() {
    if (ok) io_uring_queue_exit(&ring);
  }
};
#endif

// O_DIRECT reads: offset, length and memory must be multiples of the device's logical block; 4096
// covers every device we meet. A read is widened to whole aligned blocks through a bounce buffer
// (in pieces of at most kBouncePiece), unless it is aligned already. A batch keeps up to 64 reads in
// flight with io_uring where the build and the kernel have it. Without O_DIRECT (refused by the file
// system) it reads like PosixFileSource.
class DirectFileSource final : public ByteSource {
 public:
  static constexpr uint64_t kAlign = 4096;
  static constexpr size_t kBouncePiece = size_t{1} << 20;
  static constexpr size_t kBatchBounce = size_t{8} << 20;  // bounce space of one window of a batch

  DirectFileSource(int fd, uint64_t size, std::string path, bool direct)
      : fd_(fd), size_(size), path_(std::move(path)), direct_(direct) {}
  ~DirectFileSource() override { ::close(fd_); }

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  bool bypasses_page_cache() const override { return direct_; }
  // A batch's window and an unaligned read_at's piece.
  uint64_t buffer_bytes() const override { return direct_ ? kBatchBounce + kBouncePiece : 0; }

  Status read_batch(std::span<const ReadRequest> requests) const override {
#if defined(JITFLOW_HAVE_IO_URING)
    std::lock_guard<std::mutex> lock(ring_mutex_);
    if (ring_ == nullptr) ring_ = std::make_unique<Ring>();
    if (ring_->ok) return read_batch_ring(requests);
#endif
    return ByteSource::read_batch(requests);
  }

  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) return past_the_end(path_, offset, n, size_);
    auto* out = static_cast<uint8_t*>(dst);
    const bool aligned = offset % kAlign == 0 && n % kAlign == 0 && reinterpret_cast<uintptr_t>(out) % kAlign == 0;
    if (!direct_ || aligned) return pread_at_least(fd_, path_, offset, out, n, n);
    const uint64_t begin = offset / kAlign * kAlign;
    const uint64_t end = (offset + n + kAlign - 1) / kAlign * kAlign;
    const size_t bounce_bytes = static_cast<size_t>(std::min<uint64_t>(end - begin, kBouncePiece));
    void* bounce = std::aligned_alloc(kAlign, bounce_bytes);
    if (bounce == nullptr) return error(StatusCode::kOutOfRange, "%s: no memory for a read buffer", path_.c_str());
    Status status;
    for (uint64_t at = begin; at < end && status.ok(); at += bounce_bytes) {
      // The file's last block may be partial: O_DIRECT reads stop at the end of the file.
      const size_t want = static_cast<size_t>(std::min<uint64_t>({bounce_bytes, end - at, size_ - at}));
      const size_t piece = static_cast<size_t>(std::min<uint64_t>(bounce_bytes, end - at));
      status = pread_at_least(fd_, path_, at, static_cast<uint8_t*>(bounce), piece, want);
      const uint64_t from = std::max(at, offset), to = std::min(at + want, offset + n);
      if (status.ok() && from < to) std::memcpy(out + (from - offset), static_cast<uint8_t*>(bounce) + (from - at), to - from);
    }
    std::free(bounce);
    return status;
  }

 private:
#if defined(JITFLOW_HAVE_IO_URING)
  // One read in flight: `length` bytes at the aligned `begin` into buf (the request's dst, or bounce
  // space to copy it from), of which `want` must come back (less than length only at the end of the
  // file).
  struct InFlight {
    const ReadRequest* request;
    uint64_t begin;
    size_t length, want;
    uint8_t* buf;
  };

  // Windows of up to Ring::kDepth reads and kBatchBounce bytes of bounce space: submitted together,
  // then completed and copied out. Caller holds ring_mutex_.
  Status read_batch_ring(std::span<const ReadRequest> requests) const {
    if (bounce_.size() < kBatchBounce) bounce_ = AlignedBuffer(kBatchBounce);
    std::vector<InFlight> window;
    size_t bounce_used = 0;
    for (const ReadRequest& r : requests) {
      if (r.offset > size_ || r.n > size_ - r.offset) return past_the_end(path_, r.offset, r.n, size_);
      const uint64_t begin = direct_ ? r.offset / kAlign * kAlign : r.offset;
      const uint64_t end = direct_ ? (r.offset + r.n + kAlign - 1) / kAlign * kAlign : r.offset + r.n;
      const size_t length = static_cast<size_t>(end - begin);
      const size_t want = static_cast<size_t>(std::min(end, size_) - begin);
      const bool in_place = begin == r.offset && length == r.n && reinterpret_cast<uintptr_t>(r.dst) % kAlign == 0;
      if (!in_place && length > kBatchBounce) {  // larger than a window's bounce space: on its own
        JF_RETURN_IF_ERROR(read_at(r.offset, r.dst, r.n));
        continue;
      }
      if (window.size() == Ring::kDepth || (!in_place && bounce_used + length > kBatchBounce)) {
        JF_RETURN_IF_ERROR(complete(window));
        window.clear();
        bounce_used = 0;
      }
      uint8_t* buf = static_cast<uint8_t*>(r.dst);
      if (!in_place) {
        buf = reinterpret_cast<uint8_t*>(bounce_.data()) + bounce_used;
        bounce_used += length;
      }
      window.push_back({&r, begin, length, want, buf});
    }
    return complete(window);
  }

  // Submits the window's reads, waits for all of them, finishes short ones with pread and copies
  // bounced ones out.
  Status complete(std::vector<InFlight>& window) const {
    io_uring* ring = &ring_->ring;
    for (size_t i = 0; i < window.size(); ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      io_uring_prep_read(sqe, fd_, window[i].buf, static_cast<unsigned>(window[i].length), window[i].begin);
      io_uring_sqe_set_data64(sqe, i);
    }
    int submitted = window.empty() ? 0 : io_uring_submit(ring);
    Status status;
    if (submitted < 0) {
      status = error(StatusCode::kIoError, "%s: io_uring submit failed: %s", path_.c_str(), std::strerror(-submitted));
      submitted = 0;
    }
    std::vector<int> got(window.size(), -1);
    for (int k = 0; k < submitted; ++k) {  // every submitted read completes before the window is reused
      io_uring_cqe* cqe = nullptr;
      const int waited = io_uring_wait_cqe(ring, &cqe);
      if (waited < 0) {
        if (waited == -EINTR) {
          --k;
          continue;
        }
        return error(StatusCode::kIoError, "%s: io_uring wait failed: %s", path_.c_str(), std::strerror(-waited));
      }
      got[io_uring_cqe_get_data64(cqe)] = cqe->res;
      io_uring_cqe_seen(ring, cqe);
    }
    for (size_t i = 0; i < window.size() && status.ok(); ++i) {
      const InFlight& f = window[i];
      if (got[i] < 0) {
        status = error(StatusCode::kIoError, "%s: read at offset %llu failed: %s", path_.c_str(),
                       static_cast<unsigned long long>(f.begin), std::strerror(-got[i]));
        break;
      }
      const size_t done = static_cast<size_t>(got[i]);
      if (done < f.want) {
        status = pread_at_least(fd_, path_, f.begin + done, f.buf + done, f.length - done, f.want - done);
      }
      if (status.ok() && f.buf != f.request->dst) {
        std::memcpy(f.request->dst, f.buf + (f.request->offset - f.begin), f.request->n);
      }
    }
    return status;
  }

  mutable std::mutex ring_mutex_;
  mutable std::unique_ptr<Ring> ring_;  // made on the first batch
  mutable AlignedBuffer bounce_;
#endif

  int fd_;
  uint64_t size_;
  std::string path_;
  bool direct_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::vector<uint8_t> bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return past_the_end(name_, offset, n, bytes_.size());
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
    return Status();
  }

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
};

// A regular file opened with `flags`: its descriptor and size, or the error naming it.
Status open_regular(const std::string& path, int flags, int* fd, uint64_t* size) {
  *fd = ::open(path.c_str(), flags | O_RDONLY | O_CLOEXEC);
  if (*fd < 0) {
    const StatusCode code = errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError;
    return error(code, "%s: cannot open: %s", path.c_str(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(*fd);
    return error(StatusCode::kIoError, "%s: not a regular file", path.c_str());
  }
  *size = static_cast<uint64_t>(st.st_size);
  return Status();
}

}  // namespace

Status ByteSource::read_batch(std::span<const ReadRequest> requests) const {
  for (const ReadRequest& r : requests) JF_RETURN_IF_ERROR(read_at(r.offset, r.dst, r.n));
  return Status();
}

Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path) {
  int fd;
  uint64_t size;
  JF_RETURN_IF_ERROR(open_regular(path, 0, &fd, &size));
  return std::unique_ptr<ByteSource>(new PosixFileSource(fd, size, path));
}

void drop_cached_pages(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  static_cast<void>(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
  ::close(fd);
}

Result<std::unique_ptr<ByteSource>> open_direct_file_source(const std::string& path) {
  int fd;
  uint64_t size;
  bool direct = true;
  Status opened = open_regular(path, O_DIRECT, &fd, &size);
  if (!opened.ok() && errno == EINVAL) {  // the file system does not do direct I/O
    direct = false;
    opened = open_regular(path, 0, &fd, &size);
  }
  JF_RETURN_IF_ERROR(opened);
  return std::unique_ptr<ByteSource>(new DirectFileSource(fd, size, path, direct));
}

std::unique_ptr<ByteSource> make_memory_source(std::vector<uint8_t> bytes, std::string name) {
  return std::make_unique<MemorySource>(std::move(bytes), std::move(name));
}

}  // namespace jf
