#include "base/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace jf {

Result<std::string> read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (f == nullptr) {
    return error(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError, "%s: cannot read it: %s",
                 path.c_str(), std::strerror(errno));
  }
  std::string bytes;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) bytes.append(buffer, n);
  if (std::ferror(f.get()))
    return error(StatusCode::kIoError, "%s: cannot read it: read failed", path.c_str());
  return bytes;
}

Status write_file(const std::string& path, const std::string& bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (f == nullptr)
    return error(StatusCode::kIoError, "%s: cannot write it: %s", path.c_str(), std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f.get()) == bytes.size();
  if (std::fclose(f.release()) != 0 || !written) {
    return error(StatusCode::kIoError, "%s: cannot write it: %s", path.c_str(), std::strerror(errno));
  }
  return Status();
}

}  // namespace jf
