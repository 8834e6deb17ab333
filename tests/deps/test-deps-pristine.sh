#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# "Two commands on a fresh machine", tested (TAP): a Debian 12 minbase chroot
# with only the stock apt sources runs every install step of the tree, in the
# order `make check` meets them, and each step must install what it promises
# (tools/deps.sh packages STEP) and give what the scripts after it use.  Then
# `make` must build there, and every step run a second time must change
# nothing.
#
#   sh tests/deps/test-deps-pristine.sh      (as root)
#
# The base tree is debootstrapped once and cached (tests/lib/debian-base.sh);
# every run starts from a fresh copy of it.  Logs: build/deps-pristine/logs/.
# About 8 minutes on two cores, most of it apt in the chroot.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export X9P_TOP=$top
. "$top/tests/lib/debian-base.sh"
work=$top/build/deps-pristine
r=$work/root
logs=$work/logs
t_start=$(date +%s)

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -z "${2:-}" ] || [ ! -f "$2" ] || tail -n 15 "$2" | sed 's/^/#   /'
}
check() { # DESC LOG CMD...
	_d=$1 _l=$2
	shift 2
	if "$@" >>"$_l" 2>&1; then ok "$_d"; else not_ok "$_d" "$_l"; fi
}
finish() {
	debian_chroot_umounts "$r"
	# The tree is kept for a look after a failure only (about 1 GB).
	if [ "$failed" -eq 0 ] && ! mountpoint -q "$r/proc" && ! mountpoint -q "$r/sys"; then
		rm -rf "$r"
	fi
	echo "1..$n"
	echo "# time: pristine-machine test: $(($(date +%s) - t_start)) s"
	echo "$((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
bail() {
	not_ok "$1" "${2:-}"
	finish
}

[ "$(id -u)" -eq 0 ] || bail "needs root (debootstrap, chroot)"
mkdir -p "$logs"
rm -f "$logs"/*
sh "$top/tools/deps.sh" xen >"$logs/host-deps.log" 2>&1 ||
	bail "debootstrap is missing and tools/deps.sh xen cannot install it" "$logs/host-deps.log"

# ---- a fresh Debian 12 -----------------------------------------------------------
t0=$(date +%s)
debian_base "$r" 2>"$logs/base.log" || bail "debootstrap of a bookworm minbase" "$logs/base.log"
echo "# time: base tree: $(($(date +%s) - t0)) s"
trap 'debian_chroot_umounts "$r"' EXIT
trap 'exit 1' INT TERM
debian_chroot_mounts "$r" || bail "mounting /proc and /sys in the chroot"

# Commands in the chroot, with a clean environment, from the tree's copy.
in_root() {
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		sh -c "cd /src && $*"
}
stock_sources() {
	# Nothing but the three stock suites, and no deb-src.
	in_root 'cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null' |
		sed 's/#.*//' | awk 'NF' >"$work/sources.txt"
	[ "$(awk '{print $1, $3}' "$work/sources.txt" | sort | tr '\n' ,)" = \
		"deb bookworm,deb bookworm-security,deb bookworm-updates," ]
}
mkdir -p "$r/src"
tar -C "$top" --exclude=./build --exclude=./build-san --exclude=./.git -cf - . | tar -C "$r/src" -xf - ||
	bail "copying the tree into the chroot"
check "the chroot has only the stock apt sources" "$logs/base.log" stock_sources


# ---- every step, in the order make check runs them --------------------------------
# make (deps.sh build), make check's own vfu step (deps.sh vfu, here through
# the trixie QEMU fixture, which also checks the mirror serves
# trixie-backports), the vhost guest test (build-qemu.sh, deps.sh vhost), the
# VM tiers (deps.sh vm, fetch-kernels.sh), the Xen tier (deps.sh xen); then
# what `make bench` adds (deps.sh bench).
entry_build="sh tools/deps.sh build"
entry_vfu="sh tests/vfu/qemu-trixie.sh --deps-only"
entry_vhost="sh tests/vhost/build-qemu.sh --deps-only"
entry_vm="sh tools/deps.sh vm"
entry_xen="sh tools/deps.sh xen"
entry_bench="sh tools/deps.sh bench"

# The promises of a step, checked from the outside: dpkg's and apt's own view.
promised() { # STEP LOG
	in_root "sh tools/deps.sh packages $1" >"$work/promise-$1.txt" 2>>"$2" || return 1
	[ -s "$work/promise-$1.txt" ] || { echo "step $1 promises nothing" >>"$2"; return 1; }
	bad=0
	while read -r what arg; do
		case $what in
		deb | deb-src)
			in_root "apt-get indextargets --format '\$(CREATED_BY) \$(CODENAME)'" |
				grep -qx "$([ "$what" = deb ] && echo Packages || echo Sources) $arg" ||
				{ echo "no $what index for $arg" >>"$2"; bad=1; }
			;;
		*/*)
			v=$(in_root "dpkg-query -W -f='\${Status} \${Version}' ${what%/*}" 2>/dev/null)
			case $v in "install ok installed "*~bpo*) ;; *)
				echo "${what%/*} not installed from ${what#*/} ($v)" >>"$2"; bad=1 ;;
			esac
			;;
		*)
			in_root "dpkg-query -W -f='\${Status}' $what" 2>/dev/null | grep -qx 'install ok installed' ||
				{ echo "$what not installed" >>"$2"; bad=1; }
			;;
		esac
	done <"$work/promise-$1.txt"
	return $bad
}

