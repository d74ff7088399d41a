// WGSL compute shaders for the Llama family's forward pass, decode and prefill, written as text at
// run time from templates with knobs (nnJIT's WebGPU back end). The shapes are constants in the
// text, so every shader is specialised to one operator of one model; the knobs are the canonical
// name's suffix.
//
// All arithmetic is f32 (a WebGPU adapter may lack `shader-f16`); weights are read in their GPU
// layout (gpu_layout.h) and converted in registers. Each shader lists its bindings, all in group 0,
// in the order a plan step binds its buffers (plan.h). `params` is the state of one pass:
// array<u32> [n_tokens, position of the first, token 0, token 1, ...]; activations are rows of
// n_tokens tokens (decode: one). The batched shaders take n_tokens from params, so one text serves
// decode and prefill; the dispatch decides how many rows a step covers.
//
// Every shader has a CPU reference twin (kernels/*/ref.cpp, tensor/quant.h's dequantize_row for
// weights) that wgsl_cases checks it against on a WebGPU device (web/gpu/tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jitflow/status.h"
#include "kernels/rope/rope.h"
#include "tensor/dtype.h"

namespace jf::gpu {

struct WgslKernel {
  std::string name;    // canonical: "q4_0-f32-matvec-w64r2__wgsl", "f32-rmsnorm__wgsl"
  std::string source;  // the WGSL module, entry point "main"
};

// The weight types the shaders read (the GPU layouts of gpu_layout.h).
bool wgsl_supports(DType dtype);

// Matrix-vector product y[r] = sum_k W[r, k] x[k] (y += with accumulate: the residual stream),
// W [n_rows, n_cols] in its GPU layout, x and y f32. Knobs: `lanes` threads split a row's columns
// and sum their parts in workgroup memory (1: a thread per row, no barrier); each thread keeps `tile`
// rows (accumulators that share every load of x); `workgroup` threads per workgroup, so a workgroup
// covers workgroup / lanes * tile rows. Canonical suffix "l<lanes>t<tile>w<workgroup>".
//   bindings: w (read), x (read), y (read_write)
struct MatvecConfig {
  int lanes = 32;      // 1 .. workgroup, a power of two
  int tile = 2;        // 1, 2, 4, 8
  int workgroup = 64;  // 32, 64, 128, 256

  bool operator==(const MatvecConfig&) const = default;
};
bool is_valid(const MatvecConfig& config);
std::string config_name(const MatvecConfig& config);        // "l32t2w64"
int64_t matvec_rows_per_group(const MatvecConfig& config);  // workgroup / lanes * tile

// What pruning needs to know of the adapter (GPUAdapter.limits; WebGPU's defaults below).
struct AdapterLimits {
  int max_invocations = 256;          // maxComputeInvocationsPerWorkgroup
  int max_workgroup_storage = 16384;  // maxComputeWorkgroupStorageSize, bytes
  // The least workgroups that keep the adapter busy: how many it runs at once. WebGPU does not
  // report it; web/gpu/adapter_limits.js measures it (2 on SwiftShader over 2 cores); 8 unmeasured.
  int min_workgroups = 8;
};
// Every valid config: the space before pruning.
std::vector<MatvecConfig> matvec_full_space();
// The lite space of one workload: the configs whose lanes each sum at least 4 units of a row (else
// the reduction costs more than the sums), which give at least min_workgroups workgroups (or one
// per row), and which fit the adapter (threads, and the reduction's workgroup memory). When no
// config gives enough workgroups (a small matrix), the occupancy rule is dropped.
std::vector<MatvecConfig> matvec_space(DType dtype, int64_t n_rows, int64_t n_cols,
                                       const AdapterLimits& limits);
// Workgroups to dispatch: [x, y], x at most 65535 (the shader folds y back into a row index).
struct Groups {
  uint32_t x = 1, y = 1;
};
Groups matvec_groups(int64_t n_rows, const MatvecConfig& config);
// n_cols must be a multiple of 4 (of 32 for the quantised types).
WgslKernel wgsl_matvec(DType dtype, int64_t n_rows, int64_t n_cols, bool accumulate,
                       const MatvecConfig& config);

// The matrix-matrix product of prefill: Y[t, r] = sum_k W[r, k] X[t, k] (+= with accumulate) for
// t < params.n_tokens, X [tokens, n_cols] and Y [tokens, n_rows] f32. Each thread keeps a register
// tile of `rows` x `tokens` sums and reads every weight vector once for its tokens; a workgroup is
// wg_rows x wg_tokens threads. Canonical suffix "m<rows>t<tokens>w<wg_rows>x<wg_tokens>".
//   bindings: params, w (read), x (read), y (read_write)
struct MatmulConfig {
  int rows = 4;       // 1, 2, 4, 8
  int tokens = 4;     // 1, 2, 4, 8
  int wg_rows = 16;   // wg_rows * wg_tokens = 64
  int wg_tokens = 4;  // 1, 2, 4, 8

