#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Xen system test scenario, run in dom0 by dom0-init.sh. Prints TAP
# (also into /x9ptest/out/results.tap) and benchmark figures
# (/x9ptest/out/bench.txt). Settings come from /x9ptest/config.sh, written
# by test-xen-system.sh: MODE (x9p or qemu), POSIXDIFF_ARGS, STRESS_STEPS,
# BENCH_FILES.
set -u
here=/x9ptest
. "$here/config.sh"
. "$here/dom0-lib.sh"
. "$here/dom0-backends.sh"
. "$here/proctree.sh"

MA=/mnt/a MB=/mnt/b
A=domu-a B=domu-b
DEV_A= DEV_B= DOM_A= DOM_B= PID0= MOUNTED_B=0

# QEMU serves p9= entries given at domain creation; in qemu mode the test
# shares are those, in x9p mode the domains get only the peer's bench share.
cfg_p9() {
	local e="" x
	for x in "$@"; do e="$e${e:+, }\"tag=${x%%=*},path=${x#*=},security_model=none,backend=0\""; done
	echo "p9 = [ $e ]"
}

prepare_exports() {
	mkdir -p /srv/export-a /srv/export-b /srv/bench-x9p /srv/bench-qemu
	echo "written by dom0 into export A" >/srv/export-a/from-dom0
	echo "only in A" >/srv/export-a/a-only
	echo "only in B" >/srv/export-b/b-only
}

t_toolstack() {
	xl list || return 1
	local v
	v=$(xl info | awk '/^xen_major/ { M = $3 } /^xen_minor/ { m = $3 } END { print M "." m }')
	echo "Xen $v"
	[ "$v" = 4.17 ] || fail "expected Xen 4.17, got '$v'"
}

backend_running() { [ -n "$(be_pid)" ]; }

t_backend_up() {
	if [ "$MODE" = qemu ]; then
		[ -x "$QEMU_DM" ] || fail "$QEMU_DM missing (package qemu-system-xen)"
		echo "peer backend only: $QEMU_DM"
		return 0
	fi
	be_start || return 1
	wait_for 20 backend_running || { tail -n 20 "$X9P_LOG" 2>/dev/null; fail "x9p-backend is not running"; return 1; }
	PID0=$(be_pid)
	echo "x9p-backend pid $PID0"
	local s
	if s=$(x9p_init); then
		"$s" status || fail "$s status says $? while x9p-backend runs"
	fi
	ps -o pid,rss,args -C x9p-backend,x9p-helper,x9p-worker 2>/dev/null
}

t_boot_a() {
	if [ "$MODE" = qemu ]; then
		domu_create "$A" "$(cfg_p9 share-a=/srv/export-a)" || return 1
	else
		domu_create "$A" || return 1
	fi
	DOM_A=$(domid_of "$A")
	domu_ready "$A" || return 1
	gcmd "$A" 20 'uname -r; xt devs'
}

t_attach_a() {
	[ -n "$DOM_A" ] || { fail "no domU A"; return 1; }
	if [ "$MODE" = qemu ]; then
		DEV_A=0
	else
		DEV_A=$(be_attach "$DOM_A" share-a /srv/export-a) || { fail "attach failed: $DEV_A"; return 1; }
	fi
	echo "domU A device $DEV_A"
	gcmd "$A" 100 "xt wait-dev $DEV_A" || { dump_xs "$DOM_A"; return 1; }
	xs_is "/local/domain/$DOM_A/device/9pfs/$DEV_A/state" 4 || fail "frontend state $(fe_state "$DOM_A" "$DEV_A")"
}

t_mount_a() {
	gcmd "$A" 60 "xt mount share-a $MA && grep ' $MA ' /proc/mounts" || return 1
	grep -q 'trans=xen' "$W/gout" || fail "mount options lack trans=xen"
}

t_data_a() {
	data_both_ways "$A" "$MA" /srv/export-a "written by dom0 into export A" "written by domU A"
}

# Each connected device has its worker: the process mapping the guest's
# rings and parsing its 9P runs without root, capabilities or the host's
# filesystem, under seccomp.
t_worker_confined() {
	[ "$MODE" = qemu ] && { skip "x9p's process model"; return; }
	local out
	proctree_print "$(be_pid)" | sed 's/^# //'
	out=$(proctree_check_workers "$(be_pid)") || fail "$out"
	pgrep -f "^x9p-backend: worker dom$DOM_A/" >/dev/null ||
		fail "no worker named after domU A's device"
}

