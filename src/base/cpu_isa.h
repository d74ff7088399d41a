// The instruction sets jitflow's native kernels are compiled for, and which of them this CPU runs
// (detected at run time by cpu_features(), never assumed at build time).
#pragma once

#include <cstdint>
#include <span>

namespace jf {

enum class CpuIsa : uint8_t {
  scalar,        // portable C++ (the reference kernels): every CPU
  avx2,          // AVX2 + FMA + F16C
  avx512,        // AVX-512 F/BW/VL + VNNI (plus AVX2/FMA/F16C)
  neon,          // AArch64 Advanced SIMD (part of the base ISA)
  neon_dotprod,  // NEON + the dot product extension (ARMv8.2 DotProd: sdot)
  wasm_simd128,  // WebAssembly SIMD128 (Emscripten builds with -msimd128)
};

const char* isa_name(CpuIsa isa);  // "scalar", "avx2", "avx512", "neon", "neon_dotprod", "wasm_simd128"

// Run-time detection (jf::cpu_features()), capped by the environment variable JITFLOW_MAX_ISA (an
// isa_name of compiled_isas(): scalar|avx2|avx512 on x86, scalar|neon|neon_dotprod on ARM,
// scalar|wasm_simd128 on WebAssembly).
bool cpu_has_isa(CpuIsa isa);

// The ISAs this build has kernels for, fastest first, scalar last (whether this CPU runs them is
// cpu_has_isa's answer). The build decides once (cmake/jitflow.cmake: JITFLOW_SIMD_X86,
// JITFLOW_SIMD_NEON or JITFLOW_SIMD_WASM).
std::span<const CpuIsa> compiled_isas();

}  // namespace jf
