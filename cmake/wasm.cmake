# WebAssembly build with Debian's Emscripten (3.1.6): SIMD128, pthreads, programs run under Node.
# Usage: NODE_PATH=/usr/share/nodejs cmake -B build/wasm -DCMAKE_TOOLCHAIN_FILE=cmake/wasm.cmake \
#          -DJITFLOW_GTEST_SOURCE_DIR=/usr/src/googletest        (see scripts/test-wasm.sh)
# NODE_PATH: Emscripten's link step runs Node scripts that need Debian's node modules (acorn).
include(/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake)

# ctest and gtest_discover_tests run the test programs (.js beside their .wasm) with Node. Relaxed
# SIMD is behind a flag in Node 20, so that the emitted relaxed kernels run in the tests too.
set(CMAKE_CROSSCOMPILING_EMULATOR node --experimental-wasm-relaxed-simd)
