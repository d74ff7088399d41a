// Portable channel-major entries (every build): tiles.h over one float lane; the compiler may
// vectorize them for the baseline ISA.
#include "kernels/channel_major/tiles.h"

namespace jf {
namespace {

struct Scalar {
  using F = float;
  static constexpr int kLanes = 1;
  static constexpr int kTokens = 2;
  static F zero() { return 0.0f; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F set1(float f) { return f; }
  static F add(F a, F b) { return a + b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }
  static float half(uint16_t h) { return fp16_to_f32(h); }
  static void q4_0(const uint8_t* qs, F* out) {
    for (int i = 0; i < kQK / 2; ++i) {
      out[i] = static_cast<float>((qs[i] & 0x0F) - 8);
      out[i + kQK / 2] = static_cast<float>((qs[i] >> 4) - 8);
    }
  }
  static void q4_k(const uint8_t* qs, bool high, F* out) {
    for (int i = 0; i < kQK; ++i) out[i] = static_cast<float>(high ? qs[i] >> 4 : qs[i] & 0x0F);
  }
  static void q8_0(const int8_t* qs, F* out) {
    for (int i = 0; i < kQK; ++i) out[i] = static_cast<float>(qs[i]);
  }
  static void f16(const uint8_t* p, F* out) {
    for (int i = 0; i < kQK; ++i) out[i] = fp16_to_f32(load_u16(p + 2 * i));
  }
  static void f32(const float* p, F* out) { std::memcpy(out, p, kQK * sizeof(float)); }
};

}  // namespace

std::span<const CmFamily> generic_cm_families() {
  static const std::array<CmFamily, kCmFamilies> kFamilies = cm_families<Scalar>(CpuIsa::scalar);  // built on first use
  return kFamilies;
}

}  // namespace jf
