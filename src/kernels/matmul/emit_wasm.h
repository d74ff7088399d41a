// Matmul tiles emitted as WebAssembly SIMD128 bytes at run time (nnJIT): the same micro-tile contract
// as the compiled variants (kernels.h: one function per R x T tile shape, `void tile(const Tile&)`,
// reading the Tile and ActRows structs of the wasm32 engine), so the matmul driver runs an emitted
// family exactly as it runs a compiled one: threads, k blocks and remainder tiles included.
//
// Per weight type, against the activations the compiled SIMD128 family reads (F32, F16: f32 rows,
// ActLayout::f32; the block types: quantize_row's blocks, ActLayout::blocks):
//   F32   f32x4 multiply-adds, 4 columns a step, a scalar tail for the last n_cols % 4
//   F16   the same, 8 columns a step, each 4 halves converted to f32x4 with integer ops and one
//         multiply (exact for finite halves; inf and NaN are not converted, see load_f16x4), a scalar
//         tail (exact) for the last n_cols % 8
//   Q8_0  per block of 32: the exact int32 sum of int8 products (i16x8.extmul + extadd), times
//         d_w * d_x in f32, as vec_dot_ref
//   Q4_0  the same with the codes unpacked to signed int8 (code - 8); relaxed: the unsigned codes go
//         straight into i32x4.relaxed_dot_i8x16_i7x16_add_s, and -8 * (sum of the block's
//         activations) is added to its sum instead
// Knobs: the register tile (row_tile x token_tile accumulators, held in locals), how many steps of
// the column loop one iteration runs (unroll, with constant offsets in the load immediates) and
// whether the relaxed instructions are used (f32x4.relaxed_madd for every type; the relaxed dot for
// Q4_0), which LLVM 14 cannot produce: only direct emission has them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jitflow/status.h"
#include "kernels/matmul/matmul.h"
#include "tensor/dtype.h"

namespace jf {

struct WasmMatmulConfig {
  int row_tile = 1;    // 1, 2, 4, 8
  int token_tile = 1;  // 1, 2, 4, 8
  int unroll = 1;      // 1, 2, 4: column steps per loop iteration
  bool relaxed = false;

  bool operator==(const WasmMatmulConfig&) const = default;
};

bool wasm_emitter_supports(DType dtype);  // F32, F16, Q8_0, Q4_0

// Whether the config is one the emitter accepts (the values listed above).
bool is_valid(const WasmMatmulConfig& config);

// "q4_0-f32-matmul-r4t1u2__wasm_emit" ("__wasm_emit_relaxed" with relaxed instructions): the
// module's name (in its name section), and the kernel's name in dumps and kernel-database records.
std::string wasm_matmul_name(DType dtype, const WasmMatmulConfig& config);

// The config a name of wasm_matmul_name describes, or false (for any other text).
bool parse_wasm_matmul_name(std::string_view name, DType* dtype, WasmMatmulConfig* config);

// The emitter's search space for a workload of n_tokens (the tuner's candidates), pruned as the
// compiled tiles' is: no token tile beyond the tokens (a duplicate of a smaller one), and the
// register tile's vectors (R x T accumulators, 2 activation vectors per token, the weight vectors
// and constants) within n_vec_regs (0: unknown, no limit). The relaxed variants only where the
// engine computes the relaxed instructions they need (wasm_loader.h's probes).
struct WasmSpaceLimits {
  int n_vec_regs = 0;
  bool relaxed_madd = false;
  bool relaxed_dot = false;
};
std::vector<WasmMatmulConfig> wasm_matmul_space(DType dtype, int64_t n_tokens, const WasmSpaceLimits& limits);
// Every valid config of `dtype`, relaxed included: the space before pruning.
std::vector<WasmMatmulConfig> wasm_matmul_full_space(DType dtype);

// One module: a function per tile shape R' x T' (R' <= row_tile, T' <= token_tile, powers of two),
// exported as "tile_r<R'>t<T'>"; exports[log2 R' * (log2 token_tile + 1) + log2 T'].
struct WasmMatmulModule {
  std::string name;
  std::vector<uint8_t> bytes;
  std::vector<std::string> exports;
};

// The module for `dtype` (wasm_emitter_supports) and `config` (is_valid). Plain C++: it runs on any
// build (native builds dump the modules; only an Emscripten build can run them).
WasmMatmulModule emit_wasm_matmul(DType dtype, const WasmMatmulConfig& config);

#if defined(__EMSCRIPTEN__)
// Emits, compiles and installs the module, and returns a kernel that matmul() runs like a compiled
// one (config: the row and token tiles, whole-row k blocks). The family lives as long as the program.
// Errors: an unsupported type or config, or the engine's compile error.
Result<MatmulKernel> load_wasm_matmul(DType dtype, const WasmMatmulConfig& config);
#endif

}  // namespace jf
