// base/fp16.h against the hardware (F16C) and against exhaustive identities: every fp16 and bf16 bit
// pattern, and millions of f32 values aimed at the hard cases (subnormal results, exact halfway
// points, overflow, NaN payloads).
#include "base/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/cpu_features.h"

#if defined(__x86_64__)
#include "fp16_f16c.h"
#endif

namespace jf {
namespace {

bool fp16_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool bf16_is_nan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0; }

TEST(Fp16Test, EveryHalfSurvivesARoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_f32(static_cast<uint16_t>(h));
    if (fp16_is_nan(static_cast<uint16_t>(h))) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(fp16_is_nan(f32_to_fp16(f))) << h;
      continue;
    }
    ASSERT_EQ(f32_to_fp16(f), h) << std::hex << h;
  }
}

TEST(Fp16Test, EveryBfloat16SurvivesARoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (bf16_is_nan(static_cast<uint16_t>(h))) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(bf16_is_nan(f32_to_bf16(f))) << h;
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), h) << std::hex << h;
  }
}

// f32 bit patterns aimed at the conversions' corner cases, plus uniformly random ones.
std::vector<uint32_t> interesting_f32_bits(size_t n_random) {
  std::vector<uint32_t> bits;
  // Every fp16 value and the f32 values around the midpoints between neighbours (exact ties and one
  // f32 ulp either side), for both signs: this covers subnormal results, rounding carries into the
  // exponent and the overflow threshold 65520.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const uint32_t lo = f32_bits(fp16_to_f32(static_cast<uint16_t>(h)));
    const uint32_t hi = h + 1 < 0x7c00 ? f32_bits(fp16_to_f32(static_cast<uint16_t>(h + 1))) : 0x47800000;  // 65536
    const uint32_t mid = f32_bits(static_cast<float>((static_cast<double>(f32_from_bits(lo)) + f32_from_bits(hi)) / 2));
    for (uint32_t b : {lo, mid - 1, mid, mid + 1}) {
      bits.push_back(b);
      bits.push_back(b | 0x80000000u);
    }
  }
  // f32 subnormals, infinities and NaNs (quiet and signalling, with payloads).
  for (uint32_t b : {0x00000001u, 0x00000400u, 0x007fffffu, 0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fa00000u,
                     0x7fbfffffu, 0x7fffffffu, 0x7f7fffffu, 0x477fe000u, 0x477fefffu, 0x477ff000u}) {
    bits.push_back(b);
    bits.push_back(b | 0x80000000u);
  }
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<uint32_t> any;
  std::uniform_int_distribution<uint32_t> exponent(95, 145);  // where fp16 results are neither 0 nor inf
  for (size_t i = 0; i < n_random; ++i) {
    bits.push_back(any(rng));
    bits.push_back((any(rng) & 0x807fffffu) | (exponent(rng) << 23));
  }
  return bits;
}

#if defined(__x86_64__)
TEST(Fp16Test, F32ToFp16MatchesF16c) {
  if (!cpu_features().f16c) GTEST_SKIP() << "this CPU has no F16C";
  for (uint32_t b : interesting_f32_bits(2'000'000)) {
    const float f = f32_from_bits(b);
    ASSERT_EQ(f32_to_fp16(f), test::f16c_f32_to_fp16(f)) << std::hex << "f32 bits 0x" << b;
  }
  for (uint32_t h = 0; h < 65536; ++h) {
    if (fp16_is_nan(static_cast<uint16_t>(h))) continue;
    ASSERT_EQ(f32_bits(fp16_to_f32(static_cast<uint16_t>(h))), f32_bits(test::f16c_fp16_to_f32(static_cast<uint16_t>(h))))
        << std::hex << h;
  }
}
#endif

// Reference bf16 rounding in double: the nearer of the two bf16 neighbours, ties to the even one;
// the neighbour above the largest finite bf16 counts as 2^128 (infinity after rounding), as in IEEE.
uint16_t bf16_reference(float f) {
  const uint32_t b = f32_bits(f);
  const uint32_t down = b & 0xffff0000u;
  const uint32_t up = down + 0x10000u;
  auto value = [](uint32_t bits) {
    if ((bits & 0x7fffffffu) == 0x7f800000u) return std::copysign(std::ldexp(1.0, 128), static_cast<double>(f32_from_bits(bits)));
    return static_cast<double>(f32_from_bits(bits));
  };
  const double x = f;
  const double err_down = std::fabs(x - value(down)), err_up = std::fabs(value(up) - x);
  if (err_down < err_up || (err_down == err_up && ((down >> 16) & 1) == 0)) return static_cast<uint16_t>(down >> 16);
  return static_cast<uint16_t>(up >> 16);
}

TEST(Fp16Test, F32ToBf16RoundsToNearestEven) {
  std::vector<uint32_t> bits = interesting_f32_bits(1'000'000);
  // Exact bf16 ties and their neighbours.
  for (size_t i = 0, n = bits.size(); i < n; i += 7) {
    const uint32_t tie = (bits[i] & 0xffff0000u) | 0x8000u;
    for (uint32_t b : {tie - 1, tie, tie + 1}) bits.push_back(b);
  }
  for (uint32_t b : bits) {
    const float f = f32_from_bits(b);
    if (std::isnan(f)) {
      ASSERT_TRUE(bf16_is_nan(f32_to_bf16(f))) << std::hex << b;
      continue;
    }
    if (std::isinf(f)) {
      ASSERT_EQ(f32_to_bf16(f), static_cast<uint16_t>(b >> 16)) << std::hex << b;
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), bf16_reference(f)) << std::hex << "f32 bits 0x" << b;
  }
}

}  // namespace
}  // namespace jf
