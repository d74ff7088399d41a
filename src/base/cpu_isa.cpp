#include "base/cpu_isa.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/cpu_features.h"
#include "base/log.h"

namespace jf {

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::scalar:
      return "scalar";
    case CpuIsa::avx2:
      return "avx2";
    case CpuIsa::avx512:
      return "avx512";
    case CpuIsa::neon:
      return "neon";
    case CpuIsa::neon_dotprod:
      return "neon_dotprod";
    case CpuIsa::wasm_simd128:
      return "wasm_simd128";
  }
  return "?";
}

namespace {

// The position of `isa` in compiled_isas() (fastest first), or -1 when this build has no variants for it.
int compiled_rank(CpuIsa isa) {
  const std::span<const CpuIsa> isas = compiled_isas();
  const auto it = std::find(isas.begin(), isas.end(), isa);
  return it == isas.end() ? -1 : static_cast<int>(it - isas.begin());
}

// JITFLOW_MAX_ISA=<isa_name> caps the ISAs every kernel may use to that one and those listed after it
// in compiled_isas(), so that the narrower variants can be tested and benchmarked end to end on a
// wider CPU. Unset: no cap.
CpuIsa isa_cap() {
  static const CpuIsa cap = [] {
    const CpuIsa fastest = compiled_isas().front();
    const char* env = std::getenv("JITFLOW_MAX_ISA");
    if (env == nullptr || *env == '\0') return fastest;
    for (CpuIsa isa : compiled_isas()) {
      if (std::strcmp(env, isa_name(isa)) == 0) return isa;
    }
    JF_LOG_WARN("JITFLOW_MAX_ISA=%s is not an ISA of this build; ignored", env);
    return fastest;
  }();
  return cap;
}

}  // namespace

bool cpu_has_isa(CpuIsa isa) {
  if (compiled_rank(isa) < compiled_rank(isa_cap())) return false;
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case CpuIsa::scalar:
      return true;
    case CpuIsa::avx2:
      return f.avx2 && f.fma && f.f16c;
    case CpuIsa::avx512:
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
    case CpuIsa::neon:
      return f.neon;
    case CpuIsa::neon_dotprod:
      return f.neon && f.neon_dotprod;
    case CpuIsa::wasm_simd128:
      // Compiled only into -msimd128 builds (the rank check above refuses it elsewhere), and an engine
      // without SIMD128 refuses to instantiate such a module: whatever runs this code has it.
      return true;
  }
  return false;
}

std::span<const CpuIsa> compiled_isas() {
#if defined(JITFLOW_SIMD_X86)
  static constexpr CpuIsa kIsas[] = {CpuIsa::avx512, CpuIsa::avx2, CpuIsa::scalar};
#elif defined(JITFLOW_SIMD_NEON)
  static constexpr CpuIsa kIsas[] = {CpuIsa::neon_dotprod, CpuIsa::neon, CpuIsa::scalar};
#elif defined(JITFLOW_SIMD_WASM)
  static constexpr CpuIsa kIsas[] = {CpuIsa::wasm_simd128, CpuIsa::scalar};
#else
  static constexpr CpuIsa kIsas[] = {CpuIsa::scalar};
#endif
  return kIsas;
}

}  // namespace jf
