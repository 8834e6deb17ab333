#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of the benchmark: one workload on one mounted directory.
#
#   domu-bench.sh DIR LABEL NFILES
#
# Prints "BENCH LABEL KEY VALUE" lines (seconds with three decimals, or MB/s):
# a 64 MiB dd write ending in fsync, the same file read back after dropping
# the guest's caches, NFILES small files created (open, write 8 bytes,
# close), and ls -l of that directory with cold caches. Figures only: nothing
# here decides a test result. Exit status non-zero when a step failed.
set -u
dir=$1 label=$2 nfiles=$3

t() { nstime -m; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
mbps() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 64 / ((b - a) / 1e9) }'; }
out() { echo "BENCH $label $*"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

w=$dir/bench.$$
mkdir "$w" || exit 1
drop
a=$(t)
dd if=/dev/zero of="$w/big" bs=1M count=64 conv=fsync 2>/dev/null || { out "write FAILED"; exit 1; }
b=$(t)
out "write64M_s $(secs "$a" "$b")"
out "write64M_MBps $(mbps "$a" "$b")"
drop
a=$(t)
dd if="$w/big" of=/dev/null bs=1M 2>/dev/null || { out "read FAILED"; exit 1; }
b=$(t)
out "read64M_s $(secs "$a" "$b")"
out "read64M_MBps $(mbps "$a" "$b")"
rm -f "$w/big"

mkdir "$w/many"
a=$(t)
i=0
while [ "$i" -lt "$nfiles" ]; do
	echo "file $i" >"$w/many/f$i" || { out "create FAILED at $i"; exit 1; }
	i=$((i + 1))
done
b=$(t)
out "create${nfiles}_s $(secs "$a" "$b")"
drop
a=$(t)
n=$(ls -l "$w/many" | grep -c '^-')
b=$(t)
[ "$n" -eq "$nfiles" ] || { out "ls FAILED: $n of $nfiles"; exit 1; }
out "ls-l${nfiles}_s $(secs "$a" "$b")"
rm -rf "$w"
