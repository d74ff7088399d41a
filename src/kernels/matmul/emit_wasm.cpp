#include "kernels/matmul/emit_wasm.h"

#include <bit>
#include <cstddef>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>

#include "base/fp16.h"
#include "jit/wasm_builder.h"
#include "kernels/matmul/kernels.h"
#include "tensor/quant.h"

#if defined(__EMSCRIPTEN__)
#include "jit/wasm_loader.h"
#endif

namespace jf {
namespace {

using wasm::FunctionBody;
using wasm::MemOp;
using wasm::Op;
using wasm::SimdOp;
using wasm::ValType;

// Byte offsets of the fields the emitted code reads, in the wasm32 layout (pointers and size_t of 4
// bytes, int64_t aligned to 8). Fixed here rather than taken from offsetof, so that a native build
// dumps the same bytes as the browser runs; a wasm32 build checks them against the structs.
namespace tile32 {
constexpr uint32_t w = 0, w_stride = 4, k0 = 8, k1 = 16, x = 24, t0 = 32, y = 40, y_stride = 48,
                   accumulate = 56;
}
namespace act32 {
constexpr uint32_t blocks = 0, blocks_stride = 4, f = 40, f_stride = 44;
}
#if defined(__wasm32__)
static_assert(offsetof(Tile, w) == tile32::w && offsetof(Tile, w_stride) == tile32::w_stride &&
              offsetof(Tile, k0) == tile32::k0 && offsetof(Tile, k1) == tile32::k1 &&
              offsetof(Tile, x) == tile32::x && offsetof(Tile, t0) == tile32::t0 &&
              offsetof(Tile, y) == tile32::y && offsetof(Tile, y_stride) == tile32::y_stride &&
              offsetof(Tile, accumulate) == tile32::accumulate);
static_assert(offsetof(ActRows, blocks) == act32::blocks &&
              offsetof(ActRows, blocks_stride) == act32::blocks_stride && offsetof(ActRows, f) == act32::f &&
              offsetof(ActRows, f_stride) == act32::f_stride);
#endif

constexpr uint32_t kQ8Bytes = sizeof(BlockQ8_0);  // activation block: fp16 d, 32 int8
constexpr uint32_t kQ8Codes = offsetof(BlockQ8_0, qs);
constexpr uint32_t kQ4Codes = offsetof(BlockQ4_0, qs);
constexpr int kLog2QK = 5;
static_assert(1 << kLog2QK == kQK);

// One tile function: R weight rows x T tokens over columns [k0, k1) of the Tile it is given.
//   y[t * y_stride + r] (=, or += when accumulate) sum_k W[r][k] * X[t][k]
class TileEmitter {
 public:
  TileEmitter(DType dtype, int rows, int tokens, int unroll, bool relaxed)
      : dtype_(dtype), R_(rows), T_(tokens), U_(unroll), relaxed_(relaxed), b_(kParams) {}

  std::vector<uint8_t> emit() {
    read_tile();
    setup_pointers();
    // The column loops, n_ counting what is left: for F32 and F16 columns (steps of 4 and 8, then a
    // scalar tail), for the block types blocks. The unrolled loop first, then halves of it for what
    // remains.
    for (int steps = U_; steps >= 1; steps /= 2) {
      if (dtype_ == DType::F32) {
        counted_loop(4 * steps, [&] { f32_steps(steps); });
      } else if (dtype_ == DType::F16) {
        counted_loop(8 * steps, [&] { f16_steps(steps); });
      } else {
        counted_loop(steps, [&] { block_steps(steps); });
      }
    }
    if (!quantized()) counted_loop(1, [&] { scalar_step(); });
    store();
    return b_.finish();
  }

 private:
  static constexpr ValType kParams[] = {ValType::i32};  // const Tile*
  static constexpr uint32_t kTile = 0;

  bool quantized() const { return dtype_ != DType::F32 && dtype_ != DType::F16; }
  // Bytes of one weight block (of one column for F32 and F16).
  uint32_t weight_block_bytes() const { return static_cast<uint32_t>(dtype_info(dtype_).block_bytes); }
  uint32_t act_block_bytes() const { return quantized() ? kQ8Bytes : 4; }

