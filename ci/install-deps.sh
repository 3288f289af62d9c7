#!/usr/bin/env bash
# ci/install-deps.sh: install the host packages the build and tests need,
# idempotently. Installs nothing that is already there. Needs root.
#   - x86_64 mingw-w64 cross compiler, openssl, gnutls-bin, curl, dpkg-dev,
#     python3 (test peers), tcllib (dtplite for the manual), zip and unzip
#     (make dist and its test)
#   - Wine >= 10 (from Debian trixie with a low pin priority on bookworm;
#     the trixie core libraries it needs, libc6 first, come with it)
set -u
. "$(dirname "$0")/lib.sh"

APT_UPDATED=0
apt_update_once() {
    if [ $APT_UPDATED = 0 ]; then
        run apt-get update -q
        APT_UPDATED=1
    fi
}

# need_cmd CMD PACKAGE: install PACKAGE when CMD is not on PATH.
missing=()
need_cmd() {
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

step "checking host tools"
need_cmd x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
need_cmd x86_64-w64-mingw32-windres binutils-mingw-w64-x86-64
need_cmd openssl openssl
need_cmd gnutls-cli gnutls-bin
need_cmd curl curl
need_cmd dpkg-source dpkg-dev
need_cmd python3 python3
need_cmd make make
need_cmd tclsh tcl
need_cmd dtplite tcllib
need_cmd zip zip
need_cmd unzip unzip
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}; run as root to install them"
    step "installing ${missing[*]}"
    apt_update_once
    run apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "    all present"
fi

# wine_major: print the major version of the installed wine, or 0.
wine_major() {
    local v
    v=$(wine --version 2>/dev/null) || { echo 0; return; }
    v=${v#wine-}
    echo "${v%%.*}"
}

step "checking Wine >= $MIN_WINE_MAJOR"
if [ "$(wine_major)" -ge $MIN_WINE_MAJOR ] 2>/dev/null; then
    echo "    $(wine --version 2>/dev/null) present"
else
    [ "$(id -u)" = 0 ] || fail "Wine >= $MIN_WINE_MAJOR is missing; run as root to install it"
    apt_update_once
    candidate=$(apt-cache policy wine 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -n "$candidate" ] && [ "${candidate%%.*}" -ge $MIN_WINE_MAJOR ] 2>/dev/null; then
        step "installing Wine $candidate from the system's archive"
        run apt-get install -y -q wine wine64
    else
        step "adding Debian trixie (pin priority 100) for Wine only"
        cat > /etc/apt/sources.list.d/schannel-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        cat > /etc/apt/preferences.d/schannel-trixie-pin <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
        APT_UPDATED=0
        apt_update_once
        # Wine 10 needs trixie's libc6: the packages that depend on it
        # (about 30 core ones, base-files too) move to trixie with it.
        step "installing Wine from trixie (with the trixie core libraries it needs)"
        run apt-get install -y -q -t trixie wine wine64
    fi
    [ "$(wine_major)" -ge $MIN_WINE_MAJOR ] 2>/dev/null ||
        fail "installed Wine is '$(wine --version 2>&1)', need >= $MIN_WINE_MAJOR"
    echo "    $(wine --version 2>/dev/null) installed"
fi
