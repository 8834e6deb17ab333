#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash tier (TAP): guests booted at once run a mixed load through the real
# 9p client (tests/vm/crash-guest.sh: the integrity stress, fsync'd files
# read back, trees made and removed), each on a server and export of its
# own.  The x9p-helper or the worker of some is
# killed with SIGKILL each time a new one appears (checked every 100 ms),
# from the moment its server is up until the guest is done; the others are
# left alone.  Every guest must see no
# error at all, every file it fsync'd and kept must be on the host with the
# content it read back, no step of the stress (one call and the
# verification of the whole directory) may take 10 s (the time a request
# waits for a helper before it fails: a stall, not a slow machine), and the
# helpers left alone must never restart.
# Prints the kills, the requests sent again and those found already done,
# and the slowest step of each guest.
#
#   X9P_CRASH_GUESTS     KERNEL:TRANSPORT:WHAT ... (default
#                        "6.12:fd:kill+wkill+reload 6.12:vfu:kill
#                        6.1:vhost:wkill+reload
#                        6.12:vfu:wkill+reload 6.12:fd:calm"; five TCG
#                        guests on two cores: a sixth makes a step of the
#                        loaded guests take 6 s):
#                        TRANSPORT fd (x9p-backend over trans=fd, mapped-xattr),
#                        vhost (x9p-vhost behind vhost-user-device-pci) or vfu
#                        (x9p-vhost --vfio-user behind QEMU 11.1's
#                        vfio-user-pci), both passthrough; WHAT kill (the
#                        helper), wkill (the worker), reload (SIGHUP to
#                        x9p-backend or x9p-vhost, an upgrade in place, every
#                        $X9P_CRASH_RELOAD_PERIOD s), several joined by +,
#                        or calm
#   X9P_CRASH_SECONDS    guest load duration (default 30)
#   X9P_CRASH_PERIOD     seconds between checks for a helper to kill (0.1)
#   X9P_CRASH_RELOAD_PERIOD  seconds between reloads (2)
set -u

main() {
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
secs=${X9P_CRASH_SECONDS:-30}
period=${X9P_CRASH_PERIOD:-0.1}
guests=${X9P_CRASH_GUESTS:-6.12:fd:kill+wkill+reload 6.12:vfu:kill 6.1:vhost:wkill+reload 6.12:vfu:wkill+reload 6.12:fd:calm}
rperiod=${X9P_CRASH_RELOAD_PERIOD:-2}
. "$top/tests/lib/proctree.sh"

# Whether the +-separated list $1 has $2.
has() { case "+$1+" in *"+$2+"*) return 0 ;; esac; return 1; }

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" -eq 0 ]; then shift; ok "$@"; else shift; nok "$@"; fi; }

sh "$top/tools/deps.sh" vm >/dev/null 2>&1
for g in $guests; do
	sh "$here/fetch-kernels.sh" "${g%%:*}" >/dev/null 2>&1 || true
done
qemu_vhost=''
case " $guests" in *:vhost:*)
	if ! qemu_vhost=$(sh "$top/tests/vhost/build-qemu.sh" 2>/dev/null); then
		echo "not ok 1 - build a QEMU that accepts vhost-user-device-pci (tests/vhost/build-qemu.sh)"
		echo "1..1"
		return 1
	fi
	;;
esac
case " $guests" in *:vfu:*)
	sh "$top/tools/deps.sh" vfu >/dev/null 2>&1
	if ! sh "$top/tests/vfu/qemu-trixie.sh" >/dev/null 2>&1; then
		echo "not ok 1 - install Debian's QEMU 11.1 (tests/vfu/qemu-trixie.sh)"
		echo "1..1"
		return 1
	fi
	;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-crash.XXXXXX")
