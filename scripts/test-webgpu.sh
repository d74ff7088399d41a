#!/usr/bin/env bash
# The WebGPU back end's tests without a browser or a GPU: node with Dawn (npm `webgpu`) on
# SwiftShader, the Vulkan driver on the CPU that Debian's chromium package ships. Every WGSL kernel
# against its CPU reference, and stories260K and docs-28M (F16, Q8_0, Q4_0) decoding llama.cpp's
# greedy tokens on the GPU (web/gpu/tests/gpu_test.mjs). Needs the native release build (made here
# when missing).
# Usage: scripts/test-webgpu.sh            (from the repository root, as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh chromium libvulkan1
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target jitflow wgsl_cases
(cd web && npm ci --no-audit --no-fund --loglevel=error)
node web/gpu/tests/gpu_test.mjs build/release build/webgpu-test
