// Selection built for Wasm SIMD128: the portable code, vectorized by the compiler where it can.
#include "kernels/select/kernels.h"

namespace jf {

int64_t select_at_least_wasm_simd128(const float* x, int64_t n, float threshold, int32_t* out) {
  return select_at_least_portable(x, n, threshold, out);
}

void select_topk_wasm_simd128(const float* x, int64_t n, int64_t k, int32_t* out, TopkScratch& scratch) {
  select_topk_radix(x, n, k, out, scratch);
}

}  // namespace jf
