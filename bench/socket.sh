#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): x9p-backend over a unix socket against a host
# directory (passthrough), 1 and 8 clients, with the references measured
# in the same run: fstatat, pread and a bare process-to-process round trip
# ("echo").  Prints ops/s and the ratios; the machine is noisy, compare
# ratios, not runs.
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
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
exp=$work/export
mkdir -p "$exp"
head -c $((64 << 20)) /dev/urandom >"$exp/file"

mkfifo "$work/ready"
"$backend" --export "$exp" --security-model passthrough --listen "unix:$work/s" \
	--log-level warning ${X9P_BENCH_ARGS:-} --ready-fd 3 3>"$work/ready" 2>"$work/log" &
pid=$!
grep -q '^ready$' "$work/ready" || { cat "$work/log"; echo "bench/socket: no server"; exit 1; }

rate() { "$load" --seconds "$secs" "$@" | awk '{ print $3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "bench/socket: $backend ${X9P_BENCH_ARGS:-}, passthrough, unix socket, ${secs} s each"
printf '%-22s %8s %12s %12s %8s\n' operation clients x9p_ops/s ref_ops/s ratio
for k in 1 8; do
	echo_r=$(rate --local "$exp" --op echo --clients "$k")
	for pair in "walk-getattr-clunk fstatat" "getattr echo" "read4k pread4k" \
		"read4k echo" "read1m pread1m"; do
		set -- $pair
		x=$(rate --addr "unix:$work/s" --op "$1" --clients "$k") || exit 1
		if [ "$2" = echo ]; then r=$echo_r; else r=$(rate --local "$exp" --op "$2" --clients "$k"); fi
		printf '%-22s %8s %12s %12s %8s\n' "$1 vs $2" "$k" "$x" "$r" "$(ratio "$r" "$x")"
	done
done
echo "(ratio: how many times slower than the reference; lower is better)"
