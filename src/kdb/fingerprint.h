// The device fingerprint: which machines may share tuned kernels. Two machines with the same CPU
// model, features, cache sizes and CPU count get the same fingerprint, so a kdb tuned on one is
// a warm start for the other (and still re-validated there). In WebAssembly, where a page sees no
// CPU model or caches, it is the browser/device fingerprint: the JS engine (user agent), SIMD128 and
// the relaxed SIMD the engine computes right, and navigator.hardwareConcurrency.
#pragma once

#include <cstdint>
#include <string>

namespace jf::kdb {

struct DeviceFingerprint {
  std::string cpu_model;  // brand string, e.g. "AMD EPYC 9654 96-Core Processor"
  std::string features;   // CpuFeatures::feature_list(), e.g. "avx2 fma f16c avx512f ..."
  uint64_t l1d_bytes = 0;  // cache sizes as the OS reports them (0 = not reported)
  uint64_t l2_bytes = 0;
  uint64_t l3_bytes = 0;
  int n_cpus = 0;  // logical CPUs of the machine

  // 16 lowercase hex digits: FNV-1a 64 of the fields above in a fixed order. Stable across runs,
  // builds and machines; a different value in any field gives a different hash.
  std::string hash() const;
  bool operator==(const DeviceFingerprint&) const = default;
};

// This machine's fingerprint: cpuid and sysfs only, no microbenchmark (cheap enough for every
// `jitflow run`). Sysfs sizes rather than measured ones: measurements wobble, a key must not.
// Computed once.
const DeviceFingerprint& current_device();

}  // namespace jf::kdb