# What the scripts after each step rely on, independent of the package lists.
uses_build() { in_root 'cc --version && pkg-config --exists glib-2.0 gthread-2.0 libseccomp libcap-ng &&
	test -f /usr/include/xenstore.h && test -f /usr/include/xengnttab.h && prove --version'; }
uses_vhost() {
	in_root 'meson --version && ninja --version && python3 -m venv --help >/dev/null &&
		pkg-config --exists pixman-1 slirp zlib' &&
		in_root 'meson --version' | awk -F. '{ exit !($1 > 1 || ($1 == 1 && $2 >= 5)) }' &&
		in_root "apt-get source --print-uris qemu/bookworm-backports" | grep -q "qemu_.*orig\.tar"
}
uses_vm() {
	in_root 'qemu-system-x86_64 --version && busybox --help >/dev/null && cpio --version && xz --version &&
		zstd --version && modprobe --version && readelf --version' &&
		# tests/vm/fetch-kernels.sh finds its 6.12 guest kernel, as a .deb
		# to download (a name seen only in a Sources index is not enough).
		k=$(in_root 'apt-cache pkgnames linux-image-6.12' |
			grep -E '^linux-image-6\.12\.[0-9]+\+(deb12|bpo)-amd64$' | sort -V | tail -n 1) &&
		[ -n "$k" ] && in_root "apt-get download --print-uris $k" | grep -q "\.deb'"
}
uses_vfu() {
	in_root 'debootstrap --version && test -e /usr/share/debootstrap/scripts/trixie &&
		test -s /usr/share/keyrings/debian-archive-keyring.gpg && wget --version >/dev/null &&
		unshare --version && mount --version && flock --version && chroot --version'
}
uses_xen() { in_root 'debootstrap --version && mkfs.ext4 -V && debugfs -V && cpio --version && gzip --version'; }
uses_bench() { in_root 'test -x /usr/sbin/diod'; }

for s in build vfu vhost vm xen bench; do
	t0=$(date +%s)
	eval "entry=\$entry_$s"
	l=$logs/step-$s.log
	if in_root "$entry" >"$l" 2>&1; then
		ok "step $s ($entry) on a stock machine"
	else
		not_ok "step $s ($entry) on a stock machine" "$l"
	fi
	check "step $s installed what it promises" "$l" promised "$s" "$l"
	check "step $s gives what the scripts after it use" "$l" "uses_$s"
	echo "# time: step $s: $(($(date +%s) - t0)) s"
	if [ "$s" = build ]; then
		t0=$(date +%s)
		check "make builds on the fresh machine" "$logs/make.log" \
			in_root 'make -j2 && test -x build/x9p-backend && test -x build/x9p-helper && test -x build/x9p-vhost &&
				build/x9p-backend --help >/dev/null'
		echo "# time: make: $(($(date +%s) - t0)) s"
	fi
done

covers_all() {
	steps=$(in_root "sh tools/deps.sh steps") || return 1
	echo "deps.sh steps: $steps"
	[ "$(echo "$steps" | tr ' ' '\n' | sort | tr '\n' ' ')" = "bench build vfu vhost vm xen " ]
}
check "this test ran every step tools/deps.sh has" "$logs/steps.log" covers_all

# ---- a second run changes nothing --------------------------------------------------
in_root 'ls -l /etc/apt/sources.list.d; cat /etc/apt/sources.list.d/*' >"$work/sources-before.txt" 2>&1
for s in build vfu vhost vm xen bench; do
	l=$logs/again-$s.log
	in_root "sh tools/deps.sh $s" >"$l" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q . "$l"; then
		ok "step $s again: nothing to do"
	else
		echo "exit $rc" >>"$l"
		not_ok "step $s again: nothing to do" "$l"
	fi
done
in_root 'ls -l /etc/apt/sources.list.d; cat /etc/apt/sources.list.d/*' >"$work/sources-after.txt" 2>&1
check "the apt sources are unchanged by a second run" "$logs/again-sources.log" \
	diff "$work/sources-before.txt" "$work/sources-after.txt"
no_duplicates() {
	in_root 'apt-get update' >"$work/update.txt" 2>&1 && ! grep -q 'configured multiple times' "$work/update.txt"
}
check "apt-get update still works and sees no entry twice" "$logs/again-sources.log" no_duplicates

finish
