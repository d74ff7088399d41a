// Loads a model as `jitflow` does (Engine::load) and prints the outcome and this process's peak
// resident set: VmHWM of /proc/self/status, which covers this program's own address space only
// (getrusage's ru_maxrss would also count the parent it was forked from). resource_bounds_test
// runs it on hostile files, so the peak it prints belongs to the refusal.
// Usage: load_peak_rss MODEL.gguf      Output: "status: <ok or the error>\npeak_rss_kib: <N>\n"
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "jitflow/engine.h"

namespace {

// VmHWM in KiB, or -1 when /proc cannot say.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: load_peak_rss MODEL.gguf\n");
    return 2;
  }
  const auto engine = jf::Engine::load(argv[1], jf::EngineOptions{});
  const std::string outcome = engine.ok() ? "ok" : engine.status().to_string();
  std::printf("status: %s\npeak_rss_kib: %ld\n", outcome.c_str(), peak_rss_kib());
  return 0;
}
