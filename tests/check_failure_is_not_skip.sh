#!/usr/bin/env bash
# Proves, with ctest itself, that a failing kernel test case of one ISA is reported as failed and
# not as skipped. CMake's gtest discovery gives every case SKIP_REGULAR_EXPRESSION "[  SKIPPED ]",
# which wins over the exit code; so a case that printed that marker for a missing ISA while
# testing another would hide that other ISA's failures. Each ISA now has its own cases
# (kernels/simd/op_test_util.h: begin_isa_case), and this script checks the result through the
# very test definitions ctest runs (the *_include.cmake files of the kernel tests), in a scratch
# test folder so that it does not touch the logs of the ctest run it is part of:
#   1. with JITFLOW_TEST_FAIL_ISA=ISA (each case of ISA fails at once) and JITFLOW_MAX_ISA=ISA,
#      every case of ISA is reported Failed and ctest exits non-zero;
#   2. with JITFLOW_MAX_ISA=scalar, every case of ISA is reported skipped and ctest exits 0.
# Exits 77 (ctest: skipped) when the CPU cannot run ISA.
#
# Usage: check_failure_is_not_skip.sh ISA KERNEL_TEST_BUILD_DIR
set -uo pipefail
isa=$1
kernels_dir=$(cd "$2" && pwd)
grep -qw "${isa/avx512/avx512_vnni}" /proc/cpuinfo || { echo "this CPU cannot run $isa"; exit 77; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/jitflow-harness-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for f in "$kernels_dir"/*_include.cmake; do echo "include(\"$f\")" >>"$scratch/CTestTestfile.cmake"; done
n_cases=$(ctest --test-dir "$scratch" -N -R "/$isa " | grep -c "Test *#")
echo "$n_cases test cases of $isa"
[[ $n_cases -gt 0 ]] || { echo "FAIL: no test case of $isa found in $kernels_dir"; exit 1; }

failed=0
out=$(JITFLOW_MAX_ISA=$isa JITFLOW_TEST_FAIL_ISA=$isa ctest --test-dir "$scratch" -R "/$isa " 2>&1)
rc=$?
n_failed=$(grep -c "Test *#.*Failed" <<<"$out")
echo "made to fail: ctest exit code $rc, $n_failed of $n_cases reported Failed"
if [[ $rc == 0 || $n_failed != "$n_cases" ]]; then
  echo "FAIL: a failing $isa case was not reported as a failure"
  grep "Test *#" <<<"$out"
  failed=1
fi

out=$(JITFLOW_MAX_ISA=scalar ctest --test-dir "$scratch" -R "/$isa " 2>&1)
rc=$?
n_skipped=$(grep -c "Test *#.*Skipped" <<<"$out")
echo "capped at scalar: ctest exit code $rc, $n_skipped of $n_cases reported skipped"
if [[ $rc != 0 || $n_skipped != "$n_cases" ]]; then
  echo "FAIL: a $isa case the cap excludes was not reported as skipped"
  grep "Test *#" <<<"$out"
  failed=1
fi
exit $failed
