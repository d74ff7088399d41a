#!/usr/bin/env bash
# The whole test suite: release build + all tests, then the unit tests under ASan/UBSan.
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