t_posixdiff() {
	gcmd "$A" 30 "command -v posixdiff" || { skip "posixdiff is not in the guest (build/tests/progs)"; return; }
	local rc
	gcmd "$A" 900 "xt is9p $MA || exit 3; domu-posixdiff.sh /tmp $MA $POSIXDIFF_ARGS"
	rc=$?
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$W/gout" || fail "posixdiff gave no summary (status $rc)"
	[ $rc -eq 0 ] || fail "posixdiff exit status $rc"
}

t_stress() {
	gcmd "$A" 30 "command -v stress" || { skip "stress is not in the guest (build/tests/progs)"; return; }
	gcmd "$A" 600 "xt is9p $MA || exit 3; stress $MA $STRESS_ARGS >/tmp/stress.out 2>&1; rc=\$?;
		tail -n 20 /tmp/stress.out; exit \$rc" || return 1
	grep -q 'stress: ok' "$W/gout" || fail "stress did not report ok"
}

# The helper of domU A's device is killed each time a new one appears
# (checked every 0.1 s) while the guest runs the integrity stress and then
# writes a file with conv=fsync: the guest must see no error, and the file
# must be on dom0 as the guest wrote it.
helper_killer() {
	local last='' hp
	while :; do
		hp=$(proctree_named "$1" x9p-helper)
		if [ -n "$hp" ] && [ "$hp" != "$last" ]; then
			# shellcheck disable=SC2086
			kill -KILL $hp 2>/dev/null
			last=$hp
		fi
		sleep 0.1
	done
}
# under_kills KILLER SEED FILE WHAT COUNTED: runs KILLER in the background
# while domU A runs the integrity stress for 20 s and then writes FILE with
# conv=fsync; fails unless the guest saw no error, the file is on dom0 as
# written, and at least 3 lines matching COUNTED (one per kill survived)
# reached the daemon's log.  WHAT names the kills in the output.
under_kills() {
	local killer=$1 seed=$2 file=$3 what=$4 counted=$5 before after k rc sum
	before=$(grep -c "$counted" "$X9P_LOG")
	$killer &
	k=$!
	gcmd "$A" 600 "xt is9p $MA || exit 3; rc=0;
		stress $MA --seed $seed --steps 100000000 --seconds 20 --max-size 32768 >/tmp/stress.out 2>&1 || rc=1;
		dd if=/dev/urandom of=/tmp/big bs=64k count=8 2>/dev/null;
		dd if=/tmp/big of=$MA/$file bs=64k conv=fsync 2>&1 || rc=2;
		cmp /tmp/big $MA/$file || rc=3; sha256sum /tmp/big; tail -n 5 /tmp/stress.out; exit \$rc"
	rc=$?
	kill "$k"
	wait "$k" 2>/dev/null
	after=$(grep -c "$counted" "$X9P_LOG")
	echo "$what during the run: $((after - before))"
	grep "$counted" "$X9P_LOG" | tail -n 1
	[ $rc -eq 0 ] || fail "the guest saw an error (status $rc)"
	grep -q 'stress: ok' "$W/gout" || fail "stress did not report ok"
	# A helper or worker start takes seconds in a dom0 under emulation.
	[ $((after - before)) -ge 3 ] || fail "only $((after - before)) $what"
	sum=$(sed -n 's/^\([0-9a-f]\{64\}\) .*/\1/p' "$W/gout" | head -n 1)
	[ -n "$sum" ] && [ "$(sha256sum </srv/export-a/$file | cut -d' ' -f1)" = "$sum" ] ||
		fail "the fsync'd file differs on dom0"
}
t_helper_kills() {
	[ "$MODE" = qemu ] && { skip "by design: x9p's helper process"; return; }
	gcmd "$A" 30 "command -v stress" || { skip "stress is not in the guest (build/tests/progs)"; return; }
	under_kills "helper_killer $(be_pid)" 7 crash-big "helper restarts" "x9p-helper restarted"
}

