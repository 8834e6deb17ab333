#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the test domU (busybox): load the Xen 9p client modules, then run
# the commands dom0 types on the console, one per line:
#
#   @@CMD <id> <shell command>
#
# Each runs under sh with stdin /dev/null; its output is framed on the console
# as "@@BEGIN <id>" ... "@@END <id> <exit status>", which dom0 reads back
# from xenconsoled's log of this guest (tests/xen/dom0-lib.sh). Other input
# lines are ignored. /tmp is a tmpfs (posixdiff's reference side), the test
# programs (posixdiff, stress, nstime) and domu-bench.sh are in /bin.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=160m tmpfs /tmp
say() { echo "[domU $(cut -d' ' -f1 /proc/uptime)s] $*"; }
while read -r m; do
	insmod "$m" || say "insmod $m failed"
done </etc/modules.order
say "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

# No echo: the commands would otherwise come back into the log dom0 reads.
stty -F /dev/hvc0 -echo 2>/dev/null
say "@@READY $(uname -r)"
while IFS= read -r line; do
	case $line in
	"@@CMD "*) ;;
	*) continue ;;
	esac
	rest=${line#@@CMD }
	id=${rest%% *}
	cmd=${rest#* }
	echo "@@BEGIN $id"
	sh -c "$cmd" </dev/null 2>&1
	echo "@@END $id $?"
done </dev/hvc0
say "console input closed"
poweroff -f