  uint32_t i32_local() { return b_.local(ValType::i32); }
  uint32_t v128_local() { return b_.local(ValType::v128); }

  void load_field(MemOp op, uint32_t base, uint32_t offset) {
    b_.local_get(base);
    b_.mem(op, offset);
  }

  // The Tile's fields into locals (64-bit ones wrapped: wasm32 indices fit 32 bits).
  void read_tile() {
    w_ = i32_local(), w_stride_ = i32_local(), k0_ = i32_local(), n_ = i32_local(), xrow_ = i32_local();
    x_stride_ = i32_local(), y_ = i32_local(), y_stride_ = i32_local(), accumulate_ = i32_local();
    load_field(MemOp::i32_load, kTile, tile32::w);
    b_.local_set(w_);
    load_field(MemOp::i32_load, kTile, tile32::w_stride);
    b_.local_set(w_stride_);
    load_field(MemOp::i64_load, kTile, tile32::k0);
    b_.op(Op::i32_wrap_i64);
    b_.local_set(k0_);
    // n_: the column count k1 - k0, then the number of steps still to run.
    load_field(MemOp::i64_load, kTile, tile32::k1);
    b_.op(Op::i32_wrap_i64);
    b_.local_get(k0_);
    b_.op(Op::i32_sub);
    b_.local_set(n_);
    // F32 and F16 read the f32 rows (ActLayout::f32, as the compiled float tiles: kernels of both
    // kinds then share one encoding of X), block types quantize_row's blocks.
    load_field(MemOp::i32_load, kTile, tile32::x);
    b_.local_tee(xrow_);
    b_.mem(MemOp::i32_load, quantized() ? act32::blocks_stride : act32::f_stride);
    if (!quantized()) {  // f_stride counts floats
      b_.i32_const(2);
      b_.op(Op::i32_shl);
    }
    b_.local_set(x_stride_);
    // xrow_ = x->blocks (x->f) + t0 * stride: token 0's encoded row.
    b_.local_get(xrow_);
    b_.mem(MemOp::i32_load, quantized() ? act32::blocks : act32::f);
    load_field(MemOp::i64_load, kTile, tile32::t0);
    b_.op(Op::i32_wrap_i64);
    b_.local_get(x_stride_);
    b_.op(Op::i32_mul);
    b_.op(Op::i32_add);
    b_.local_set(xrow_);
    load_field(MemOp::i32_load, kTile, tile32::y);
    b_.local_set(y_);
    load_field(MemOp::i64_load, kTile, tile32::y_stride);
    b_.op(Op::i32_wrap_i64);
    b_.i32_const(4);
    b_.op(Op::i32_mul);
    b_.local_set(y_stride_);  // in bytes
    load_field(MemOp::i32_load8_u, kTile, tile32::accumulate);
    b_.local_set(accumulate_);
  }

  // wp_[r]: row r at column k0; xp_[t]: token t at column k0; the accumulators; the constants.
  void setup_pointers() {
    // Byte offset of column k0 in a weight row and in an activation row.
    const auto column_offset = [&](uint32_t block_bytes) {
      b_.local_get(k0_);
      if (quantized()) {
        b_.i32_const(kLog2QK);
        b_.op(Op::i32_shr_u);  // k0 / 32: k0 is a multiple of the block
      }
      b_.i32_const(static_cast<int32_t>(block_bytes));
      b_.op(Op::i32_mul);
    };
    for (int r = 0; r < R_; ++r) {
      wp_.push_back(i32_local());
      if (r == 0) {
        b_.local_get(w_);
        column_offset(weight_block_bytes());
      } else {
        b_.local_get(wp_[r - 1]);
        b_.local_get(w_stride_);
      }
      b_.op(Op::i32_add);
      b_.local_set(wp_[r]);
    }
    for (int t = 0; t < T_; ++t) {
      xp_.push_back(i32_local());
      if (t == 0) {
        b_.local_get(xrow_);
        column_offset(act_block_bytes());
      } else {
        b_.local_get(xp_[t - 1]);
        b_.local_get(x_stride_);
      }
      b_.op(Op::i32_add);
      b_.local_set(xp_[t]);
    }
    if (quantized()) {
      b_.local_get(n_);
      b_.i32_const(kLog2QK);
      b_.op(Op::i32_shr_u);  // k1 - k0 is a multiple of 32 for block types (n_cols is)
      b_.local_set(n_);
    }
    acc_.assign(R_ * T_, 0);
    for (uint32_t& a : acc_) a = v128_local();  // zero at every call
    if (!quantized()) {
      scalar_acc_.assign(R_ * T_, 0);
      for (uint32_t& a : scalar_acc_) a = b_.local(ValType::f32);
    }
    if (dtype_ == DType::F16) {
      f16_mask_ = v128_local();
      b_.i32_const(static_cast<int32_t>(0x8fffe000u));
      b_.simd(SimdOp::i32x4_splat);
      b_.local_set(f16_mask_);
      f16_scale_ = v128_local();
      b_.f32_const(0x1p112f);
      b_.simd(SimdOp::f32x4_splat);
      b_.local_set(f16_scale_);
    }
    if (dtype_ == DType::Q4_0) {
      low_nibbles_ = splat_i8(0x0f);
      eight_ = splat_i8(8);
      if (relaxed_) ones_ = splat_i8(1);
    }
    zero_ = v128_local();
    h_ = i32_local(), m_ = i32_local();
  }

