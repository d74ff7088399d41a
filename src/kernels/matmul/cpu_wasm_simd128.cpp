// Wasm SIMD128 variants (every engine that runs a -msimd128 build has it: no run-time check):
// integer dot products by widening to int16 and i32x4.dot_i16x8_s (wasm_tiles.h has the policy,
// block_tiles.h the tiles).
#include "kernels/matmul/wasm_tiles.h"

namespace jf {
namespace {

struct Wasm128IntDot {
  // acc + the 16 products a[i] * b[i]: SIMD128 has no 8-bit dot product, so both are widened to
  // int16 and i32x4.dot_i16x8_s adds the products pairwise into the 4 int32 lanes (|a[i] * b[i]| <=
  // 128 * 127, no overflow).
  static v128_t dot(v128_t acc, v128_t a, v128_t b) {
    const v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
    const v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
    return wasm_i32x4_add(acc, wasm_i32x4_add(lo, hi));
  }
};

}  // namespace

std::span<const MatmulFamily> wasm_simd128_matmul_families() {
  constexpr CpuIsa kIsa = CpuIsa::wasm_simd128;
  using V = Wasm128;
  static const MatmulFamily kFamilies[] = {
      make_family<Q8_32Tiles<V, Wasm128IntDot, Q4_0Weights>::At>(kIsa,
                                                                 {DType::Q4_0, ActLayout::blocks, 0, 6, 1}),
      make_family<Q8_32Tiles<V, Wasm128IntDot, Q8_0Weights>::At>(kIsa,
                                                                 {DType::Q8_0, ActLayout::blocks, 0, 4, 1}),
      make_family<Q4_KTiles<V, Wasm128IntDot>::At>(kIsa, {DType::Q4_K, ActLayout::blocks, 0, 8, 1}),
      make_family<Q6_KTiles<V, Wasm128IntDot>::At>(kIsa, {DType::Q6_K, ActLayout::blocks, 0, 10, 1}),
      make_family<FloatTiles<V, DType::F32>::At>(kIsa, {DType::F32, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<V, DType::F16>::At>(kIsa, {DType::F16, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<V, DType::BF16>::At>(kIsa, {DType::BF16, ActLayout::f32, 0, 2, 0}),
  };
  return kFamilies;
}

}  // namespace jf
