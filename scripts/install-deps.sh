#!/usr/bin/env bash
# Installs everything jitflow needs to build and test on Debian 12 (run as root, or with sudo available),
# plus the Debian packages named as arguments (scripts/test-aarch64.sh adds its cross toolchain).
set -euo pipefail
packages=(build-essential cmake ninja-build git libgtest-dev libgmock-dev libbenchmark-dev liblzma-dev xz-utils clang
  libclang-rt-14-dev liburing-dev python3 "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
