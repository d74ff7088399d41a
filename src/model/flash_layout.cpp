#include "model/flash_layout.h"

#include <cinttypes>

#include "model/weights.h"

namespace jf {

Result<std::optional<FlashLayout>> read_flash_layout(const GgufFile& file, int n_layer) {
  if (file.find(kFlashKey) == nullptr && file.find(kFlashGroupKey) == nullptr)
    return std::optional<FlashLayout>();
  if (file.find(kChannelMajorKey) != nullptr) {
    return error(StatusCode::kCorruptFile, "%s: both %s and %s are set; a file is in one layout",
                 file.path().c_str(), kFlashKey, kChannelMajorKey);
  }
  JF_ASSIGN_OR_RETURN(const uint64_t size, file.get_uint(kFlashGroupKey));
  if (size == 0 || size > static_cast<uint64_t>(n_layer)) {
    return error(StatusCode::kCorruptFile,
                 "%s: %s = %" PRIu64 " at byte %" PRIu64 ", but groups hold 1 to %d layers",
                 file.path().c_str(), kFlashGroupKey, size, file.value_offset(kFlashGroupKey), n_layer);
  }
  FlashLayout layout{.groups = {.n_layer = n_layer, .size = static_cast<int>(size)}, .linears = {}};
  JF_ASSIGN_OR_RETURN(const GgufArray* names, file.get_array(kFlashKey));
  for (const GgufValue& v : names->items) {
    const std::string* name = std::get_if<std::string>(&v.data);
    if (name == nullptr) {
      return error(StatusCode::kCorruptFile, "%s: %s must be an array of tensor names", file.path().c_str(),
                   kFlashKey);
    }
    layout.linears.insert(*name);
  }
  return std::optional<FlashLayout>(std::move(layout));
}

}  // namespace jf
