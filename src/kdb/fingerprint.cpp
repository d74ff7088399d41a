#include "kdb/fingerprint.h"

#include "base/cpu_features.h"
#include "jitflow/status.h"

#if defined(__EMSCRIPTEN__)
#include "jit/wasm_loader.h"
#endif

namespace jf::kdb {
namespace {

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

DeviceFingerprint detect_device() {
  const CpuFeatures& cpu = cpu_features();
  const CacheSizes caches = read_sysfs_cache_sizes();
  DeviceFingerprint device;
  device.cpu_model = cpu.model_name;
  device.features = cpu.feature_list();
#if defined(__EMSCRIPTEN__)
  // The engine decides what relaxed SIMD computes on this CPU (and whether emitted kernels use it).
  if (wasm::engine_has_relaxed_madd()) device.features += " relaxed-madd";
  if (wasm::engine_has_relaxed_dot()) device.features += " relaxed-dot";
#endif
  device.l1d_bytes = caches.l1d_bytes;
  device.l2_bytes = caches.l2_bytes;
  device.l3_bytes = caches.l3_bytes;
  device.n_cpus = cpu.n_logical_cpus;
  return device;
}

}  // namespace

std::string DeviceFingerprint::hash() const {
  // Length-prefixed fields: distinct field tuples never give the same text, whatever bytes a
  // record read from a file puts in them.
  std::string canonical;
  for (const std::string& field : {cpu_model, features}) canonical += std::to_string(field.size()) + ":" + field;
  for (const uint64_t size : {l1d_bytes, l2_bytes, l3_bytes}) canonical += "|" + std::to_string(size);
  canonical += "|" + std::to_string(n_cpus);
  return str_printf("%016llx", static_cast<unsigned long long>(fnv1a64(canonical)));
}

const DeviceFingerprint& current_device() {
  static const DeviceFingerprint device = detect_device();
  return device;
}

}  // namespace jf::kdb
