#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Xen system test, systemd boot (TAP): the dom0 of test-xen-system.sh booted
# by Debian's systemd instead of the test's own init, x9p installed and
# started as an operator would (`systemctl enable --now x9p-backend`) and
# checked through systemctl and journalctl (tests/xen/scenario-systemd.sh).
# The other boot covers the sysvinit script. Same settings as
# test-xen-system.sh; outputs in build/xen-systemd-logs/.
here=$(cd "$(dirname "$0")" && pwd)
X9P_XEN_INIT=systemd X9P_XEN_NAME=xen-systemd X9P_XEN_SCENARIO=$here/scenario-systemd.sh \
	exec sh "$here/test-xen-system.sh" "$@"
