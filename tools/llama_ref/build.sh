#!/usr/bin/env bash
# Builds tools/llama_ref/llama_ref.c against the llama.cpp headers of the exact source that node-llama-cpp's
# prebuilt libllama was built from (the git bundle inside the npm package), linking that prebuilt libllama.
# Nothing is downloaded and nothing from llama.cpp is copied into the repository: the headers are checked out of
# the bundle into the (git-ignored) build folder.
#
#   tools/llama_ref/build.sh [BUILD_DIR]      (default: build/llama_ref under the repository root)
#
# Needs: bench/peer installed (cd bench/peer && npm ci --ignore-scripts), git, a C compiler (CC, default cc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/build/llama_ref}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

peer="$root/bench/peer/node_modules"
bundle="$peer/node-llama-cpp/llama/gitRelease.bundle"
bins="${LLAMA_REF_BINS:-$peer/@node-llama-cpp/linux-x64/bins/linux-x64}"
for f in "$bundle" "$bins/libllama.v0.5.0.so" "$bins/libggml.v0.5.0.so" "$bins/libggml-base.so"; do
    [ -e "$f" ] || { echo "build.sh: missing $f (run: cd bench/peer && npm ci --ignore-scripts)" >&2; exit 1; }
done
bins="$(cd "$bins" && pwd)"

# llama.cpp commit of the bundle (the squashed source tree node-llama-cpp ships)
commit="$(git bundle list-heads "$bundle" | awk '$2 == "HEAD" { print $1 }')"
[ -n "$commit" ] || commit="$(git bundle list-heads "$bundle" | awk 'NR == 1 { print $1 }')"
release="$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$peer/node-llama-cpp/llama/llama.cpp.info.json" 2>/dev/null || true)"
nlc_version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$peer/node-llama-cpp/package.json" | head -n1)"

inc="$out/include"
if [ "$(cat "$inc/.commit" 2>/dev/null || true)" != "$commit" ]; then
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/llama_ref_hdr.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    git clone --quiet --no-checkout "$bundle" "$tmp/llama.cpp"
    git -C "$tmp/llama.cpp" -c advice.detachedHead=false checkout --quiet "$commit" -- include ggml/include
    rm -rf "$inc"
    mkdir -p "$inc"
    cp "$tmp/llama.cpp/include/"*.h "$tmp/llama.cpp/ggml/include/"*.h "$inc/"
    echo "$commit" > "$inc/.commit"
fi

cc="${CC:-cc}"
echo "build.sh: compiling $out/llama_ref (llama.cpp $commit, libs $bins)" >&2
"$cc" -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-deprecated-declarations \
    -I"$inc" \
    -DLLAMA_REF_BINS="\"$bins\"" \
    -DLLAMA_REF_COMMIT="\"$commit\"" \
    -DLLAMA_REF_RELEASE="\"${release:-unknown}\"" \
    -DLLAMA_REF_NLC_VERSION="\"${nlc_version:-unknown}\"" \
    -o "$out/llama_ref" "$here/llama_ref.c" \
    "$bins/libllama.v0.5.0.so" "$bins/libggml.v0.5.0.so" "$bins/libggml-base.so" \
    -Wl,-rpath,"$bins" -lm -ldl
