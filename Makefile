# SPDX-License-Identifier: GPL-2.0-or-later
# x9p build.  GNU make.  `make check` installs missing Debian packages first.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/x9p
SYSCONFDIR ?= /etc
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
override CFLAGS += -std=gnu11 -O2 -g $(WARN) $(SAN_FLAGS) -D_GNU_SOURCE -pthread \
	-DX9P_LIBEXECDIR=\"$(LIBEXECDIR)\" \
	-Ibackend -Ihelper -Itests/lib -I.
override LDFLAGS += $(SAN_FLAGS) -pthread

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
xensim_stub = $(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,$(notdir $@) \
	-Wl,--version-script=$(filter %.map,$^) -o $@ $(filter %.c,$^) $(LDFLAGS)


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
FUZZ_LDFLAGS = $(filter-out $(SAN_FLAGS),$(LDFLAGS)) $(FUZZ_FLAGS)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_LIB := $(B)/fuzz/libx9p.a
fuzzobj = $(patsubst %.c,$(B)/fuzz/obj/%.o,$(1))

BINS := $(B)/x9p-backend $(B)/x9p-worker $(if $(wildcard helper/main.c),$(B)/x9p-helper) $(if $(wildcard virtio-pci-shim/main.c),$(B)/x9p-vhost)
# The worker of test builds, with self-attacks compiled in (worker/attack.h).
WORKER_ATTACK := $(B)/tests/x9p-worker-attack

.PHONY: all deps check check-posix check-xen check-replay check-build fuzz run bench install clean FORCE
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build-all

BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
REPLAY := $(B)/tests/replay/x9p-replay
build-all: $(BINS) $(WORKER_ATTACK) $(BENCH_BINS) $(TEST_BINS) $(TEST_PROGS) $(VM_TOOLS) $(XENSIM_BINS) $(FUZZ_BINS) \
	$(REPLAY)

deps:
	@sh tools/deps.sh build

# Objects are rebuilt when the flags change (e.g. another PREFIX).
FLAGS_STAMP := $(B)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CFLAGS)' | cmp -s - $@ || echo '$(CFLAGS)' > $@
FORCE:

$(B)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

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
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -DX9P_SELF_ATTACK -MMD -MP -c $< -o $@

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
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lxenstore
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
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

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

# Just the real Xen system test (Xen 4.17 under QEMU, about 10-15 minutes
# here; also part of `make check`), see docs/testing-xen.md.
check-xen: deps
	@$(MAKE) --no-print-directory build-all
	@X9P_BUILD=$(B) prove --exec "$(CURDIR)/tests/tap-exec" tests/xen/test-xen-system.sh

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

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(B)/x9p-backend $(DESTDIR)$(BINDIR)/x9p-backend
	install -m 0755 $(B)/x9p-helper $(DESTDIR)$(LIBEXECDIR)/x9p-helper
	install -m 0755 $(B)/x9p-worker $(DESTDIR)$(LIBEXECDIR)/x9p-worker
	$(if $(wildcard $(B)/x9p-vhost),install -m 0755 $(B)/x9p-vhost $(DESTDIR)$(BINDIR)/x9p-vhost)
	$(if $(wildcard xenstore-scripts/x9p-attach),for s in x9p-attach x9p-detach x9p-list; do \
		sed 's|/usr/local/lib/x9p|$(PREFIX)/lib/x9p|' xenstore-scripts/$$s > $(DESTDIR)$(BINDIR)/$$s && \
		chmod 0755 $(DESTDIR)$(BINDIR)/$$s || exit 1; done)
	$(if $(wildcard xenstore-scripts/x9p-xs-common.sh),install -d $(DESTDIR)$(PREFIX)/lib/x9p && install -m 0644 xenstore-scripts/x9p-xs-common.sh $(DESTDIR)$(PREFIX)/lib/x9p/)
	$(if $(wildcard xenstore-scripts/x9p-qemu-dm),install -m 0755 xenstore-scripts/x9p-qemu-dm xenstore-scripts/xen-9pfsd $(DESTDIR)$(LIBEXECDIR)/)

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj $(B)/obj-attack $(B)/fuzz/obj -name '*.d' 2>/dev/null)