  uint32_t splat_i8(int32_t v) {
    const uint32_t l = v128_local();
    b_.i32_const(v);
    b_.simd(SimdOp::i8x16_splat);
    b_.local_set(l);
    return l;
  }

  // block { loop { if n_ < units: exit; body; n_ -= units; continue } }
  template <typename Body>
  void counted_loop(int units, Body body) {
    b_.block();
    b_.loop();
    b_.local_get(n_);
    b_.i32_const(units);
    b_.op(Op::i32_lt_s);
    b_.br_if(1);
    body();
    b_.local_get(n_);
    b_.i32_const(units);
    b_.op(Op::i32_sub);
    b_.local_set(n_);
    b_.br(0);
    b_.end();
    b_.end();
  }

  void advance(const std::vector<uint32_t>& pointers, uint32_t bytes) {
    for (uint32_t p : pointers) {
      b_.local_get(p);
      b_.i32_const(static_cast<int32_t>(bytes));
      b_.op(Op::i32_add);
      b_.local_set(p);
    }
  }

  // acc = acc + a * b (relaxed: relaxed_madd), with a and b on the stack.
  void multiply_add_into(uint32_t acc) {
    if (relaxed_) {
      b_.local_get(acc);
      b_.simd(SimdOp::f32x4_relaxed_madd);
    } else {
      b_.simd(SimdOp::f32x4_mul);
      b_.local_get(acc);
      b_.simd(SimdOp::f32x4_add);
    }
    b_.local_set(acc);
  }

  uint32_t& acc(int r, int t) { return acc_[r * T_ + t]; }

  // F32: `steps` vectors of 4 columns per row and token, at constant offsets 16 s.
  void f32_steps(int steps) {
    std::vector<uint32_t> x(T_);
    for (uint32_t& l : x) l = v128_local();
    const uint32_t w = v128_local();
    for (int s = 0; s < steps; ++s) {
      for (int t = 0; t < T_; ++t) {
        b_.local_get(xp_[t]);
        b_.simd_mem(SimdOp::v128_load, 16 * s);
        b_.local_set(x[t]);
      }
      for (int r = 0; r < R_; ++r) {
        b_.local_get(wp_[r]);
        b_.simd_mem(SimdOp::v128_load, 16 * s);
        b_.local_set(w);
        for (int t = 0; t < T_; ++t) {
          b_.local_get(w);
          b_.local_get(x[t]);
          multiply_add_into(acc(r, t));
        }
      }
    }
    advance(wp_, 16 * steps);
    advance(xp_, 16 * steps);
  }

