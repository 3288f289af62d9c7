# Makefile: the only entry point. Builds the schannel DLL with mingw-w64,
# installs what is missing (ci/), runs the demo, the tests and benchmarks.
#
#   make            build build/lib/schannel<VERSION>/ (DLL + pkgIndex.tcl)
#   make deps       install host packages, Wine, Windows Tcl, Wine prefix
#   make demo       the main job: TLS client and server against OpenSSL
#   make test       all tcltest suites under Wine, with a summary line
#   make bench      benchmarks with same-run baselines (build/bench/)
#   make doc        the manual: doc/schannel.man -> .html, .n, .md (dtplite)
#   make dist       dist/schannel-VERSION-win64.zip for a Windows Tcl's lib/
#   make install    the same layout into $(DESTDIR)$(PREFIX)/lib (TEA style)
#   make check-dll  the DLL imports only system DLLs (no libgcc/winpthread)
#   make clean      remove build outputs (keeps the Windows Tcl and prefix)

VERSION   := 0.1.0
DLLVER    := $(subst .,,$(VERSION))
HOST      := x86_64-w64-mingw32
CC        := $(HOST)-gcc
BUILD     := build
TCLWIN    := $(BUILD)/tcl-win
PKGDIR    := $(BUILD)/lib/schannel$(VERSION)
DLL       := schannel$(DLLVER).dll
OBJDIR    := $(BUILD)/obj

