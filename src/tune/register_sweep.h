// Internal to the microbenchmarks: the accumulator-count sweep behind the SIMD register count.
//
// sweep<V, N, Op>() keeps N independent vector accumulators live across a loop and applies one
// multiply-add to each per round. While N fits the register file the compiler keeps every
// accumulator in a register and time per op stays at the FMA throughput; past it, accumulators
// spill to the stack and time per op rises. The template is instantiated for N = 4..40 in one
// translation unit per ISA, each compiled with that ISA's target flags, so the compiler really
// allocates that ISA's registers (check with `objdump -d` on the object: see microbench.cpp).
#pragma once

#include <cstdint>
#include <utility>

namespace jf::tune::detail {

inline constexpr int kMinAccumulators = 4;
inline constexpr int kMaxAccumulators = 40;
inline constexpr int kSweepSize = kMaxAccumulators - kMinAccumulators + 1;

// Runs `rounds` rounds over N accumulators that start at init[0..N) (read at run time so the
// compiler cannot fold the loop) and returns a lane of their sum, to keep them all live.
using SweepFn = float (*)(const float* init, int64_t rounds);

struct SweepTable {
  const char* isa;       // "avx512", "avx2", "simd128"
  int vector_bits;
  int isa_registers;     // architectural vector registers of this ISA (16 ymm, 32 zmm, ...)
  SweepFn fn[kSweepSize];  // fn[i] keeps kMinAccumulators + i accumulators live
};

// Op provides `static V splat(float)`, `static V fma(V a, V b, V c)` (a*b+c) and
// `static float first_lane(V)`. acc = acc*acc + acc stays 0 from 0 (no denormals, no overflow)
// and needs no register besides the accumulator, so N accumulators use exactly N registers.
template <typename V, typename Op, int N>
float sweep(const float* init, int64_t rounds) {
  V acc[N];
#pragma GCC unroll 64
  for (int i = 0; i < N; ++i) acc[i] = Op::splat(init[i]);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 64
    for (int i = 0; i < N; ++i) acc[i] = Op::fma(acc[i], acc[i], acc[i]);
  }
  V sum = acc[0];
#pragma GCC unroll 64
  for (int i = 1; i < N; ++i) sum = sum + acc[i];
  return Op::first_lane(sum);
}

template <typename V, typename Op, int... I>
constexpr SweepTable make_sweep_table(const char* isa, int vector_bits, int isa_registers,
                                      std::integer_sequence<int, I...>) {
  return SweepTable{isa, vector_bits, isa_registers, {&sweep<V, Op, kMinAccumulators + I>...}};
}

// One table per ISA compiled into this build; nullptr where the build has none (e.g. no x86).
const SweepTable* avx512_sweep_table();
const SweepTable* avx2_sweep_table();
const SweepTable* simd128_sweep_table();

}  // namespace jf::tune::detail
