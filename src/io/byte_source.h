// ByteSource: random-access reads of an immutable byte range (a model file, a buffer, later OPFS).
// Every reader of model bytes goes through this interface, so the same parsing code runs natively
// and in the browser. Implementations are safe to read from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "jitflow/status.h"

namespace jf {

// One read of a batch: n bytes at offset into dst.
struct ReadRequest {
  uint64_t offset = 0;
  size_t n = 0;
  void* dst = nullptr;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Total size in bytes.
  virtual uint64_t size() const = 0;
  // Reads exactly `n` bytes at `offset` into `dst`. A range outside [0, size()) is an error
  // (kOutOfRange) that names the source; an OS failure is kIoError.
  virtual Status read_at(uint64_t offset, void* dst, size_t n) const = 0;
  // Reads every request as read_at would, stopping at the first error. A source that can keep
  // several reads in flight does so here.
  virtual Status read_batch(std::span<const ReadRequest> requests) const;
  // What to call this source in messages: the file path, or a label for a memory buffer.
  virtual const std::string& name() const = 0;
  // Whether reads bypass the page cache (O_DIRECT): then what was read is held only where it landed.
  virtual bool bypasses_page_cache() const { return false; }
  // The most memory the source holds for its reads (bounce buffers), for memory budgets.
  virtual uint64_t buffer_bytes() const { return 0; }
};

// Opens a file for positional reads (pread). Missing or unreadable files are kNotFound / kIoError.
Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path);

// Opens a file for reads that bypass the page cache (O_DIRECT), for weights streamed from flash
// under a memory budget: reads of any offset and length are widened to the direct-I/O alignment
// through a bounce buffer of their own. Where the file system refuses O_DIRECT (tmpfs, some overlay
// file systems) the reads go through the page cache instead and bypasses_page_cache() says so.
Result<std::unique_ptr<ByteSource>> open_direct_file_source(const std::string& path);

// Asks the kernel to drop the page cache's clean pages of the file at `path` (what buffered reads
// of it left there), so that a memory budget is not spent on them. Best effort: nothing happens
// where the file cannot be opened or the kernel ignores the advice.
void drop_cached_pages(const std::string& path);

// A source over bytes held in memory (tests, fuzzing, downloaded buffers).
std::unique_ptr<ByteSource> make_memory_source(std::vector<uint8_t> bytes, std::string name);

}  // namespace jf