killer=''
cleanup() {
	# shellcheck disable=SC2086
	[ -z "$killer" ] || kill $killer 2>/dev/null
	for f in "$work"/pid-*; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Guest i: its export, script and server; boot waits for it to end.
boot() { # I KERNEL TRANSPORT
	t0=$(date +%s)
	exp=$work/export-$1
	case $3 in
	fd)
		# boot.sh's own x9p-backend (on its large-buffered socket pair),
		# through a build directory whose x9p-backend notes its pid and
		# keeps its log here.
		mkdir -p "$work/b$1/tests/vm"
		ln -s "$B/tests/vm/sockpairs" "$work/b$1/tests/vm/sockpairs"
		ln -s "$B/tests/progs" "$work/b$1/tests/progs"
		printf '#!/bin/sh\necho $$ >%s\nexec %s "$@" 2>>%s\n' "$work/pid-$1" \
			"$B/x9p-backend" "$work/server-$1.log" >"$work/b$1/x9p-backend"
		chmod +x "$work/b$1/x9p-backend"
		X9P_BUILD=$work/b$1 bash "$here/boot.sh" --kernel "$2" --script "$work/guest-$1.sh" \
			--timeout 600 --export "$exp" --security-model mapped-xattr \
			>"$work/out-$1" 2>"$work/err-$1"
		rc=$?
		;;
	vhost | vfu)
		mkfifo "$work/ready-$1"
		vfu=''
		[ "$3" = vfu ] && vfu=--vfio-user
		"$B/x9p-vhost" $vfu --socket-path "$work/vu-$1.sock" --tag x9p0 --export "$exp" \
			--security-model passthrough --ready-fd 9 9>"$work/ready-$1" </dev/null \
			2>"$work/server-$1.log" &
		echo $! >"$work/pid-$1"
		if [ "$(timeout 20 head -n 1 "$work/ready-$1")" = ready ]; then
			X9P_QEMU_VHOST=$qemu_vhost bash "$top/tests/vhost/vhost-vm.sh" --kernel "$2" \
				--script "$work/guest-$1.sh" --timeout 600 --server "$3" \
				--socket "$work/vu-$1.sock" >"$work/out-$1" 2>"$work/err-$1"
			rc=$?
		else
			echo "x9p-vhost did not start" >"$work/err-$1"
			rc=125
		fi
		kill "$(cat "$work/pid-$1")" 2>/dev/null
		;;
	esac
	echo "$rc" >"$work/rc-$1"
	echo $(($(date +%s) - t0)) >"$work/secs-$1"
}

# Kills every x9p-helper (or x9p-worker) under the servers of the guests
# to hit, each time the set of them changes, checking every $period s
# until all are done; with GATE, only once the guest's load started (QEMU
# gives up a vhost-user device whose backend dies before it is set up).
kill_loop() { # GUESTS NAME COUNTFILE [GATE]
	last=''
	kills=0
	while :; do
		live=0 hp=''
		for i in $1; do
			[ -e "$work/rc-$i" ] && continue
			live=1
			[ -s "$work/pid-$i" ] || continue
			[ -z "${4:-}" ] || grep -q "^@@C start" "$work/out-$i" 2>/dev/null || continue
			hp="$hp$(proctree_named "$(cat "$work/pid-$i")" "$2")"
		done
		[ "$live" -eq 1 ] || break
		if [ -n "$hp" ] && [ "$hp" != "$last" ]; then
			# shellcheck disable=SC2086
			kill -KILL $hp 2>/dev/null
			for p in $hp; do
				case " $last " in *" $p "*) ;; *) kills=$((kills + 1)) ;; esac
			done
			echo "$kills" >"$3"
			last=$hp
		fi
		sleep "$period"
	done
}

# SIGHUP to the server (x9p-backend, x9p-vhost) of the guests to reload, every $rperiod s once
# their load started, until all are done.
reload_loop() { # GUESTS
	reloads=0
	while :; do
		live=0
		for i in $1; do
			[ -e "$work/rc-$i" ] && continue
			live=1
			[ -s "$work/pid-$i" ] || continue
			grep -q "^@@C start" "$work/out-$i" 2>/dev/null || continue
			kill -HUP "$(cat "$work/pid-$i")" 2>/dev/null && reloads=$((reloads + 1))
			echo "$reloads" >"$work/reloads"
		done
		[ "$live" -eq 1 ] || break
		sleep "$rperiod"
	done
}

