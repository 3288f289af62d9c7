#!/usr/bin/env bash
# ci/run-demo.sh: the main job. Runs examples/demo.tcl under Wine: a TLS
# client fetching a page from openssl s_server -www with verification, and
# a TLS server answering openssl s_client and curl.
set -u
. "$(dirname "$0")/test-env.sh"

step "running the demo under Wine"
wine "$TCLSH_WIN" examples/demo.tcl 2>&1 | sed -u 's/\r$//'
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || fail "the demo failed (exit $rc)"
