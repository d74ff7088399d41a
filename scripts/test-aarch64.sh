#!/usr/bin/env bash
# The kernel tests (src/kernels) cross-compiled for AArch64 with Debian's cross toolchain and run
# under qemu-user, so that the NEON variants are checked against the scalar references without ARM
# hardware. GoogleTest is built for the target from Debian's sources (package googletest).
# Usage: scripts/test-aarch64.sh            (from the repository root, as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh g++-aarch64-linux-gnu qemu-user googletest
jobs=$(nproc)
build=build/aarch64

# -O2 as the release preset (GCC 12 at -O3 also warns falsely about std::string's memcpy).
cmake -G Ninja -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DJITFLOW_GTEST_SOURCE_DIR=/usr/src/googletest \
  -DJITFLOW_KERNELS_ONLY=ON
cmake --build "$build" -j "$jobs" --target src/kernels/all  # only the kernels and their tests
ctest --test-dir "$build/src/kernels" -j "$jobs" --output-on-failure

# A CPU without the dot product extension (qemu's default CPU has it), where the default kernels fall
# back to the plain NEON tiles; then the ISA cap (JITFLOW_MAX_ISA) at neon and at scalar.
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
QEMU_CPU=cortex-a53 "${qemu[@]}" "$build/src/kernels/matmul_test" \
  --gtest_filter='MatmulTest.DefaultKernel*:MatmulTest.ThreadCount*'
for isa in neon scalar; do
  JITFLOW_MAX_ISA=$isa "${qemu[@]}" "$build/src/kernels/matmul_test" --gtest_filter=MatmulTest.IsaCapFromEnvironment
done
