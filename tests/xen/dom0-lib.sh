# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# dom0 side of the Xen system test: TAP bookkeeping, domU control through the
# console, XenStore helpers and the two 9pfs backends (x9p and QEMU). Sourced
# by scenario.sh; bash.
#
# domU control: xenconsoled gives each guest a pty (XenStore
# /local/domain/D/console/tty) and logs the guest's output to
# /var/log/xen/console/guest-NAME.log. dom0 writes "@@CMD id command" lines
# to the pty; the guest's /init (domu-init.sh) runs each command and frames
# its output with "@@BEGIN id" / "@@END id status", which gcmd waits for in
# the log. A background reader holds the pty open and drains it.

OUT=/x9ptest/out
W=/tmp/x9ptest
mkdir -p "$W" "$OUT"
: >"$OUT/results.tap"
: >"$OUT/bench.txt"

now() { cut -d' ' -f1 /proc/uptime; }
upsec() { cut -d. -f1 /proc/uptime; }
# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s until it succeeds
# (status 0) or SECONDS of uptime passed (status 1). A bound against hanging,
# never a timing check.
wait_for() {
	local end=$(($(upsec) + $1))
	shift
	until "$@"; do
		[ "$(upsec)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
say() { echo "[dom0 $(now)s] $*"; }
# Seconds between two now() values, one decimal.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- TAP ------------------------------------------------------------------
# Tests are numbered in the order they run; the plan is fixed up front.
TESTNO=0
tap() {
	echo "$*" | tee -a "$OUT/results.tap"
}
plan() {
	tap "1..$1"
}
# run_test "description" function [args]: the function returns 0 (pass),
# 1 (fail) or 77 (skip, reason in SKIP_REASON); any fail() call during it
# fails the test whatever it returns. What it prints becomes TAP
# diagnostics; the time it took is printed too.
run_test() {
	local desc=$1 t0 t1 rc
	shift
	TESTNO=$((TESTNO + 1))
	SKIP_REASON=
	FAILED=0
	t0=$(now)
	say "test $TESTNO: $desc"
	"$@" >"$W/test-$TESTNO.log" 2>&1
	rc=$?
	t1=$(now)
	[ "$FAILED" -eq 0 ] || rc=1
	case $rc in
	0) tap "ok $TESTNO - $desc" ;;
	77) tap "ok $TESTNO - $desc # SKIP $SKIP_REASON" ;;
	*)
		tap "not ok $TESTNO - $desc"
		tail -n 40 "$W/test-$TESTNO.log" | sed 's/^/#   /' | tee -a "$OUT/results.tap"
		;;
	esac
	tap "# time: test $TESTNO took $(elapsed "$t0" "$t1") s"
	cp "$W/test-$TESTNO.log" "$OUT/" 2>/dev/null
	return 0
}
skip() {
	SKIP_REASON=$*
	return 77
}
# Fails the current test with a message (use as: cond || fail "why"); the
# test goes on, so later steps still show what they see.
fail() {
	echo "FAIL: $*"
	FAILED=1
	return 1
}
phase() {
	tap "# time: phase $1 at $(now) s (dom0 uptime)"
}

# ---- domUs ----------------------------------------------------------------
DOMU_KERNEL=/x9ptest/domu/vmlinuz
DOMU_INITRD=/x9ptest/domu/initrd.gz
CMDID=0

conlog() { echo "/var/log/xen/console/guest-$1.log"; }
domid_of() { xl domid "$1" 2>/dev/null; }

# domu_create NAME [extra xl.cfg lines...]: create a PV domU (1 vCPU, 256 MiB).
domu_create() {
	local name=$1 cfg=$W/$1.cfg
	shift
	cat >"$cfg" <<-EOF
	name = "$name"
	type = "pv"
	kernel = "$DOMU_KERNEL"
	ramdisk = "$DOMU_INITRD"
	extra = "console=hvc0 loglevel=4"
	memory = 256
	vcpus = 1
	on_poweroff = "destroy"
	on_crash = "preserve"
	EOF
	local l
	for l in "$@"; do echo "$l" >>"$cfg"; done
	rm -f "$(conlog "$name")"
	xl create "$cfg" >"$W/$name.create.log" 2>&1 || {
		cat "$W/$name.create.log"
		return 1
	}
}

