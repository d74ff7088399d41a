// Emitted modules run inside the engine (Emscripten builds, under Node): called through function
// pointers on the thread that loaded them and on others after install_pending_modules(), with the
// engine's memory shared; a module the engine rejects is a clean error that leaves later modules
// working on every thread.
#include "jit/wasm_loader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "base/bit_cast.h"
#include "jit/wasm_builder.h"

namespace jf::wasm {
namespace {

using AddFn = int32_t (*)(int32_t, int32_t);
using StoreFn = void (*)(int32_t*, int32_t);

// "add": a + b + k; "store": *p = v (reaches the engine's own heap).
std::vector<uint8_t> make_module(int32_t k) {
  const std::vector<ValType> two_i32 = {ValType::i32, ValType::i32};
  FunctionBody add(two_i32);
  add.local_get(0);
  add.local_get(1);
  add.op(Op::i32_add);
  add.i32_const(k);
  add.op(Op::i32_add);
  FunctionBody store(two_i32);
  store.local_get(0);
  store.local_get(1);
  store.mem(MemOp::i32_store, 0, 2);
  const std::vector<Function> functions = {
      {two_i32, {ValType::i32}, add.finish(), "add", "add"},
      {two_i32, {}, store.finish(), "store", "store"},
  };
  return write_module("test_module_" + std::to_string(k), MemoryImport{}, functions);
}

template <typename Fn>
Fn slot_function(uint32_t slot) {
  return reinterpret_cast<Fn>(static_cast<uintptr_t>(slot));
}

TEST(WasmLoader, CallsOnThisThreadAndOnOthersAfterInstalling) {
  const std::vector<std::string> exports = {"add", "store"};
  uint32_t slot = 0;
  ASSERT_TRUE(load_module(make_module(100), exports, "m100", &slot).ok());
  EXPECT_EQ(slot_function<AddFn>(slot)(2, 3), 105);
  int32_t cell = 0;
  slot_function<StoreFn>(slot + 1)(&cell, 42);
  EXPECT_EQ(cell, 42);

  int32_t from_thread = 0;
  std::thread([&] {
    install_pending_modules();
    from_thread = slot_function<AddFn>(slot)(1, 1);
  }).join();
  EXPECT_EQ(from_thread, 102);
  EXPECT_GE(last_load_ms(), 0.0);
}

TEST(WasmLoader, ARejectedModuleIsAnErrorAndLaterModulesWorkEverywhere) {
  const std::vector<std::string> exports = {"add", "store"};
  std::vector<uint8_t> bad = make_module(1);
  bad.resize(bad.size() - 9);  // cut inside the name section
  uint32_t slot = 0;
  const Status s = load_module(bad, exports, "cut_module", &slot);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cut_module"), std::string::npos) << s.message();

  ASSERT_TRUE(load_module(make_module(7), exports, "m7", &slot).ok());
  int32_t from_thread = 0;
  std::thread([&] {
    install_pending_modules();
    from_thread = slot_function<AddFn>(slot)(1, 2);
  }).join();
  EXPECT_EQ(from_thread, 10);
  EXPECT_EQ(slot_function<AddFn>(slot)(0, 0), 7);
}

// The probes' verdicts agree with what the instructions compute on other inputs. (Node 20's V8
// validates the relaxed dot but gets it wrong; Chromium's is right. ctest runs Node with
// --experimental-wasm-relaxed-simd, cmake/wasm.cmake.)
TEST(WasmLoader, RelaxedSimdProbesAgreeWithTheInstructions) {
  using ProbeFn = int32_t (*)();
  FunctionBody dot({});
  for (int32_t v : {-1, 7}) {
    dot.i32_const(v);
    dot.simd(SimdOp::i8x16_splat);
  }
  dot.i32_const(3);
  dot.simd(SimdOp::i32x4_splat);
  dot.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
  dot.lane(SimdOp::i32x4_extract_lane, 2);
  FunctionBody madd({});
  for (float v : {1.5f, -4.0f, 0.25f}) {
    madd.f32_const(v);
    madd.simd(SimdOp::f32x4_splat);
  }
  madd.simd(SimdOp::f32x4_relaxed_madd);
  madd.lane(SimdOp::f32x4_extract_lane, 3);
  madd.op(Op::i32_reinterpret_f32);
  const std::vector<Function> functions = {{{}, {ValType::i32}, dot.finish(), "dot", "dot"},
                                           {{}, {ValType::i32}, madd.finish(), "madd", "madd"}};
  const std::vector<std::string> exports = {"dot", "madd"};
  uint32_t slot = 0;
  ASSERT_TRUE(
      load_module(write_module("relaxed", MemoryImport{}, functions), exports, "relaxed", &slot).ok());
  EXPECT_EQ(engine_has_relaxed_dot(), slot_function<ProbeFn>(slot)() == 4 * -7 + 3);
  EXPECT_EQ(engine_has_relaxed_madd(), slot_function<ProbeFn>(slot + 1)() == jf::bit_cast<int32_t>(-5.75f));
  EXPECT_TRUE(engine_has_relaxed_madd());  // every engine that runs jitflow's tests has it
}

}  // namespace
}  // namespace jf::wasm
