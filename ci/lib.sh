# ci/lib.sh: shared helpers for the set-up scripts (sourced, not run).
# step NAME: announce a step; fail MSG: report which step failed and why.

CI_STEP="(start)"

step() {
    CI_STEP="$*"
    printf '==> %s\n' "$*"
}

fail() {
    printf 'FAILED in step "%s": %s\n' "$CI_STEP" "$*" >&2
    exit 1
}

# run CMD...: run a command, failing the current step if it fails.
run() {
    "$@" || fail "command failed (exit $?): $*"
}

# Root of the project tree (the parent of ci/).
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$PROJECT_ROOT/build}

# Packages and versions the project depends on; one place to change them.
TCL_SRC_PACKAGE=tcl8.6
TCL_VERSION=8.6.13
MIN_WINE_MAJOR=10

export DEBIAN_FRONTEND=noninteractive
