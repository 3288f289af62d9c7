#!/usr/bin/env bash
# ci/run-bench.sh: runs test/bench/bench.tcl under Wine with the native
# peers of test-env.sh, on a 64 MiB data file made here. What only Linux
# knows (CPU, cores, Wine version) goes to the script in BENCH_* variables;
# BENCH_MARKER is a unique word on the command line by which the peer
# helper finds the benchmark's Wine process in /proc.
# BENCH_REPS, BENCH_HANDSHAKES, BENCH_CLIENTS, BENCH_ONLY (a list of bulk
# native handshake concurrency engine) shorten a run while working on one part;
# BENCH_LIB=DIR (a Windows or relative path) benchmarks another build.
set -u
. "$(dirname "$0")/test-env.sh"

step "making the 64 MiB benchmark file"
mkdir -p build/bench
[ -f build/bench/data.bin ] || head -c $((64 * 1024 * 1024)) /dev/urandom > build/bench/data.bin

export BENCH_CPU BENCH_CORES BENCH_WINE BENCH_OS BENCH_MARKER BENCH_LOAD
BENCH_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
BENCH_CORES=$(nproc)
BENCH_WINE=$(wine --version)
BENCH_OS="$(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r)"
# Other work on the machine skews every figure: the load when we start.
BENCH_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_MARKER=bench-main-$$-$(date +%s)

step "running the benchmarks under Wine (about 5 minutes)"
start=$(date +%s)
timeout 600 wine "$TCLSH_WIN" test/bench/bench.tcl "$BENCH_MARKER" 2>&1 | stdbuf -oL tr -d '\r'
rc=${PIPESTATUS[0]}
echo "make bench: $(( $(date +%s) - start )) s under Wine"
exit "$rc"