i=0 hit='' whit='' rhit='' pids=''
for g in $guests; do
	i=$((i + 1))
	k=${g%%:*} rest=${g#*:}
	t=${rest%%:*} what=${rest#*:}
	mkdir "$work/export-$i"
	{ echo "CRASH_SECONDS=$secs"; echo "CRASH_SEED=$(date +%s)$i"; cat "$here/crash-guest.sh"; } \
		>"$work/guest-$i.sh"
	echo "$k $t $what" >"$work/desc-$i"
	has "$what" kill && hit="$hit $i"
	has "$what" wkill && whit="$whit $i"
	has "$what" reload && rhit="$rhit $i"
	boot "$i" "$k" "$t" &
	pids="$pids $!"
done
kill_loop "$hit" x9p-helper "$work/kills" &
killer=$!
kill_loop "$whit" x9p-worker "$work/wkills" gate &
killer="$killer $!"
reload_loop "$rhit" &
killer="$killer $!"
for p in $pids; do wait "$p"; done
# shellcheck disable=SC2086
wait $killer 2>/dev/null
killer=''
kills=$(cat "$work/kills" 2>/dev/null || echo 0)
echo "# helper processes killed: $kills (a helper is two: its pid namespace's init and the server)"
echo "# workers killed: $(cat "$work/wkills" 2>/dev/null || echo 0)"
echo "# reloads: $(cat "$work/reloads" 2>/dev/null || echo 0)"

mkdir -p "$B/artefacts"
again_all=0
for i in $(seq 1 "$i"); do
	read -r k t what <"$work/desc-$i"
	out=$work/out-$i
	cat "$out" "$work/err-$i" >"$B/artefacts/vm-crash-$i.log"
	cp "$work/server-$i.log" "$B/artefacts/vm-crash-server-$i.log"
	rc=$(cat "$work/rc-$i")
	case $t in
	fd) tn="x9p-backend, trans=fd" ;;
	vfu) tn="x9p-vhost, vfio-user" ;;
	*) tn="x9p-vhost, vhost-user" ;;
	esac
	w=''
	has "$what" kill && w="helper killed"
	has "$what" wkill && w="${w:+$w, }worker killed"
	has "$what" reload && w="${w:+$w, }reloaded"
	[ -n "$w" ] || w="helper left alone"
	what_="guest $i, Linux $k ($tn, $w)"
	echo "# $what_: status $rc in $(cat "$work/secs-$i") s"
	if ! grep -q "^@@C done" "$out"; then
		nok "$what_: the load ran to its end"
		tail -20 "$work/err-$i" | sed 's/^/# /'
		tail -20 "$out" | sed 's/^/# /'
		continue
	fi
	ok "$what_: the load ran to its end ($(sed -n 's/^@@C rounds //p' "$out") rounds)"
	fails=$(grep -c "^@@C fail" "$out")
	grep "^@@C fail" "$out" | head -10 | sed 's/^/# /'
	check $([ "$fails" -eq 0 ] && echo 0 || echo 1) "$what_: no call failed ($fails failures)"
	check $([ "$(sed -n 's/^@@C stress //p' "$out")" = 0 ] && echo 0 || echo 1) \
		"$what_: the integrity stress verified every step"
	slow=$(sed -n 's/^@@C slowest //p' "$out")
	check $([ -n "$slow" ] && [ "$slow" -lt 10000 ] && echo 0 || echo 1) \
		"$what_: no stress step (a call and the directory's verification) took 10 s (slowest: ${slow:-?} ms)"
	# every file fsync'd and read back, if kept, is on the host with that content
	bad=0 files=0
	for f in $(sed -n 's/^@@C file \([^ ]*\) .*/\1/p' "$out"); do
		want=$(sed -n "s/^@@C file $f //p" "$out")
		[ -e "$work/export-$i/$f" ] || continue
		files=$((files + 1))
		got=$(sha256sum <"$work/export-$i/$f" | cut -d' ' -f1)
		[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# $f: $got on the host"; }
	done
	check $([ "$bad" -eq 0 ] && [ "$files" -gt 0 ] && echo 0 || echo 1) \
		"$what_: the $files fsync'd files kept on the host hold what the guest read back"
	log=$work/server-$i.log
	restarts=$(grep -c "x9p-helper restarted" "$log")
	if has "$what" kill; then
		# Counted per worker: the most each worker reached, summed.
		rerun=$(sed -n 's/.*x9p-worker\[\([0-9]*\)\].*x9p-helper restarted.*sent again so far: \([0-9]*\), found already done: \([0-9]*\).*/\1 \2 \3/p' "$log" |
			awk '{ if ($2 > r[$1]) r[$1] = $2; if ($3 > f[$1]) f[$1] = $3 }
			     END { for (p in r) { R += r[p]; F += f[p] } print R + 0, F + 0 }')
		found=${rerun#* } rerun=${rerun% *}
		down=$(sed -n 's/.*x9p-helper restarted (pid [0-9]*) after \([0-9]*\) ms.*/\1/p' "$log" |
			sort -n | tail -n 1)
		# Requests a death found waiting for their replies; those sent again
		# also count the ones that found the helper already gone.
		inflight=$(sed -n 's/.*x9p-helper died .*; \([0-9]*\) requests in flight go to the next one.*/\1/p' "$log" |
			awk '{ n += $1 } END { print n + 0 }')
		again_all=$((again_all + ${rerun:-0}))
		echo "# $what_: $restarts restarts (the longest took ${down:-?} ms), $inflight requests in flight at the deaths, ${rerun:-0} requests sent again, ${found:-0} found already done"
		check $([ "$restarts" -ge "$secs" ] && echo 0 || echo 1) \
			"$what_: the helper was killed and restarted throughout ($restarts restarts)"
	fi
	if has "$what" wkill; then
		wdied=$(grep -c "worker .* died (killed by signal 9" "$log")
		resumed=$(grep -c "the previous worker's session resumed" "$log")
		rerun=$(grep -c ") runs again" "$log")
		echo "# $what_: $wdied workers killed, $resumed sessions resumed, $rerun requests run again"
		check $([ "$wdied" -ge $((secs / 5)) ] && echo 0 || echo 1) \
			"$what_: the worker was killed throughout ($wdied kills)"
		check $([ "$resumed" -ge 1 ] && echo 0 || echo 1) \
			"$what_: the next workers took the session over ($resumed times)"
	fi
	if has "$what" reload; then
		reloads=$(grep -c "SIGHUP: handing" "$log")
		resumed=$(grep -c "the previous worker's session resumed" "$log")
		echo "# $what_: $reloads reloads, $resumed sessions resumed"
		# The last one may come as the guest powers off (QEMU gone: nothing
		# to resume).
		check $([ "$reloads" -ge $((secs / rperiod / 2)) ] && [ "$resumed" -ge $((reloads - 1)) ] && echo 0 || echo 1) \
			"$what_: the server was executed again throughout and each new one took the session over ($reloads reloads, $resumed resumed)"
	fi
	if [ "$what" = calm ]; then
		check $([ "$restarts" -eq 0 ] && echo 0 || echo 1) "$what_: its helper never restarted"
	fi
done
# Whether a kill finds requests in flight is chance (a few per guest, some
# runs none): counted over the guests whose helpers were killed.
if [ -n "$hit" ]; then
	check $([ "$again_all" -gt 0 ] && echo 0 || echo 1) \
		"requests in flight when a helper died were sent again ($again_all over the guests whose helpers were killed)"
fi
echo "1..$n"
}
main "$@"
