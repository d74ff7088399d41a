#include "kernels/matmul/matmul.h"

#include "base/check.h"
#include "kernels/matmul/ref.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// Output rows handled together, so that the encoded activations of all tokens stay in cache
// while one block of weight rows streams past.
constexpr int64_t kRowBlock = 16;

}  // namespace

void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  const DType x_type = vec_dot_type(w.dtype);
  const int64_t k = w.n_cols;
  const size_t x_row_bytes = row_bytes(x_type, k);
  scratch.encoded_x.resize(x_row_bytes * static_cast<size_t>(n_tokens));
  uint8_t* encoded = scratch.encoded_x.data();

  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(n_tokens, ith, nth, &begin, &end);
    for (int64_t t = begin; t < end; ++t) quantize_row(x_type, x + t * k, encoded + t * x_row_bytes, k);
  });

  const int64_t n_rows = w.n_rows;
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(n_rows, ith, nth, &begin, &end);
    for (int64_t r0 = begin; r0 < end; r0 += kRowBlock) {
      const int64_t r1 = r0 + kRowBlock < end ? r0 + kRowBlock : end;
      for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* xt = encoded + t * x_row_bytes;
        float* yt = y + t * n_rows;
        for (int64_t r = r0; r < r1; ++r) yt[r] = vec_dot_ref(w.dtype, k, w.row(r), xt);
      }
    }
  });
}

void get_row_f32(const TensorView& w, int64_t r, float* dst) {
  JF_CHECK(r >= 0 && r < w.n_rows);
  dequantize_row(w.dtype, w.row(r), dst, w.n_cols);
}

}  // namespace jf
