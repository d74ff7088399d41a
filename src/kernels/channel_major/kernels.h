// The compiled channel-major entries of each ISA (tiles.h instantiated by cpu_<isa>.cpp), one
// family per weight dtype; kernel_list.inc registers each family as a gather_matvec and a
// cm_matmul entry (JF_CHANNEL_MAJOR).
#pragma once

#include <span>

#include "base/cpu_isa.h"
#include "kernels/channel_major/channel_major.h"
#include "tensor/dtype.h"

namespace jf {

struct CmFamily {
  DType dtype;
  CpuIsa isa;
  CmGatherFn gather;
  CmMatmulFn matmul;
  CmRounding rounding = CmRounding::f32;  // of the gather entry
};

// Families per ISA: F32, F16, Q8_0, Q4_0, Q4_K.
inline constexpr size_t kCmFamilies = 5;

std::span<const CmFamily> generic_cm_families();
std::span<const CmFamily> avx2_cm_families();
std::span<const CmFamily> avx512_cm_families();

}  // namespace jf