# domU A's device worker killed while the guest holds files open and runs
# a write: a new worker takes the rings over and the session (fids, open
# files, the request in flight) from the journal the monitor keeps; the
# guest's mount goes on without an error, its open file included.
device_worker() { pgrep -f "^x9p-backend: worker dom$DOM_A/" | head -n 1; }
# pid_changed OLD CMD...: CMD prints a pid, and not OLD.
pid_changed() {
	local old=$1 p
	shift
	p=$("$@")
	[ -n "$p" ] && [ "$p" != "$old" ]
}
t_worker_revive() {
	[ "$MODE" = qemu ] && { skip "by design: x9p's process model"; return; }
	local w n
	w=$(device_worker)
	[ -n "$w" ] || { fail "no worker for domU A's device"; return 1; }
	# An open file (descriptor 3 of a shell that waits) and a slow write
	# in flight when the worker dies.
	gcmd "$A" 30 "rm -f /tmp/revive.*; (exec 3<$MA/from-dom0; while [ ! -e /tmp/revive.go ]; do sleep 0.2; done;
		cat <&3 >/tmp/revive.held; echo \$? >/tmp/revive.rc) >/dev/null 2>&1 &
		(dd if=/dev/zero bs=4k count=2000 2>/dev/null | dd of=$MA/revive-write bs=4k conv=fsync 2>/tmp/revive.dd;
		echo \$? >/tmp/revive.ddrc) >/dev/null 2>&1 & sleep 1; echo started" || return 1
	kill -KILL "$w"
	wait_for 60 pid_changed "$w" device_worker || { fail "no new worker for domU A's device"; return 1; }
	grep "rings over" "$X9P_LOG" | tail -n 1
	gcmd "$A" 120 "touch /tmp/revive.go; for i in \$(seq 100); do [ -e /tmp/revive.rc ] && [ -e /tmp/revive.ddrc ] && break; sleep 1; done;
		echo held=\$(cat /tmp/revive.rc) dd=\$(cat /tmp/revive.ddrc); cat /tmp/revive.held; cat /tmp/revive.dd;
		timeout -s KILL 30 ls $MA >/dev/null; echo ls=\$?; timeout -s KILL 30 cat $MA/from-dom0; stat -c size=%s $MA/revive-write" ||
		{ fail "domU A does not answer"; return 1; }
	grep "session resumed" "$X9P_LOG" | tail -n 1
	grep -qx "held=0 dd=0" "$W/gout" || fail "the open file or the write in flight failed"
	grep -qx "ls=0" "$W/gout" || fail "the mount does not work after the worker's death"
	[ "$(grep -cx "written by dom0 into export A" "$W/gout")" = 2 ] ||
		fail "the file held open, or the mount, reads wrong data"
	grep -qx "size=8192000" "$W/gout" || fail "the write in flight is not complete"
	n=$(connected_devid "$DOM_A" share-a) || true
	[ "$n" = "$DEV_A" ] || { dump_xs "$DOM_A"; fail "device $DEV_A is not Connected any more"; return 1; }
}

# domU A's device worker killed each time a new one has served for a
# moment (checked every 0.1 s) while the guest runs the integrity stress
# and writes a file with conv=fsync: no error, the file on dom0 as written.
worker_killer() {
	local last='' w
	while :; do
		w=$(device_worker)
		if [ -n "$w" ] && [ "$w" != "$last" ]; then
			sleep 0.5
			kill -KILL "$w" 2>/dev/null
			last=$w
		fi
		sleep 0.1
	done
}
t_worker_kills() {
	[ "$MODE" = qemu ] && { skip "by design: x9p's process model"; return; }
	gcmd "$A" 30 "command -v stress" || { skip "stress is not in the guest (build/tests/progs)"; return; }
	local n
	under_kills worker_killer 11 worker-big "device workers killed" \
		"x9p-worker died (killed by signal 9)"
	grep "session resumed" "$X9P_LOG" | tail -n 1
	n=$(connected_devid "$DOM_A" share-a) || true
	[ "$n" = "$DEV_A" ] || { dump_xs "$DOM_A"; fail "device $DEV_A is not Connected any more"; }
}

t_detach() {
	[ -n "$DEV_A" ] || { fail "no device to detach"; return 1; }
	gcmd "$A" 30 "xt is9p $MA && umount $MA" || return 1
	be_detach "$DOM_A" "$DEV_A" || { fail "detach failed"; return 1; }
	gcmd "$A" 100 "xt wait-gone $DEV_A" || { dump_xs "$DOM_A"; return 1; }
	wait_for 20 xs_gone "/local/domain/0/backend/$(be_kind)/$DOM_A/$DEV_A" ||
		{ dump_xs "$DOM_A"; fail "backend node still in XenStore"; }
}

