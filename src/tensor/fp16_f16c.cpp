// Built with -mf16c: only this file may contain F16C instructions, so that the test binary still runs
// (and skips) on a CPU without them.
#include "fp16_f16c.h"

#include <immintrin.h>

namespace jf::test {

uint16_t f16c_f32_to_fp16(float f) { return _cvtss_sh(f, 0); }
float f16c_fp16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

}  // namespace jf::test
