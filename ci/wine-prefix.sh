#!/usr/bin/env bash
# ci/wine-prefix.sh: create the project-local Wine prefix build/wineprefix
# with the null graphics driver (without it Tcl's sockets are unavailable).
# Cached: a prefix that has the setting is left alone.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wine-env.sh"

step "checking Wine prefix $WINEPREFIX"
if [ -f "$WINEPREFIX/.schannel-ready" ]; then
    echo "    ready"
    exit 0
fi
step "creating Wine prefix (10-20 s)"
mkdir -p "$WINEPREFIX"
wineboot -i >"$BUILD_DIR/wineboot.log" 2>&1 || fail "wineboot failed; see $BUILD_DIR/wineboot.log"
wineserver -w
step "setting the null graphics driver"
run wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f >/dev/null 2>&1
wineserver -w
touch "$WINEPREFIX/.schannel-ready"
echo "    done"
