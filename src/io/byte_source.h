// ByteSource: random-access reads of an immutable byte range (a model file, a buffer, later OPFS).
// Every reader of model bytes goes through this interface, so the same parsing code runs natively
// and in the browser. Implementations are safe to read from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jitflow/status.h"

namespace jf {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Total size in bytes.
  virtual uint64_t size() const = 0;
  // Reads exactly `n` bytes at `offset` into `dst`. A range outside [0, size()) is an error
  // (kOutOfRange) that names the source; an OS failure is kIoError.
  virtual Status read_at(uint64_t offset, void* dst, size_t n) const = 0;
  // What to call this source in messages: the file path, or a label for a memory buffer.
  virtual const std::string& name() const = 0;
};

// Opens a file for positional reads (pread). Missing or unreadable files are kNotFound / kIoError.
Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path);

// A source over bytes held in memory (tests, fuzzing, downloaded buffers).
std::unique_ptr<ByteSource> make_memory_source(std::vector<uint8_t> bytes, std::string name);

}  // namespace jf
