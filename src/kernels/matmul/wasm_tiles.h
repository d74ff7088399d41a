// The Wasm SIMD128 vector policy of the matmul tiles, GGUF rows only: the tiles are block_tiles.h's
// (Q4_0, Q8_0, Q4_K, Q6_K, with quantize_row's activation blocks) and tile_common.h's float tiles
// (F32, F16, BF16), as on NEON. cpu_wasm_simd128.cpp includes this header once with its `IntDot`
// policy; everything here has internal linkage.
//
// SIMD128 has no fused multiply-add (fmadd rounds twice, as simd::Wasm128F32's) and no 8-bit
// shifts (x86 has none: engines emulate them), so the nibbles are cut with 16-bit shifts and masks
// that drop the bits crossing from the neighbouring byte.
#pragma once

#include <wasm_simd128.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/matmul/block_tiles.h"
#include "kernels/simd/f32.h"

namespace jf {
namespace {

// The vector policy (tile_common.h, block_tiles.h): f32x4, i8x16 and i32x4 are all v128_t.
struct Wasm128 {
  using Ops = simd::Wasm128F32;
  using F = v128_t;
  using I8 = v128_t;
  using I32 = v128_t;
  struct Mins {  // i16x8 [m0 m0 m1 m1 m2 m2 m3 m3] and [m4 m4 ... m7 m7], for i32x4.dot_i16x8_s
    v128_t lo, hi;
  };
  static constexpr int kLanes = 4;
  static F zero() { return Ops::zero(); }
  static F load(const float* p) { return Ops::load(p); }
  static F fmadd(F a, F b, F c) { return Ops::fmadd(a, b, c); }
  // 4 halves: the magnitude bits moved into a float's place and scaled by 2^112 (the difference of
  // the exponent biases: exact for normal and subnormal halves), inf and NaN given the float's
  // all-ones exponent, then the sign. fp16_to_f32's results, bit for bit.
  static F load_f16(const uint8_t* p) {
    const v128_t h = wasm_u32x4_load16x4(p);
    const v128_t mag = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t scaled = wasm_f32x4_mul(mag, wasm_f32x4_splat(0x1p112f));
    const v128_t inf_nan = wasm_i32x4_ge(mag, wasm_i32x4_splat(0x7c00 << 13));
    const v128_t f = wasm_v128_bitselect(wasm_v128_or(mag, wasm_i32x4_splat(0x7f800000)), scaled, inf_nan);
    return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
  }
  static F load_bf16(const uint8_t* p) { return wasm_i32x4_shl(wasm_u32x4_load16x4(p), 16); }
  static float sum(F v) { return Ops::reduce_add(v); }

  static float fp16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_f32(h);
  }
  static I8 load_i8(const void* p) { return wasm_v128_load(p); }
  static void nibbles(const uint8_t* p, I8* lo, I8* hi) {
    const v128_t q = wasm_v128_load(p);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    *lo = wasm_v128_and(q, low4);
    *hi = wasm_v128_and(wasm_u16x8_shr(q, 4), low4);
  }
  static I8 set1_i8(int8_t v) { return wasm_i8x16_splat(v); }
  static I8 sub_i8(I8 a, I8 b) { return wasm_i8x16_sub(a, b); }
  static I8 or_i8(I8 a, I8 b) { return wasm_v128_or(a, b); }
  template <int kShift>
  static I8 high2(I8 h) {
    const v128_t bits45 = wasm_i8x16_splat(0x30);
    if constexpr (kShift < 4) return wasm_v128_and(wasm_i16x8_shl(h, 4 - kShift), bits45);
    if constexpr (kShift == 4) return wasm_v128_and(h, bits45);
    if constexpr (kShift > 4) return wasm_v128_and(wasm_u16x8_shr(h, kShift - 4), bits45);
  }
  static I32 zero_i32() { return wasm_i32x4_splat(0); }
  static I32 mla_i32(I32 acc, I32 v, int32_t s) {
    return wasm_i32x4_add(acc, wasm_i32x4_mul(v, wasm_i32x4_splat(s)));
  }
  static F fmadd_i32(F acc, I32 v, float s) {
    return Ops::fmadd(wasm_f32x4_convert_i32x4(v), Ops::set1(s), acc);
  }
  static Mins load_mins(const uint8_t (&mins)[8]) {
    const v128_t m = wasm_u16x8_load8x8(mins);
    return {wasm_i16x8_shuffle(m, m, 0, 0, 1, 1, 2, 2, 3, 3),
            wasm_i16x8_shuffle(m, m, 4, 4, 5, 5, 6, 6, 7, 7)};
  }
  static I32 min_sum(const Mins& mins, const uint8_t* bsums) {
    // Lane j: mins[j] * (bsums[2j] + bsums[2j + 1]) + mins[j + 4] * (bsums[2j + 8] + bsums[2j + 9]).
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(bsums), mins.lo),
                          wasm_i32x4_dot_i16x8(wasm_v128_load(bsums + 16), mins.hi));
  }
};

}  // namespace
}  // namespace jf
