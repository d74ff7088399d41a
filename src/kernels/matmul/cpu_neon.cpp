// NEON variants for ARMv8.0 (NEON is part of the base ISA: no flags, no run-time check): integer
// dot products by vmull_s8 and pairwise adds (neon_tiles.h has the tiles).
#include "kernels/matmul/neon_tiles.h"

namespace jf {
namespace {

struct NeonIntDot {
  // acc + the 16 products a[i] * b[i], added pairwise into the 4 int32 lanes (|a[i] * b[i]| <=
  // 128 * 127, so the int16 sums of two products cannot overflow).
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
  }
};

}  // namespace

std::span<const MatmulFamily> neon_matmul_families() {
  constexpr CpuIsa kIsa = CpuIsa::neon;
  static const MatmulFamily kFamilies[] = {
      make_family<Q8_32Tiles<Neon128, NeonIntDot, Q4_0Weights>::At>(
          kIsa, {DType::Q4_0, ActLayout::blocks, 0, 6, 1}),
      make_family<Q8_32Tiles<Neon128, NeonIntDot, Q8_0Weights>::At>(
          kIsa, {DType::Q8_0, ActLayout::blocks, 0, 4, 1}),
      make_family<Q4_KTiles<Neon128, NeonIntDot>::At>(kIsa, {DType::Q4_K, ActLayout::blocks, 0, 8, 1}),
      make_family<Q6_KTiles<Neon128, NeonIntDot>::At>(kIsa, {DType::Q6_K, ActLayout::blocks, 0, 10, 1}),
      make_family<FloatTiles<Neon128, DType::F32>::At>(kIsa, {DType::F32, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Neon128, DType::F16>::At>(kIsa, {DType::F16, ActLayout::f32, 0, 2, 0}),
      make_family<FloatTiles<Neon128, DType::BF16>::At>(kIsa, {DType::BF16, ActLayout::f32, 0, 2, 0}),
  };
  return kFamilies;
}

}  // namespace jf
