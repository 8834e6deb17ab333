#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest tier's own channel (TAP): trans=fd over a virtconsole loses
# nothing while x9p-backend stalls.
#
# QEMU drops what the guest writes to a virtconsole whose socket is full
# (consoles are never throttled), so a server that stops reading for a
# moment while the client has more than a socket buffer of requests in
# flight -- the 6.12 client writing back a cache=loose file at msize 512000
# does -- used to lose part of a Twrite, and guest and server then waited
# for each other for ever: a whole boot of the POSIX matrix hung until
# its timeout.  boot.sh now connects each x9p server to QEMU over a socket
# pair with large send buffers (tests/vm/sockpairs.c).  Here the server is
# stopped for 300 ms out of every 500 ms (SIGSTOP/SIGCONT) while the guest
# copies 16 MiB through such a mount, and the copy must complete intact.
#
# X9P_VM_CHANNEL_MIB sets the size (default 16).
set -u

here=$(cd "$(dirname "$0")" && pwd)
B=${X9P_BUILD:-build}
mib=${X9P_VM_CHANNEL_MIB:-16}

echo "1..3"
work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-channel.XXXXXX")
stall_pid=
cleanup() {
	[ -z "$stall_pid" ] || kill "$stall_pid" 2>/dev/null
	pkill -CONT -f -- "x9p-backend .*--export $work/export" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/export"

if ! { sh "$here/../../tools/deps.sh" vm && sh "$here/fetch-kernels.sh" 6.12; } \
	>"$work/fetch.err" 2>&1; then
	for t in 1 2 3; do echo "not ok $t - guest kernel 6.12 unavailable"; done
	sed 's/^/# /' "$work/fetch.err"
	exit 0
fi

# Counts its stops in $work/stalls; only the worker (the process that
# reads the channel) of the server of this test's export.
stall() {
	while :; do
		m=$(pgrep -f -- "x9p-backend .*--export $work/export")
		p=$(for i in $m; do pgrep -P "$i" -f -- "^x9p-backend: worker "; done)
		if [ -n "$p" ]; then
			kill -STOP $p 2>/dev/null && echo >>"$work/stalls"
			sleep 0.3
			kill -CONT $p 2>/dev/null
		fi
		sleep 0.2
	done
}
: >"$work/stalls"
stall &
stall_pid=$!

guest="dd if=/dev/urandom of=/tmp/r bs=1M count=$mib 2>/dev/null &&
	cp /tmp/r /mnt/r && sync && echo 3 >/proc/sys/vm/drop_caches &&
	cmp /tmp/r /mnt/r && echo SAME"
bash "$here/boot.sh" --kernel 6.12 --timeout 180 --export "$work/export" \
	--security-model passthrough --version 9p2000.L --msize 512000 --cache loose \
	--cmd "$guest" >"$work/out" 2>"$work/err"
st=$?
kill "$stall_pid" 2>/dev/null
wait "$stall_pid" 2>/dev/null
stall_pid=
stalls=$(wc -l <"$work/stalls")

if [ "$st" -eq 0 ]; then
	echo "ok 1 - the guest copied $mib MiB through a cache=loose msize=512000 mount"
else
	echo "not ok 1 - the guest copied $mib MiB through a cache=loose msize=512000 mount"
	echo "# boot.sh exited with $st (124: the guest hung until the timeout)"
	sed 's/^/# /' "$work/err" | tail -n 40
fi
size=$(stat -c %s "$work/export/r" 2>/dev/null || echo none)
if grep -qx SAME "$work/out" && [ "$size" = $((mib << 20)) ]; then
	echo "ok 2 - what it read back equals what it wrote; the host file has its size"
else
	echo "not ok 2 - what it read back equals what it wrote; the host file has its size"
	echo "# host file size: $size"
	sed 's/^/# guest: /' "$work/out" | tail -n 10
fi
# The copy takes several seconds, so a working staller stops the server
# many times; too few and this test proved nothing.
if [ "$stalls" -ge 5 ]; then
	echo "ok 3 - the server was stopped $stalls times during the run"
else
	echo "not ok 3 - the server was stopped $stalls times during the run (want 5 or more)"
fi
