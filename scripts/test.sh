#!/usr/bin/env bash
# The whole test suite: release build + all tests, then the unit tests under ASan/UBSan, then the
# kernel tests as WebAssembly under Node, the WebGPU kernels and goldens in node with Dawn, the
# kernel tests cross-compiled for AArch64 under qemu-user, then every fuzz target for 20 s.
# Usage: scripts/test.sh            (from the repository root; ../shared must sit beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

# The kernel and code generation tests again as WebAssembly under Node (~3 min).
scripts/test-wasm.sh

# The WebGPU back end in node with Dawn on SwiftShader (no GPU needed; ~2 min).
scripts/test-webgpu.sh

# The kernel tests again for AArch64 (NEON variants), cross-compiled and run under qemu-user (~1.5 min).
scripts/test-aarch64.sh

# Every libFuzzer target for 20 s (build ~2 min + ~1.5 min of fuzzing); the corpus grows in build/fuzz/corpus.
scripts/fuzz.sh 20
