// NEON variants with the dot product extension (ARMv8.2 DotProd: sdot); this file is compiled with
// -march=armv8.2-a+dotprod and the driver calls it only when cpu_features() reports it. Only the
// quantised types: the float tiles would be those of cpu_neon.cpp.
#include "kernels/matmul/neon_tiles.h"

namespace jf {
namespace {

struct SdotIntDot {
  // acc + the 16 products a[i] * b[i], in groups of 4 per int32 lane.
  static int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
};

}  // namespace

std::span<const MatmulFamily> neon_dotprod_matmul_families() {
  constexpr CpuIsa kIsa = CpuIsa::neon_dotprod;
  static const MatmulFamily kFamilies[] = {
      make_family<Q8_32Tiles<Neon128, SdotIntDot, Q4_0Weights>::At>(
          kIsa, {DType::Q4_0, ActLayout::blocks, 0, 6, 1}),
      make_family<Q8_32Tiles<Neon128, SdotIntDot, Q8_0Weights>::At>(
          kIsa, {DType::Q8_0, ActLayout::blocks, 0, 4, 1}),
      make_family<Q4_KTiles<Neon128, SdotIntDot>::At>(kIsa, {DType::Q4_K, ActLayout::blocks, 0, 8, 1}),
      make_family<Q6_KTiles<Neon128, SdotIntDot>::At>(kIsa, {DType::Q6_K, ActLayout::blocks, 0, 10, 1}),
  };
  return kFamilies;
}

}  // namespace jf
