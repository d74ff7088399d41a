#!/usr/bin/env bash
# Runs one command line as a ctest case and checks its exit code and its output (stdout and stderr
# together): ctest's PASS_REGULAR_EXPRESSION alone would ignore the exit code. The command runs in
# a fresh temporary folder, removed afterwards, that is also its $TMPDIR and $HOME, with
# $JITFLOW_KDB a fresh file in it, so no two tests share a path or read the user's kernel database.
# "@TMP@" in an argument stands for the folder.
#
# Usage: cli_test.sh EXIT_CODE [--expect ERE]... [--reject ERE]... -- COMMAND [ARGS...]
set -uo pipefail

want_rc=$1
shift
expects=()
rejects=()
while [[ $# -gt 0 && $1 != "--" ]]; do
  case $1 in
    --expect) expects+=("$2"); shift 2 ;;
    --reject) rejects+=("$2"); shift 2 ;;
    *) echo "cli_test.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
shift  # --

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitflow-cli-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp HOME=$tmp/home JITFLOW_KDB=$tmp/kdb.jsonl
args=()
for a in "$@"; do args+=("${a//@TMP@/$tmp}"); done

output=$("${args[@]}" 2>&1)
rc=$?
printf '%s\n' "$output"
echo "--- exit code $rc (want $want_rc)"
failed=0
if [[ $rc != "$want_rc" ]]; then
  echo "FAIL: exit code $rc, want $want_rc"
  failed=1
fi
for re in "${expects[@]}"; do
  grep -Eq -- "$re" <<<"$output" || { echo "FAIL: no line matches: $re"; failed=1; }
done
for re in "${rejects[@]}"; do
  grep -Eq -- "$re" <<<"$output" && { echo "FAIL: a line matches: $re"; failed=1; }
done
exit $failed
