# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# The end of a dom0 run, whichever its init (dom0-init.sh, or systemd and
# dom0-systemd-run.sh): the test disk flushed and let go, then a reboot,
# which ends QEMU (-no-reboot).
dom0_end() {
	sync
	umount /x9ptest 2>/dev/null || mount -o remount,ro /x9ptest
	sync
	echo "[dom0 $(cut -d' ' -f1 /proc/uptime)s] X9P-DOM0-END"
	echo b >/proc/sysrq-trigger
	sleep 30
}
