#include "jit/wasm_loader.h"

#include <emscripten/emscripten.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "base/bit_cast.h"
#include "base/clock.h"
#include "jit/wasm_builder.h"

// The JavaScript side. `wasmMemory` and `wasmTable` are the calling thread's instance's memory (the
// one shared heap) and table. Not C++: clang-format would break its operators (!==).
// clang-format off

EM_JS(int, jf_wasm_table_length, (), { return wasmTable.length; });

// Compiles and instantiates the module at bytes[0, len) and sets its exports `names` ('\n'-joined)
// at table slots first_slot, first_slot + 1, ... of this thread. 0 on success; otherwise -1 and the
// engine's message in error[0, error_size).
EM_JS(int, jf_wasm_install,
      (const uint8_t* bytes, int len, const char* names, int first_slot, char* error, int error_size), {
        try {
          // WebAssembly.Module rejects views of a SharedArrayBuffer: copy the bytes out of the heap.
          const copy = new Uint8Array(wasmMemory.buffer, bytes, len).slice();
          const instance =
              new WebAssembly.Instance(new WebAssembly.Module(copy), {env : {memory : wasmMemory}});
          const exports = UTF8ToString(names).split('\n');
          const end = first_slot + exports.length;
          if (wasmTable.length < end) wasmTable.grow(end - wasmTable.length);
          for (let i = 0; i < exports.length; ++i) {
            if (wasmTable.get(first_slot + i) !== null)
              throw new Error('table slot ' + (first_slot + i) + ' is taken');
            const f = instance.exports[exports[i]];
            if (typeof f !== 'function') throw new Error('no exported function ' + exports[i]);
            wasmTable.set(first_slot + i, f);
          }
          return 0;
        } catch (e) {
          stringToUTF8(String(e), error, error_size);
          return -1;
        }
      });

// Instantiates the module at bytes[0, len) and returns what its export "probe" returns; -1 when the
// engine rejects the module.
EM_JS(int, jf_wasm_run_probe, (const uint8_t* bytes, int len), {
  try {
    const copy = new Uint8Array(wasmMemory.buffer, bytes, len).slice();
    return new WebAssembly.Instance(new WebAssembly.Module(copy), {env : {memory : wasmMemory}})
        .exports.probe();
  } catch (e) {
    return -1;
  }
});
// clang-format on

namespace jf::wasm {
namespace {

struct LoadedModule {
  std::vector<uint8_t> bytes;
  std::string names;  // export names, '\n'-joined
  std::string name;
  uint32_t first_slot = 0;
};

// Every module loaded so far, on any thread (a deque: entries never move while others are added).
struct Modules {
  std::mutex mutex;
  std::deque<LoadedModule> loaded;
  std::atomic<size_t> count{0};
  int64_t next_slot = -1;  // the first free slot; -1 until the first load reads the table's length
};

Modules& modules() {
  static Modules m;
  return m;
}

thread_local size_t installed_on_this_thread = 0;
thread_local double last_load_ms_on_this_thread = 0;

Status install(const LoadedModule& m) {
  char message[512] = {};
  const double start = now_ms();
  const int rc = jf_wasm_install(m.bytes.data(), static_cast<int>(m.bytes.size()), m.names.c_str(),
                                 static_cast<int>(m.first_slot), message, sizeof(message));
  last_load_ms_on_this_thread = now_ms() - start;
  if (rc != 0) return error(StatusCode::kInternal, "emitted module %s: %s", m.name.c_str(), message);
  return Status();
}

// Installs on this thread the modules loaded since its last call; m.mutex held.
void install_pending_locked(Modules& m) {
  for (; installed_on_this_thread < m.loaded.size(); ++installed_on_this_thread) {
    const LoadedModule& module = m.loaded[installed_on_this_thread];
    if (module.names.empty()) continue;  // failed where it was loaded
    if (Status s = install(module); !s.ok()) {
      std::fprintf(stderr, "jitflow: %s (it loaded on another thread)\n", s.to_string().c_str());
      std::abort();
    }
  }
}

}  // namespace

Status load_module(std::span<const uint8_t> bytes, std::span<const std::string> export_names,
                   std::string_view name, uint32_t* first_slot) {
  Modules& m = modules();
  std::lock_guard<std::mutex> lock(m.mutex);
  install_pending_locked(m);  // earlier modules first: every thread takes the slots in one order
  if (m.next_slot < 0) m.next_slot = jf_wasm_table_length();
  LoadedModule module;
  module.bytes.assign(bytes.begin(), bytes.end());
  for (const std::string& e : export_names) module.names += (module.names.empty() ? "" : "\n") + e;
  module.name = std::string(name);
  module.first_slot = static_cast<uint32_t>(m.next_slot);
  m.next_slot += static_cast<int64_t>(export_names.size());
  Status status = install(module);
  if (status.ok()) {
    *first_slot = module.first_slot;
  } else {
    // Other threads install nothing for it; its slots stay reserved, so that the tables stay in step.
    module.names.clear();
    module.bytes.clear();
  }
  m.loaded.push_back(std::move(module));
  installed_on_this_thread = m.loaded.size();
  m.count.store(m.loaded.size(), std::memory_order_release);
  return status;
}

void install_pending_modules() {
  Modules& m = modules();
  if (installed_on_this_thread == m.count.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(m.mutex);
  install_pending_locked(m);
}

namespace {

// Runs `body` (which leaves a v128 on the stack) in a probe module and returns lane 0 as an i32.
int32_t probe_lane0(const std::function<void(FunctionBody&)>& body_ops) {
  FunctionBody body({});
  body_ops(body);
  body.lane(SimdOp::i32x4_extract_lane, 0);
  const Function f{{}, {ValType::i32}, body.finish(), "probe", "probe"};
  const std::vector<uint8_t> bytes = write_module("relaxed_simd_probe", MemoryImport{}, {&f, 1});
  return jf_wasm_run_probe(bytes.data(), static_cast<int>(bytes.size()));
}

void splat_i8(FunctionBody& b, int32_t v) {
  b.i32_const(v);
  b.simd(SimdOp::i8x16_splat);
}

}  // namespace

bool engine_has_relaxed_madd() {
  // 2 * 3 + 1 in every lane; lane 0's bits read as an i32.
  static const bool has = probe_lane0([](FunctionBody& b) {
                            for (float v : {2.0f, 3.0f, 1.0f}) {
                              b.f32_const(v);
                              b.simd(SimdOp::f32x4_splat);
                            }
                            b.simd(SimdOp::f32x4_relaxed_madd);
                          }) == jf::bit_cast<int32_t>(7.0f);
  return has;
}

bool engine_has_relaxed_dot() {
  // Four products (-3) * 5 plus 100 in each int32 lane.
  static const bool has = probe_lane0([](FunctionBody& b) {
                            splat_i8(b, -3);
                            splat_i8(b, 5);
                            b.i32_const(100);
                            b.simd(SimdOp::i32x4_splat);
                            b.simd(SimdOp::i32x4_relaxed_dot_i8x16_i7x16_add_s);
                          }) == 40;
  return has;
}

double last_load_ms() {
  return last_load_ms_on_this_thread;
}

}  // namespace jf::wasm
