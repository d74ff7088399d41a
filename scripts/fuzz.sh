#!/usr/bin/env bash
# Fuzzes every libFuzzer target for a bounded time each, one after the other: configures and builds
# the `fuzz` preset (clang, ASan + UBSan), then runs
#   gguf  the GGUF reader, then the tokenizer of a file that opens
#                                      (seeds: tiny handmade files + shrunk copies of the small models)
#   kdb   the kernel-database parser   (seeds: tests/fuzz/kdb/)
#   spm   the SentencePiece tokenizer  (seeds: tests/fuzz/tokenizer/, vocab ../shared/vocab/ggml-vocab-llama-spm.gguf)
#   bpe   the byte-level BPE tokenizer (seeds: tests/fuzz/tokenizer/, vocab ../shared/vocab/ggml-vocab-gpt-2.gguf)
# New inputs accumulate in BUILD/corpus/TARGET between runs. A crash, leak, timeout or sanitizer
# report is saved under BUILD/artifacts/TARGET/; every target still runs, and the script exits
# non-zero at the end. Each run's libFuzzer output is in BUILD/logs/TARGET.log.
#
# Usage: scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]      (default 60 seconds per target)
# Environment: FUZZ_TARGETS (default "gguf kdb spm bpe"), JITFLOW_FUZZ_BUILD_DIR (default build/fuzz),
#              JOBS (build parallelism, default nproc), JITFLOW_FUZZ_VOCAB (another vocabulary for spm/bpe).
# Reproduce a crash: build/fuzz/src/gguf/gguf_fuzz build/fuzz/artifacts/gguf/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
build=${JITFLOW_FUZZ_BUILD_DIR:-build/fuzz}
jobs=${JOBS:-$(nproc)}
targets=${FUZZ_TARGETS:-gguf kdb spm bpe}

cmake --preset fuzz -B "$build" >/dev/null
cmake --build "$build" -j "$jobs" --target gguf_fuzz gguf_fuzz_seeds kdb_fuzz spm_fuzz bpe_fuzz

# Writes the gguf seeds (from the models whose header fits a seed; the shared ones are optional)
# and prints the seed folder.
gguf_seeds() {
  local seeds="$build/seeds/gguf" models=(models/stories260K.gguf) m
  for m in ../shared/models/synth/synth-Q4_K_M.gguf ../shared/models/synth/synth-Q8_0.gguf \
           ../shared/models/docs-28M/docs-28M-Q4_0.gguf; do
    [[ -f "$m" ]] && models+=("$m")
  done
  mkdir -p "$seeds"
  "$build/src/gguf/gguf_fuzz_seeds" "$seeds" "${models[@]}" >/dev/null
  echo "$seeds"
}

# run_target NAME BINARY SEED_DIR [libFuzzer flags...]: fuzzes for $seconds; returns libFuzzer's status.
run_target() {
  local name=$1 binary=$2 seeds=$3
  shift 3
  local corpus="$build/corpus/$name" artifacts="$build/artifacts/$name" log="$build/logs/$name.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  local status=0
  # The first folder is the one libFuzzer writes new inputs to; the seed folder is only read.
  "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" >"$log" 2>&1 || status=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz $name: ${seconds}s, ${execs:-?} executions, corpus $(ls "$corpus" | wc -l) files, exit status $status"
  if (( status != 0 )); then
    tail -n 60 "$log"
    echo "fuzz $name FAILED: input saved under $artifacts/, full log $log"
  fi
  return "$status"
}

failed=()
for target in $targets; do
  case $target in
    # -max_len must hold the largest seed (gguf_fuzz_seeds keeps them under 64 KiB).
    gguf) run_target gguf "$build/src/gguf/gguf_fuzz" "$(gguf_seeds)" -max_len=65536 \
            -dict=src/gguf/gguf_fuzz.dict "$@" || failed+=(gguf) ;;
    kdb) run_target kdb "$build/src/kdb/kdb_fuzz" tests/fuzz/kdb -max_len=4096 "$@" || failed+=(kdb) ;;
    spm|bpe) run_target "$target" "$build/src/model/tokenizer/${target}_fuzz" tests/fuzz/tokenizer \
               -max_len=4096 "$@" || failed+=("$target") ;;
    *) echo "fuzz.sh: unknown target '$target' (known: gguf kdb spm bpe)" >&2; exit 2 ;;
  esac
done

if (( ${#failed[@]} > 0 )); then
  echo "fuzz.sh: failures in: ${failed[*]}" >&2
  exit 1
fi
