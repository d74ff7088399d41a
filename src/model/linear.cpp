#include "model/linear.h"

#include <array>

#include "base/check.h"

namespace jf {
namespace {

// rows[t * bias.n_cols + i] += bias[i] for t < n_rows; nothing when there is no bias.
void add_bias(float* rows, const TensorView& bias, int64_t n_rows) {
  if (!bias.present()) return;
  const float* b = bias.f32();
  for (int64_t t = 0; t < n_rows; ++t) {
    float* row = rows + t * bias.n_cols;
    for (int64_t i = 0; i < bias.n_cols; ++i) row[i] += b[i];
  }
}

}  // namespace

Status LinearRunner::forward(std::initializer_list<LinearOutput> outputs, const float* x, int64_t n_tokens,
                             const ActiveChannels* active) {
  JF_CHECK(outputs.size() >= 1 && outputs.size() <= kMaxSharedOutputs);
  JF_CHECK_MSG(active == nullptr || n_tokens == 1, "active channels are given for one token (decode) only");
  std::array<MatmulOutput, kMaxSharedOutputs> matmuls;
  size_t count = 0;
  for (const LinearOutput& o : outputs) {
    const TensorView& w = o.weight->weight;
    if (w.layout == WeightLayout::channel_major) {
      JF_RETURN_IF_ERROR(forward_channel_major(*o.weight, x, n_tokens, o.y, active));
      continue;
    }
    matmuls[count++] = {&w, &kernels_.select_kernel(w, n_tokens), o.y};
    bytes_read_ += static_cast<uint64_t>(w.n_rows) * w.row_stride_bytes();
  }
  if (count > 0) matmul_shared_input({matmuls.data(), count}, x, n_tokens, pool_, scratch_);
  for (const LinearOutput& o : outputs) add_bias(o.y, o.weight->bias, n_tokens);
  return Status();
}

Status LinearRunner::forward_channel_major(const LinearWeight& lw, const float* x, int64_t n_tokens, float* y,
                                           const ActiveChannels* active) {
  const TensorView& w = lw.weight;
  const CmKernel& kernel = kernels_.select_cm_kernel(w);
  const size_t channel = channel_bytes(w.dtype, w.n_rows);
  // A one-token product without an active set gathers over every channel (table in linear.h).
  while (static_cast<int64_t>(all_channels_.size()) < w.n_cols) all_channels_.push_back(static_cast<int32_t>(all_channels_.size()));
  const std::span<const int32_t> channels =
      active != nullptr ? active->channels : std::span<const int32_t>(all_channels_).first(w.n_cols);
  bytes_read_ += channels.size() * channel;
  if (lw.streamed != nullptr) {
    JF_ASSIGN_OR_RETURN(const std::span<const uint8_t* const> at, lw.streamed->fetch(channels));
    const CmChannels held{w.dtype, w.n_rows, at};
    if (n_tokens == 1) {
      cm_gather_matvec(held, x, channels, y, pool_, cm_scratch_, kernel);
    } else {
      cm_matmul(held, x, n_tokens, y, pool_, kernel);
    }
    return Status();
  }
  if (n_tokens == 1) {
    cm_gather_matvec(w, x, channels, y, pool_, cm_scratch_, kernel);
  } else {
    cm_matmul(w, x, n_tokens, y, pool_, cm_scratch_, kernel);
  }
  return Status();
}

}  // namespace jf
