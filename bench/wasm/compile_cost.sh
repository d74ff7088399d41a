#!/usr/bin/env bash
# What one kernel candidate costs by the compiler route (what a tuner without its own emitter would
# pay per candidate): a C++ translation unit with one Q4_0 matmul tile (4 rows x 1 token, the
# compiled SIMD128 tile of block_tiles.h) built by em++ -O3 into a standalone .wasm, then compiled and
# instantiated by Node. Prints the median of N runs beside emit_wasm_bench's per-module numbers for
# direct emission (run from a configured Wasm build, scripts/test-wasm.sh).
# Usage: bench/wasm/compile_cost.sh [N=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
export NODE_PATH=/usr/share/nodejs
runs=${1:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitflow-compile-cost-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

ms_now() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

compile_ms=()
for i in $(seq "$runs"); do
  # A salt per run: nothing may be cached between candidates.
  cat > "$tmp/kernel_$i.cpp" <<CPP
#include "kernels/matmul/wasm_tiles.h"
namespace jf {
namespace {
struct IntDot {
  static v128_t dot(v128_t acc, v128_t a, v128_t b) {
    const v128_t lo = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(a), wasm_i16x8_extend_low_i8x16(b));
    const v128_t hi = wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(a), wasm_i16x8_extend_high_i8x16(b));
    return wasm_i32x4_add(acc, wasm_i32x4_add(lo, hi));
  }
};
}  // namespace
}  // namespace jf
extern "C" __attribute__((export_name("tile"))) void tile(const jf::Tile& a) {
  static volatile int salt = $i;
  (void)salt;
  jf::tile_q8_32<jf::Wasm128, jf::IntDot, jf::Q4_0Weights<jf::Wasm128>, 4, 1>(a);
}
CPP
  start=$(ms_now)
  em++ -std=c++20 -O3 -msimd128 -Isrc -Iinclude -sSTANDALONE_WASM=1 -sIMPORTED_MEMORY=1 --no-entry \
    -Wno-unused-function "$tmp/kernel_$i.cpp" -o "$tmp/kernel_$i.wasm"
  end=$(ms_now)
  compile_ms+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
done
instantiate_ms=$(node -e '
  const fs = require("fs");
  const times = [];
  for (const f of process.argv.slice(1)) {
    const bytes = fs.readFileSync(f);
    const t0 = performance.now();
    const m = new WebAssembly.Module(bytes);
    const imports = {};
    for (const i of WebAssembly.Module.imports(m)) {
      imports[i.module] ??= {};
      imports[i.module][i.name] = i.kind === "memory" ? new WebAssembly.Memory({ initial: 256, maximum: 256 }) : () => 0;
    }
    new WebAssembly.Instance(m, imports);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(times[Math.floor(times.length / 2)].toFixed(3));' "$tmp"/kernel_*.wasm)
echo "compiler route, per candidate (median of $runs): em++ -O3 $(printf '%s\n' "${compile_ms[@]}" | median) ms," \
     "then compile + instantiate $instantiate_ms ms ($(stat -c %s "$tmp/kernel_1.wasm") bytes)"
if [ -f build/wasm/src/kernels/emit_wasm_bench.js ]; then
  echo -n "direct emission, "
  node --experimental-wasm-relaxed-simd build/wasm/src/kernels/emit_wasm_bench.js 64 64 | grep "^per module"
fi