  // F16: `steps` runs of 8 columns per row and token, at constant offsets (16 s bytes of weights,
  // 32 s of activations); per row, columns 0-3 and 4-7 each converted (load_f16x4: the weights
  // times 2^-112) and multiplied into the tokens' accumulators with the activations times 2^112.
  // Both scalings are exact (the activations are fp16 values: |x| <= 65504, none subnormal in
  // f32), so products and multiply-adds round as they would on the unscaled values, as in the
  // compiled tiles; scaling the activations costs a multiply per token instead of one per row.
  void f16_steps(int steps) {
    std::vector<uint32_t> x(2 * T_);  // token t: columns 0-3 in x[2 t], 4-7 in x[2 t + 1]
    for (uint32_t& l : x) l = v128_local();
    const uint32_t w = v128_local();
    for (int s = 0; s < steps; ++s) {
      for (int i = 0; i < 2 * T_; ++i) {
        b_.local_get(xp_[i / 2]);
        b_.simd_mem(SimdOp::v128_load, 32 * s + 16 * (i % 2));
        b_.local_get(f16_scale_);
        b_.simd(SimdOp::f32x4_mul);
        b_.local_set(x[i]);
      }
      for (int r = 0; r < R_; ++r) {
        for (int half = 0; half < 2; ++half) {
          load_f16x4(wp_[r], 16 * s + 8 * half);
          b_.local_set(w);
          for (int t = 0; t < T_; ++t) {
            b_.local_get(w);
            b_.local_get(x[2 * t + half]);
            multiply_add_into(acc(r, t));
          }
        }
      }
    }
    advance(wp_, 16 * steps);
    advance(xp_, 32 * steps);
  }

  // The 4 fp16 at `pointer` + offset times 2^-112 (the exponent bias difference) as an f32x4 on the
  // stack, exactly for finite halves (normal, subnormal, signed zero): sign-extended to 32 bits and
  // shifted left by 13, a lane holds the sign at bit 31 (and copies of it at bits 28-30, masked
  // off) and the magnitude at f32's places, subnormal halves as f32 subnormals. load_fp16's
  // exponent-31 fixup is left out, for values weights do not hold: its four more instructions per 4
  // halves made docs-28M's matrix-vector products 1.8-2.5x slower under Node 20. An inf or NaN half
  // reads as the finite +-2^16 * (1 + mantissa / 1024) after the scaling, not as fp16_to_f32's inf
  // or NaN.
  void load_f16x4(uint32_t pointer, uint32_t offset) {
    b_.local_get(pointer);
    b_.simd_mem(SimdOp::v128_load16x4_s, offset);
    b_.i32_const(13);
    b_.simd(SimdOp::i32x4_shl);
    b_.local_get(f16_mask_);
    b_.simd(SimdOp::v128_and);
  }

  // F32 and F16 tail: one column, in f32 scalars.
  void scalar_step() {
    std::vector<uint32_t> x(T_);
    for (uint32_t& l : x) l = b_.local(ValType::f32);
    const uint32_t w = b_.local(ValType::f32);
    for (int t = 0; t < T_; ++t) {
      b_.local_get(xp_[t]);
      b_.mem(MemOp::f32_load, 0);
      b_.local_set(x[t]);
    }
    for (int r = 0; r < R_; ++r) {
      if (dtype_ == DType::F16) {
        load_fp16(wp_[r], 0);
      } else {
        b_.local_get(wp_[r]);
        b_.mem(MemOp::f32_load, 0);
      }
      b_.local_set(w);
      for (int t = 0; t < T_; ++t) {
        const uint32_t a = scalar_acc_[r * T_ + t];
        b_.local_get(w);
        b_.local_get(x[t]);
        b_.op(Op::f32_mul);
        b_.local_get(a);
        b_.op(Op::f32_add);
        b_.local_set(a);
      }
    }
    advance(wp_, weight_block_bytes());
    advance(xp_, 4);
  }

