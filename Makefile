# Makefile: the only entry point. Builds the schannel DLL with mingw-w64,
# installs what is missing (ci/), runs the demo, the tests and benchmarks.
#
#   make            build build/lib/schannel<VERSION>/ (DLL + pkgIndex.tcl)
#   make deps       install host packages, Wine, Windows Tcl, Wine prefix
#   make demo       the main job: TLS client and server against OpenSSL
#   make test       all tcltest suites under Wine, with a summary line
#   make bench      benchmarks with same-run baselines (build/bench/)
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

.PHONY: all deps test demo bench clean

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

$(PKGDIR)/$(DLL): $(OBJECTS)
	@mkdir -p $(PKGDIR)
	$(CC) $(LDFLAGS) -o $@ $(OBJECTS) $(LIBS)

$(PKGDIR)/pkgIndex.tcl: tcl/pkgIndex.tcl.in Makefile
	@mkdir -p $(PKGDIR)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@DLL@/$(DLL)/g' $< > $@

deps:
	bash ci/install-deps.sh
	bash ci/build-tcl.sh
	bash ci/wine-prefix.sh

test: deps all
	bash ci/run-tests.sh

demo: deps all
	bash ci/run-demo.sh

bench: deps all
	bash ci/run-bench.sh

clean:
	rm -rf $(OBJDIR) $(BUILD)/lib $(BUILD)/test-certs $(BUILD)/test-tmp
