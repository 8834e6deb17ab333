#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): x9p-backend over a unix socket against a host
# directory (passthrough, then mapped-xattr) and against its synthetic
# in-memory filesystem, 1 and 8 clients, with the references measured in
# the same run: fstatat, pread, openat+close+unlinkat, getdents64 and a
# bare process-to-process round trip ("echo").  Prints ops/s and the
# ratios; the machine is noisy, compare ratios, not runs.
#
#   X9P_BENCH_SECONDS=3   per measurement
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

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-bench-socket.XXXXXX")
exp=$work/export
mkdir -p "$exp"
head -c $((64 << 20)) /dev/urandom >"$exp/file"

mkdir -p "$exp/dir"
for i in $(seq 1000); do : >"$exp/dir/entry-$i"; done

# start NAME ARGS...: an x9p-backend on $work/NAME.sock
start() {
	local name=$1
	shift
	rm -f "$work/ready"
	mkfifo "$work/ready"
	"$backend" "$@" --listen "unix:$work/$name.sock" --log-level warning ${X9P_BENCH_ARGS:-} \
		--ready-fd 3 3>"$work/ready" 2>"$work/$name.log" &
	pids="$pids $!"
	grep -q '^ready$' "$work/ready" || { cat "$work/$name.log"; echo "bench/socket: no server"; exit 1; }
}
pids=
trap 'kill $pids 2>/dev/null; rm -rf "$work"' EXIT
start passthrough --export "$exp" --security-model passthrough
start mapped --export "$exp" --security-model mapped-xattr
start synthetic --synthetic=bigdir=1000

rate() { "$load" --seconds "$secs" "$@" | awk '{ print $3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "bench/socket: $backend ${X9P_BENCH_ARGS:-}, unix socket, ${secs} s each"
printf '%-12s %-32s %3s %10s %10s %7s\n' server operation K x9p_ops/s ref_ops/s ratio
for k in 1 8; do
	echo_r=$(rate --local "$exp" --op echo --clients "$k")
	for line in "passthrough walk-getattr-clunk fstatat file" "passthrough getattr echo file" \
		"passthrough read4k pread4k file" "passthrough read4k echo file" \
		"passthrough read1m pread1m file" "passthrough create-remove creat-unlink file" \
		"passthrough readdir getdents dir" "mapped walk-getattr-clunk fstatat file" \
		"mapped readdir getdents dir" "synthetic getattr echo file" \
		"synthetic read4k echo file" "synthetic walk-getattr-clunk fstatat file" \
		"synthetic readdir getdents dir"; do
		set -- $line
		f=$4
		[ "$1" = synthetic ] && [ "$f" = dir ] && f=big
		x=$(rate --addr "unix:$work/$1.sock" --op "$2" --clients "$k" --file "$f") || exit 1
		if [ "$3" = echo ]; then r=$echo_r; else r=$(rate --local "$exp" --op "$3" --clients "$k" --file "$4"); fi
		printf '%-12s %-32s %3s %10s %10s %7s\n' "$1" "$2 vs $3" "$k" "$x" "$r" "$(ratio "$r" "$x")"
	done
done
echo "(ratio: how many times slower than the reference; lower is better)"
