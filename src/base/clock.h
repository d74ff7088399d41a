// Monotonic wall clock for timing, the process's peak resident set size and the machine's memory.
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

// Physical memory of the machine in bytes (0 where the OS cannot tell).
uint64_t physical_memory_bytes();

}  // namespace jf
