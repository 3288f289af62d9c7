#!/usr/bin/env bash
# ci/run-tests.sh ?FILE.test...?: runs the tcltest suites under Wine
# against native peers (see test-env.sh), through test/all.tcl. The last
# line of output is "N passed, N failed, N skipped"; the exit code is
# non-zero when any test failed or a test file did not complete.
set -u
. "$(dirname "$0")/test-env.sh"

step "running the tests under Wine"
wine "$TCLSH_WIN" test/all.tcl "$@" 2>&1 | sed -u 's/\r$//' | tee "$TEST_TMP/test.log"
rc=${PIPESTATUS[0]}
last=$(tail -n 1 "$TEST_TMP/test.log" | tr -d '\r')
if ! [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed ]]; then
    echo "test/all.tcl did not finish (exit $rc)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
# The summary decides too: Wine has been seen to lose a process's exit code.
failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$last")
if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then
    rc=1
fi
exit "$rc"
