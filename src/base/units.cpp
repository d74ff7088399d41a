#include "base/units.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace jf {

Result<uint64_t> parse_memory_size(const std::string& text, uint64_t whole) {
  double scale = 1;
  size_t digits = text.size();
  if (!text.empty()) {
    switch (text.back()) {
      case '%':
        scale = static_cast<double>(whole) / 100.0;
        break;
      case 'K':
      case 'k':
        scale = 1024.0;
        break;
      case 'M':
      case 'm':
        scale = 1024.0 * 1024.0;
        break;
      case 'G':
      case 'g':
        scale = 1024.0 * 1024.0 * 1024.0;
        break;
      default:
        break;
    }
    if (text.back() == '%' || scale != 1) --digits;
  }
  const std::string number = text.substr(0, digits);
  char* end = nullptr;
  errno = 0;
  const double v = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  const bool parsed = errno == 0 && end != nullptr && *end == '\0' && std::isfinite(v);
  if (!parsed || !(v * scale >= 1) || v * scale > 1.8e19) {
    return error(StatusCode::kInvalidArgument,
                 "'%s' is not a memory size (bytes, with K, M or G, or a percentage of the model like 40%%)",
                 text.c_str());
  }
  return static_cast<uint64_t>(v * scale);
}

}  // namespace jf
