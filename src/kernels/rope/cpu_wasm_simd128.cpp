// RoPE on Wasm SIMD128 (built with this ISA's flags, called only where the CPU has it).
#include "kernels/rope/kernels.h"

namespace jf {

void rope_apply_wasm_simd128(const RopeParams& params, const float* cos_sin, float* x, int n_heads,
                             int head_dim) {
  rope_apply_simd<simd::Wasm128F32>(params, cos_sin, x, n_heads, head_dim);
}

}  // namespace jf
