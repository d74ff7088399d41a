// Portable 128-bit vectors (GCC/Clang vector extension), built with the default target flags:
// NEON on ARM64, SIMD128 on WebAssembly. Not used on x86, where AVX2/AVX-512 decide.
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "tune/register_sweep.h"

namespace jf::tune::detail {
namespace {

#if defined(__aarch64__)
typedef float32x4_t Float4;
#else
typedef float Float4 __attribute__((vector_size(16)));
#endif

struct Simd128Op {
  static Float4 splat(float x) { return Float4{x, x, x, x}; }
#if defined(__aarch64__)
  // An explicit fmla: ISO C++ mode does not contract a * b + c, and the separate multiply would
  // need a scratch register, moving the knee.
  static Float4 fma(Float4 a, Float4 b, Float4 c) { return vfmaq_f32(c, a, b); }
#else
  static Float4 fma(Float4 a, Float4 b, Float4 c) { return a * b + c; }  // SIMD128 has no FMA
#endif
  static float first_lane(Float4 v) { return v[0]; }
};

// ARM64 has 32 vector registers; WebAssembly leaves it to the engine (unknown here: 0).
#if defined(__aarch64__)
constexpr int kIsaRegisters = 32;
#else
constexpr int kIsaRegisters = 0;
#endif

constexpr SweepTable kTable = make_sweep_table<Float4, Simd128Op>(
    "simd128", 128, kIsaRegisters, std::make_integer_sequence<int, kSweepSize>{});

}  // namespace

const SweepTable* simd128_sweep_table() { return &kTable; }

}  // namespace jf::tune::detail
