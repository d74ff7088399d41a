#include "eval/text_file.h"

#include <lzma.h>

#include <cstring>

#include "base/file.h"

namespace jf {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

Result<std::string> xz_decompress(const std::string& compressed, const std::string& path) {
  lzma_stream stream = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&stream, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    return error(StatusCode::kIoError, "%s: cannot start the xz decoder", path.c_str());
  }
  std::string text;
  char buffer[1 << 16];
  stream.next_in = reinterpret_cast<const uint8_t*>(compressed.data());
  stream.avail_in = compressed.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    stream.next_out = reinterpret_cast<uint8_t*>(buffer);
    stream.avail_out = sizeof buffer;
    ret = lzma_code(&stream, LZMA_FINISH);
    text.append(buffer, sizeof buffer - stream.avail_out);
  }
  const uint64_t at = stream.total_in;
  lzma_end(&stream);
  if (ret != LZMA_STREAM_END) {
    return error(StatusCode::kCorruptFile,
                 "%s: not a valid xz stream (decoder error %d at compressed byte %llu)", path.c_str(),
                 static_cast<int>(ret), static_cast<unsigned long long>(at));
  }
  return text;
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  JF_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (!ends_with(path, ".xz")) return bytes;
  return xz_decompress(bytes, path);
}

}  // namespace jf
