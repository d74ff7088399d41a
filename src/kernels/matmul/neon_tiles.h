// The NEON vector policy, shared by cpu_neon.cpp (ARMv8.0) and cpu_neon_dotprod.cpp (built with the
// dot product extension), GGUF rows only: the tiles are block_tiles.h's (Q4_0, Q8_0, Q4_K, Q6_K, with
// quantize_row's activation blocks) and tile_common.h's float tiles (F32, F16, BF16).
//
// Each of those files includes this header once with an `IntDot` policy (block_tiles.h). Everything
// here has internal linkage, so the two compilations never merge.
#pragma once

#include <arm_neon.h>

#include <cstring>

#include "kernels/matmul/block_tiles.h"

namespace jf {
namespace {

// The vector policy (tile_common.h, block_tiles.h).
struct Neon128 {
  using F = float32x4_t;
  using I8 = int8x16_t;
  using I32 = int32x4_t;
  using Mins = int16x8_t;  // the 8 mins widened
  static constexpr int kLanes = 4;
  static F zero() { return vdupq_n_f32(0.0f); }
  static F load(const float* p) { return vld1q_f32(p); }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F load_f16(const uint8_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static F load_bf16(const uint8_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static float sum(F v) { return vaddvq_f32(v); }

  static float fp16(const uint8_t* p) {
    __fp16 h;
    std::memcpy(&h, p, 2);
    return static_cast<float>(h);
  }
  static I8 load_i8(const void* p) { return vld1q_s8(static_cast<const int8_t*>(p)); }
  static void nibbles(const uint8_t* p, I8* lo, I8* hi) {
    const uint8x16_t q = vld1q_u8(p);
    *lo = vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F)));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
  }
  static I8 set1_i8(int8_t v) { return vdupq_n_s8(v); }
  static I8 sub_i8(I8 a, I8 b) { return vsubq_s8(a, b); }
  static I8 or_i8(I8 a, I8 b) { return vorrq_s8(a, b); }
  template <int kShift>
  static I8 high2(I8 h) {
    const uint8x16_t u = vreinterpretq_u8_s8(h);
    const uint8x16_t bits45 = vdupq_n_u8(0x30);
    if constexpr (kShift < 4) return vreinterpretq_s8_u8(vandq_u8(vshlq_n_u8(u, 4 - kShift), bits45));
    if constexpr (kShift == 4) return vreinterpretq_s8_u8(vandq_u8(u, bits45));
    if constexpr (kShift > 4) return vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(u, kShift - 4), bits45));
  }
  static I32 zero_i32() { return vdupq_n_s32(0); }
  static I32 mla_i32(I32 acc, I32 v, int32_t s) { return vmlaq_n_s32(acc, v, s); }
  static F fmadd_i32(F acc, I32 v, float s) { return vfmaq_n_f32(acc, vcvtq_f32_s32(v), s); }
  static Mins load_mins(const uint8_t (&mins)[8]) { return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mins))); }
  static I32 min_sum(Mins mins, const uint8_t* bsums) {
    // The 16 sums added pairwise, times the 8 mins.
    int16_t b[16];
    std::memcpy(b, bsums, sizeof(b));
    const int16x8_t pair_sums = vpaddq_s16(vld1q_s16(b), vld1q_s16(b + 8));
    return vmlal_high_s16(vmull_s16(vget_low_s16(mins), vget_low_s16(pair_sums)), mins, pair_sums);
  }
};

}  // namespace
}  // namespace jf