# domu_ready NAME: wait (bounded) for the guest's "@@READY", then attach the
# console channel.
domu_ready() {
	local name=$1 log id tty
	log=$(conlog "$name")
	wait_for 150 grep -q '@@READY' "$log" 2>/dev/null || {
		echo "domU $name: no @@READY on its console"
		tail -n 30 "$log" 2>/dev/null
		return 1
	}
	id=$(domid_of "$name")
	tty=$(xenstore-read "/local/domain/$id/console/tty")
	[ -c "$tty" ] || { echo "domU $name: console pty '$tty' missing"; return 1; }
	echo "$tty" >"$W/$name.tty"
	cat "$tty" >/dev/null 2>&1 &
	echo $! >"$W/$name.drain"
	say "domU $name (id $id) ready, console $tty"
}

# gcmd NAME BOUND COMMAND: run COMMAND in the guest; its output goes to
# $W/gout, also printed; returns its exit status, or 124 when no "@@END"
# came within BOUND seconds (the guest is then presumed stuck).
gcmd() {
	local name=$1 bound=$2 cmd=$3 id log tty end
	CMDID=$((CMDID + 1))
	id=$CMDID
	log=$(conlog "$name")
	tty=$(cat "$W/$name.tty" 2>/dev/null) || { echo "domU $name: no console"; return 125; }
	# One line per command: the guest reads its console line by line.
	printf '@@CMD %s %s\n' "$id" "$(printf '%s' "$cmd" | tr '\n\t' '  ')" >"$tty"
	wait_for "$bound" grep -q "^@@END $id " "$log" 2>/dev/null
	tr -d '\r' <"$log" | sed -n "/^@@BEGIN $id\$/,/^@@END $id /p" | sed '1d;$d' >"$W/gout"
	sed "s/^/  [$name] /" "$W/gout"
	end=$(tr -d '\r' <"$log" | grep "^@@END $id " | head -n 1)
	if [ -z "$end" ]; then
		echo "domU $name: no answer within $bound s to: $cmd"
		return 124
	fi
	return "${end##* }"
}

domu_destroy() {
	local name=$1
	xl destroy "$name" 2>/dev/null
	[ -f "$W/$name.drain" ] && kill "$(cat "$W/$name.drain")" 2>/dev/null
	rm -f "$W/$name.tty" "$W/$name.drain"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

# data_both_ways NAME MNT EXPORT FROM_DOM0 FROM_GUEST: through its mount
# MNT, guest NAME reads EXPORT/from-dom0, which must hold FROM_DOM0, and
# writes FROM_GUEST into from-domu, which dom0 must then read in EXPORT.
data_both_ways() {
	gcmd "$1" 30 "xt is9p $2 && cat $2/from-dom0" || return 1
	grep -qxF "$4" "$W/gout" || fail "the guest read the wrong content"
	gcmd "$1" 30 "xt is9p $2 && echo '$5' > $2/from-domu && sync" || return 1
	[ "$(cat "$3/from-domu" 2>&1)" = "$5" ] || fail "dom0 sees '$(cat "$3/from-domu" 2>&1)'"
}

# ---- XenStore ---------------------------------------------------------------
xs_is() { [ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ]; }
xs_gone() { ! xenstore-exists "$1" 2>/dev/null; }
# Devices of domain D under backend kind K (9pfs for QEMU), as "devid" lines.
be_devs() { xenstore-list "/local/domain/0/backend/$2/$1" 2>/dev/null; }
fe_state() { xenstore-read "/local/domain/$1/device/9pfs/$2/state" 2>/dev/null; }
fe_tag() { xenstore-read "/local/domain/$1/device/9pfs/$2/tag" 2>/dev/null; }
# The devid of domain D's 9pfs frontend with tag T (the newest one).
devid_by_tag() {
	local d=$1 t=$2 n best=
	for n in $(xenstore-list "/local/domain/$d/device/9pfs" 2>/dev/null); do
		[ "$(fe_tag "$d" "$n")" = "$t" ] && best=$n
	done
	[ -n "$best" ] && echo "$best"
}
dump_xs() {
	echo "--- xenstore-ls /local/domain/0/backend"
	xenstore-ls -f /local/domain/0/backend 2>&1 | grep -v '/vbd/\|/vif/\|/console/' | head -n 60
	local d
	for d in "$@"; do
		echo "--- xenstore-ls /local/domain/$d/device/9pfs"
		xenstore-ls -f "/local/domain/$d/device/9pfs" 2>&1 | head -n 30
	done
}
