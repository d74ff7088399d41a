// The F16C instruction's f32 -> fp16 conversion (round to nearest even), the hardware truth that
// base/fp16.h is tested against. Call only when cpu_features().f16c is true.
#pragma once

#include <cstdint>

namespace jf::test {

uint16_t f16c_f32_to_fp16(float f);
float f16c_fp16_to_f32(uint16_t h);

}  // namespace jf::test
