#include "model/blocks.h"

#include <cmath>
#include <cstdint>

#include "base/bit_cast.h"
#include "kernels/gelu/gelu.h"
#include "kernels/layernorm/layernorm.h"
#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/swiglu/swiglu.h"

namespace jf {
namespace {

void rms_norm_row(const float* x, const NormWeight& w, float* y, int64_t width, float eps) {
  rmsnorm(x, w.weight.f32(), y, width, eps);
}

void layer_norm_row(const float* x, const NormWeight& w, float* y, int64_t width, float eps) {
  layernorm(x, w.weight.f32(), w.bias.present() ? w.bias.f32() : nullptr, y, width, eps);
}

void swiglu_row(const float* gate, const float* up, float* out, int64_t n) {
  swiglu(gate, up, out, n);
}

void geglu_row(const float* gate, const float* up, float* out, int64_t n) {
  gelu(gate, up, out, n);
}

void gelu_row(const float*, const float* up, float* out, int64_t n) {
  gelu(up, nullptr, out, n);
}

// x > 0 ? x : 0 without a branch: a branch on the sign of an activation mispredicts about every
// other element (it was ~15% of a T5-small encoder pass), and GCC keeps one for std::max or the
// ternary. x > 0 exactly when x's bits are 0x00000001..0x7f800000 (positive, not zero, not NaN), so
// the bits are kept under that mask: the same values, NaN and -0 (both give +0) included.
void relu_row(const float*, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = bit_cast<uint32_t>(up[i]);
    const uint32_t keep = 0u - static_cast<uint32_t>(bits - 1u < 0x7f800000u);
    out[i] = bit_cast<float>(bits & keep);
  }
}

}  // namespace

NormRowFn norm_row_fn(NormKind kind) {
  switch (kind) {
    case NormKind::kRms:
      return rms_norm_row;
    case NormKind::kLayer:
      return layer_norm_row;
  }
  return nullptr;
}

ActivationRowFn activation_row_fn(FfnKind kind) {
  switch (kind) {
    case FfnKind::kSwiGlu:
      return swiglu_row;
    case FfnKind::kGeGlu:
      return geglu_row;
    case FfnKind::kGelu:
      return gelu_row;
    case FfnKind::kRelu:
      return relu_row;
  }
  return nullptr;
}

AttentionShape attention_shape(const ModelConfig& c, int64_t kv_stride) {
  AttentionShape shape;
  shape.n_head = c.n_head;
  shape.n_head_kv = c.n_head_kv;
  shape.head_dim = c.head_dim;
  shape.kv_stride = kv_stride;
  shape.scale = c.arch_info->unscaled_attention ? 1.0f : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  return shape;
}

void add_into(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

int heads_per_item(int group, int64_t n_groups, int n_threads) {
  for (int heads = group; heads > 1; --heads) {
    if (group % heads == 0 && n_groups * (group / heads) >= n_threads) return heads;
  }
  return 1;
}

RopeParams rope_params(const ModelConfig& c, const TensorView& rope_freqs) {
  RopeParams p;
  p.n_rot = c.n_rot;
  p.freq_base = c.rope_freq_base;
  p.freq_scale = c.rope_freq_scale;
  p.pairing =
      c.arch_info->positions == PositionKind::kRopeNeox ? RopePairing::kHalves : RopePairing::kAdjacent;
  p.freq_factors = rope_freqs.present() ? rope_freqs.f32() : nullptr;
  return p;
}

}  // namespace jf
