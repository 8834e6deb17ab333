#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd boot's scenario (test-xen-systemd.sh), run in a Debian 12 dom0
# booted by systemd, whose xen service started the Xen daemons: x9p as an
# operator installs it (the tree `make install` made, put in place, then
# `systemctl enable --now x9p-backend`), serving a PV guest through the
# unit as installed, its journal (priorities, the device in every line of
# a worker or helper), reload, restart and stop.  Prints TAP like
# scenario.sh.
set -u
here=/x9ptest
. "$here/config.sh"
. "$here/dom0-lib.sh"
. "$here/dom0-backends.sh"
. "$here/proctree.sh"

U=x9p-backend.service
A=domu-a MA=/mnt/a
DOM= DEV= LABEL=

unit() { systemctl show -p "$1" --value "$U"; }
active() { [ "$(systemctl is-active "$U")" = active ]; }
inactive() { [ "$(systemctl is-active "$U")" = inactive ]; }
# The unit's journal since this boot, one JSON object per line.
journal_json() { journalctl -b -u "$U" -o json --no-pager 2>/dev/null; }
journal_has() { journalctl -b -u "$U" -o cat --no-pager 2>/dev/null | grep -qF -- "$1"; }
# What systemd itself had to kill in the unit (KillMode=mixed kills what
# the daemon leaves behind, so a pgrep after the stop would see nothing).
leftovers() {
	journalctl -b -u "$U" -o cat --no-pager 2>/dev/null |
		grep -E 'Killing process|left-over process|remains running'
}

t_systemd() {
	[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
	echo "systemd $(systemctl --version | head -n 1)"
	systemctl is-active xen.service || fail "Debian's xen service is not active"
	xl list || fail "xl list failed"
}

t_install_enable() {
	[ -d "$here/root" ] || { fail "no installed tree on the test disk"; return 1; }
	# What a package would do: the files `make install` made, in place.
	cp -a "$here/root/." / && ldconfig || fail "copying the installed tree failed"
	systemctl daemon-reload
	echo "unit file: $(systemctl show -p FragmentPath --value "$U")"
	systemctl enable --now "$U" || fail "systemctl enable --now $U failed"
	systemctl status --no-pager "$U" | head -n 12
	[ "$(systemctl is-enabled "$U")" = enabled ] || fail "not enabled: $(systemctl is-enabled "$U")"
	active || fail "not active: $(systemctl is-active "$U")"
	[ "$(unit Type)" = notify ] || fail "Type is $(unit Type)"
	[ "$(unit MainPID)" = "$(be_pid)" ] || fail "MainPID $(unit MainPID), x9p-backend is $(be_pid)"
	case $(unit StatusText) in
	"serving Xen 9pfs devices"*) echo "status: $(unit StatusText)" ;;
	*) fail "STATUS= from sd_notify missing: '$(unit StatusText)'" ;;
	esac
}

t_guest() {
	domu_create "$A" || return 1
	DOM=$(domid_of "$A")
	domu_ready "$A" || return 1
	DEV=$(be_attach "$DOM" share-a /srv/export-a) || { fail "x9p-attach failed: $DEV"; return 1; }
	LABEL=dom$DOM/$(be_kind)/$DEV
	echo "device $LABEL"
	gcmd "$A" 100 "xt wait-dev $DEV" || { dump_xs "$DOM"; return 1; }
	gcmd "$A" 60 "xt mount share-a $MA" || return 1
	data_both_ways "$A" "$MA" /srv/export-a "written by dom0" "written by the guest"
}

# The guest reads its file back (after a helper death, a reload, ...).
guest_reads() {
	gcmd "$A" 90 "xt is9p $MA && cat $MA/from-domu" || return 1
	grep -qx "written by the guest" "$W/gout" || fail "the guest read the wrong content"
}

t_names() {
	[ -n "$LABEL" ] || { fail "no device"; return 1; }
	ps -eo pid,args | grep '[x]9p-' | sed 's/^/  /'
	pgrep -f "^x9p-backend: worker $LABEL" >/dev/null || fail "no worker named $LABEL"
	pgrep -f "^x9p-helper $LABEL" >/dev/null || fail "no helper named $LABEL"
}

