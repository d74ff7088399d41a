#include "model/linear.h"

#include <array>
#include <vector>

#include "base/check.h"
#include "tensor/quant.h"

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

void LinearRunner::forward(std::initializer_list<LinearOutput> outputs, const float* x, int64_t n_tokens,
                           const ActiveChannels* active) {
  JF_CHECK(outputs.size() >= 1 && outputs.size() <= kMaxSharedOutputs);
  if (active != nullptr) {
    for (const LinearOutput& o : outputs) forward_active(*o.weight, x, n_tokens, o.y, *active);
    return;
  }
  std::array<MatmulOutput, kMaxSharedOutputs> matmuls;
  size_t count = 0;
  for (const LinearOutput& o : outputs) {
    const TensorView& w = o.weight->weight;
    matmuls[count++] = {&w, &kernels_.select_kernel(w, n_tokens), o.y};
  }
  matmul_shared_input({matmuls.data(), count}, x, n_tokens, pool_, scratch_);
  for (const LinearOutput& o : outputs) add_bias(o.y, o.weight->bias, n_tokens);
}

// y[t, r] = sum over active c of W[r, c] * x[t, c]: each row of W is dequantized (from whichever
// layout it is held in) and dotted with the active inputs in f32, in channel order.
void LinearRunner::forward_active(const LinearWeight& lw, const float* x, int64_t n_tokens, float* y,
                                  const ActiveChannels& active) {
  const TensorView& w = lw.weight;
  for (const int32_t c : active.channels) JF_CHECK(c >= 0 && c < w.n_cols);
  pool_.parallel_for(w.n_rows, pool_.chunk_count(w.n_rows), [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> unpacked;
    std::vector<float> row(static_cast<size_t>(w.n_cols));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(w.dtype, w.gguf_row(r, &unpacked), row.data(), w.n_cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * w.n_cols;
        float sum = 0;
        for (const int32_t c : active.channels) sum += row[c] * xt[c];
        y[t * w.n_rows + r] = sum;
      }
    }
  });
  add_bias(y, lw.bias, n_tokens);
}

}  // namespace jf
