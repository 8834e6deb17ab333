#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-side helpers dom0 calls through the console (installed as /bin/xt):
#
#   xt wait-dev N        wait (bounded) until xenbus device 9pfs-N is Connected
#   xt wait-gone N       wait (bounded) until device 9pfs-N is gone
#   xt mount TAG DIR     mount -t 9p -o trans=xen,version=9p2000.L TAG DIR
#   xt devs              list the 9pfs devices and their states
#
# Waits poll every 0.2 s for at most 90 s: a bound against hanging forever,
# not a timing check (the exit status says whether the state was reached).
set -u
dev=/sys/bus/xen/devices

state() { cat "$dev/9pfs-$1/state" 2>/dev/null || echo absent; }

case ${1:-} in
wait-dev)
	i=0
	while [ "$(state "$2")" != Connected ] && [ $i -lt 450 ]; do sleep 0.2; i=$((i + 1)); done
	echo "9pfs-$2: $(state "$2")"
	[ "$(state "$2")" = Connected ]
	;;
wait-gone)
	i=0
	while [ -e "$dev/9pfs-$2" ] && [ $i -lt 450 ]; do sleep 0.2; i=$((i + 1)); done
	echo "9pfs-$2: $(state "$2")"
	[ ! -e "$dev/9pfs-$2" ]
	;;
mount)
	mkdir -p "$3"
	mount -t 9p -o trans=xen,version=9p2000.L "$2" "$3"
	;;
devs)
	for d in "$dev"/9pfs-*; do
		[ -e "$d" ] && echo "${d##*/}: $(cat "$d/state" 2>/dev/null)"
	done
	true
	;;
*)
	echo "usage: xt wait-dev N | wait-gone N | mount TAG DIR | devs" >&2
	exit 2
	;;
esac
