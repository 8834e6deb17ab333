#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): x9p-vhost --vfio-user behind QEMU 11.1's
# vfio-user-pci against that QEMU's built-in virtio-9p-pci; the workload and
# the table are bench/vhost.sh's.
X9P_BENCH_SERVER=vfu exec bash "$(dirname "$0")/vhost.sh" "$@"
