#!/usr/bin/env bash
# ci/run-bench.sh: runs test/bench/bench.tcl under Wine with the native
# peers of test-env.sh, on a 64 MiB data file made here.
set -u
. "$(dirname "$0")/test-env.sh"

step "making the 64 MiB benchmark file"
mkdir -p build/bench
[ -f build/bench/data.bin ] || head -c $((64 * 1024 * 1024)) /dev/urandom > build/bench/data.bin

step "running the benchmarks under Wine (a few minutes)"
wine "$TCLSH_WIN" test/bench/bench.tcl 2>&1 | sed -u 's/\r$//'
exit "${PIPESTATUS[0]}"