  bool operator==(const MatmulConfig&) const = default;
};
bool is_valid(const MatmulConfig& config);
std::string config_name(const MatmulConfig& config);  // "m4t4w16x4"
std::vector<MatmulConfig> matmul_full_space();
// The lite space of a prefill workload of up to max_tokens: tiles of 4 to 32 sums per thread (each
// load serves several sums; the accumulators and the tile's weight vectors stay in registers),
// workgroups that cover no more rows or tokens than there are, at least min_workgroups workgroups
// (or one per row tile; dropped when no config has that many).
std::vector<MatmulConfig> matmul_space(int64_t n_rows, int64_t max_tokens, const AdapterLimits& limits);
Groups matmul_groups(int64_t n_rows, int64_t max_tokens, const MatmulConfig& config);
WgslKernel wgsl_matmul(DType dtype, int64_t n_rows, int64_t n_cols, bool accumulate,
                       const MatmulConfig& config);

// out row t = W[params.token t] (n_cols) for t < n_tokens: the token embeddings. One thread per
// element, 64 per workgroup: dispatch [ceil(n_cols / 64), tokens].
//   bindings: params, w (read), out (read_write)
WgslKernel wgsl_get_rows(DType dtype, int64_t n_cols);

// Per row of n elements: y = x / sqrt(mean(x^2) + eps) * weight (rmsnorm_ref). One workgroup of
// 256 per row: dispatch [tokens]. With last_row, only the last token's row, into y's row 0 (the
// output head's input): dispatch [1].
//   bindings: params, x (read), weight (read), y (read_write)
WgslKernel wgsl_rmsnorm(int64_t n, float eps, bool last_row);

// RoPE of each token's heads (rope_apply_ref) at its position, angles from a table [n_ctx][n_rot /
// 2][cos, sin] (rope_angles at every position). With to_cache the rows go to their positions'
// rows of dst (the K cache, rows of n_heads * head_dim), else to dst's rows 0... One thread per
// element, 64 per workgroup: dispatch ceil(tokens * n_heads * head_dim / 64).
//   bindings: params, table (read), src (read), dst (read_write)
WgslKernel wgsl_rope(int n_heads, int head_dim, int n_rot, RopePairing pairing, bool to_cache);

// Row t of src (n floats) to dst row position + t (the V cache). Dispatch ceil(tokens * n / 64).
//   bindings: params, src (read), dst (read_write)
WgslKernel wgsl_store_rows(int64_t n);

// Causal attention of each token over cache rows 0..its position (attention_head_ref), one
// workgroup of 64 per query head and token: dispatch [n_head, tokens]; GQA as attention.h.
// n_ctx <= kMaxWgslContext (the scores live in workgroup memory).
//   bindings: params, q (read), k_cache (read), v_cache (read), out (read_write)
inline constexpr int kMaxWgslContext = 4096;
WgslKernel wgsl_attention(int n_head, int n_head_kv, int head_dim, int n_ctx);

// gate[i] = silu(gate[i]) * up[i] (swiglu_ref), in place, over n_tokens rows of n. Dispatch
// ceil(tokens * n / 64).
//   bindings: params, gate (read_write), up (read)
WgslKernel wgsl_swiglu(int64_t n);

// The k largest of n logits, best first (the lower index first among equals, so entry 0 is the
// greedy token): result = [index 0, bits of value 0, index 1, ...] (array<u32>). One workgroup of 64,
// whose lists of k live in workgroup memory: k <= kMaxTopK (16 KiB, WebGPU's default limit).
//   bindings: logits (read), result (read_write)
inline constexpr int kMaxTopK = 32;
WgslKernel wgsl_top_k(int64_t n, int k);

}  // namespace jf::gpu
