// The module writer against encodings worked out by hand from the WebAssembly spec (binary format,
// LEB128 examples and section layout), so that a wrong byte fails here, before any engine sees it.
#include "jit/wasm_builder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace jf::wasm {
namespace {

std::vector<uint8_t> uleb(uint64_t v) {
  ByteWriter w;
  w.uleb(v);
  return w.bytes();
}

std::vector<uint8_t> sleb(int64_t v) {
  ByteWriter w;
  w.sleb(v);
  return w.bytes();
}

using Bytes = std::vector<uint8_t>;

TEST(WasmBuilder, Leb128) {
  EXPECT_EQ(uleb(0), (Bytes{0x00}));
  EXPECT_EQ(uleb(127), (Bytes{0x7f}));
  EXPECT_EQ(uleb(128), (Bytes{0x80, 0x01}));
  EXPECT_EQ(uleb(624485), (Bytes{0xe5, 0x8e, 0x26}));
  EXPECT_EQ(uleb(65536), (Bytes{0x80, 0x80, 0x04}));
  EXPECT_EQ(sleb(0), (Bytes{0x00}));
  EXPECT_EQ(sleb(63), (Bytes{0x3f}));
  EXPECT_EQ(sleb(64), (Bytes{0xc0, 0x00}));  // bit 6 set would read as negative: one more byte
  EXPECT_EQ(sleb(-1), (Bytes{0x7f}));
  EXPECT_EQ(sleb(-64), (Bytes{0x40}));
  EXPECT_EQ(sleb(-65), (Bytes{0xbf, 0x7f}));
  EXPECT_EQ(sleb(-123456), (Bytes{0xc0, 0xbb, 0x78}));
  EXPECT_EQ(sleb(INT32_MIN), (Bytes{0x80, 0x80, 0x80, 0x80, 0x78}));
}

TEST(WasmBuilder, SimdOpcodesAreLeb128AfterThePrefix) {
  const std::vector<ValType> params;
  FunctionBody small(params);
  small.simd(SimdOp::f32x4_add);  // 0xe4: two LEB bytes
  EXPECT_EQ(small.finish(), (Bytes{0x00, 0xfd, 0xe4, 0x01, 0x0b}));
  FunctionBody relaxed(params);
  relaxed.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);  // 0x113
  EXPECT_EQ(relaxed.finish(), (Bytes{0x00, 0xfd, 0x93, 0x02, 0x0b}));
  FunctionBody load(params);
  load.simd_mem(SimdOp::v128_load, 200);  // memarg: alignment exponent, then the offset
  EXPECT_EQ(load.finish(), (Bytes{0x00, 0xfd, 0x00, 0x00, 0xc8, 0x01, 0x0b}));
}

TEST(WasmBuilder, LocalsAreDeclaredInRunsOfOneType) {
  const std::vector<ValType> params = {ValType::i32};
  FunctionBody b(params);
  EXPECT_EQ(b.local(ValType::i32), 1u);  // after the parameter
  EXPECT_EQ(b.local(ValType::i32), 2u);
  EXPECT_EQ(b.local(ValType::v128), 3u);
  EXPECT_EQ(b.local(ValType::i32), 4u);
  EXPECT_EQ(b.finish(), (Bytes{0x03, 0x02, 0x7f, 0x01, 0x7b, 0x01, 0x7f, 0x0b}));
}

// (module (import "env" "memory" (memory 1 65536 shared))
//   (func (export "add1") (param i32) (result i32) local.get 0 i32.const 1 i32.add)) + a name section
TEST(WasmBuilder, WholeModule) {
  const std::vector<ValType> params = {ValType::i32};
  FunctionBody body(params);
  body.local_get(0);
  body.i32_const(1);
  body.op(Op::i32_add);
  const Function f{params, {ValType::i32}, body.finish(), "add1", "add1"};
  const Bytes expected = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                                   // magic, version
      0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,                                   // type: (i32) -> i32
      0x02, 0x12, 0x01, 0x03, 'e',  'n',  'v',  0x06, 'm',  'e',  'm',  'o', 'r', 'y',  // import
      0x02, 0x03, 0x01, 0x80, 0x80, 0x04,                                // memory, shared, 1..65536
      0x03, 0x02, 0x01, 0x00,                                            // function 0: type 0
      0x07, 0x08, 0x01, 0x04, 'a',  'd',  'd',  '1',  0x00, 0x00,        // export "add1" func 0
      0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b,  // code
      0x00, 0x12, 0x04, 'n',  'a',  'm',  'e',                           // custom "name"
      0x00, 0x02, 0x01, 'm',                                             // module name "m"
      0x01, 0x07, 0x01, 0x00, 0x04, 'a',  'd',  'd',  '1',               // function 0 "add1"
  };
  EXPECT_EQ(write_module("m", MemoryImport{}, {&f, 1}), expected);
}

}  // namespace
}  // namespace jf::wasm
