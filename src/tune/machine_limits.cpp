#include "tune/machine_limits.h"

namespace jf::tune {
namespace {

// The register count measured with `isa`'s own sweep: a knee of the AVX-512 sweep (32 zmm) says
// nothing about AVX2 code, which the compiler keeps in ymm0-15.
Limit<int> registers_of(const DeviceLimits& measured, CpuIsa isa) {
  for (const RegisterSweep& sweep : measured.register_sweeps) {
    // NEON and Wasm SIMD128 registers are measured by the portable 128-bit sweep.
    const bool simd128 = isa == CpuIsa::neon || isa == CpuIsa::neon_dotprod || isa == CpuIsa::wasm_simd128;
    const char* sweep_isa = simd128 ? "simd128" : isa_name(isa);
    if (sweep.isa == sweep_isa) return register_limit_from_sweep(sweep);
  }
  return {};
}

}  // namespace

MachineLimits machine_limits(const DeviceLimits& measured, CpuIsa isa) {
  MachineLimits limits = nominal_limits(isa);
  if (const Limit<int> regs = registers_of(measured, isa); regs.known() && regs.value > 0) {
    limits.n_vec_regs = regs.value;
  }
  if (measured.l1d_bytes.known() && measured.l1d_bytes.value > 0) {
    limits.l1d_bytes = static_cast<int64_t>(measured.l1d_bytes.value);
  }
  if (measured.l2_bytes.known() && measured.l2_bytes.value > 0) {
    limits.l2_bytes = static_cast<int64_t>(measured.l2_bytes.value);
  }
  return limits;
}

}  // namespace jf::tune
