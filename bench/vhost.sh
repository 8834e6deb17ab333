#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): the same guest workload over x9p-vhost and over
# QEMU's built-in virtio-9p-pci, on the same export, in the same boot, for
# the 6.1 and the 6.12 guest clients.  X9P_BENCH_SERVER=vfu (bench/vfu.sh)
# runs x9p-vhost --vfio-user behind vfio-user-pci instead, and the QEMU
# column is then Debian's QEMU 11.1, the one that runs the device (trans=virtio, 9p2000.L, msize 512000,
# cache=none).  Workload: 64 MiB write and read (dd, 1 MiB blocks), create
# 2000 empty files, ls -l of them, find over 5000 files.  One run of each;
# the numbers are noisy under TCG: compare the columns, not runs.
#
# Also prints the iounit x9p-vhost answers and the Tread/Twrite sizes each
# client then sends (from a short traced probe), and why.
#
#   X9P_BENCH_KERNELS="6.1 6.12"   X9P_BENCH_MODEL=mapped-xattr
#   X9P_BENCH_SERVER=vhost|vfu
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
export X9P_BUILD=$B
kernels=${X9P_BENCH_KERNELS:-6.1 6.12}
model=${X9P_BENCH_MODEL:-mapped-xattr}
server=${X9P_BENCH_SERVER:-vhost}
case $server in
vhost) label=x9p-vhost ;;
vfu) label=x9p-vfio-user ;;
*) echo "X9P_BENCH_SERVER must be vhost or vfu" >&2; exit 2 ;;
esac
vm=$top/tests/vhost/vhost-vm.sh

say() { echo "bench/$server: $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-bench-vhost.XXXXXX")
trap 'rm -rf "$work"' EXIT
exp=$work/export
mkdir -p "$exp/tree"
# The find target: 5000 files in 50 directories, made on the host.
for d in $(seq 0 49); do
	mkdir "$exp/tree/d$d"
	(cd "$exp/tree/d$d" && touch $(seq -f 'f%03g' 0 99))
done
head -c 1048576 /dev/urandom >"$exp/probe"

cat >"$work/probe.sh" <<'EOF'
dd if=/mnt/probe of=/dev/null bs=1M 2>/dev/null
dd if=/dev/zero of=/mnt/probe-w bs=1M count=1 2>/dev/null
rm -f /mnt/probe-w
EOF
cat >"$work/workload.sh" <<'EOF'
t() { nstime -m; }
d=/mnt/bench-$X9P_CONFIG
rm -rf "$d"; mkdir "$d" && cd "$d" || exit 1
s=$(t); dd if=/dev/zero of=big bs=1M count=64 conv=fsync 2>/dev/null; e=$(t)
echo "@@B write $((e - s))"
s=$(t); dd if=big of=/dev/null bs=1M 2>/dev/null; e=$(t)
echo "@@B read $((e - s))"
rm -f big
mkdir c && cd c || exit 1
s=$(t); i=0; while [ $i -lt 2000 ]; do : >f$i; i=$((i + 1)); done; e=$(t)
echo "@@B create $((e - s))"
cd ..
s=$(t); ls -l c >/dev/null; e=$(t)
echo "@@B lsl $((e - s))"
s=$(t); n=$(find /mnt/tree | wc -l); e=$(t)
echo "@@B find $((e - s)) $n"
cd /; rm -rf "$d"
EOF

# Tread/Twrite count and Rlopen/Rlcreate iounit fields from a trace line's
# hex frame (little-endian).
trace_summary() {
	awk '
	function hex2(s) { return index("0123456789abcdef", substr(s, 1, 1)) * 16 + index("0123456789abcdef", substr(s, 2, 1)) - 17 }
	function le32(h, off,   i, v) { v = 0; for (i = 3; i >= 0; i--) v = v * 256 + hex2(substr(h, off + 2 * i + 1, 2)); return v }
	{
		h = $5; type = hex2(substr(h, 9, 2))
		if ($2 == "T" && (type == 116 || type == 118)) { c = le32(h, 38); if (c > max[type]) max[type] = c }
		if ($2 == "R" && (type == 13 || type == 15)) iounit = le32(h, length(h) - 8)
	}
	END { printf "%s %d %d\n", (iounit == "" ? "?" : iounit), max[116], max[118] }' "$1"
}

