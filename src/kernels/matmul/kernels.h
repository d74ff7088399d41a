// Internal interface between the matmul driver (matmul.cpp) and the compiled variants
// (cpu_generic.cpp, cpu_avx2.cpp, cpu_avx512.cpp, cpu_neon.cpp, cpu_neon_dotprod.cpp,
// cpu_wasm_simd128.cpp). Not for use outside src/kernels/matmul.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/matmul/space.h"
#include "tensor/dtype.h"
#include "tensor/weight_layout.h"

namespace jf {

// How a variant wants the activations laid out; the driver encodes them once per matmul.
enum class ActLayout : uint8_t {
  blocks,     // rows of vec_dot_type(weight) blocks, exactly as quantize_row writes them
  q8_32,      // Q8_0 codes as plain int8 rows, plus per block of 32 an f32 scale and an int32 bias
  q8_32_sum,  // Q8_1: Q8_0's codes and scales, plus per block the f32 value of s = fp16(d * sum)
  q8_x16,     // Q8_0 in the order of WeightLayout::x16 weights: per group of 16 blocks 8 vectors of
              // 64 bytes, bytes 4j..4j+3 of vector v = codes 4v..4v+3 of block j; then per block
              // an f32 scale and an int32 bias (16 of each per group, the last group padded with
              // zero codes, scales and biases)
  q8_256,     // Q8_K codes as plain int8 rows, plus per block of 256 an f32 scale and 16 int16 sums
  q8_k_x16,   // Q8_K in the order of WeightLayout::x16 Q4_K weights: the codes of the sub-blocks of
              // 32 placed as q8_x16 places blocks; per sub-block an f32 scale (its super-block's d)
              // and in `sums` d * (sum of its codes) (padded like q8_x16, with zero scales and sums)
  f32,        // f32 rows, rounded through vec_dot_type (f16 / bf16) when that is not f32
};

// Encoded activations of all tokens of one matmul. Strides are per token, in elements of the
// pointed-to type. Only the fields of the variant's layout are set.
struct ActRows {
  const uint8_t* blocks = nullptr;  // blocks
  size_t blocks_stride = 0;
  const int8_t* qs = nullptr;  // q8_32, q8_256: codes
  size_t qs_stride = 0;
  const float* d = nullptr;       // q8_*: the scale of each block
  const int32_t* bias = nullptr;  // q8_32, q8_x16: -bias_offset * (sum of the block's codes),
                                  // indexed like d
  const float* sums = nullptr;    // q8_32_sum: s of each block; q8_k_x16: d * sum of each
                                  // sub-block's codes; indexed like d
  size_t d_stride = 0;
  const int16_t* bsums = nullptr;  // q8_256: sums of 16 codes, 16 per block
  size_t bsums_stride = 0;
  const float* f = nullptr;  // f32
  size_t f_stride = 0;
};

// Where one token's encoding goes (the mutable twin of one row of ActRows).
struct ActRowOut {
  void* blocks = nullptr;
  int8_t* qs = nullptr;
  float* d = nullptr;
  int32_t* bias = nullptr;
  float* sums = nullptr;
  int16_t* bsums = nullptr;
  float* f = nullptr;
};

// One micro-tile call: R weight rows x T tokens (R, T fixed by the function), columns [k0, k1).
//   y[t * y_stride + r] (=, or += when accumulate) sum_{k0 <= k < k1} W[r][k] * X[t][k]
struct Tile {
  const uint8_t* w = nullptr;  // weight row 0 of the tile (whole rows: column 0)
  size_t w_stride = 0;         // bytes between weight rows
  int64_t k0 = 0, k1 = 0;      // multiples of the variant's k_step (k1 may be n_cols)
  const ActRows* x = nullptr;
  int64_t t0 = 0;        // token 0 of the tile
  float* y = nullptr;    // output of (token 0, row 0) of the tile
  int64_t y_stride = 0;  // floats between tokens in y
  bool accumulate = false;
  int prefetch_bytes = 0;  // prefetch this far below each weight block (0: none)
};
using TileFn = void (*)(const Tile& tile);

// What an encoder needs to know besides the layout.
struct ActEncoding {
  DType act_type = DType::F32;  // vec_dot_type of the weights
  int bias_offset = 0;  // q8_32, q8_x16: the variant multiplies unsigned codes (weight code + offset) by
                        // the activation codes, so the activations carry -offset * sum(codes) per block

  bool operator==(const ActEncoding&) const = default;
};

// Encodes one token (n columns of f32) into `out`.
using EncodeFn = void (*)(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& encoding);

inline constexpr int kTileLog2Max = 3;  // tiles of 1, 2, 4, 8 rows and tokens

// A compiled variant: one weight type in one layout on one ISA.
struct MatmulFamily {
  DType weight = DType::F32;
  WeightLayout weight_layout = WeightLayout::rows;
  CpuIsa isa = CpuIsa::scalar;
  ActLayout layout = ActLayout::blocks;
  ActEncoding encoding;
  VariantInfo info;
  TileFn tiles[kTileLog2Max + 1][kTileLog2Max + 1] = {};  // [log2 R][log2 T]; null: not compiled
  EncodeFn encode = nullptr;
  // Called on each thread before it runs tiles of this family; null for compiled families. Emitted
  // Wasm families (emit_wasm.h) install their module into the calling thread's function table.
  void (*prepare_thread)() = nullptr;
};

// The families of each ISA file, registered by kernels/kernel_list.inc.
std::span<const MatmulFamily> generic_matmul_families();
std::span<const MatmulFamily> avx2_matmul_families();
std::span<const MatmulFamily> avx512_matmul_families();
std::span<const MatmulFamily> neon_matmul_families();
std::span<const MatmulFamily> neon_dotprod_matmul_families();
std::span<const MatmulFamily> wasm_simd128_matmul_families();

// Fast activation encoders of the x86 files (QuantizeActivationFn, registered as
// Op::quantize_activation): same bytes as quantize_row; false when the file has none for act_type.
bool avx2_quantize_row(DType act_type, const float* x, void* dst, int64_t n);
bool avx512_quantize_row(DType act_type, const float* x, void* dst, int64_t n);

}  // namespace jf