  // The fp16 at `pointer` + offset as an f32 on the stack, exactly (normal, subnormal, inf, NaN):
  // the magnitude bits moved to f32's places and scaled by 2^112 (the exponent bias difference, which
  // also normalises subnormals); exponent 31 becomes 255; then the sign.
  void load_fp16(uint32_t pointer, uint32_t offset) {
    b_.local_get(pointer);
    b_.mem(MemOp::i32_load16_u, offset);
    b_.local_tee(h_);
    b_.i32_const(0x7fff);
    b_.op(Op::i32_and);
    b_.i32_const(13);
    b_.op(Op::i32_shl);
    b_.local_tee(m_);
    b_.op(Op::f32_reinterpret_i32);
    b_.f32_const(0x1p112f);
    b_.op(Op::f32_mul);
    b_.op(Op::i32_reinterpret_f32);
    b_.local_get(m_);
    b_.i32_const(0x70000000);
    b_.op(Op::i32_or);
    b_.local_get(h_);
    b_.i32_const(0x7c00);
    b_.op(Op::i32_and);
    b_.i32_const(0x7c00);
    b_.op(Op::i32_ne);
    b_.op(Op::select);  // finite ? scaled : inf/NaN
    b_.local_get(h_);
    b_.i32_const(0x8000);
    b_.op(Op::i32_and);
    b_.i32_const(16);
    b_.op(Op::i32_shl);
    b_.op(Op::i32_or);
    b_.op(Op::f32_reinterpret_i32);
  }

  // i32x4 sum of products of two signed int8 vectors on the stack (a, b): i16 products of pairs of
  // lanes added into int32 lanes. |a|, |b| <= 128 and Q8_0 activations <= 127, so the i16 sum of one
  // low and one high product (at most 2 * 128 * 127) cannot overflow.
  void dot_i8(uint32_t a, uint32_t b) {
    b_.local_get(a);
    b_.local_get(b);
    b_.simd(SimdOp::i16x8_extmul_low_i8x16_s);
    b_.local_get(a);
    b_.local_get(b);
    b_.simd(SimdOp::i16x8_extmul_high_i8x16_s);
    b_.simd(SimdOp::i16x8_add);
    b_.simd(SimdOp::i32x4_extadd_pairwise_i16x8_s);
  }

  // Block types: `steps` blocks of 32 columns per row and token, at constant offsets.
  void block_steps(int steps) {
    std::vector<uint32_t> dx(T_), x_lo(T_), x_hi(T_), bias(T_);
    for (int t = 0; t < T_; ++t) {
      dx[t] = b_.local(ValType::f32), x_lo[t] = v128_local(), x_hi[t] = v128_local();
      if (dtype_ == DType::Q4_0 && relaxed_) bias[t] = v128_local();
    }
    const uint32_t dw = b_.local(ValType::f32), w_lo = v128_local(), w_hi = v128_local();
    const uint32_t wb = weight_block_bytes();
    for (int s = 0; s < steps; ++s) {
      for (int t = 0; t < T_; ++t) {
        const uint32_t off = s * kQ8Bytes;
        load_fp16(xp_[t], off);
        b_.local_set(dx[t]);
        b_.local_get(xp_[t]);
        b_.simd_mem(SimdOp::v128_load, off + kQ8Codes);
        b_.local_set(x_lo[t]);
        b_.local_get(xp_[t]);
        b_.simd_mem(SimdOp::v128_load, off + kQ8Codes + 16);
        b_.local_set(x_hi[t]);
        if (dtype_ == DType::Q4_0 && relaxed_) block_bias(x_lo[t], x_hi[t], bias[t]);
      }
      for (int r = 0; r < R_; ++r) {
        load_weights(wp_[r], s * wb, dw, w_lo, w_hi);
        for (int t = 0; t < T_; ++t) {
          if (dtype_ == DType::Q4_0 && relaxed_) {
            // x_lo . codes_lo + (x_hi . codes_hi + bias): activations signed, codes in [0, 15].
            b_.local_get(x_lo[t]);
            b_.local_get(w_lo);
            b_.local_get(x_hi[t]);
            b_.local_get(w_hi);
            b_.local_get(bias[t]);
            b_.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
            b_.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
          } else {
            dot_i8(w_lo, x_lo[t]);
            dot_i8(w_hi, x_hi[t]);
            b_.simd(SimdOp::i32x4_add);
          }
          b_.simd(SimdOp::f32x4_convert_i32x4_s);
          b_.local_get(dw);
          b_.local_get(dx[t]);
          b_.op(Op::f32_mul);
          b_.simd(SimdOp::f32x4_splat);
          multiply_add_into(acc(r, t));
        }
      }
    }
    advance(wp_, steps * wb);
    advance(xp_, steps * kQ8Bytes);
  }

