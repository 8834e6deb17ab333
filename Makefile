# SPDX-License-Identifier: GPL-2.0-or-later
# x9p build.  GNU make.  `make check` installs missing Debian packages first.

# Where `make install` puts things (DESTDIR: a staging root, for packagers).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/x9p
# The xenstore scripts' shared shell library.
X9PLIBDIR ?= $(PREFIX)/lib/x9p
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/x9p
UNITDIR ?= $(PREFIX)/lib/systemd/system
# QEMU's vhost-user backend descriptors (docs/interop/vhost-user.json).
VHOSTUSERDIR ?= $(PREFIX)/share/qemu/vhost-user
INITDIR ?= $(SYSCONFDIR)/init.d
SANITIZE ?= 0

ifeq ($(SANITIZE),1)
B := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
	-DX9P_POISON
else
B := build
SAN_FLAGS :=
endif

CC ?= cc
PKGS := glib-2.0 libseccomp libcap-ng
# Linked only where the vfio-user codec is: not into every program.
JSON_PKG := json-glib-1.0
XEN_LIBS := -lxenstore -lxengnttab -lxenevtchn

# Evaluated once, on first use, i.e. after the deps step has run.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(JSON_PKG)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) gthread-2.0))$(PKG_LIBS)
JSON_LIBS = $(eval JSON_LIBS := $(shell pkg-config --libs $(JSON_PKG)))$(JSON_LIBS)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 -Wvla
# Debian's hardening flags (dpkg-buildflags with hardening=+all) by
# default; CPPFLAGS, CFLAGS and LDFLAGS given to make come first.  The
# sanitizers replace _FORTIFY_SOURCE's checks with their own.
# A packager's own _FORTIFY_SOURCE level wins (a second definition would
# be an error under -Werror); CF protection exists on x86 only.
HARDEN_CPPFLAGS := $(if $(SAN_FLAGS)$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN_CFLAGS := -fstack-protector-strong -fstack-clash-protection -fPIE \
	$(if $(filter x86_64-% i386-% i486-% i586-% i686-%,$(shell $(CC) -dumpmachine)),-fcf-protection)
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
override CFLAGS += -std=gnu11 -O2 -g $(WARN) $(SAN_FLAGS) $(HARDEN_CFLAGS) -D_GNU_SOURCE -pthread \
	-DX9P_LIBEXECDIR=\"$(LIBEXECDIR)\" \
	-Ibackend -Ihelper -Itests/lib -I.
override CPPFLAGS += $(HARDEN_CPPFLAGS)
override LDFLAGS += $(SAN_FLAGS) $(HARDEN_LDFLAGS) -pthread

# ---- sources -------------------------------------------------------------
LIB_SRCS := $(wildcard backend/9p/*.c backend/core/*.c backend/journal/*.c backend/fs/*.c backend/socket/*.c backend/log/*.c backend/privsep/*.c backend/record/*.c) \
	$(filter-out helper/main.c,$(wildcard helper/proxy-*.c))
XEN_SRCS := $(wildcard backend/xen/*.c)
HELPER_SRCS := $(filter-out helper/main.c $(wildcard helper/proxy-*.c),$(wildcard helper/*.c))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
# The vfio-user codec (and the socket helpers it shares with vhost-user),
# which its unit test and fuzzer take alone.
VFU_SRCS := virtio-pci-shim/vfu-msg.c virtio-pci-shim/vfu-version.c virtio-pci-shim/unix-io.c
TEST_C := $(wildcard tests/unit/test-*.c tests/proto/test-*.c tests/helper/test-*.c tests/vhost/test-*.c \
	tests/xen-sim/test-*.c)
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_C))
TEST_PROGS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/progs/*.c))
# Host-side tools of the guest tier (tests/vm/*.c).
VM_TOOLS := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/vm/*.c))
XENSIM := $(B)/tests/xen-sim
XENSIM_SUPPORT := $(filter-out tests/xen-sim/test-%.c tests/xen-sim/stub-%.c \
	tests/xen-sim/xs-tool.c,$(wildcard tests/xen-sim/*.c))
LIBXENSIM := $(B)/libx9pxensim.a
XENSIM_STUB_DEPS := tests/xen-sim/stub-conn.c tests/xen-sim/stub-conn.h tests/xen-sim/sim-proto.h
XENSIM_BINS := $(XENSIM)/lib/libxenstore.so.4 $(XENSIM)/lib/libxengnttab.so.1 \
	$(XENSIM)/lib/libxenevtchn.so.1 $(XENSIM)/xs-tool
xensim_stub = $(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -shared -Wl,-soname,$(notdir $@) \
	-Wl,--version-script=$(filter %.map,$^) -o $@ $(filter %.c,$^) $(filter-out -pie,$(LDFLAGS))


obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBX9P := $(B)/libx9p.a
LIBHELPER := $(B)/libx9phelper.a
LIBTEST := $(B)/libx9ptest.a
# Fuzzers run under ASan and UBSan in every build, make check's included:
# they link their own sanitized copy of the library (objects in $(B)/fuzz/),
# with answered requests poisoned (X9P_POISON).
FUZZ_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
	-DX9P_POISON
FUZZ_CFLAGS = $(filter-out $(SAN_FLAGS),$(CFLAGS)) $(FUZZ_FLAGS)
# (without _FORTIFY_SOURCE: the sanitizers check instead)
FUZZ_LDFLAGS = $(filter-out $(SAN_FLAGS),$(LDFLAGS)) $(FUZZ_FLAGS)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_LIB := $(B)/fuzz/libx9p.a
fuzzobj = $(patsubst %.c,$(B)/fuzz/obj/%.o,$(1))

BINS := $(B)/x9p-backend $(B)/x9p-worker $(if $(wildcard helper/main.c),$(B)/x9p-helper) $(if $(wildcard virtio-pci-shim/main.c),$(B)/x9p-vhost)
# The worker of test builds, with self-attacks compiled in (worker/attack.h).
WORKER_ATTACK := $(B)/tests/x9p-worker-attack

.PHONY: all deps check check-posix check-xen check-replay check-build fuzz run bench install uninstall man clean FORCE
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build-all

BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
REPLAY := $(B)/tests/replay/x9p-replay
build-all: $(BINS) $(WORKER_ATTACK) $(BENCH_BINS) $(TEST_BINS) $(TEST_PROGS) $(VM_TOOLS) $(XENSIM_BINS) $(FUZZ_BINS) \
	$(REPLAY)

deps:
	@sh tools/deps.sh build

# The release; a build from a git checkout adds its commit (core/version.h).
VERSION := 0.9
# (safe.directory: `sudo make install` in a user's checkout must see the
# same commit as the build, or it would rebuild everything as root.)
GIT_REV := $(shell git -c safe.directory='$(CURDIR)' -C '$(CURDIR)' rev-parse --short HEAD 2>/dev/null)
X9P_VERSION := $(VERSION)$(if $(GIT_REV),+g$(GIT_REV))
# Only version.o has it, rebuilt when it changes: a commit rebuilds nothing else.
VERSION_STAMP := $(B)/.version
$(VERSION_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(X9P_VERSION)' | cmp -s - $@ || echo '$(X9P_VERSION)' > $@
$(B)/obj/backend/core/version.o $(B)/fuzz/obj/backend/core/version.o: $(VERSION_STAMP)
$(B)/obj/backend/core/version.o $(B)/fuzz/obj/backend/core/version.o: \
	OBJ_FLAGS = -DX9P_VERSION='"$(X9P_VERSION)"'

# Objects are rebuilt when the flags change (e.g. another PREFIX).
FLAGS_STAMP := $(B)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(B)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(OBJ_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(OBJ_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(call fuzzobj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/fuzz/fuzz-%: $(B)/fuzz/obj/tests/fuzz/fuzz-%.o $(FUZZ_LIB)
	$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The monitor's side of a worker, fuzzed by a hostile one.
$(B)/fuzz/fuzz-monitor: $(B)/fuzz/obj/tests/fuzz/fuzz-monitor.o \
		$(call fuzzobj,backend/monitor/worker.c backend/monitor/session-keep.c) $(FUZZ_LIB)
	$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The vfio-user codec, fuzzed over a socketpair.
$(B)/fuzz/fuzz-vfu: $(B)/fuzz/obj/tests/fuzz/fuzz-vfu.o $(call fuzzobj,$(VFU_SRCS)) $(FUZZ_LIB)
	$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS)

$(LIBX9P): $(call obj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBHELPER): $(call obj,$(HELPER_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBTEST): $(call obj,$(TESTLIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The monitor (backend/monitor/) is linked into x9p-backend only, the
# worker (backend/worker/) into x9p-worker only: no Xen library, no spawning.
MONITOR_SRCS := $(wildcard backend/monitor/*.c)
# The vhost-user and vfio-user devices, without x9p-vhost's monitor (its
# main.c).
VHOST_DEV_SRCS := $(filter-out virtio-pci-shim/main.c,$(wildcard virtio-pci-shim/*.c))
WORKER_SRCS := $(wildcard backend/worker/*.c) $(VHOST_DEV_SRCS)

# The whole vfio-user device (the codec, the virtio-pci function, the
# virtqueues), fuzzed in process by a client that also plays the guest.
# The devices' test-build switches (worker/attack.h) come along, unarmed.
$(B)/fuzz/fuzz-vfu-dev: $(B)/fuzz/obj/tests/fuzz/fuzz-vfu-dev.o $(call fuzzobj,$(VHOST_DEV_SRCS)) \
		$(call fuzzobj,backend/worker/attack.c) \
		$(FUZZ_LIB)
	$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS)

# A vhost-user connection's kept set-up, adopted by the real device.
$(B)/fuzz/fuzz-vu-state: $(B)/fuzz/obj/tests/fuzz/fuzz-vu-state.o $(call fuzzobj,$(VHOST_DEV_SRCS)) \
		$(call fuzzobj,backend/worker/attack.c) \
		$(FUZZ_LIB)
	$(CC) $(FUZZ_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS)

$(B)/x9p-backend: $(call obj,backend/main.c $(MONITOR_SRCS) $(XEN_SRCS)) $(LIBX9P)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(if $(XEN_SRCS),$(XEN_LIBS))

# A worker maps grants and binds event channels; it never talks to XenStore.
WORKER_XEN_LIBS := -lxengnttab -lxenevtchn
# json-glib reads the vfio-user client's capabilities (VERSION).
$(B)/x9p-worker: $(call obj,$(WORKER_SRCS)) $(LIBHELPER) $(LIBX9P)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(WORKER_XEN_LIBS) $(JSON_LIBS)

$(B)/obj-attack/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -DX9P_SELF_ATTACK -MMD -MP -c $< -o $@

$(WORKER_ATTACK): $(call obj,$(filter-out backend/worker/attack.c,$(WORKER_SRCS))) \
		$(B)/obj-attack/backend/worker/attack.o $(LIBHELPER) $(LIBX9P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(WORKER_XEN_LIBS) $(JSON_LIBS)

$(B)/x9p-helper: $(call obj,helper/main.c) $(LIBHELPER) $(LIBX9P)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# x9p-vhost is a monitor too; its device runs in x9p-worker.
$(B)/x9p-vhost: $(call obj,virtio-pci-shim/main.c $(MONITOR_SRCS)) $(LIBX9P)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/bench/%: $(B)/obj/bench/%.o $(LIBTEST) $(LIBX9P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The memory benchmark drives the backend in the simulated Xen environment.
$(B)/bench/xen-memory: $(B)/obj/bench/xen-memory.o $(LIBXENSIM) $(LIBTEST) $(LIBHELPER) $(LIBX9P) \
		$(XENSIM_BINS)
	@mkdir -p $(dir $@)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PKG_LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(LIBTEST) $(LIBHELPER) $(LIBX9P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/unit/test-vfu-msg: $(B)/obj/tests/unit/test-vfu-msg.o $(call obj,$(VFU_SRCS)) \
		$(LIBTEST) $(LIBHELPER) $(LIBX9P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS)

# ---- simulated Xen (tests/xen-sim): stand-ins for libxenstore, libxengnttab
# and libxenevtchn with the real sonames and symbol versions, which the
# unmodified x9p-backend loads through LD_LIBRARY_PATH.
$(XENSIM)/lib/libxenstore.so.4: tests/xen-sim/stub-xenstore.c tests/xen-sim/stub-xenstore.map $(XENSIM_STUB_DEPS)
	@mkdir -p $(dir $@)
	$(xensim_stub)
$(XENSIM)/lib/libxengnttab.so.1: tests/xen-sim/stub-gnttab.c tests/xen-sim/stub-gnttab.map $(XENSIM_STUB_DEPS)
	@mkdir -p $(dir $@)
	$(xensim_stub)
$(XENSIM)/lib/libxenevtchn.so.1: tests/xen-sim/stub-evtchn.c tests/xen-sim/stub-evtchn.map $(XENSIM_STUB_DEPS)
	@mkdir -p $(dir $@)
	$(xensim_stub)
# Built against the real libxenstore, run against the stand-in.
$(XENSIM)/xs-tool: tests/xen-sim/xs-tool.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lxenstore
$(LIBXENSIM): $(call obj,$(XENSIM_SUPPORT))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
# Replays recordings against the build (tests/replay/replay.h).
$(REPLAY): $(call obj,$(wildcard tests/replay/*.c)) $(LIBXENSIM) $(LIBTEST) $(LIBHELPER) $(LIBX9P) \
		$(XENSIM_BINS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PKG_LIBS)

$(XENSIM)/test-%: $(B)/obj/tests/xen-sim/test-%.o $(LIBXENSIM) $(LIBTEST) $(LIBHELPER) $(LIBX9P)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Static programs that run inside the test guest (no sanitizers, no glib).
$(B)/tests/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $< 

$(B)/tests/vm/%: tests/vm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS)

# deps.sh vfu: what tests/vfu/qemu-trixie.sh needs to give the tests
# trixie-backports' QEMU (the one with vfio-user-pci).
check: deps
	@sh tools/deps.sh vfu
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) sh tests/run-all.sh

# Just the POSIX differential matrix in guest VMs (about 8 minutes here; also
# part of `make check`), see docs/testing-vm.md.
check-posix: deps
	@sh tools/deps.sh vm
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) prove --exec "$(CURDIR)/tests/tap-exec" tests/vm/test-vm-posix.sh

# Just the real Xen system tests (Xen 4.17 under QEMU: the scenario, then
# the systemd boot; about 9 minutes here; also part of `make check`), see
# docs/testing-xen.md.
check-xen: deps
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) prove --exec "$(CURDIR)/tests/tap-exec" tests/xen/test-xen-system.sh \
		tests/xen/test-xen-systemd.sh

# Just the replay of the recorded corpus (tests/replay/, docs/trace-format.md;
# also part of `make check`).
check-replay: deps
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) sh tests/replay/test-replay.sh

# The fuzzers alone, for longer than make check gives them (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 600
fuzz: deps
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) X9P_FUZZ_SECONDS=$(FUZZ_SECONDS) prove --exec "$(CURDIR)/tests/tap-exec" tests/fuzz/test-fuzz.sh

run: deps
	@sh tools/deps.sh vm
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) sh tests/vm/run-demo.sh

bench: deps
	@sh tools/deps.sh vm
	@sh tools/deps.sh bench
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) sh bench/run.sh

# Man pages: each program's --help and --version, with man/NAME.h2m for
# what --help does not say (help2man).
MAN_PROGS := x9p-backend x9p-vhost x9p-helper
MAN_SCRIPTS := x9p-attach x9p-detach x9p-list
MANS := $(patsubst %,$(B)/man/%.8,$(MAN_PROGS) $(MAN_SCRIPTS))
HELP2MAN = help2man --no-info --section=8 --version-string='$(X9P_VERSION)' --include=$<
$(B)/man/%.8: man/%.h2m $(B)/% $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(HELP2MAN) --output=$@ ./$(B)/$*
$(B)/man/%.8: man/%.h2m xenstore-scripts/% xenstore-scripts/x9p-xs-common.sh $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(HELP2MAN) --output=$@ ./xenstore-scripts/$*
man: $(MANS)

# Installs the programs, the xenstore scripts, the service files (systemd
# units, the sysvinit script, /etc/default/x9p-backend unless one is
# there), the man pages and the docs.  Builds the programs only (never the
# tests), never runs apt, creates no user or directory a package would
# make at configure time.  Paths in the service files and scripts follow
# PREFIX, SYSCONFDIR and the directory variables above.
INSTALL_SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	-e 's|@X9PLIBDIR@|$(X9PLIBDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@VERSION@|$(X9P_VERSION)|g'
XS_SCRIPTS := x9p-attach x9p-detach x9p-list
install: $(BINS) $(MANS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(X9PLIBDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(INITDIR) $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(VHOSTUSERDIR)
	install -m 0755 $(B)/x9p-backend $(B)/x9p-vhost $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/x9p-helper $(B)/x9p-worker $(DESTDIR)$(LIBEXECDIR)/
	for s in $(XS_SCRIPTS); do \
		$(INSTALL_SUBST) xenstore-scripts/$$s >$(DESTDIR)$(BINDIR)/$$s && \
		chmod 0755 $(DESTDIR)$(BINDIR)/$$s || exit 1; done
	$(INSTALL_SUBST) xenstore-scripts/x9p-xs-common.sh >$(DESTDIR)$(X9PLIBDIR)/x9p-xs-common.sh
	for s in x9p-qemu-dm xen-9pfsd; do \
		$(INSTALL_SUBST) xenstore-scripts/$$s >$(DESTDIR)$(LIBEXECDIR)/$$s && \
		chmod 0755 $(DESTDIR)$(LIBEXECDIR)/$$s || exit 1; done
	for u in x9p-backend.service x9p-vhost@.service; do \
		$(INSTALL_SUBST) xenstore-scripts/$$u >$(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	$(INSTALL_SUBST) xenstore-scripts/x9p-backend.init >$(DESTDIR)$(INITDIR)/x9p-backend
	$(INSTALL_SUBST) virtio-pci-shim/50-x9p-vhost.json >$(DESTDIR)$(VHOSTUSERDIR)/50-x9p-vhost.json
	chmod 0755 $(DESTDIR)$(INITDIR)/x9p-backend
	# An administrator's settings survive a reinstall.
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/x9p-backend ] || \
		install -m 0644 xenstore-scripts/x9p-backend.default $(DESTDIR)$(SYSCONFDIR)/default/x9p-backend
	install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md LICENSE docs/*.md $(DESTDIR)$(DOCDIR)/

# Removes what install put there, but /etc/default/x9p-backend (an
# administrator's settings), and the directories it made if empty.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,x9p-backend x9p-vhost $(XS_SCRIPTS)) \
		$(addprefix $(DESTDIR)$(LIBEXECDIR)/,x9p-helper x9p-worker x9p-qemu-dm xen-9pfsd) \
		$(DESTDIR)$(X9PLIBDIR)/x9p-xs-common.sh \
		$(addprefix $(DESTDIR)$(UNITDIR)/,x9p-backend.service x9p-vhost@.service) \
		$(DESTDIR)$(INITDIR)/x9p-backend $(DESTDIR)$(VHOSTUSERDIR)/50-x9p-vhost.json \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MANS))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,README.md LICENSE $(notdir $(wildcard docs/*.md)))
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(X9PLIBDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj $(B)/obj-attack $(B)/fuzz/obj -name '*.d' 2>/dev/null)
