#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# dom0 PID 1 (stage 2, started by dom0-stage1-init from the test disk
# mounted at /x9ptest): bring up the Xen 4.17 toolstack daemons, install this
# tree's build (x9p, from /x9ptest/root) into the running root, run the test
# scenario, then reboot, which ends QEMU (-no-reboot).
#
# The scenario's TAP lines and logs land in /x9ptest/out/ on the test disk,
# which the harness reads back after QEMU exits; they are also printed on the
# console (the serial log).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
say() { echo "[dom0 $(cut -d' ' -f1 /proc/uptime)s] $*"; }
. /x9ptest/dom0-end.sh

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -o remount,rw /
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
hostname dom0
mkdir -p /x9ptest/out
say "stage 2: hypervisor $(cat /sys/hypervisor/type 2>/dev/null)" \
	"$(cat /sys/hypervisor/version/major 2>/dev/null).$(cat /sys/hypervisor/version/minor 2>/dev/null)"

for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd; do
	modprobe "$m" || say "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen
mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/lib/xen /var/run
xb=/usr/lib/xen-4.17/bin
$xb/xenstored --pid-file /run/xenstore.pid || say "xenstored failed"
$xb/xen-init-dom0 || say "xen-init-dom0 failed"
$xb/xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	say "xenconsoled failed"
say "toolstack up"

# This tree's build: make install DESTDIR=/x9ptest/root on the host.
if [ -d /x9ptest/root ]; then
	cp -a /x9ptest/root/. /
	ldconfig
fi

bash /x9ptest/scenario.sh </dev/null 2>&1 | tee /x9ptest/out/dom0.log
say "scenario finished"
dom0_end