  // Q4_0 relaxed: bias = -8 * (sum of the block's 32 activation codes), spread over int32 lanes.
  void block_bias(uint32_t x_lo, uint32_t x_hi, uint32_t bias) {
    b_.local_get(zero_);
    b_.local_get(x_lo);
    b_.local_get(ones_);
    b_.local_get(x_hi);
    b_.local_get(ones_);
    b_.local_get(zero_);
    b_.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
    b_.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
    b_.i32_const(3);
    b_.simd(SimdOp::i32x4_shl);
    b_.simd(SimdOp::i32x4_sub);
    b_.local_set(bias);
  }

  // One weight block at pointer + offset: dw = its scale; lo, hi = codes of columns 0-15, 16-31
  // (Q4_0: signed code - 8, or the raw codes 0..15 for the relaxed dot).
  void load_weights(uint32_t pointer, uint32_t offset, uint32_t dw, uint32_t lo, uint32_t hi) {
    load_fp16(pointer, offset);
    b_.local_set(dw);
    if (dtype_ == DType::Q8_0) {
      b_.local_get(pointer);
      b_.simd_mem(SimdOp::v128_load, offset + offsetof(BlockQ8_0, qs));
      b_.local_set(lo);
      b_.local_get(pointer);
      b_.simd_mem(SimdOp::v128_load, offset + offsetof(BlockQ8_0, qs) + 16);
      b_.local_set(hi);
      return;
    }
    // Byte j holds column j in its low nibble and column j + 16 in its high one.
    b_.local_get(pointer);
    b_.simd_mem(SimdOp::v128_load, offset + kQ4Codes);
    b_.local_tee(hi);
    b_.local_get(low_nibbles_);
    b_.simd(SimdOp::v128_and);
    if (!relaxed_) {
      b_.local_get(eight_);
      b_.simd(SimdOp::i8x16_sub);
    }
    b_.local_set(lo);
    b_.local_get(hi);
    b_.i32_const(4);
    b_.simd(SimdOp::i8x16_shr_u);
    if (!relaxed_) {
      b_.local_get(eight_);
      b_.simd(SimdOp::i8x16_sub);
    }
    b_.local_set(hi);
  }

  // y[t][r] = (accumulate ? y[t][r] : 0) + the horizontal sum of acc(r, t) (+ the scalar tail).
  void store() {
    const uint32_t y_row = i32_local();
    b_.local_get(y_);
    b_.local_set(y_row);
    for (int t = 0; t < T_; ++t) {
      if (t > 0) advance_by_local(y_row, y_stride_);
      for (int r = 0; r < R_; ++r) {
        b_.local_get(y_row);  // the store's address
        const uint32_t a = acc(r, t);
        b_.local_get(a);
        b_.lane(SimdOp::f32x4_extract_lane, 0);
        b_.local_get(a);
        b_.lane(SimdOp::f32x4_extract_lane, 1);
        b_.op(Op::f32_add);
        b_.local_get(a);
        b_.lane(SimdOp::f32x4_extract_lane, 2);
        b_.local_get(a);
        b_.lane(SimdOp::f32x4_extract_lane, 3);
        b_.op(Op::f32_add);
        b_.op(Op::f32_add);
        if (!quantized()) {
          b_.local_get(scalar_acc_[r * T_ + t]);
          b_.op(Op::f32_add);
        }
        b_.local_get(y_row);
        b_.mem(MemOp::f32_load, 4 * r);
        b_.f32_const(0.0f);
        b_.local_get(accumulate_);
        b_.op(Op::select);
        b_.op(Op::f32_add);
        b_.mem(MemOp::f32_store, 4 * r);
      }
    }
  }

  void advance_by_local(uint32_t pointer, uint32_t bytes) {
    b_.local_get(pointer);
    b_.local_get(bytes);
    b_.op(Op::i32_add);
    b_.local_set(pointer);
  }

