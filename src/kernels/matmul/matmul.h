// Matrix multiplication of a weight matrix with a batch of activation rows:
//   Y[n_tokens, W.n_rows] = X[n_tokens, W.n_cols] · Wᵀ      (X, Y f32; W any supported type)
// As in llama.cpp's CPU backend, X is first encoded in vec_dot_type(W.dtype) (Q8_0, Q8_K, F16, ...)
// and each output element is one dot product of a weight row with an encoded activation row, so the
// results agree with the llama.cpp goldens. Rows of W are cut into chunks of whole row tiles that the
// threads of the pool claim; every output element is computed by one thread in an order that
// depends only on the kernel and its config, so results depend neither on the thread count nor on
// which thread ran which chunk.
//
// A kernel is a compiled variant (one ISA, one weight type) plus a MatmulConfig. Every variant and
// config runs through the same entry point, so a tuner can enumerate the space (space.h), check
// each candidate against the reference and time it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/matmul/space.h"
#include "tensor/tensor_view.h"

namespace jf {

// Reusable buffers of one matmul caller (one per session); grows to the largest need and never
// shrinks. Not shared between concurrent matmuls.
struct MatmulScratch {
  AlignedBuffer encoded_x;
};

struct MatmulFamily;  // a compiled variant: one weight type on one ISA (internal, kernels.h)

// A resolved kernel: what to run and how. Cheap to copy.
struct MatmulKernel {
  const MatmulFamily* family = nullptr;
  MatmulConfig config;
  WeightLayout layout = WeightLayout::rows;  // of the weights it reads
  std::string name;                          // canonical, e.g. "q4_0-f32-matmul-r4t1k0p0__avx512"

  bool valid() const { return family != nullptr; }
};

// The kernel for weights of `dtype` in `layout` on `isa` with `config`, or an invalid kernel
// (valid() false) when that ISA has no variant for the type and layout, the CPU lacks the ISA, or the
// config is not structurally runnable (tile sizes not compiled, k_block not a multiple of the
// variant's step).
MatmulKernel resolve_kernel(DType dtype, WeightLayout layout, CpuIsa isa, const MatmulConfig& config);

// The ISA's compiled variant facts for `dtype` in `layout` (step of k_block, register model), or false.
bool variant_info(DType dtype, WeightLayout layout, CpuIsa isa, VariantInfo* info);

// The best ISA the CPU supports that has a variant for `dtype` in `layout` (scalar as the last
// resort for `rows`), with the default config for the shape (chosen by measurement, see defaults in
// matmul.cpp).
MatmulKernel select_default_kernel(DType dtype, WeightLayout layout, int64_t n_rows, int64_t n_cols,
                                   int64_t n_tokens);

// The layout the fastest kernel for `dtype` on this CPU reads: the loader packs weights into it.
WeightLayout preferred_layout(DType dtype);

// The type the loader keeps weight matrices of `dtype` in, for a model whose weights take
// `widened_weight_bytes` with every matrix widened that this function widens (0: the types it widens
// when size is no concern). In WebAssembly, which has no half-precision conversion instructions, F16
// and BF16 matrices are widened to F32 while that size is at most kMaxWidenedWeightBytes: on
// docs-28M's shapes the best emitted kernel over the widened matrix is 1.4-2.2x faster than the best
// emitted F16 one, and the compiled F32 tiles 4-5x faster than the compiled F16 ones, which run
// until a tuner has found an emitted kernel (emit_wasm_bench --f16, Node 20, one thread). Beyond it
// they stay as the file has them: a 1.5 GB F16 model then needs 1.5 GB of wasm32's 4 GiB, not 3.
// `dtype` otherwise.
DType resident_dtype(DType dtype, uint64_t widened_weight_bytes);

// Half of wasm32's 4 GiB: the other half is left to the KV cache, activations and scratch, and to
// the heap's growth around them (the weights are one allocation in one linear memory).
inline constexpr uint64_t kMaxWidenedWeightBytes = uint64_t{2} << 30;

// y[t * w.n_rows + r] = dot(W row r, X row t) for t < n_tokens, r < w.n_rows.
// x: n_tokens rows of w.n_cols f32, contiguous; y: n_tokens * w.n_rows f32. `kernel` must be valid
// and made for w.dtype and w.layout.
void matmul(const TensorView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulScratch& scratch, const MatmulKernel& kernel);

// One product of matmul_shared_input: y = X · wᵀ with `kernel` (valid, made for w).
struct MatmulOutput {
  const TensorView* w;
  const MatmulKernel* kernel;
  float* y;  // n_tokens * w->n_rows
};
inline constexpr size_t kMaxSharedOutputs = 4;

// Up to kMaxSharedOutputs products of the same activations (Q, K and V; gate and up), all W with
// x's n_cols columns: X is encoded once and the rows of all W go to the pool in one dispatch, as
// chunks of the concatenated row tiles. Each output element is computed as
// matmul() computes it. When the kernels read X in different encodings (different weight types),
// the products run one after the other.
void matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulScratch& scratch);

// Encodes one activation row as `act_type` (Q8_0, Q8_K, F16, ... — a vec_dot_type), byte-identical
// to quantize_row(act_type, ...), with SIMD where the CPU has it. dst: row_bytes(act_type, n) bytes.
void quantize_activation_row(DType act_type, const float* x, void* dst, int64_t n);

// A SIMD activation encoder (Op::quantize_activation): quantize_activation_row's bytes, or false when
// it has none for act_type.
using QuantizeActivationFn = bool (*)(DType act_type, const float* x, void* dst, int64_t n);

// Copies row `r` of `w` into dst as f32 (embedding lookup).
void get_row_f32(const TensorView& w, int64_t r, float* dst);

}  // namespace jf
