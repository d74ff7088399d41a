#!/usr/bin/env bash
# Fuzzes the GGUF reader, then the kernel-database parser, with libFuzzer for a bounded time each: configures and builds the `fuzz` preset
# (clang, ASan + UBSan), writes a seed corpus (tiny handmade files plus shrunk copies of the small
# models), then runs gguf_fuzz. New inputs accumulate in the corpus folder between runs; a crash is
# saved under the artifacts folder and the script exits non-zero.
#
# Usage: scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]      (default 60 seconds)
# Environment: JITFLOW_FUZZ_BUILD_DIR (default build/fuzz), JOBS (build parallelism, default nproc).
# Reproduce a crash: build/fuzz/src/gguf/gguf_fuzz build/fuzz/gguf-artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
build=${JITFLOW_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${JOBS:-$(nproc)}
corpus="$build/gguf-corpus"
artifacts="$build/gguf-artifacts"

cmake --preset fuzz -B "$build" >/dev/null
cmake --build "$build" -j "$jobs" --target gguf_fuzz gguf_fuzz_seeds kdb_fuzz

# Models whose header fits a seed; the shared ones are optional.
models=(models/stories260K.gguf)
for m in ../shared/models/synth/synth-Q4_K_M.gguf ../shared/models/synth/synth-Q8_0.gguf \
         ../shared/models/docs-28M/docs-28M-Q4_0.gguf; do
  [[ -f "$m" ]] && models+=("$m")
done
mkdir -p "$corpus" "$artifacts"
"$build/src/gguf/gguf_fuzz_seeds" "$corpus" "${models[@]}"

# -max_len must hold the largest seed (gguf_fuzz_seeds keeps them under 64 KiB).
"$build/src/gguf/gguf_fuzz" "$corpus" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict=src/gguf/gguf_fuzz.dict -artifact_prefix="$artifacts/" -print_final_stats=1 "$@"

# The kernel database reads JSON lines written by other machines: fuzz its parser too.
kdb_corpus="$build/kdb-corpus"
mkdir -p "$kdb_corpus"
printf '{"v":1,"op":"matmul","workload":{"dtype":"q4_0","n":2048,"k":2048},"median_ns":1.5e3}\n' \
  > "$kdb_corpus/seed-record.jsonl"
"$build/src/kdb/kdb_fuzz" "$kdb_corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/kdb-" \
  -print_final_stats=1 "$@"
