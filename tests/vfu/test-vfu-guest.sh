#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real-guest test of x9p-vhost --vfio-user: Linux 6.1 and 6.12 guests of
# Debian's QEMU 11.1 mount an export through vfio-user-pci and run the
# POSIX suite and the data-integrity stress; tests/vhost/test-vhost-guest.sh
# with that device and that QEMU.
X9P_GUEST_SERVER=vfu exec sh "$(dirname "$0")/../vhost/test-vhost-guest.sh"
