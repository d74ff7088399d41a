// A WebAssembly module writer: C++ emits the bytes of a module directly (the binary format of the
// WebAssembly 2.0 spec plus the SIMD128 and relaxed-SIMD opcodes), so that a kernel is generated at
// run time without a compiler: nnJIT's code path (../shared/papers/nnjit.md).
//
// The modules this writes are kernels: functions over an imported linear memory ("env"."memory",
// the engine's own heap), exported by name, with a name section that carries the kernel's canonical
// name. Nothing here knows about kernels; src/kernels/<op>/emit_wasm.cpp writes the function bodies.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jf::wasm {

enum class ValType : uint8_t { i32 = 0x7f, i64 = 0x7e, f32 = 0x7d, f64 = 0x7c, v128 = 0x7b };

// Single-byte instructions without immediates (core spec opcodes).
enum class Op : uint8_t {
  unreachable = 0x00,
  else_ = 0x05,
  end = 0x0b,
  return_ = 0x0f,
  drop = 0x1a,
  select = 0x1b,
  i32_eqz = 0x45,
  i32_eq = 0x46,
  i32_ne = 0x47,
  i32_lt_s = 0x48,
  i32_gt_s = 0x4a,
  i32_le_s = 0x4c,
  i32_ge_s = 0x4e,
  i32_add = 0x6a,
  i32_sub = 0x6b,
  i32_mul = 0x6c,
  i32_and = 0x71,
  i32_or = 0x72,
  i32_shl = 0x74,
  i32_shr_s = 0x75,
  i32_shr_u = 0x76,
  f32_add = 0x92,
  f32_mul = 0x94,
  i32_wrap_i64 = 0xa7,
  i32_reinterpret_f32 = 0xbc,
  f32_reinterpret_i32 = 0xbe,
};

// Memory instructions (a memarg follows: alignment exponent, offset).
enum class MemOp : uint8_t {
  i32_load = 0x28,
  i64_load = 0x29,
  f32_load = 0x2a,
  i32_load8_u = 0x2d,
  i32_load16_u = 0x2f,
  i32_store = 0x36,
  f32_store = 0x38,
};

// 0xfd-prefixed instructions (SIMD128; the relaxed ones from 0x100).
enum class SimdOp : uint32_t {
  v128_load = 0x00,
  v128_load16x4_s = 0x03,  // 4 int16 sign-extended to i32x4
  v128_load32_splat = 0x09,
  v128_store = 0x0b,
  i8x16_splat = 0x0f,
  i32x4_splat = 0x11,
  f32x4_splat = 0x13,
  i32x4_extract_lane = 0x1b,  // lane index follows
  f32x4_extract_lane = 0x1f,  // lane index follows
  v128_and = 0x4e,
  i8x16_shr_u = 0x6d,
  i8x16_sub = 0x71,
  i16x8_extadd_pairwise_i8x16_s = 0x7c,
  i32x4_extadd_pairwise_i16x8_s = 0x7e,
  i16x8_add = 0x8e,
  i16x8_extmul_low_i8x16_s = 0x9c,
  i16x8_extmul_high_i8x16_s = 0x9d,
  i32x4_shl = 0xab,
  i32x4_add = 0xae,
  i32x4_sub = 0xb1,
  f32x4_add = 0xe4,
  f32x4_mul = 0xe6,
  f32x4_convert_i32x4_s = 0xfa,
  f32x4_relaxed_madd = 0x105,                   // a * b + c, fused or not as the engine likes
  i32x4_relaxed_dot_i8x16_i7x16_add_s = 0x113,  // c + sums of 4 products a[i] * b[i], b in [0, 127]
};

// Appends the encodings the binary format is made of.
class ByteWriter {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void uleb(uint64_t v);          // unsigned LEB128
  void sleb(int64_t v);           // signed LEB128
  void f32(float v);              // little-endian IEEE 754
  void name(std::string_view s);  // length, then the UTF-8 bytes
  void append(std::span<const uint8_t> bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
  // A section or subsection: its id, its size, its contents.
  void section(uint8_t id, const ByteWriter& contents);

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// The body of one function: locals, then instructions. Parameters are locals 0..n-1; local()
// declares the next one (wasm initialises every local to zero at each call).
class FunctionBody {
 public:
  explicit FunctionBody(std::span<const ValType> params) : n_locals_(static_cast<uint32_t>(params.size())) {}

  uint32_t local(ValType type);

  void op(Op o) { code_.u8(static_cast<uint8_t>(o)); }
  void simd(SimdOp o);
  void mem(MemOp o, uint32_t offset, uint32_t align_log2 = 0);
  void simd_mem(SimdOp o, uint32_t offset, uint32_t align_log2 = 0);
  void lane(SimdOp o, uint8_t lane);  // extract/replace_lane

  void block() { structured(0x02); }
  void loop() { structured(0x03); }
  void if_() { structured(0x04); }
  void end() { op(Op::end); }
  void br(uint32_t depth);
  void br_if(uint32_t depth);

  void local_get(uint32_t i);
  void local_set(uint32_t i);
  void local_tee(uint32_t i);
  void i32_const(int32_t v);
  void i64_const(int64_t v);
  void f32_const(float v);

  // The body as the code section stores it (without its size): local declarations, instructions,
  // the final end.
  std::vector<uint8_t> finish() const;

 private:
  void structured(uint8_t opcode);  // block/loop/if with an empty block type

  uint32_t n_locals_;
  std::vector<ValType> declared_;  // locals after the parameters, in index order
  ByteWriter code_;
};

// A function of a module: its type, body, export name (empty: not exported) and debug name.
struct Function {
  std::vector<ValType> params;
  std::vector<ValType> results;
  std::vector<uint8_t> body;  // FunctionBody::finish()
  std::string export_name;
  std::string debug_name;
};

// Memory import: "env"."memory" with these limits, in 64 KiB pages. A shared memory (pthread builds)
// must declare a maximum at least the engine's own.
struct MemoryImport {
  uint32_t min_pages = 1;
  uint32_t max_pages = 65536;  // 4 GiB, wasm32's limit
  bool shared = true;
};

// The module's bytes: header, type, import, function, export and code sections, and a name section
// with `module_name` and every function's debug name.
std::vector<uint8_t> write_module(std::string_view module_name, const MemoryImport& memory,
                                  std::span<const Function> functions);

}  // namespace jf::wasm