# Lines of the device's worker and helper reach the journal through the
# daemon, with their priority and the device; a helper killed from outside
# is a warning there, and the guest does not notice.
t_journal() {
	[ -n "$LABEL" ] || { fail "no device"; return 1; }
	local hp n wp
	hp=$(pgrep -f "^x9p-helper $LABEL")
	wp=$(pgrep -f "^x9p-backend: worker $LABEL")
	# shellcheck disable=SC2086
	kill -KILL $hp
	wait_for 60 journal_has "x9p-helper restarted" || fail "no restart in the journal"
	guest_reads
	journalctl -b -u "$U" -o short-monotonic --no-pager | tail -n 15
	n=$(journal_json | grep -cF "\"X9P_DEVICE\":\"$LABEL\"")
	echo "journal lines naming $LABEL: $n"
	[ "$n" -ge 2 ] || fail "fewer than 2 journal lines carry X9P_DEVICE=$LABEL"
	journal_json | grep -F "\"X9P_DEVICE\":\"$LABEL\"" | grep -F 'x9p-helper died' |
		grep -qF '"PRIORITY":"4"' || fail "the helper's death is not a warning (PRIORITY 4) naming $LABEL"
	# The worker's own pid as SYSLOG_PID (journalctl's short format shows
	# the sender's, the daemon's).
	journal_json | grep -F 'x9p-helper died' | grep -qF "\"SYSLOG_PID\":\"$wp\"" ||
		fail "the worker's line does not carry its pid ($wp) as SYSLOG_PID"
	journal_json | grep -F "\"X9P_DEVICE\":\"$LABEL\"" | grep -qF '"X9P_CHILD_PID"' ||
		fail "no X9P_CHILD_PID field"
	journalctl -b -u "$U" -p warning -o cat --no-pager | grep -qF 'x9p-helper died' ||
		fail "journalctl -p warning does not show the helper's death"
}

t_reload() {
	local pid
	pid=$(unit MainPID)
	systemctl reload "$U" || fail "systemctl reload failed"
	wait_for 60 journal_has "SIGHUP: handing over" || fail "no hand-over in the journal"
	wait_for 60 active || fail "not active after the reload: $(systemctl is-active "$U")"
	[ "$(unit MainPID)" = "$pid" ] || fail "MainPID changed from $pid to $(unit MainPID)"
	[ "$(unit NRestarts)" = 0 ] || fail "the unit restarted $(unit NRestarts) times"
	guest_reads
	pgrep -f "^x9p-backend: worker $LABEL" >/dev/null || fail "no worker for $LABEL after the reload"
}

t_restart() {
	local pid n
	pid=$(unit MainPID)
	n=$(leftovers | wc -l)
	systemctl restart "$U" || fail "systemctl restart failed"
	[ "$(leftovers | wc -l)" -eq "$n" ] || fail "systemd killed what the daemon left: $(leftovers | tail -n 3)"
	active || fail "not active after the restart"
	[ "$(unit MainPID)" != "$pid" ] || fail "MainPID is still $pid"
	guest_reads
}

t_stop_start() {
	local n
	n=$(leftovers | wc -l)
	systemctl stop "$U" || fail "systemctl stop failed"
	[ "$(leftovers | wc -l)" -eq "$n" ] || fail "systemd killed what the daemon left: $(leftovers | tail -n 3)"
	inactive || fail "after stop: $(systemctl is-active "$U")"
	[ "$(unit Result)" = success ] || fail "Result=$(unit Result)"
	! pgrep -f '^x9p-(backend|helper|worker)' >/dev/null ||
		fail "x9p processes remain: $(pgrep -af '^x9p-(backend|helper|worker)')"
	xs_is "/local/domain/$DOM/device/9pfs/$DEV/state" 4 ||
		fail "the frontend left Connected: $(fe_state "$DOM" "$DEV")"
	systemctl start "$U" || fail "systemctl start failed"
	guest_reads
}

t_cleanup() {
	domu_destroy "$A"
	systemctl disable --now "$U" || fail "systemctl disable --now failed"
	[ "$(systemctl is-enabled "$U")" = disabled ] || fail "still $(systemctl is-enabled "$U")"
}

mkdir -p /srv/export-a
echo "written by dom0" >/srv/export-a/from-dom0
if [ "$MODE" != x9p ]; then
	plan 1
	run_test "x9p through systemd" skip "this tree's x9p-backend has no --xen"
	exit 0
fi
plan 9
phase start
run_test "systemd booted dom0; Debian's xen service started the Xen daemons" t_systemd
run_test "make install's tree, then systemctl enable --now x9p-backend: active, notify, STATUS" t_install_enable
run_test "a PV guest mounts a device given with x9p-attach; data both ways" t_guest
run_test "the device's worker and helper are named after it in ps" t_names
run_test "journal: the device's lines carry X9P_DEVICE and priorities; a killed helper is a warning" t_journal
run_test "systemctl reload: the same process, executed again; the guest keeps its mount" t_reload
run_test "systemctl restart: a new daemon takes the guest's session over" t_restart
run_test "systemctl stop leaves the device Connected and no process behind; start serves it again" t_stop_start
run_test "the guest destroyed; systemctl disable --now" t_cleanup
phase end