  const DType dtype_;
  const int R_, T_, U_;
  const bool relaxed_;
  FunctionBody b_;
  uint32_t w_ = 0, w_stride_ = 0, k0_ = 0, n_ = 0, xrow_ = 0, x_stride_ = 0, y_ = 0, y_stride_ = 0,
           accumulate_ = 0;
  uint32_t low_nibbles_ = 0, eight_ = 0, ones_ = 0, zero_ = 0, h_ = 0, m_ = 0, f16_mask_ = 0, f16_scale_ = 0;
  std::vector<uint32_t> wp_, xp_, acc_, scalar_acc_;
};

bool is_tile_size(int v) {
  return v == 1 || v == 2 || v == 4 || v == 8;
}

}  // namespace

bool wasm_emitter_supports(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::Q8_0 || dtype == DType::Q4_0;
}

bool is_valid(const WasmMatmulConfig& c) {
  return is_tile_size(c.row_tile) && is_tile_size(c.token_tile) &&
         (c.unroll == 1 || c.unroll == 2 || c.unroll == 4);
}

std::string wasm_matmul_name(DType dtype, const WasmMatmulConfig& c) {
  return std::string(dtype_name(dtype)) + "-f32-matmul-r" + std::to_string(c.row_tile) + "t" +
         std::to_string(c.token_tile) + "u" + std::to_string(c.unroll) +
         (c.relaxed ? "__wasm_emit_relaxed" : "__wasm_emit");
}

bool parse_wasm_matmul_name(std::string_view name, DType* dtype, WasmMatmulConfig* config) {
  const size_t dash = name.find('-');
  if (dash == std::string_view::npos) return false;
  const std::optional<DType> type = dtype_from_name(name.substr(0, dash));
  if (!type || !wasm_emitter_supports(*type)) return false;
  for (const WasmMatmulConfig& c : wasm_matmul_full_space(*type)) {
    if (wasm_matmul_name(*type, c) == name) {
      *dtype = *type;
      *config = c;
      return true;
    }
  }
  return false;
}

std::vector<WasmMatmulConfig> wasm_matmul_full_space(DType dtype) {
  std::vector<WasmMatmulConfig> out;
  if (!wasm_emitter_supports(dtype)) return out;
  for (bool relaxed : {false, true}) {
    for (int r : {1, 2, 4, 8}) {
      for (int t : {1, 2, 4, 8}) {
        for (int u : {1, 2, 4}) out.push_back({r, t, u, relaxed});
      }
    }
  }
  return out;
}

std::vector<WasmMatmulConfig> wasm_matmul_space(DType dtype, int64_t n_tokens,
                                                const WasmSpaceLimits& limits) {
  std::vector<WasmMatmulConfig> out;
  for (const WasmMatmulConfig& c : wasm_matmul_full_space(dtype)) {
    if (c.relaxed && (!limits.relaxed_madd || (dtype == DType::Q4_0 && !limits.relaxed_dot))) continue;
    if (c.token_tile > 1 && c.token_tile / 2 >= n_tokens) continue;  // a smaller tile covers the tokens
    // Vectors live at once: accumulators; per token the activation vectors (and the relaxed Q4_0
    // bias); fixed, the weight vectors and constants (F16: sign mask, scale; Q4_0: nibble mask, 8 or
    // 1, 0).
    int per_token = 2, fixed = 2;  // Q8_0
    if (dtype == DType::F32) per_token = 1, fixed = 1;
    if (dtype == DType::F16) fixed = 1 + 2;
    if (dtype == DType::Q4_0) per_token = c.relaxed ? 3 : 2, fixed = 2 + 3;
    const int vectors = c.row_tile * c.token_tile + per_token * c.token_tile + fixed;
    if (limits.n_vec_regs > 0 && vectors > limits.n_vec_regs) continue;
    out.push_back(c);
  }
  return out;
}

WasmMatmulModule emit_wasm_matmul(DType dtype, const WasmMatmulConfig& config) {
  WasmMatmulModule m;
  m.name = wasm_matmul_name(dtype, config);
  std::vector<wasm::Function> functions;
  for (int rows = 1; rows <= config.row_tile; rows *= 2) {
    for (int tokens = 1; tokens <= config.token_tile; tokens *= 2) {
      const std::string shape = "tile_r" + std::to_string(rows) + "t" + std::to_string(tokens);
      TileEmitter emitter(dtype, rows, tokens, config.unroll, config.relaxed);
      functions.push_back({{ValType::i32}, {}, emitter.emit(), shape, m.name + "." + shape});
      m.exports.push_back(shape);
    }
  }
  m.bytes = wasm::write_module(m.name, wasm::MemoryImport{}, functions);
  return m;
}

#if defined(__EMSCRIPTEN__)
namespace {

int log2_of(int v) {
  return std::countr_zero(static_cast<unsigned>(v));
}

void encode_blocks(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& encoding) {
  quantize_activation_row(encoding.act_type, x, out.blocks, n);
}

// f32 rows, rounded through fp16 for F16 weights as quantize_row rounds them: the compiled float
// families' encoding (block_tiles.h), so that a mix of both kinds shares one.
void encode_f32(const float* x, int64_t n, const ActRowOut& out, const ActEncoding& encoding) {
  if (encoding.act_type == DType::F32) return static_cast<void>(std::memcpy(out.f, x, n * sizeof(float)));
  for (int64_t i = 0; i < n; ++i) out.f[i] = fp16_to_f32(f32_to_fp16(x[i]));
}

// The emitted families, alive for the whole program (kernels point into them); a deque, so that
// adding one never moves the others.
struct EmittedFamilies {
  std::mutex mutex;
  std::deque<MatmulFamily> families;
};

EmittedFamilies& emitted_families() {
  static EmittedFamilies e;
  return e;
}

}  // namespace

Result<MatmulKernel> load_wasm_matmul(DType dtype, const WasmMatmulConfig& config) {
  if (!wasm_emitter_supports(dtype)) {
    return error(StatusCode::kUnsupported, "no emitted Wasm matmul for %s weights", dtype_name(dtype));
  }
  if (!is_valid(config)) {
    return error(StatusCode::kInvalidArgument, "emitted Wasm matmul: invalid config r%dt%du%d",
                 config.row_tile, config.token_tile, config.unroll);
  }
  if (config.relaxed &&
      (!wasm::engine_has_relaxed_madd() || (dtype == DType::Q4_0 && !wasm::engine_has_relaxed_dot()))) {
    return error(StatusCode::kUnsupported,
                 "%s: this WebAssembly engine lacks a relaxed SIMD instruction it needs",
                 wasm_matmul_name(dtype, config).c_str());
  }
  const WasmMatmulModule module = emit_wasm_matmul(dtype, config);
  uint32_t first_slot = 0;
  JF_RETURN_IF_ERROR(wasm::load_module(module.bytes, module.exports, module.name, &first_slot));

  MatmulFamily f;
  f.weight = dtype;
  f.isa = CpuIsa::scalar;  // not a compiled ISA: the kernel's name says what it is
  const bool floats = dtype == DType::F32 || dtype == DType::F16;
  f.layout = floats ? ActLayout::f32 : ActLayout::blocks;
  f.encoding.act_type = vec_dot_type(dtype);
  f.encode = floats ? encode_f32 : encode_blocks;
  f.prepare_thread = wasm::install_pending_modules;
  f.info.k_step = floats ? 1 : kQK;
  const DTypeInfo& xi = dtype_info(vec_dot_type(dtype));
  f.info.x_bytes_per_col = floats ? 4 : static_cast<double>(xi.block_bytes) / xi.block_size;
  const int log2_tokens = log2_of(config.token_tile);
  for (int lr = 0; lr <= log2_of(config.row_tile); ++lr) {
    for (int lt = 0; lt <= log2_tokens; ++lt) {
      const uint32_t slot = first_slot + lr * (log2_tokens + 1) + lt;
      f.tiles[lr][lt] = reinterpret_cast<TileFn>(static_cast<uintptr_t>(slot));
      f.info.tile_mask |= static_cast<uint16_t>(1u << (4 * lr + lt));
    }
  }
  EmittedFamilies& e = emitted_families();
  std::lock_guard<std::mutex> lock(e.mutex);
  e.families.push_back(f);
  MatmulKernel kernel;
  kernel.family = &e.families.back();
  kernel.config = {
      .row_tile = config.row_tile, .token_tile = config.token_tile, .k_block = 0, .prefetch_rows = 0};
  kernel.layout = WeightLayout::rows;
  kernel.name = module.name;
  return kernel;
}
#endif

}  // namespace jf
