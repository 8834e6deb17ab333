#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-side helpers dom0 calls through the console (installed as /bin/xt):
#
#   xt wait-dev N        wait (bounded) until xenbus device 9pfs-N is Connected
#   xt wait-gone N       wait (bounded) until device 9pfs-N is gone
#   xt mount TAG DIR     mount -t 9p -o trans=xen,version=9p2000.L TAG DIR
#   xt is9p DIR          succeeds only if DIR is a 9p mount (a test that
#                        runs on an unmounted directory must not pass)
#   xt devs              list the 9pfs devices and their states
#
# Waits poll every 0.2 s for at most 90 s of guest uptime: a bound against
# hanging forever, not a timing check (the exit status says whether the state
# was reached). A device that went to Closed is not waited for: that is the
# frontend giving up.
set -u
dev=/sys/bus/xen/devices

state() { cat "$dev/9pfs-$1/state" 2>/dev/null || echo absent; }
up() { cut -d. -f1 /proc/uptime; }

case ${1:-} in
wait-dev)
	end=$(($(up) + 90))
	while [ "$(state "$2")" != Connected ] && [ "$(state "$2")" != Closed ] && [ "$(up)" -lt $end ]; do
		sleep 0.2
	done
	echo "9pfs-$2: $(state "$2")"
	[ "$(state "$2")" = Connected ]
	;;
wait-gone)
	end=$(($(up) + 90))
	while [ -e "$dev/9pfs-$2" ] && [ "$(up)" -lt $end ]; do sleep 0.2; done
	echo "9pfs-$2: $(state "$2")"
	[ ! -e "$dev/9pfs-$2" ]
	;;
mount)
	mkdir -p "$3"
	mount -t 9p -o trans=xen,version=9p2000.L "$2" "$3"
	;;
is9p)
	grep -q " $2 9p " /proc/mounts || { echo "$2 is not a 9p mount"; exit 1; }
	;;
devs)
	for d in "$dev"/9pfs-*; do
		[ -e "$d" ] && echo "${d##*/}: $(cat "$d/state" 2>/dev/null)"
	done
	true
	;;
*)
	echo "usage: xt wait-dev N | wait-gone N | mount TAG DIR | is9p DIR | devs" >&2
	exit 2
	;;
esac
