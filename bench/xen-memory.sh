#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): private memory per idle Xen device, with its
# worker and helper, for X9P_BENCH_DEVICES (default 100) devices served by
# the real x9p-backend in the simulated Xen environment (bench/xen-memory.c).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
cd "$top" || exit 1
X9P_BUILD=$B "$B/bench/xen-memory" "${X9P_BENCH_DEVICES:-100}"
