// Sizes as people write them on command lines.
#pragma once

#include <cstdint>
#include <string>

#include "jitflow/status.h"

namespace jf {

// A memory size (--mem): bytes with an optional binary suffix K, M or G ("300M", "1.5G"), or a
// percentage of `whole` ("40%"). It must be at least one byte. Errors: kInvalidArgument quoting it.
Result<uint64_t> parse_memory_size(const std::string& text, uint64_t whole);

}  // namespace jf
