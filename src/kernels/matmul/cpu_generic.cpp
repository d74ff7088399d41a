// The scalar variant: every output element is one vec_dot_ref call (ref.h) on activations encoded by
// quantize_row. It is the oracle's own arithmetic, runs on every CPU and type, and is the baseline the
// benchmarks compare the SIMD variants against.
#include "kernels/matmul/kernels.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/ref.h"
#include "tensor/quant.h"

namespace jf {
namespace {

// W[1, k1-k0] · X[1, k1-k0] for one weight row and one token (the only tile: vec_dot_ref has nothing
// to share between rows or tokens).
template <DType W>
void generic_tile(const Tile& a) {
  const DType x_type = vec_dot_type(W);
  const uint8_t* w = a.w + row_bytes(W, a.k0);
  const uint8_t* x = a.x->blocks + a.t0 * a.x->blocks_stride + row_bytes(x_type, a.k0);
  const float v = vec_dot_ref(W, a.k1 - a.k0, w, x);
  *a.y = a.accumulate ? *a.y + v : v;
}

void encode_blocks(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& encoding) {
  quantize_activation_row(encoding.act_type, x, out.blocks, n);
}

template <DType W>
MatmulFamily make_family() {
  MatmulFamily f;
  f.weight = W;
  f.isa = CpuIsa::scalar;
  f.layout = ActLayout::blocks;
  f.info.k_step = static_cast<int>(dtype_info(W).block_size);
  const DTypeInfo& xi = dtype_info(vec_dot_type(W));
  f.info.x_bytes_per_col = static_cast<double>(xi.block_bytes) / xi.block_size;
  f.info.tile_mask = 1;  // 1 x 1 only
  f.tiles[0][0] = generic_tile<W>;
  f.encode = encode_blocks;
  f.encoding.act_type = vec_dot_type(W);
  return f;
}

}  // namespace

std::span<const MatmulFamily> generic_matmul_families() {
  static const MatmulFamily kFamilies[] = {
      make_family<DType::F32>(),  make_family<DType::F16>(),  make_family<DType::BF16>(),
      make_family<DType::Q4_0>(), make_family<DType::Q4_1>(), make_family<DType::Q5_0>(),
      make_family<DType::Q5_1>(), make_family<DType::Q8_0>(), make_family<DType::Q4_K>(),
      make_family<DType::Q5_K>(), make_family<DType::Q6_K>(),
  };
  return kFamilies;
}

}  // namespace jf
