// The row-wise pieces the forward passes' blocks are built from, chosen by the kinds of an
// architecture's row (model/arch.h): one function per kind, looked up once per Transformer or
// Encoder, so the blocks never ask which architecture they run. Every kind of the table has one.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "jitflow/status.h"
#include "kernels/attention/attention.h"
#include "kernels/rope/rope.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace jf {

// y = norm(x) * w.weight (+ w.bias), over one row of `width` floats; y may be x.
using NormRowFn = void (*)(const float* x, const NormWeight& w, float* y, int64_t width, float eps);
// The FFN's activation over one row of n: out = act(gate, up) (gated) or act(up) (gate null).
using ActivationRowFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

NormRowFn norm_row_fn(NormKind kind);
ActivationRowFn activation_row_fn(FfnKind kind);

// RoPE of a RoPE architecture: its pairing, the config's frequencies and the optional per-pair
// frequency factors (rope_freqs, may be absent).
RopeParams rope_params(const ModelConfig& c, const TensorView& rope_freqs);

// The attention of the config's heads over K/V rows kv_stride floats apart, scaled by 1/sqrt(head_dim)
// unless the row's attention is unscaled (T5); no bias.
AttentionShape attention_shape(const ModelConfig& c, int64_t kv_stride);

// dst[i] += src[i] for i < n (residual adds).
void add_into(float* dst, const float* src, int64_t n);

// Calls fn(t) for every row t in [0, n): spread over the pool for a batch, inline for one token (a
// pool job costs more than one row of these element-wise ops).
template <typename Fn>
void for_each_row(ThreadPool& pool, int64_t n, const Fn& fn) {
  if (n == 1) {
    fn(0);
    return;
  }
  pool.parallel_for(n, pool.chunk_count(n), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) fn(t);
  });
}

// Query heads per attention work item: a whole KV group when that leaves an item for every thread
// (the group's K and V rows are then read once per token), else the largest divisor of the group
// that does (decode has few tokens and few KV heads).
int heads_per_item(int group, int64_t n_groups, int n_threads);

}  // namespace jf
