# ci/test-env.sh: sourced by run-tests.sh and run-demo.sh. Prepares what
# scripts under Wine need to meet native peers: the test certificates, the
# test CA trusted in the Wine prefix, and the peer helper (test/peerd.tcl,
# native tclsh) whose port goes to SCHANNEL_PEERD. Everything started is
# stopped on exit.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/wine-env.sh"
cd "$PROJECT_ROOT" || fail "cannot enter $PROJECT_ROOT"

TCLSH_WIN=$BUILD_DIR/tcl-win/bin/tclsh86.exe
TEST_TMP=$BUILD_DIR/test-tmp
mkdir -p "$TEST_TMP"

step "generating test certificates"
bash test/make-certs.sh build/test-certs || fail "openssl could not make the test certificates"

step "trusting the test CA in the Wine prefix"
wine "$TCLSH_WIN" test/trust-ca.tcl || fail "could not add the test CA to the Root store"

step "starting the peer helper"
rm -f "$TEST_TMP/peerd.port"
coproc PEERD { exec tclsh test/peerd.tcl "$TEST_TMP/peerd.port"; }
for _ in $(seq 100); do
    [ -f "$TEST_TMP/peerd.port" ] && break
    sleep 0.1
done
[ -f "$TEST_TMP/peerd.port" ] || fail "the peer helper did not start"
export SCHANNEL_PEERD
SCHANNEL_PEERD=$(cat "$TEST_TMP/peerd.port")

stop_test_env() {
    # Closing its stdin makes the peer helper kill its peers and exit.
    if [ -n "${PEERD_PID:-}" ]; then
        exec {PEERD[1]}>&-
        wait "$PEERD_PID" 2>/dev/null
    fi
    wineserver -k 2>/dev/null
}
trap stop_test_env EXIT
