// libFuzzer target for the kdb's JSON parser and record reader (built with -DJITFLOW_FUZZ=ON;
// run: build/fuzz/src/kdb/kdb_fuzz -max_total_time=60). Any bytes must be accepted or rejected
// without a crash, and what is accepted must write back to text that reads back identically.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json.h"
#include "kdb/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto json = jf::parse_json(text); json.ok()) {
    const std::string written = jf::to_json(*json);
    auto again = jf::parse_json(written);
    if (!again.ok() || jf::to_json(*again) != written) __builtin_trap();
  }
  if (auto record = jf::kdb::record_from_json_line(text); record.ok()) {
    const std::string line = jf::kdb::record_to_json_line(*record);
    auto again = jf::kdb::record_from_json_line(line);
    if (!again.ok() || jf::kdb::record_to_json_line(*again) != line) __builtin_trap();
  }
  return 0;
}
