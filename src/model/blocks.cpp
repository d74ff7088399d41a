#include "model/blocks.h"

#include "kernels/rmsnorm/rmsnorm.h"
#include "kernels/swiglu/swiglu.h"

namespace jf {
namespace {

void rms_norm_row(const float* x, const NormWeight& w, float* y, int64_t width, float eps) {
  rmsnorm(x, w.weight.f32(), y, width, eps);
}

void swiglu_row(const float* gate, const float* up, float* out, int64_t n) {
  swiglu(gate, up, out, n);
}

}  // namespace

NormRowFn norm_row_fn(NormKind kind) {
  switch (kind) {
    case NormKind::kRms:
      return rms_norm_row;
    case NormKind::kLayer:
      return nullptr;
  }
  return nullptr;
}

ActivationRowFn activation_row_fn(FfnKind kind) {
  switch (kind) {
    case FfnKind::kSwiGlu:
      return swiglu_row;
    case FfnKind::kGeGlu:
    case FfnKind::kGelu:
      return nullptr;
  }
  return nullptr;
}

Status check_blocks_support(const ArchInfo& arch) {
  const char* missing = nullptr;
  if (arch.forward != ForwardKind::kDecoder) missing = "an encoder";
  if (norm_row_fn(arch.norm) == nullptr) missing = "layer norm";
  if (activation_row_fn(arch.ffn) == nullptr) missing = "a GELU activation";
  if (!uses_rope(arch.positions)) missing = "positions other than RoPE";
  if (missing == nullptr) return Status();
  return error(StatusCode::kUnsupported, "architecture '%s' needs %s, which jitflow's forward pass lacks",
               arch.name, missing);
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
