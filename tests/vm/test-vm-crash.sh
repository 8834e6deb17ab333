#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash tier (TAP): two guests (Linux 6.12 and 6.1, booted at once) run a
# mixed load through the real 9p client (tests/vm/crash-guest.sh: the
# integrity stress, fsync'd files read back, trees made and removed) on
# x9p-backend over trans=fd, one backend and export each.  The first
# guest's x9p-helper is killed with SIGKILL every 100 ms from the moment
# its backend is up until the guest is done; the second guest's is left
# alone.  Both must see no error at all, every file the first guest
# fsync'd must be on the host with the content it read back, and the
# second guest's helper must never have restarted.  Prints the kills, the
# requests sent again and those found already done, and the slowest step
# of each guest.
#
#   X9P_CRASH_SECONDS    guest load duration (default 30)
#   X9P_CRASH_PERIOD     seconds between kills (default 0.1)
set -u

main() {
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
secs=${X9P_CRASH_SECONDS:-30}
period=${X9P_CRASH_PERIOD:-0.1}
. "$top/tests/lib/proctree.sh"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" -eq 0 ]; then shift; ok "$@"; else shift; nok "$@"; fi; }

sh "$top/tools/deps.sh" vm >/dev/null 2>&1
for k in 6.12 6.1; do
	sh "$here/fetch-kernels.sh" "$k" >/dev/null 2>&1 || true
done

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-crash.XXXXXX")
killer=''
cleanup() {
	[ -z "$killer" ] || kill "$killer" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# a: 6.12, its helper killed; b: 6.1, left alone
for g in a b; do
	mkdir "$work/export-$g"
	{ echo "CRASH_SECONDS=$secs"; echo "CRASH_SEED=$(date +%s)"; cat "$here/crash-guest.sh"; } \
		>"$work/guest-$g.sh"
done
boot() { # G KERNEL
	t0=$(date +%s)
	bash "$here/boot.sh" --kernel "$2" --script "$work/guest-$1.sh" --timeout 600 \
		--server-cmd "echo \$\$ >$work/pid-$1; exec $B/x9p-backend --listen unix:{sock} \
--export $work/export-$1 --security-model mapped-xattr 2>$work/backend-$1.log" \
		>"$work/out-$1" 2>"$work/err-$1"
	echo $? >"$work/rc-$1"
	echo $(($(date +%s) - t0)) >"$work/secs-$1"
}

# Kills every x9p-helper under the backend of guest a, every $period s.
kill_loop() {
	while [ ! -s "$work/pid-a" ]; do sleep 0.05; done
	bpid=$(cat "$work/pid-a")
	kills=0 last=''
	while kill -0 "$bpid" 2>/dev/null; do
		hp=''
		for p in $(proctree_pids "$bpid"); do
			[ "$(cat /proc/"$p"/comm 2>/dev/null)" = x9p-helper ] && hp="$hp $p"
		done
		if [ -n "$hp" ] && [ "$hp" != "$last" ]; then
			# shellcheck disable=SC2086
			kill -KILL $hp 2>/dev/null && kills=$((kills + 1))
			echo "$kills" >"$work/kills"
			last=$hp
		fi
		sleep "$period"
	done
}
kill_loop &
killer=$!
boot a 6.12 &
ba=$!
boot b 6.1 &
bb=$!
wait "$ba"
wait "$bb"
kill "$killer" 2>/dev/null
wait "$killer" 2>/dev/null
killer=''

kills=$(cat "$work/kills" 2>/dev/null || echo 0)
mkdir -p "$B/artefacts"
for g in a b; do
	cat "$work/out-$g" "$work/err-$g" >"$B/artefacts/vm-crash-$g.log"
	cp "$work/backend-$g.log" "$B/artefacts/vm-crash-backend-$g.log"
done
for g in a b; do
	k=$([ $g = a ] && echo 6.12 || echo 6.1)
	out=$work/out-$g
	rc=$(cat "$work/rc-$g")
	what="guest $k ($([ $g = a ] && echo "helper killed every ${period} s" || echo "left alone"))"
	echo "# $what: boot.sh status $rc in $(cat "$work/secs-$g") s"
	if ! grep -q "^@@C done" "$out"; then
		nok "$what: the load ran to its end"
		sed 's/^/# /' "$work/err-$g" | tail -20
		tail -20 "$out" | sed 's/^/# /'
		continue
	fi
	ok "$what: the load ran to its end ($(sed -n 's/^@@C rounds //p' "$out") rounds)"
	fails=$(grep -c "^@@C fail" "$out")
	grep "^@@C fail" "$out" | head -10 | sed 's/^/# /'
	check $([ "$fails" -eq 0 ] && echo 0 || echo 1) "$what: no call failed ($fails failures)"
	check $([ "$(sed -n 's/^@@C stress //p' "$out")" = 0 ] && echo 0 || echo 1) \
		"$what: the integrity stress verified every step"
	echo "# $what: slowest stress step $(sed -n 's/^@@C slowest //p' "$out") ms"
	# every file fsync'd and read back is on the host with that content
	bad=0 files=0
	for f in $(sed -n 's/^@@C file \([^ ]*\) .*/\1/p' "$out"); do
		want=$(sed -n "s/^@@C file $f //p" "$out")
		[ -e "$work/export-$g/$f" ] || continue   # removed by the guest later
		files=$((files + 1))
		got=$(sha256sum <"$work/export-$g/$f" | cut -d' ' -f1)
		[ "$got" = "$want" ] || { bad=$((bad + 1)); echo "# $f: $got on the host"; }
	done
	check $([ "$bad" -eq 0 ] && [ "$files" -gt 0 ] && echo 0 || echo 1) \
		"$what: the $files fsync'd files kept on the host hold what the guest read back"
	warn=$(grep -c "x9p-helper restarted" "$work/backend-$g.log")
	if [ $g = a ]; then
		line=$(grep "x9p-helper restarted" "$work/backend-$g.log" | tail -1)
		rerun=$(echo "$line" | sed -n 's/.*sent again so far: \([0-9]*\).*/\1/p')
		done_=$(echo "$line" | sed -n 's/.*found already done: \([0-9]*\).*/\1/p')
		echo "# $what: $kills kills, $warn restarts, ${rerun:-0} requests sent again, ${done_:-0} found already done"
		check $([ "$kills" -ge $((secs * 3)) ] && [ "$warn" -ge $((secs * 3)) ] && echo 0 || echo 1) \
			"$what: the helper was killed and restarted throughout ($kills kills, $warn restarts)"
		check $([ "${rerun:-0}" -gt 0 ] && echo 0 || echo 1) \
			"$what: requests in flight were sent again (${rerun:-0})"
	else
		check $([ "$warn" -eq 0 ] && echo 0 || echo 1) "$what: its helper never restarted"
	fi
done
echo "1..$n"
}
main "$@"
