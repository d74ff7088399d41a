// The linear seam: every linear of every architecture (q, k, v, o, gate, up, down, the output
// head) is one call of LinearRunner::forward, whatever layout its weight is held in, whether it is
// resident or streamed from flash, and whether its input is dense or a set of active channels.
// Kernel choice happens behind it, in the one KernelChooser the runner is given
// (runtime/kernel_select.h); sparsity and flash plug in here.
//
//   weight layout   active set (decode)        no active set
//   rows, x16       dense matmul (ignores it)  dense matmul (matmul_shared_input)
//   channel_major   gathered matvec            dense channel-major matmul; for one token the
//                   (kernels/channel_major)    gathered matvec over every channel (it streams
//                                              whole channels, the dense kernel strides across them)
//
// A streamed weight (channel_major, LinearWeight::streamed) is computed by the same kernels over the
// channels its ChannelSource brings into DRAM, in the same order: the sums are the resident
// weight's, bit for bit.
//
//   Y[n_tokens, W.n_rows] = X[n_tokens, W.n_cols] · Wᵀ (+ bias)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/channel_major/channel_major.h"
#include "kernels/matmul/matmul.h"
#include "tensor/tensor_view.h"

namespace jf {

// Where the channels of a streamed linear come from (flash/): fetch brings channels into DRAM and
// gives their addresses, valid until the source's next fetch or the layer's release.
class ChannelSource {
 public:
  virtual ~ChannelSource() = default;
  // at[i] = the bytes of channel channels[i] (ascending, distinct, < n_cols), for one product: valid
  // until the next fetch of the same linear in any layer (a flash store's sources of a linear share
  // their buffers). Errors: a failed read, naming the file and the tensor.
  virtual Result<std::span<const uint8_t* const>> fetch(std::span<const int32_t> channels) = 0;
};

// A linear's weight, in the dtype and layout it is held in, and its bias (f32 [n_rows]; absent,
// data null, when the architecture's layer has none). A streamed weight has no data: its shape,
// dtype and layout (channel_major) are in `weight`, its channels come from `streamed`.
struct LinearWeight {
  TensorView weight;
  TensorView bias;
  ChannelSource* streamed = nullptr;

  bool present() const { return weight.present() || streamed != nullptr; }
};

// Input channels that may be nonzero, for one token (decode): ascending, distinct, each < W.n_cols.
// The caller's x is already zero outside them, so every kernel gives y = W · x = W[:, channels] ·
// x[channels]; a kernel over channel-major weights reads only these channels.
struct ActiveChannels {
  std::span<const int32_t> channels;
};

// Chooses the kernel of a weight for a batch of n_tokens (runtime/kernel_select.h: the kdb's winner
// or the default): a matmul kernel for rows and packed layouts, the channel-major entries for
// channel_major. Called for every linear, so it must be cheap; the kernel must be made for w.dtype
// and w.layout and stay valid for the chooser's lifetime.
class KernelChooser {
 public:
  virtual ~KernelChooser() = default;
  virtual const MatmulKernel& select_kernel(const TensorView& w, int64_t n_tokens) = 0;
  virtual const CmKernel& select_cm_kernel(const TensorView& w) = 0;
};

// One output of a shared-input call: y = X · weightᵀ (+ bias), y: n_tokens * weight.n_rows f32.
struct LinearOutput {
  const LinearWeight* weight;
  float* y;
};

// Runs the linears of one forward pass. Not thread-safe: one caller at a time; the kernels use the
// pool. `pool` and `kernels` must outlive the runner.
class LinearRunner {
 public:
  LinearRunner(ThreadPool& pool, KernelChooser& kernels) : pool_(pool), kernels_(kernels) {}

  // Up to kMaxSharedOutputs linears of the same input x (n_tokens rows of W.n_cols f32), e.g. Q, K
  // and V: the row-major ones share one encoding of x (matmul_shared_input). `active` (only with
  // n_tokens == 1) lets the channel-major ones read only the active channels (table above).
  // Errors: a streamed weight's failed fetch.
  Status forward(std::initializer_list<LinearOutput> outputs, const float* x, int64_t n_tokens,
                 const ActiveChannels* active = nullptr);

  Status forward(const LinearWeight& w, const float* x, int64_t n_tokens, float* y,
                 const ActiveChannels* active = nullptr) {
    return forward({{&w, y}}, x, n_tokens, active);
  }

  // Weight bytes the linears have read since construction: a dense product reads the whole
  // weight, a gathered one its active channels (the benchmarks report it per token).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // y = x · wᵀ for a channel-major w, resident or streamed: gathered over `active`, else dense.
  Status forward_channel_major(const LinearWeight& w, const float* x, int64_t n_tokens, float* y,
                               const ActiveChannels* active);

  ThreadPool& pool_;
  KernelChooser& kernels_;
  MatmulScratch scratch_;
  CmScratch cm_scratch_;
  std::vector<int32_t> all_channels_;  // 0, 1, 2, ...: the active set of a dense one-token product
  uint64_t bytes_read_ = 0;
};

}  // namespace jf