SOURCES   := $(wildcard src/*.c)
HEADERS   := $(wildcard src/*.h)
OBJECTS   := $(patsubst src/%.c,$(OBJDIR)/%.o,$(SOURCES))

CFLAGS    ?= -O2 -g
CFLAGS    += -std=c99 -Wall -Wextra -Werror=implicit-function-declaration \
             -DUSE_TCL_STUBS -DPACKAGE_VERSION=\"$(VERSION)\" \
             -D_WIN32_WINNT=0x0A00 -DUNICODE -D_UNICODE \
             -I$(TCLWIN)/include
LDFLAGS   += -shared -static-libgcc -Wl,--no-insert-timestamp
LIBS      := $(TCLWIN)/lib/libtclstub86.a -lsecur32 -lcrypt32 -lws2_32
WINDRES   := $(HOST)-windres
OBJDUMP   := $(HOST)-objdump
RESOBJ    := $(OBJDIR)/schannel_rc.o
comma     := ,

# Installation (make install): a Windows Tcl tree, e.g. PREFIX=/mnt/c/Tcl.
PREFIX    ?= $(BUILD)/install
DESTDIR   ?=
DISTNAME  := schannel-$(VERSION)-win64
DISTZIP   := dist/$(DISTNAME).zip
DOCS      := doc/schannel.html doc/schannel.n doc/schannel.md

.PHONY: all deps test demo bench clean doc doc-tools dist install check-dll

TWAPIDIR  := $(BUILD)/lib/twapi_crypto
TWAPIFILES := $(TWAPIDIR)/pkgIndex.tcl $(TWAPIDIR)/twapi_crypto.tcl

all: $(PKGDIR)/$(DLL) $(PKGDIR)/pkgIndex.tcl $(TWAPIFILES)

$(TWAPIDIR)/%: tcl/twapi_crypto/%
	@mkdir -p $(TWAPIDIR)
	cp $< $@

# The Windows Tcl (headers, stubs library, tclsh86.exe) comes from ci/.
$(TCLWIN)/lib/libtclstub86.a:
	bash ci/install-deps.sh
	bash ci/build-tcl.sh

$(OBJDIR)/%.o: src/%.c $(HEADERS) $(TCLWIN)/lib/libtclstub86.a
	@mkdir -p $(OBJDIR)
	$(CC) $(CFLAGS) -c -o $@ $<

# Version information resource; the numbers come from VERSION.
$(RESOBJ): src/schannel.rc Makefile $(TCLWIN)/lib/libtclstub86.a
	@mkdir -p $(OBJDIR)
	$(WINDRES) -DVERSION_STR='\"$(VERSION)\"' -DDLL_NAME='\"$(DLL)\"' \
	    -DVERSION_NUM=$(subst .,$(comma),$(VERSION)),0 $< -o $@

$(PKGDIR)/$(DLL): $(OBJECTS) $(RESOBJ)
	@mkdir -p $(PKGDIR)
	$(CC) $(LDFLAGS) -o $@ $(OBJECTS) $(RESOBJ) $(LIBS)

$(PKGDIR)/pkgIndex.tcl: tcl/pkgIndex.tcl.in Makefile
	@mkdir -p $(PKGDIR)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@DLL@/$(DLL)/g' $< > $@

deps:
	bash ci/install-deps.sh
	bash ci/build-tcl.sh
	bash ci/wine-prefix.sh

test: deps all dist
	bash ci/run-tests.sh

demo: deps all
	bash ci/run-demo.sh

bench: deps all $(BUILD)/bench/engine_bench.exe
	bash ci/run-bench.sh

# The sans-I/O engine on its own, for the benchmarks (test/bench/engine.tcl).
$(BUILD)/bench/engine_bench.exe: test/bench/engine_bench.c src/engine.c src/bytebuf.c $(HEADERS)
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -std=c99 -Wall -Wextra -DUNICODE -D_UNICODE -D_WIN32_WINNT=0x0A00 \
	    -static-libgcc -o $@ test/bench/engine_bench.c src/engine.c src/bytebuf.c \
	    -lsecur32 -lcrypt32

# The manual: doc/schannel.man is the source; the outputs are committed
# so that they can be read in the repository.
doc: $(DOCS)

# dtplite comes from tcllib (ci/install-deps.sh installs it when missing).
doc-tools:
	@command -v dtplite >/dev/null 2>&1 || bash ci/install-deps.sh

doc/schannel.html: doc/schannel.man | doc-tools
	dtplite -o $@ html $<
doc/schannel.n: doc/schannel.man | doc-tools
	dtplite -o $@ nroff $<
doc/schannel.md: doc/schannel.man | doc-tools
	printf '<!-- Generated from doc/schannel.man by make doc: do not edit. -->\n\n' > $@
	dtplite -o $@.tmp markdown $<
	cat $@.tmp >> $@ && rm -f $@.tmp

# The DLL must load on a bare Windows: it may import system DLLs only.
check-dll: $(PKGDIR)/$(DLL)
	@bad=$$($(OBJDUMP) -p $< | awk '/DLL Name:/ {print $$3}' | \
	    grep -viE '^(kernel32|msvcrt|secur32|crypt32|ws2_32|advapi32|user32)\.dll$$'); \
	if [ -n "$$bad" ]; then echo "$(DLL) needs non-system DLLs: $$bad"; exit 1; fi; \
	echo "$(DLL) imports only system DLLs"

# stage-layout DIR: the package directories as they go into a Tcl lib/.
define stage-layout
	rm -rf $(1) && mkdir -p $(1)/schannel$(VERSION) $(1)/twapi_crypto
	cp $(PKGDIR)/$(DLL) $(PKGDIR)/pkgIndex.tcl $(1)/schannel$(VERSION)/
	$(HOST)-strip --strip-debug $(1)/schannel$(VERSION)/$(DLL)
	cp LICENSE $(1)/schannel$(VERSION)/license.terms
	cp doc/schannel.html $(1)/schannel$(VERSION)/
	cp $(TWAPIFILES) $(1)/twapi_crypto/
endef

dist: $(DISTZIP)

$(DISTZIP): all check-dll doc/schannel.html LICENSE
	$(call stage-layout,$(BUILD)/dist/$(DISTNAME))
	@mkdir -p dist && rm -f $@
	cd $(BUILD)/dist/$(DISTNAME) && zip -qr -X $(CURDIR)/$@ schannel$(VERSION) twapi_crypto
	@echo "built $@"

install: all check-dll
	@mkdir -p $(DESTDIR)$(PREFIX)/lib
	$(call stage-layout,$(BUILD)/install-stage)
	rm -rf $(DESTDIR)$(PREFIX)/lib/schannel$(VERSION) $(DESTDIR)$(PREFIX)/lib/twapi_crypto
	cp -R $(BUILD)/install-stage/schannel$(VERSION) $(BUILD)/install-stage/twapi_crypto \
	    $(DESTDIR)$(PREFIX)/lib/
	@echo "installed into $(DESTDIR)$(PREFIX)/lib"

clean:
	rm -rf $(OBJDIR) $(BUILD)/lib $(BUILD)/test-certs $(BUILD)/test-tmp $(BUILD)/dist dist
