// What the CPU we run on can do, detected once at run time (never assumed at build time).
#pragma once

#include <cstdint>
#include <string>

namespace jf {

struct CpuFeatures {
  std::string model_name;  // e.g. "AMD EPYC" (x86 brand string, or /proc/cpuinfo on ARM); in WebAssembly the JS engine (user agent)
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avxvnni = false;
  bool neon = false;
  bool neon_dotprod = false;
  int n_logical_cpus = 1;

  // "avx2 fma f16c avx512f ..." in a fixed order, for fingerprints and logs.
  std::string feature_list() const;
};

const CpuFeatures& cpu_features();

// Data/unified cache sizes as the OS reports them; 0 = not reported.
struct CacheSizes {
  uint64_t l1d_bytes = 0;
  uint64_t l2_bytes = 0;
  uint64_t l3_bytes = 0;
};

// Reads index*/{level,type,size} under `cache_dir`; missing or unreadable = zeros.
CacheSizes read_sysfs_cache_sizes(const std::string& cache_dir = "/sys/devices/system/cpu/cpu0/cache");

}  // namespace jf
