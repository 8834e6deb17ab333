#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real-client smoke test (TAP): for each guest kernel, one boot whose kernel
# 9p client mounts x9p-backend over trans=fd, once with 9p2000.L and once with
# 9p2000.u, and runs basic operations (smoke-guest.sh) on each mount.
#
# The server is x9p-backend with a fresh export directory when it supports
# --export, else its synthetic tree (both start as /file "hello, world" and
# /dir/).  X9P_VM_SMOKE_SERVER=qemu runs the same checks against QEMU's
# built-in virtio-9p instead, to tell client behaviour from server bugs.
# X9P_VM_KERNELS limits the kernels (default "6.1 6.12").
set -u

here=$(cd "$(dirname "$0")" && pwd)
B=${X9P_BUILD:-build}
kernels=${X9P_VM_KERNELS:-6.1 6.12}
server=${X9P_VM_SMOKE_SERVER:-x9p}
versions="9p2000.L 9p2000.u"
checks="mount ls cat mkdir write bigwrite rename remove keep"

describe() {
	case $1 in
	mount) echo "mounted (listed in /proc/mounts)" ;;
	ls) echo "readdir lists file and dir" ;;
	cat) echo "cat /file reads 'hello, world'" ;;
	mkdir) echo "mkdir" ;;
	write) echo "write a small file and read it back" ;;
	bigwrite) echo "write 700 KiB and read it back (cmp)" ;;
	rename) echo "rename" ;;
	remove) echo "unlink and rmdir" ;;
	keep) echo "write a file that stays" ;;
	host) echo "the host sees that file in the export" ;;
	esac
}

# With a real export directory the host also checks what the guest left.
exporting=1
if [ "$server" != qemu ] &&
	! "$B/x9p-backend" --help 2>&1 | grep -- '--export' | grep -qv 'not yet supported'; then
	exporting=0
fi
[ "$exporting" -eq 1 ] && checks="$checks host"

nk=$(echo $kernels | wc -w)
nv=$(echo $versions | wc -w)
nc=$(echo $checks | wc -w)
echo "1..$((nk * nv * nc))"

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A fresh export per configuration, laid out like the synthetic tree.
mkexport() {
	mkdir -p "$1/dir"
	echo "hello, world" >"$1/file"
}

# First run on a machine: the VM packages (make check installs only the build
# ones) and the guest kernels.  Both are no-ops afterwards.
fetch_ok=1
{ sh "$here/../../tools/deps.sh" vm && sh "$here/fetch-kernels.sh" $kernels; } \
	>"$work/fetch.err" 2>&1 || fetch_ok=0

# Both kernels boot at once (one vCPU each), results are printed in order.
for k in $kernels; do
	[ "$fetch_ok" -eq 1 ] || break
	set -- --kernel "$k" --script "$here/smoke-guest.sh" --timeout 120
	first=1
	i=0
	for v in $versions; do
		[ "$first" -eq 1 ] || set -- "$@" --then
		first=0
		[ "$server" = qemu ] && set -- "$@" --server qemu || set -- "$@" --server x9p
		if [ "$exporting" -eq 1 ]; then
			mkexport "$work/export-$k-$i"
			set -- "$@" --export "$work/export-$k-$i" --version "$v"
		else
			set -- "$@" --backend-args --synthetic --version "$v"
		fi
		i=$((i + 1))
	done
	bash "$here/boot.sh" "$@" >"$work/out-$k" 2>"$work/err-$k" &
	echo $! >"$work/pid-$k"
done

# The file the guest's "keep" check wrote, read on the host.
host_check() {
	want="written by the guest in configuration $2"
	got=$(cat "$1" 2>&1)
	if [ "$got" = "$want" ]; then
		echo "PASS $2 host"
	else
		echo "FAIL $2 host $1: $got"
	fi
}

n=0
for k in $kernels; do
	st=125
	if [ "$fetch_ok" -eq 1 ]; then
		wait "$(cat "$work/pid-$k")"
		st=$?
	fi
	i=0
	for v in $versions; do
		for c in $checks; do
			n=$((n + 1))
			name="$k $v: $(describe "$c")"
			if [ "$c" = host ]; then
				line=$(host_check "$work/export-$k-$i/from-guest" "$i")
			else
				line=$(grep -E "^(PASS|FAIL) $i $c( |\$)" "$work/out-$k" 2>/dev/null | head -n 1)
			fi
			case $line in
			PASS*) echo "ok $n - $name" ;;
			FAIL*)
				echo "not ok $n - $name"
				echo "# ${line#FAIL $i $c }"
				;;
			*)
				echo "not ok $n - $name (no result from the guest)"
				;;
			esac
		done
		i=$((i + 1))
	done
	if [ "$fetch_ok" -eq 0 ]; then
		sed 's/^/# /' "$work/fetch.err"
	elif [ "$st" -ne 0 ]; then
		echo "# kernel $k: boot.sh exited with status $st:"
		sed 's/^/# /' "$work/err-$k"
	else
		grep 'first mount' "$work/err-$k" | sed 's/^/# /'
	fi
done