bsize=$(stat -f -c %s "$exp")
msize=512000
for k in $kernels; do
	say "kernel $k: booting ($label probe, $label, QEMU virtio-9p-pci)"
	rm -f "$work/trace"
	cat >"$work/script-$k.sh" <<EOF
if [ "\$X9P_CONFIG" = 0 ]; then
$(cat "$work/probe.sh")
else
$(cat "$work/workload.sh")
fi
EOF
	if ! bash "$vm" --kernel "$k" --timeout 1200 --script "$work/script-$k.sh" \
		--server "$server" --vhost-args "--export $exp --security-model $model --trace $work/trace" \
		--then --vhost-args "--export $exp --security-model $model" \
		--then --server qemu --export "$exp" --security-model "$model" \
		>"$work/out-$k" 2>"$work/err-$k"; then
		say "kernel $k: the run failed:"
		tail -n 20 "$work/err-$k" >&2
		continue
	fi
	release=$(cat "$top/build/vm-cache/kernel-$k/release" 2>/dev/null || echo "$k")
	read -r iounit rmax wmax < <(trace_summary "$work/trace")
	awk -v k="$release" -v label="$label" '
	/^# configuration / { c = $3 + 0; next }
	/^@@B / { v[c, $2] = $3; if ($2 == "find") n = $4 }
	function mbps(ns) { return ns > 0 ? sprintf("%.1f", 64 * 1048576 * 1000 / ns) : "-" }
	function sec(ns) { return ns > 0 ? sprintf("%.2f", ns / 1e9) : "-" }
	function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
	END {
		printf "\nguest kernel %s, cache=none, msize 512000, one run each\n", k
		printf "%-26s %14s %16s %10s\n", "workload", label, "QEMU virtio-9p", "x9p/QEMU"
		printf "%-26s %14s %16s %10s\n", "64 MiB write (MB/s)", mbps(v[1, "write"]), mbps(v[2, "write"]), ratio(v[2, "write"], v[1, "write"])
		printf "%-26s %14s %16s %10s\n", "64 MiB read (MB/s)", mbps(v[1, "read"]), mbps(v[2, "read"]), ratio(v[2, "read"], v[1, "read"])
		printf "%-26s %14s %16s %10s\n", "create 2000 files (s)", sec(v[1, "create"]), sec(v[2, "create"]), ratio(v[1, "create"], v[2, "create"])
		printf "%-26s %14s %16s %10s\n", "ls -l 2000 files (s)", sec(v[1, "lsl"]), sec(v[2, "lsl"]), ratio(v[1, "lsl"], v[2, "lsl"])
		printf "%-26s %14s %16s %10s\n", "find " n " entries (s)", sec(v[1, "find"]), sec(v[2, "find"]), ratio(v[1, "find"], v[2, "find"])
		print "(MB/s rows: x9p/QEMU is the speed ratio; time rows: the time ratio, lower is better for x9p)"
	}' "$work/out-$k"
	echo "iounit: $label answers $iounit; this client then sent Tread up to $rmax and Twrite up to $wmax bytes"
	echo "  (dd with 1 MiB blocks).  Why $iounit: the engine leaves the request size to msize alone"
	echo "  (msize - 24 = $((msize - 24)) here); QEMU's rule, f_bsize * ((msize - 24) / f_bsize), would"
	echo "  answer $((bsize * ((msize - 24) / bsize))) on this export."
	if [ "$rmax" -lt $((msize - 24)) ] && [ "$rmax" -gt 0 ]; then
		echo "  This client chose smaller requests than both msize and iounit allow: a limit of the"
		echo "  client's own virtio path, not of the server's answer (QEMU's 507904 saw the same"
		echo "  sizes from 6.12 in the reference measurements)."
	fi
done
