#!/usr/bin/env bash
# The kernel and code generation tests built to WebAssembly with Debian's Emscripten (SIMD128,
# pthreads) and run under Node: the compiled SIMD128 variants and the kernels emitted at run time
# (src/jit, src/kernels/matmul/emit_wasm.cpp) against the scalar references, in the engine that
# runs them in a browser (V8).
# Usage: scripts/test-wasm.sh            (from the repository root, as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh emscripten googletest
jobs=$(nproc)
build=build/wasm
export NODE_PATH=/usr/share/nodejs  # Emscripten's link step needs Debian's node modules (acorn)

cmake -G Ninja -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/wasm.cmake -DCMAKE_BUILD_TYPE=Release \
  -DJITFLOW_GTEST_SOURCE_DIR=/usr/src/googletest -DJITFLOW_KERNELS_ONLY=ON
for dir in src/base src/jit src/kernels; do  # the layers above are not ported to Wasm yet
  cmake --build "$build" -j "$jobs" --target $dir/all
  ctest --test-dir "$build/$dir" -j "$jobs" --output-on-failure
done