t_reattach() {
	DEV_A=$(be_attach "$DOM_A" share-a /srv/export-a) || { fail "attach failed: $DEV_A"; return 1; }
	echo "domU A device $DEV_A"
	gcmd "$A" 100 "xt wait-dev $DEV_A" || { dump_xs "$DOM_A"; return 1; }
	gcmd "$A" 60 "xt mount share-a $MA && cat $MA/from-dom0 $MA/from-domu" || return 1
	grep -qx "written by domU A" "$W/gout" || fail "remounted share lacks the earlier file"
}

t_restart_ops() {
	[ "$MODE" = qemu ] && { skip "by design: QEMU's backend lives and dies with its domain; restarting is x9p's"; return; }
	local old new rc
	gcmd "$A" 30 "xt is9p $MA" || { fail "domU A has no share mounted before the restart"; return 1; }
	# domU B, whose p9= devices QEMU served, is gone: from now on x9p serves
	# backend kind 9pfs too (the device_model_override test), so the
	# restarted daemon also runs with a changed configuration.
	[ -f /etc/default/x9p-backend ] &&
		sed -i 's/--xen-backend-kinds=xen_9pfs,x9p/--xen-backend-kinds=9pfs,xen_9pfs,x9p/' /etc/default/x9p-backend
	old=$(be_pid)
	be_restart || { fail "restart failed"; return 1; }
	wait_for 20 pid_changed "$old" be_pid || { fail "x9p-backend pid '$old' -> '$(be_pid)'"; return 1; }
	new=$(be_pid)
	PID0=$new
	echo "x9p-backend restarted: pid $old -> $new"
	# The new daemon took the session over from the journal the old one left
	# in /run/x9p-backend: the guest's mount goes on.
	gcmd "$A" 100 "timeout -s KILL 30 ls -l $MA >/dev/null; echo ls=\$?;
		timeout -s KILL 30 sh -c 'echo after > $MA/after-restart'; echo write=\$?"
	rc=$?
	[ $rc -eq 0 ] || fail "guest did not answer after the restart"
	! grep -qE '=(137|124)$' "$W/gout" || fail "a guest operation hung (killed by timeout)"
	grep -q "taking over the session journal" "$X9P_LOG" || fail "the journal was not taken over"
	grep -qx "ls=0" "$W/gout" && grep -qx "write=0" "$W/gout" ||
		fail "the guest's mount does not work after the restart"
	[ "$(cat /srv/export-a/after-restart 2>&1)" = after ] || fail "dom0 does not see the write"
}

# SIGHUP (init script 'reload', systemctl reload): the daemon hands the
# devices over and executes its program file again in the same process, a
# file the guest holds open and its mount go on.
t_reload() {
	[ "$MODE" = qemu ] && { skip "by design: reloading is x9p's"; return; }
	local p w s n
	p=$(be_pid)
	w=$(device_worker)
	s=$(x9p_init) || s=
	gcmd "$A" 30 "rm -f /tmp/reload.*; (exec 3<$MA/from-dom0; while [ ! -e /tmp/reload.go ]; do sleep 0.2; done;
		cat <&3 >/tmp/reload.held; echo \$? >/tmp/reload.rc) >/dev/null 2>&1 & sleep 1; echo started" || return 1
	if [ -n "$s" ]; then "$s" reload; else kill -HUP "$p"; fi
	wait_for 60 pid_changed "$w" device_worker || { fail "no new worker after the reload"; return 1; }
	[ "$(be_pid)" = "$p" ] || fail "the reload changed the daemon's pid ($p -> $(be_pid))"
	grep "SIGHUP: handing over" "$X9P_LOG" | tail -n 1
	gcmd "$A" 100 "touch /tmp/reload.go; for i in \$(seq 60); do [ -e /tmp/reload.rc ] && break; sleep 1; done;
		echo held=\$(cat /tmp/reload.rc); cat /tmp/reload.held; timeout -s KILL 30 ls $MA >/dev/null; echo ls=\$?" ||
		{ fail "domU A does not answer"; return 1; }
	grep -qx "held=0" "$W/gout" || fail "the file held open failed after the reload"
	grep -qx "written by dom0 into export A" "$W/gout" || fail "the file held open reads wrong data"
	grep -qx "ls=0" "$W/gout" || fail "the mount does not work after the reload"
	# Then an upgrade loop: reloaded each time a new worker has served for
	# a moment, under the stress and an fsync'd write.
	gcmd "$A" 30 "command -v stress" >/dev/null || return 0
	under_kills reloader 13 reload-big "reloads" "SIGHUP: handing over"
	n=$(connected_devid "$DOM_A" share-a) || true
	[ "$n" = "$DEV_A" ] || { dump_xs "$DOM_A"; fail "device $DEV_A is not Connected any more"; }
}

