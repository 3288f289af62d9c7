#!/usr/bin/env bash
# ci/build-tcl.sh: cross-build Tcl 8.6 for Windows (x86_64) from Debian's
# tcl8.6 source package into build/tcl-win, with Tcl's own test commands
# (the Tcltest package: testthread, testchannel cut/splice), which the
# thread tests use to move channels between threads (Debian's source has
# no Thread extension). Cached: does nothing when build/tcl-win already
# has tclsh86.exe, the stubs library, tcltest and the Tcltest package.
set -u
. "$(dirname "$0")/lib.sh"

PREFIX=$BUILD_DIR/tcl-win
SRC_DIR=$BUILD_DIR/tcl-src
TESTPKG_DIR=$PREFIX/lib/Tcltest$TCL_VERSION

# install_testpkg: builds Tcl's test commands in $SRC_DIR/obj (configured
# already) and installs them as the package Tcltest, which
# "package require Tcltest" then loads into a Windows tclsh86.exe.
install_testpkg() {
    step "building Tcl's test commands (package Tcltest)"
    (cd "$SRC_DIR/obj" && make tcltest > tcltest.log 2>&1) ||
        fail "make tcltest failed; see $SRC_DIR/obj/tcltest.log"
    [ -f "$SRC_DIR/obj/tcltest86.dll" ] || fail "tcltest86.dll not built"
    step "installing package Tcltest into $TESTPKG_DIR"
    mkdir -p "$TESTPKG_DIR"
    run cp "$SRC_DIR/obj/tcltest86.dll" "$TESTPKG_DIR/"
    printf 'package ifneeded Tcltest %s [list load [file join $dir tcltest86.dll] Tcltest]\n' \
        "$TCL_VERSION" > "$TESTPKG_DIR/pkgIndex.tcl"
}

step "checking Windows Tcl in $PREFIX"
if [ -x "$PREFIX/bin/tclsh86.exe" ] && [ -f "$PREFIX/lib/libtclstub86.a" ] &&
   ls "$PREFIX"/lib/tcl8/8.5/tcltest-*.tm >/dev/null 2>&1; then
    if [ -f "$TESTPKG_DIR/tcltest86.dll" ] && [ -f "$TESTPKG_DIR/pkgIndex.tcl" ]; then
        echo "    already built"
        exit 0
    fi
    if [ -f "$SRC_DIR/obj/Makefile" ] && [ -f "$SRC_DIR/obj/tcl86.dll" ]; then
        echo "    built; Tcl's test commands missing"
        install_testpkg
        exit 0
    fi
    echo "    built without Tcl's test commands and no build tree left: rebuilding"
fi

mkdir -p "$SRC_DIR"
tarball=$(ls "$SRC_DIR"/${TCL_SRC_PACKAGE}_${TCL_VERSION}*.orig.tar.gz 2>/dev/null | head -1)
if [ -z "$tarball" ]; then
    step "downloading Debian source package $TCL_SRC_PACKAGE"
    if ! (cd "$SRC_DIR" && apt-get source --download-only "$TCL_SRC_PACKAGE" >/dev/null 2>&1); then
        [ "$(id -u)" = 0 ] || fail "no deb-src entry for $TCL_SRC_PACKAGE; run as root to add one"
        step "adding a deb-src entry for bookworm"
        cat > /etc/apt/sources.list.d/schannel-bookworm-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
        run apt-get update -q
        step "downloading Debian source package $TCL_SRC_PACKAGE"
        (cd "$SRC_DIR" && apt-get source --download-only "$TCL_SRC_PACKAGE") ||
            fail "apt-get source $TCL_SRC_PACKAGE failed"
    fi
    tarball=$(ls "$SRC_DIR"/${TCL_SRC_PACKAGE}_*.orig.tar.gz 2>/dev/null | head -1)
    [ -n "$tarball" ] || fail "no ${TCL_SRC_PACKAGE} orig tarball in $SRC_DIR"
fi

step "unpacking $(basename "$tarball")"
rm -rf "$SRC_DIR/unpacked"
mkdir -p "$SRC_DIR/unpacked"
run tar -xzf "$tarball" -C "$SRC_DIR/unpacked"
top=$(ls -d "$SRC_DIR"/unpacked/tcl*/ | head -1)
[ -d "$top/win" ] || fail "source tree $top has no win/ directory"

step "configuring Tcl for x86_64-w64-mingw32"
rm -rf "$SRC_DIR/obj"
mkdir -p "$SRC_DIR/obj"
cd "$SRC_DIR/obj" || fail "cannot enter $SRC_DIR/obj"
run "$top/win/configure" --host=x86_64-w64-mingw32 --enable-64bit \
    --enable-threads --prefix="$PREFIX" > configure.log 2>&1 ||
    fail "configure failed; see $SRC_DIR/obj/configure.log"

step "building Tcl (about a minute)"
make -j"$(nproc)" > make.log 2>&1 || fail "make failed; see $SRC_DIR/obj/make.log"
step "installing Tcl into $PREFIX"
make install > install.log 2>&1 || fail "make install failed; see $SRC_DIR/obj/install.log"
[ -x "$PREFIX/bin/tclsh86.exe" ] || fail "tclsh86.exe not found after install"
echo "    built $(ls "$PREFIX"/bin/tclsh86*.exe)"
install_testpkg
