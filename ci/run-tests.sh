#!/usr/bin/env bash
# ci/run-tests.sh ?FILE.test...?: runs the tcltest suites under Wine
# against native peers. Generates the test certificates, trusts the test CA
# in the Wine prefix, starts the peer helper (native tclsh), runs
# test/all.tcl, and stops every process it started. The last line of
# output is "N passed, N failed, N skipped"; the exit code is non-zero when
# any test or test file failed.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wine-env.sh"
cd "$PROJECT_ROOT" || fail "cannot enter $PROJECT_ROOT"

TCLSH_WIN=$BUILD_DIR/tcl-win/bin/tclsh86.exe
TMP=$BUILD_DIR/test-tmp
mkdir -p "$TMP"

step "generating test certificates"
bash test/make-certs.sh build/test-certs || fail "openssl could not make the test certificates"

step "trusting the test CA in the Wine prefix"
wine "$TCLSH_WIN" test/trust-ca.tcl || fail "could not add the test CA to the Root store"

step "starting the peer helper"
rm -f "$TMP/peerd.port"
coproc PEERD { exec tclsh test/peerd.tcl "$TMP/peerd.port"; }
for _ in $(seq 100); do
    [ -f "$TMP/peerd.port" ] && break
    sleep 0.1
done
[ -f "$TMP/peerd.port" ] || fail "the peer helper did not start"
export SCHANNEL_PEERD=$(cat "$TMP/peerd.port")

cleanup() {
    # Closing its stdin makes the peer helper kill its peers and exit.
    [ -n "${PEERD_PID:-}" ] && { exec {PEERD[1]}>&-; wait "$PEERD_PID" 2>/dev/null; }
    wineserver -k 2>/dev/null
}
trap cleanup EXIT

step "running the tests under Wine"
wine "$TCLSH_WIN" test/all.tcl "$@" 2>&1 | tee "$TMP/test.log"
rc=${PIPESTATUS[0]}
last=$(tail -n 1 "$TMP/test.log" | tr -d '\r')
if ! [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed ]]; then
    echo "test/all.tcl did not finish (exit $rc)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
exit $rc
