#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# dom0 PID 1 of the systemd boot (test-xen-systemd.sh), started by
# dom0-stage1-init from the test disk: prepares the root (a snapshot, thrown
# away at the end) the way a Debian 12 dom0 is set up, then becomes
# Debian's systemd.  Its xen service (the sysv script of xen-utils-common)
# starts the Xen daemons; x9p-test.service runs the scenario after it.
# x9p itself is not installed here: the scenario installs and enables it.
mkdir -p /etc/systemd/system/multi-user.target.wants
cp /x9ptest/x9p-test.service /etc/systemd/system/
ln -sf ../x9p-test.service /etc/systemd/system/multi-user.target.wants/x9p-test.service
# The console is the test's log, not a login prompt.
ln -sf /dev/null /etc/systemd/system/serial-getty@hvc0.service
ln -sf /dev/null /etc/systemd/system/getty@tty1.service
echo dom0 >/etc/hostname
# The guests' consoles logged to files, which the scenario reads
# (dom0-lib.sh): the setting Debian's xen script reads for xenconsoled.
mkdir -p /var/log/xen/console
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >>/etc/default/xen
exec /lib/systemd/systemd