# SIGHUP to the daemon each time a new worker of domU A's device has
# served for a moment.
reloader() {
	local w
	while :; do
		w=$(device_worker)
		if [ -n "$w" ]; then
			sleep 0.5
			kill -HUP "$(be_pid)" 2>/dev/null
			wait_for 60 pid_changed "$w" device_worker
		fi
		sleep 0.1
	done
}

# connected_devid DOMID TAG: the devid of a Connected (4) frontend with TAG.
connected_devid() {
	local n
	n=$(devid_by_tag "$1" "$2") && xs_is "/local/domain/$1/device/9pfs/$n/state" 4 && echo "$n"
}

# The restarted daemon took the rings over: the device stayed Connected
# with the same number, and a new mount on it works without any detach.
t_restart_remount() {
	[ "$MODE" = qemu ] && { skip "by design: QEMU's backend lives and dies with its domain; restarting is x9p's"; return; }
	local n
	n=$(connected_devid "$DOM_A" share-a) || true
	[ "$n" = "$DEV_A" ] || { dump_xs "$DOM_A"; fail "device $DEV_A is not Connected any more (now: '${n:-none}')"; return 1; }
	xs_is "/local/domain/0/backend/$(be_kind)/$DOM_A/$DEV_A/state" 4 || fail "backend state is not Connected"
	echo "device $DEV_A stayed Connected; session $(xenstore-read "/local/domain/0/backend/$(be_kind)/$DOM_A/$DEV_A/x9p-session" 2>&1)"
	gcmd "$A" 30 "umount $MA 2>/dev/null || umount -l $MA; true" || { fail "domU A does not answer"; return 1; }
	gcmd "$A" 60 "xt mount share-a $MA && echo 'after remount' > $MA/after-restart-2 && sync && cat $MA/from-dom0 $MA/after-restart-2" || return 1
	grep -qx "written by dom0 into export A" "$W/gout" || fail "remount reads wrong data"
	grep -qx "after remount" "$W/gout" || fail "a file written after the remount is missing"
	[ "$(cat /srv/export-a/after-restart-2 2>&1)" = "after remount" ] || fail "dom0 does not see the guest's new file"
}

