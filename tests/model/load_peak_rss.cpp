// Loads a model as `jitflow` does (Engine::load) and prints the outcome, this process's resident
// set just before the load (VmRSS) and its peak after it (VmHWM of /proc/self/status, which covers
// this program's own address space only; getrusage's ru_maxrss would also count the parent it was
// forked from). resource_bounds_test runs it on hostile files: the growth from one to the other is
// what refusing the file cost (the sanitizer runtimes alone take ~70 MiB before main).
// Usage: load_peak_rss MODEL.gguf
// Output: "status: <ok or the error>\nrss_before_kib: <N>\npeak_rss_kib: <N>\n"
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "jitflow/engine.h"

namespace {

// A "<field>:  <N> kB" line of /proc/self/status in KiB, or -1 when /proc cannot say.
long proc_status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: load_peak_rss MODEL.gguf\n");
    return 2;
  }
  const long rss_before_kib = proc_status_kib("VmRSS");
  const auto engine = jf::Engine::load(argv[1], jf::EngineOptions{});
  const std::string outcome = engine.ok() ? "ok" : engine.status().to_string();
  std::printf("status: %s\nrss_before_kib: %ld\npeak_rss_kib: %ld\n", outcome.c_str(), rss_before_kib,
              proc_status_kib("VmHWM"));
  return 0;
}
