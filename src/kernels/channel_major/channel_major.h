// Kernels over channel-major weights (WeightLayout::channel_major: Wᵀ, one GGUF row of n_out
// elements per input channel; tensor/channel_major.h converts), for contextual activation sparsity
// (ActiveFlow): at decode only the input channels whose activations are active are computed, so
// only their weight channels are read.
//
//   gathered matvec (decode, one token):  y[n_out] = Σ_{j in active} x[j] · Wᵀ[j, :]
//   dense (prefill, n tokens):            Y[n, n_out] = X[n, n_in] · W   (every channel)
//
// Two registry ops (ops.inc): gather_matvec and cm_matmul, one entry per dtype (F32, F16, Q8_0,
// Q4_0, Q4_K) and ISA, e.g. q4_0cm-f32-gather_matvec__avx512. An entry computes a range of outputs
// (tiles of kChannelMajorTile = 32, the Q4_0/Q8_0 block, a Q4_K sub-block) over a range of channels; the drivers below cut
// the work for the thread pool. Each output is summed in f32, channel after channel in ascending
// order, with x[j] times the block scale as one factor: (x[j] · d) · q.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/cpu_isa.h"
#include "base/thread_pool.h"
#include "tensor/channel_major.h"
#include "tensor/tensor_view.h"

namespace jf {

// The inputs of a gathered matvec entry. The channels' bytes may lie anywhere: in a resident weight
// (TensorView::channel) or in the buffers a streamed one was read into (flash/).
struct CmGatherArgs {
  const uint8_t* const* channels = nullptr;  // channels[a]: the bytes of input channel active[a]
  size_t channel_bytes = 0;       // channel_bytes(dtype, n_out)
  const float* x = nullptr;       // [n_in]
  const int32_t* active = nullptr;  // ascending input channels
  int channels_per_step = 4;      // channels summed in registers per load and store of y (1, 2, 4, 8, 16)
  bool prefetch = true;           // prefetch the next step's channels (software)
};

// y[o] = Σ_{a in [a_begin, a_end)} x[active[a]] · Wᵀ[active[a], o] for o in [o_begin, o_end)
// (multiples of 32; y indexed by o). y is written, not accumulated: zero for an empty range.
using CmGatherFn = void (*)(const CmGatherArgs& g, int64_t a_begin, int64_t a_end, int64_t o_begin,
                            int64_t o_end, float* y);

// The inputs of a dense channel-major entry.
struct CmMatmulArgs {
  const uint8_t* const* channels = nullptr;  // channels[j]: the bytes of input channel j
  size_t channel_bytes = 0;
  int64_t n_in = 0;            // channels
  int64_t n_out = 0;
  const float* x = nullptr;    // X [n_tokens, n_in]
  int64_t n_tokens = 0;
  float* y = nullptr;          // Y [n_tokens, n_out]
};

// Y[t, o] = Σ_j X[t, j] · Wᵀ[j, o] for every token and o in [o_begin, o_end) (multiples of 32). Each
// block of a channel is dequantized once per tile of tokens.
using CmMatmulFn = void (*)(const CmMatmulArgs& m, int64_t o_begin, int64_t o_end);

// How the gathered matvec cuts its work: the knobs a tuner may search.
enum class CmSplit : uint8_t {
  outputs,   // threads take ranges of outputs; every thread reads its part of every active channel
  channels,  // threads take ranges of active channels, each channel read whole into a per-thread
             // partial y; the partials are then summed
};

struct CmGatherConfig {
  CmSplit split = CmSplit::channels;
  int channels_per_step = 16;   // 1, 2, 4, 8 or 16
  int64_t out_tile = 8192;    // outputs per pass over the channels (a multiple of 32): bounds the
                              // part of y that one pass reads and writes (kept in L1)
  bool prefetch = true;       // software prefetch of the next channels (CmGatherArgs)

  bool operator==(const CmGatherConfig&) const = default;
};

// "o4t1024p" (split outputs, 4 channels per step, tiles of 1024 outputs, prefetch), "c8t512", ...
std::string cm_config_name(const CmGatherConfig& config);
// Whether the entries run `config` (channels_per_step in 1, 2, 4, 8, 16; out_tile a positive multiple of 32).
bool cm_config_valid(const CmGatherConfig& config);

struct KernelArtifact;

// How a gather entry rounds (what its tests allow): every product and sum in f32, or, in addition,
// the factors x[j] · d quantized to int8 per step and block of outputs (int8_gather_avx512.h).
enum class CmRounding : uint8_t { f32, int8_factors };
CmRounding cm_gather_rounding(const KernelArtifact& gather);

// A resolved channel-major kernel: the two entries for one dtype on one ISA, and the gather config.
struct CmKernel {
  const KernelArtifact* gather = nullptr;  // Op::gather_matvec
  const KernelArtifact* matmul = nullptr;  // Op::cm_matmul
  CmGatherConfig config;

  bool valid() const { return gather != nullptr && matmul != nullptr; }
};

// The entries for `dtype` on the fastest ISA this CPU runs (JITFLOW_MAX_ISA included) with the
// default config (chosen by measurement, channel_major.cpp); invalid when there is none.
CmKernel select_cm_kernel(DType dtype);
// The same on `isa` (invalid when that ISA has no entry for dtype).
CmKernel resolve_cm_kernel(DType dtype, CpuIsa isa, const CmGatherConfig& config);

// Per-caller buffers of the drivers (the channels' addresses, partial outputs of the channel split);
// grow, never shrink.
struct CmScratch {
  std::vector<const uint8_t*> channels;
  std::vector<float> partial;
};

// The channels of a channel-major weight of n_out outputs, wherever their bytes are: at[i] holds
// the i-th channel the product reads (the i-th active one of a gather, channel i of a dense product).
struct CmChannels {
  DType dtype = DType::F32;
  int64_t n_out = 0;
  std::span<const uint8_t* const> at;
};

// y[n_out] = Σ_{j in active} x[j] · Wᵀ[j, :] for one token. w: channel_major, n_rows = n_out,
// n_cols = n_in; x: [n_in] (only the active entries are read); active: ascending, distinct, < n_in.
void cm_gather_matvec(const TensorView& w, const float* x, std::span<const int32_t> active, float* y,
                      ThreadPool& pool, CmScratch& scratch, const CmKernel& kernel);
// The same over channels held elsewhere: channels.at[a] holds channel active[a]. The sums are those
// of the resident weight holding the same bytes, bit for bit.
void cm_gather_matvec(const CmChannels& channels, const float* x, std::span<const int32_t> active, float* y,
                      ThreadPool& pool, CmScratch& scratch, const CmKernel& kernel);

// Y[n_tokens, n_out] = X[n_tokens, n_in] · W for channel_major w (every channel).
void cm_matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
               CmScratch& scratch, const CmKernel& kernel);
// The same over channels held elsewhere (channels.at: all n_in of them, in order).
void cm_matmul(const CmChannels& channels, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
               const CmKernel& kernel);

// The references the entries are tested against: each active channel dequantized (quant.h) and
// summed in double, in channel order.
void cm_gather_ref(const TensorView& w, const float* x, std::span<const int32_t> active, float* y);
void cm_matmul_ref(const TensorView& w, const float* x, int64_t n_tokens, float* y);

}  // namespace jf