# The test build's worker (backend/worker/attack.h) tries, after its
# lockdown, to map a grant (3) or bind a port (4) with the gntdev and evtchn
# descriptors it holds for its device; its filter must kill it (SIGSYS),
# the daemon must log that and close only that device, and a new device
# must then work.  The daemon runs the attacking worker for domU A's next
# device, then normally again.
attack_log=/var/log/xen/x9p-attack.log
attack_seen() { grep -q "self-attack $1 .*: trying" "$attack_log"; }
killed_seen() { grep -q "died (killed by signal 31)" "$attack_log"; }
t_attack_xen() {
	[ "$MODE" = qemu ] && { skip "x9p's process model"; return; }
	local att=$here/x9p-worker-attack a p dev
	[ -x "$att" ] || { skip "no test-build worker in $here"; return; }
	for a in 3 4; do
		p=$(be_pid)
		[ -n "$p" ] && { kill "$p"; wait_for 20 not_running "$p"; }
		: >"$attack_log"
		X9P_WORKER=$att X9P_WORKER_ATTACK=$a setsid x9p-backend --xen \
			--xen-backend-kinds="$X9P_KIND" >>"$attack_log" 2>&1 </dev/null &
		wait_for 20 backend_running || { fail "x9p-backend did not start"; return 1; }
		p=$(be_pid)
		dev=$(be_attach "$DOM_A" "share-$a" /srv/export-a) || { fail "attach failed: $dev"; return 1; }
		wait_for 30 attack_seen "$a" || { cat "$attack_log"; fail "attack $a was not tried"; return 1; }
		wait_for 10 killed_seen || { cat "$attack_log"; fail "attack $a did not kill the worker"; }
		grep -q SUCCEEDED "$attack_log" && fail "attack $a succeeded"
		kill -0 "$p" 2>/dev/null || fail "the daemon died"
		grep -E "self-attack|died|fault" "$attack_log" | sed 's/^/  /'
		be_detach "$DOM_A" "$dev" >/dev/null 2>&1
	done
	p=$(be_pid)
	kill "$p"; wait_for 20 not_running "$p"
	be_start
	wait_for 20 backend_running || { fail "x9p-backend did not start again"; return 1; }
	dev=$(be_attach "$DOM_A" share-z /srv/export-a) || { fail "attach failed: $dev"; return 1; }
	gcmd "$A" 100 "xt wait-dev $dev" || { dump_xs "$DOM_A"; return 1; }
	gcmd "$A" 60 "mkdir -p /mnt/z && xt mount share-z /mnt/z && cat /mnt/z/from-dom0" || return 1
	grep -qx "written by dom0 into export A" "$W/gout" || fail "the new device reads wrong data"
}

dm_gone() { ! pgrep -f -- "--xen-device-model.*-xen-domid $1( |\$)" >/dev/null; }

# An unchanged xl config with a p9= entry, plus device_model_override: libxl
# 4.17 starts x9p's device-model stand-in instead of QEMU, and the x9p
# daemon serves the backend/9pfs device libxl writes (docs/xen.md).
t_dm_override() {
	[ "$MODE" = qemu ] && { skip "by design: the device-model stand-in is x9p's"; return; }
	local dm=/usr/local/libexec/x9p/x9p-qemu-dm C=domu-c dom d
	[ -x "$dm" ] || { fail "$dm is not installed"; return 1; }
	mkdir -p /srv/export-c
	echo "served through device_model_override" >/srv/export-c/c-file
	domu_create "$C" "$(cfg_p9 share-c=/srv/export-c)" "device_model_override = \"$dm\"" ||
		{ fail "xl create with device_model_override failed"; return 1; }
	dom=$(domid_of "$C")
	echo "domU C is domain $dom; device model state: $(xenstore-read "/local/domain/0/device-model/$dom/state" 2>&1)"
	pgrep -af -- "--xen-device-model" | sed 's/^/  /' | cut -c1-160
	pgrep -f -- "qemu-system-i386.*-xen-domid $dom( |\$)" >/dev/null && fail "QEMU runs for domU C"
	domu_ready "$C" || { domu_destroy "$C"; return 1; }
	d=$(devid_by_tag "$dom" share-c) || { dump_xs "$dom"; fail "no 9pfs device with tag share-c"; domu_destroy "$C"; return 1; }
	gcmd "$C" 100 "xt wait-dev $d" || { dump_xs "$dom"; domu_destroy "$C"; return 1; }
	gcmd "$C" 60 "xt mount share-c /mnt/c && cat /mnt/c/c-file && echo from-c > /mnt/c/new && sync" ||
		{ domu_destroy "$C"; return 1; }
	grep -qx "served through device_model_override" "$W/gout" || fail "domU C read the wrong content"
	[ "$(cat /srv/export-c/new 2>&1)" = from-c ] || fail "dom0 sees '$(cat /srv/export-c/new 2>&1)'"
	domu_destroy "$C"
	wait_for 30 xs_gone "/local/domain/0/backend/9pfs/$dom" || { dump_xs; fail "backend/9pfs/$dom left in XenStore"; }
	wait_for 20 dm_gone "$dom" || fail "the device-model stand-in of domain $dom still runs"
	kill -0 "$(be_pid)" 2>/dev/null || fail "x9p-backend died"
}

