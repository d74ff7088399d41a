// Runs emitted modules (wasm_builder.h) inside the engine's own WebAssembly instance: the module
// imports the engine's memory, its exports go into the function table, and C++ calls them through
// ordinary function pointers (a table slot is a function pointer in wasm32).
//
// Every pthread of an Emscripten program has its own instance of the engine and so its own table:
// a module is compiled and installed on each thread that calls it. Slots are reserved once, for all
// threads, past the table's initial length, so the same function pointer is valid on every thread
// that has installed the module; install_pending_modules() installs, on the calling thread, every
// module loaded since its last call. Only available in Emscripten builds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "jitflow/status.h"

namespace jf::wasm {

// Compiles `bytes` (a module importing "env"."memory") and installs the exports `export_names`, in
// order, at consecutive table slots from *first_slot, on this thread. `name` names the module in
// errors. An error carries the engine's own message (a module it does not validate, for one).
Status load_module(std::span<const uint8_t> bytes, std::span<const std::string> export_names,
                   std::string_view name, uint32_t* first_slot);

// Installs on this thread the modules that other threads loaded since this thread's last call.
// Cheap when there are none (one atomic load). A module that compiled on one thread and not on
// another is a bug in the engine: it aborts with the engine's message.
void install_pending_modules();

// Whether this engine runs each relaxed SIMD instruction the emitters use, and gets it right: a
// probe module must validate and compute a known answer. Node 20 (V8 11.3, behind
// --experimental-wasm-relaxed-simd) validates i32x4.relaxed_dot_i8x16_i7x16_add_s but sums 8
// products per lane and drops the addend, so there the emitters leave it out.
bool engine_has_relaxed_madd();  // f32x4.relaxed_madd
bool engine_has_relaxed_dot();   // i32x4.relaxed_dot_i8x16_i7x16_add_s

// Milliseconds that compiling and instantiating the last module loaded on this thread took.
double last_load_ms();

}  // namespace jf::wasm
