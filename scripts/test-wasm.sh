#!/usr/bin/env bash
# The WebAssembly build (Debian's Emscripten: SIMD128, pthreads) and its tests: the library's tests
# and the llama.cpp goldens under Node (V8, as in a browser), the compiled SIMD128 variants and the
# kernels emitted at run time against the scalar references; then the browser build's demo page in
# headless Debian Chromium (web/tests/browser_test.mjs, playwright-core from web/package-lock.json).
# Usage: scripts/test-wasm.sh            (from the repository root, as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh emscripten googletest chromium
jobs=$(nproc)
build=build/wasm
export NODE_PATH=/usr/share/nodejs  # Emscripten's link step needs Debian's node modules (acorn)

cmake -G Ninja -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/wasm.cmake -DCMAKE_BUILD_TYPE=Release \
  -DJITFLOW_GTEST_SOURCE_DIR=/usr/src/googletest -DJITFLOW_KERNELS_ONLY=OFF
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure

(cd web && npm ci --no-audit --no-fund --loglevel=error)
node web/tests/browser_test.mjs "$build/web" "$build/browser-test"
