#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run by x9p-test.service once Debian's xen service is up: the scenario,
# its log on the test disk, the journal beside it, then the end of the run
# (a reboot, which ends QEMU: -no-reboot).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
mkdir -p /x9ptest/out
echo "[dom0 $(cut -d' ' -f1 /proc/uptime)s] systemd: $(systemctl is-system-running 2>&1)"
bash /x9ptest/scenario.sh </dev/null 2>&1 | tee /x9ptest/out/dom0.log
journalctl -b --no-pager >/x9ptest/out/journal.log 2>&1
. /x9ptest/dom0-end.sh
dom0_end