t_boot_b() {
	if [ "$MODE" = qemu ]; then
		domu_create "$B" "$(cfg_p9 share-b=/srv/export-b bench-qemu=/srv/bench-qemu)" || return 1
	else
		domu_create "$B" "$(cfg_p9 bench-qemu=/srv/bench-qemu)" || return 1
	fi
	DOM_B=$(domid_of "$B")
	domu_ready "$B" || return 1
	if [ "$MODE" = qemu ]; then
		DEV_B=0
	else
		DEV_B=$(be_attach "$DOM_B" share-b /srv/export-b) || { fail "attach failed: $DEV_B"; return 1; }
	fi
	gcmd "$B" 100 "xt wait-dev $DEV_B" || { dump_xs "$DOM_B"; return 1; }
	gcmd "$B" 60 "xt mount share-b $MB && grep ' $MB ' /proc/mounts" || return 1
	MOUNTED_B=1
}

t_isolation() {
	gcmd "$A" 30 "xt is9p $MA" || { fail "domU A has no share mounted"; return 1; }
	gcmd "$B" 30 "xt is9p $MB" || { fail "domU B has no share mounted"; return 1; }
	gcmd "$A" 30 "ls -1 $MA; cat $MA/b-only" && fail "domU A read export B's file"
	grep -qx a-only "$W/gout" || fail "domU A does not see its own file"
	! grep -qx b-only "$W/gout" || fail "domU A lists export B's file"
	gcmd "$B" 30 "ls -1 $MB; cat $MB/a-only" && fail "domU B read export A's file"
	grep -qx b-only "$W/gout" || fail "domU B does not see its own file"
	! grep -qx a-only "$W/gout" || fail "domU B lists export A's file"
	gcmd "$A" 30 "echo A > $MA/new-from-a && sync" || return 1
	gcmd "$B" 30 "echo B > $MB/new-from-b && sync" || return 1
	[ -e /srv/export-a/new-from-a ] && [ ! -e /srv/export-b/new-from-a ] || fail "A's write landed wrong"
	[ -e /srv/export-b/new-from-b ] && [ ! -e /srv/export-a/new-from-b ] || fail "B's write landed wrong"
	gcmd "$A" 30 "ls -1 $MA" || return 1
	! grep -qx new-from-b "$W/gout" || fail "A sees B's new file"
}

# Benchmark: figures only, never a test result.
bench() {
	local label=$1 tag=$2 dir=$3
	gcmd "$B" 120 "xt mount $tag $dir" || { echo "bench $label: mount failed" | tee -a "$OUT/bench.txt"; return 1; }
	gcmd "$B" 180 "domu-bench.sh $dir $label $BENCH_FILES" ||
		echo "$label: the workload failed or did not finish within 180 s (status $?)" | tee -a "$OUT/bench.txt"
	grep '^BENCH' "$W/gout" | tee -a "$OUT/bench.txt"
	gcmd "$B" 60 "umount $dir"
}

run_bench() {
	local t0 t1 d
	t0=$(now)
	{
		echo "x9p Xen system test benchmark (figures, not assertions)"
		echo "guest: PV domU, 1 vCPU, Linux $(uname -r), 9p2000.L, trans=xen; Xen 4.17 under QEMU TCG"
		echo "workload: 64 MiB dd write + fsync, read back (caches dropped), $BENCH_FILES small-file creates, ls -l"
	} >>"$OUT/bench.txt"
	if [ -z "$DOM_B" ] || [ ! -f "$W/$B.tty" ]; then
		echo "no domU B: no benchmark" >>"$OUT/bench.txt"
		return
	fi
	# QEMU first: a workload that hangs leaves the guest unusable.
	d=$(devid_by_tag "$DOM_B" bench-qemu)
	if [ -n "$d" ] && gcmd "$B" 100 "xt wait-dev $d"; then
		bench qemu bench-qemu /mnt/bq
	else
		echo "qemu: bench device did not connect" >>"$OUT/bench.txt"
	fi
	if [ "$MODE" = x9p ]; then
		if d=$(be_attach "$DOM_B" bench-x9p /srv/bench-x9p) && gcmd "$B" 100 "xt wait-dev $d"; then
			bench x9p bench-x9p /mnt/bx
		else
			echo "x9p: bench device did not connect" >>"$OUT/bench.txt"
		fi
	else
		echo "x9p: not measured (X9P_XEN_BACKEND=qemu)" >>"$OUT/bench.txt"
	fi
	t1=$(now)
	echo "benchmark took $(elapsed "$t0" "$t1") s" >>"$OUT/bench.txt"
}

