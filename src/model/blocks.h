// The row-wise pieces the forward pass's blocks are built from, chosen by the kinds of an
// architecture's row (model/arch.h): one function per kind, looked up once per Transformer, so the
// blocks never ask which architecture they run. A kind without a function here is refused when the
// model's config is read (check_blocks_support), not in the middle of a forward pass.
#pragma once

#include <cstdint>

#include "jitflow/status.h"
#include "kernels/rope/rope.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace jf {

// y = norm(x) * w.weight (+ w.bias), over one row of `width` floats; y may be x.
using NormRowFn = void (*)(const float* x, const NormWeight& w, float* y, int64_t width, float eps);
// The FFN's activation over one row of n: out = act(gate, up) (gated) or act(up) (gate null).
using ActivationRowFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

// Null when the blocks do not implement the kind yet.
NormRowFn norm_row_fn(NormKind kind);
ActivationRowFn activation_row_fn(FfnKind kind);

// kUnsupported naming the architecture and a kind of its row the blocks (or builders) lack.
Status check_blocks_support(const ArchInfo& arch);

// RoPE of a RoPE architecture: its pairing, the config's frequencies and the optional per-pair
// frequency factors (rope_freqs, may be absent).
RopeParams rope_params(const ModelConfig& c, const TensorView& rope_freqs);

}  // namespace jf
