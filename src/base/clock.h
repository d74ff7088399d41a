// Monotonic wall clock for timing, and the process's peak resident set size.
#pragma once

#include <chrono>
#include <cstdint>

namespace jf {

inline double now_ms() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// Peak resident set size of this process in bytes (0 where the OS cannot tell).
uint64_t peak_rss_bytes();

}  // namespace jf
