#!/usr/bin/env bash
# Prefill and decode tokens/s of one model at each thread count, from the same machine and run:
# native jitflow (`jitflow run`, with the kernels `jitflow tune` stored for this machine if any; median of R runs), the browser build in headless Chromium on its
# default kernels and after tuning in the page (web/bench/browser_bench.mjs), and wllama, llama.cpp
# compiled to WebAssembly, in the same browser (web/bench/wllama_bench.mjs). Same prompt, greedy, N
# tokens. Needs the native build (build/release) and the Wasm one (scripts/test-wasm.sh).
# Usage: bench/wasm/browser_vs_native.sh MODEL.gguf [THREADS=1,2] [N=64] [R=3]
# Prints one JSON line per engine and thread count.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$(realpath "$1")
threads=${2:-1,2}
tokens=${3:-64}
runs=${4:-3}
prompt='Once upon a time, in a small town by the sea, there lived an old man who'
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for t in ${threads//,/ }; do
  prefill=() decode=()
  for _ in $(seq "$runs"); do
    line=$(build/release/tools/jitflow/jitflow run -m "$model" -p "$prompt" -n "$tokens" --temp 0 -t "$t" 2>&1 >/dev/null |
           grep '^jitflow: load')
    prefill+=("$(sed -E 's/.*prefill [0-9]+ tokens ([0-9.]+) tokens\/s.*/\1/' <<<"$line")")
    decode+=("$(sed -E 's/.*decode [0-9]+ tokens ([0-9.]+) tokens\/s.*/\1/' <<<"$line")")
  done
  printf '{"engine":"native","model":"%s","threads":%s,"tokens":%s,"runs":%s,"prefillTokensPerS":%s,"decodeTokensPerS":%s}\n' \
    "$(basename "$model")" "$t" "$tokens" "$runs" "$(printf '%s\n' "${prefill[@]}" | median)" \
    "$(printf '%s\n' "${decode[@]}" | median)"
done
args=(--models "$(dirname "$model")" --model "$(basename "$model")" --threads "$threads" --tokens "$tokens"
      --runs "$runs" --prompt "$prompt")
node web/bench/browser_bench.mjs "${args[@]}"
node web/bench/browser_bench.mjs "${args[@]}" --tune
node web/bench/wllama_bench.mjs "${args[@]}" | sed -E 's/,"text":.*\}$/}/'
