#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): x9p-backend over a unix socket, measured with the
# native load generator (build/bench/p9load) against
#   - the system-call floor: fstatat, pread, openat+close+unlinkat,
#     getdents64 (+ fstatat of each entry) on the same files, a bare
#     process-to-process round trip ("echo", the floor of any server) and
#     1 MiB of the file spliced to another process over a unix socket
#     ("splice1m", the floor of any socket server's 1 MiB read);
#   - diod (Debian's 9P server) on the same export, same operations, same
#     msize (64 KiB, diod's largest), same run.
# x9p runs three ways: passthrough and mapped-xattr exports through its
# helper, and its synthetic in-memory filesystem (no helper).  1 and 8
# clients.  The machine is noisy: compare ratios measured side by side,
# not runs.  Each line names the goal it is read against (docs/performance.md).
#
#   X9P_BENCH_SECONDS=3     per measurement
#   X9P_BENCH_CLIENTS="1 8"
#   X9P_BENCH_BACKEND=PATH  another x9p-backend to measure (e.g. an older
#                           build, for before/after figures)
#   X9P_BENCH_ARGS="..."    more x9p-backend options (e.g. --seccomp=none)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
secs=${X9P_BENCH_SECONDS:-3}
backend=${X9P_BENCH_BACKEND:-$B/x9p-backend}
load=$B/bench/p9load
diod=$(command -v diod || echo /usr/sbin/diod)
small=65560     # msize of the diod comparison: 64 KiB of data and a header

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-bench-socket.XXXXXX")
exp=$work/export
mkdir -p "$exp/dir"
head -c $((64 << 20)) /dev/urandom >"$exp/file"
for i in $(seq 1000); do : >"$exp/dir/entry-$i"; done

pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# start NAME ARGS...: an x9p-backend on $work/NAME.sock
start() {
	local name=$1
	shift
	rm -f "$work/ready"
	mkfifo "$work/ready"
	"$backend" "$@" --listen "unix:$work/$name.sock" --log-level warning ${X9P_BENCH_ARGS:-} \
		--ready-fd 3 3>"$work/ready" 2>"$work/$name.log" &
	last_pid=$!
	pids="$pids $!"
	grep -q '^ready$' "$work/ready" || { cat "$work/$name.log"; echo "bench/socket: no server"; exit 1; }
}
start passthrough --export "$exp" --security-model passthrough
start mapped --export "$exp" --security-model mapped-xattr
start synthetic --synthetic=bigdir=1000
start idle --synthetic --max-connections 512 --max-connections-per-peer 512
idle_pid=$last_pid
have_diod=
if [ -x "$diod" ]; then
	"$diod" -f -n -N -e "$exp" -l "$work/diod.sock" -L "$work/diod.log" &
	pids="$pids $!"
	for _ in $(seq 50); do [ -S "$work/diod.sock" ] && break; sleep 0.1; done
	[ -S "$work/diod.sock" ] && have_diod=1
fi

rate() { "$load" --seconds "$secs" "$@" | awk '{ print $3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
line() { printf '%-12s %-34s %3s %10s %10s %7s  %s\n' "$@"; }

echo "bench/socket: $backend ${X9P_BENCH_ARGS:-}, unix socket, ${secs} s each"
echo
echo "x9p against the system-call floor (msize 1 MiB; ratio = times slower, lower is better)"
line server operation K x9p_ops/s ref_ops/s ratio goal
for k in ${X9P_BENCH_CLIENTS:-1 8}; do
	echo_r=$(rate --local "$exp" --op echo --clients "$k")
	while read -r srv x9pop refop f goal; do
		[ "$srv" = synthetic ] && [ "$f" = dir ] && f=big
		x=$(rate --addr "unix:$work/$srv.sock" --op "$x9pop" --clients "$k" --file "$f") || exit 1
		if [ "$refop" = echo ]; then r=$echo_r; else r=$(rate --local "$exp" --op "$refop" --clients "$k" --file "${f/big/dir}"); fi
		line "$srv" "$x9pop vs $refop" "$k" "$x" "$r" "$(ratio "$r" "$x")" "$goal"
	done <<-EOF
		synthetic getattr echo file <=1.5
		passthrough getattr echo file <=2.5
		synthetic read4k echo file <=1.3
		passthrough read4k echo file <=1.3
		passthrough read4k pread4k file -
		passthrough read1m pread1m file <=1.25
		passthrough read1m splice1m file -
		passthrough walk-getattr-clunk fstatat file <=100
		mapped walk-getattr-clunk fstatat file <=100
		synthetic walk-getattr-clunk fstatat file <=100
		passthrough create-remove creat-unlink file -
		passthrough readdir getdents dir <=2
		mapped readdir getdents dir <=3
		mapped readdir getdents-getxattr dir -
		synthetic readdir getdents dir -
		passthrough ls-l getdents-fstatat dir <=40
	EOF
	echo "(floor of a request: echo = $echo_r round trips/s with $k client(s))"
done


# What idle clients cost the worker serving them: private memory and threads
# before, and while 256 connected, attached clients send nothing.
idle_worker=$(pgrep -P "$idle_pid" -f '^x9p-backend: worker' | head -n 1)
private_kb() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
echo
if [ -n "$idle_worker" ]; then
	nidle=256
	m0=$(private_kb "$idle_worker") t0=$(threads "$idle_worker")
	"$load" --addr "unix:$work/idle.sock" --op idle --clients $nidle --seconds 4 >/dev/null &
	sleep 3
	m1=$(private_kb "$idle_worker") t1=$(threads "$idle_worker")
	wait $!
	echo "idle socket connections ($nidle clients attached, silent for 2 s; goal <= 64 KiB and no thread each)"
	awk -v n=$nidle -v m0="$m0" -v m1="$m1" -v t0="$t0" -v t1="$t1" 'BEGIN {
		printf "worker private memory %d -> %d kB: %.1f kB per connection; threads %d -> %d\n",
			m0, m1, (m1 - m0) / n, t0, t1 }'
fi

echo
if [ -z "$have_diod" ]; then
	echo "x9p against diod: skipped (no diod; sh tools/deps.sh bench installs it)"
	exit 0
fi
echo "x9p against diod, same export and operations, msize $small (ratio = x9p/diod, higher is better)"
line server operation K x9p_ops/s diod_ops/s ratio goal
for k in ${X9P_BENCH_CLIENTS:-1 8}; do
	while read -r x9pop f goal; do
		x=$(rate --addr "unix:$work/passthrough.sock" --msize $small --op "$x9pop" --clients "$k" \
			--file "$f") || exit 1
		d=$(rate --addr "unix:$work/diod.sock" --aname "$exp" --msize $small --op "$x9pop" \
			--clients "$k" --file "$f") || exit 1
		line passthrough "$x9pop" "$k" "$x" "$d" "$(ratio "$x" "$d")" "$goal"
	done <<-EOF
		getattr file -
		walk-getattr-clunk file >=2
		create-remove file >=2
		readdir dir >=2
		ls-l dir -
		read4k file >=1.2
		read64k file >=1.2
	EOF
done
