#include "gpu/gpu_layout.h"

#include <cstring>

#include "base/check.h"

namespace jf::gpu {
namespace {

// Padded block sizes: the GGUF block's bytes, rounded up to a word after its 2-byte scale.
uint64_t padded_block_bytes(DType dtype) {
  return dtype == DType::Q8_0 ? 36 : 20;
}

}  // namespace

uint64_t gpu_row_bytes(DType dtype, int64_t n_cols) {
  switch (dtype) {
    case DType::F32:
    case DType::F16:
      return row_bytes(dtype, n_cols);
    case DType::Q8_0:
    case DType::Q4_0:
      return static_cast<uint64_t>(n_cols / 32) * padded_block_bytes(dtype);
    default:
      JF_CHECK(false);
      return 0;
  }
}

void to_gpu_layout(DType dtype, const uint8_t* src, int64_t n_rows, int64_t n_cols, uint8_t* dst) {
  if (dtype == DType::F32 || dtype == DType::F16) {
    std::memcpy(dst, src, row_bytes(dtype, n_cols) * static_cast<size_t>(n_rows));
    return;
  }
  JF_CHECK(dtype == DType::Q8_0 || dtype == DType::Q4_0);
  const size_t in = dtype_info(dtype).block_bytes, out = padded_block_bytes(dtype);
  const int64_t n_blocks = n_rows * (n_cols / 32);
  for (int64_t b = 0; b < n_blocks; ++b, src += in, dst += out) {
    std::memcpy(dst, src, 2);  // the f16 scale
    dst[2] = dst[3] = 0;
    std::memcpy(dst + 4, src + 2, in - 2);
  }
}

}  // namespace jf::gpu