domain_gone() { ! xl domid "$1" >/dev/null 2>&1; }

t_destroy() {
	[ -n "$DOM_B" ] || { fail "no domU B"; return 1; }
	# Mounted in test 11 (the benchmark may have left the guest unresponsive,
	# so XenStore is asked, not the guest).
	[ "$MOUNTED_B" = 1 ] || { fail "domU B never mounted its share"; return 1; }
	xs_is "/local/domain/$DOM_B/device/9pfs/$DEV_B/state" 4 || { fail "domU B's device is not connected"; return 1; }
	PID0=$(be_pid)
	domu_destroy "$B"
	wait_for 30 domain_gone "$B" || fail "domU B still exists"
}

t_destroy_cleanup() {
	[ -n "$DOM_B" ] || { fail "no domU B"; return 1; }
	if [ "$MODE" = x9p ]; then
		[ "$(be_pid)" = "$PID0" ] || fail "x9p-backend pid $PID0 -> '$(be_pid)'"
		kill -0 "$PID0" || fail "x9p-backend died"
	fi
	wait_for 30 xs_gone "/local/domain/0/backend/$(be_kind)/$DOM_B" ||
		{ dump_xs; fail "backend nodes of domU B left in XenStore"; }
	! be_listed "$DOM_B" || fail "the backend still lists domU B"
}

t_after_destroy() {
	gcmd "$A" 30 "xt is9p $MA && cat $MA/from-dom0 && echo still > $MA/still && cat $MA/still" || return 1
	grep -qx still "$W/gout" || fail "domU A's share no longer works"
}

prepare_exports
plan 24
phase start
run_test "dom0: Xen 4.17 toolstack is up (xl list, xl info)" t_toolstack
run_test "dom0: the 9pfs backend ($MODE) is running" t_backend_up
phase domU-A
run_test "domU A: PV guest boots and answers on its console" t_boot_a
run_test "attach: domU A's device for export A reaches Connected" t_attach_a
run_test "mount: domU A mounts it (trans=xen, version=9p2000.L)" t_mount_a
run_test "data: domU A reads dom0's file, dom0 reads domU A's file" t_data_a
run_test "privsep: the worker serving domU A's rings is non-root, without capabilities, NoNewPrivs, seccomp, own mount namespace" t_worker_confined
phase posix
run_test "posixdiff: POSIX differential suite, 9p mount vs domU tmpfs" t_posixdiff
run_test "stress: data-integrity stress on the mount" t_stress
run_test "crash: domU A's helper killed over and over during a stress and an fsync'd write: no error, the data on dom0" t_helper_kills
run_test "crash: domU A's device worker killed with a file open and a write in flight: the session goes on without an error" t_worker_revive
run_test "crash: domU A's device worker killed over and over during a stress and an fsync'd write: no error, the data on dom0" t_worker_kills
phase hotplug
run_test "detach: umount and detach remove the device from domU A and XenStore" t_detach
run_test "re-attach: a new device connects and mounts while domU A runs" t_reattach
phase domU-B
run_test "domU B: boots, export B attached and mounted" t_boot_b
run_test "isolation: domU A and domU B each see only their own export" t_isolation
phase bench
run_bench
phase destroy
run_test "destroy: xl destroy domU B with its share mounted" t_destroy
run_test "destroy: backend survives, domU B's device is cleaned up" t_destroy_cleanup
run_test "destroy: domU A's share still works" t_after_destroy
# Last: a guest whose 9p operations hang after the restart cannot be used
# for anything else.
phase restart
run_test "backend restart: the new daemon takes domU A's session over: its mount goes on" t_restart_ops
run_test "backend reload (SIGHUP): same process, new program file, a file held open and the mount go on; then reloaded over and over during a stress and an fsync'd write: no error" t_reload
run_test "backend restart: the device stays Connected and remounts without a detach" t_restart_remount
phase dm-override
run_test "device_model_override: xl p9= entries of a PV guest served by x9p (libxl 4.17)" t_dm_override
phase attack
run_test "privsep: a device's worker that maps a grant or binds a port with its own descriptors is killed; the daemon serves on" t_attack_xen
phase end
domu_destroy "$A"
cp /var/log/xen/console/guest-*.log /var/log/xen/qemu-dm-*.log "$X9P_LOG" "$OUT/" 2>/dev/null
true
