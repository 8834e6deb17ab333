#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetches Debian guest kernels for the VM test tier into a cache, without
# installing them on the host.
#
#   fetch-kernels.sh [6.1|6.12|all]...      (default: all)
#
# For each kernel the cache ($X9P_VM_CACHE, default build/vm-cache at the top
# of the source tree) gets
#   kernel-K/vmlinuz        the kernel image (bzImage)
#   kernel-K/vmlinux        the ELF kernel inside it, when it can boot via PVH
#   kernel-K/release        its `uname -r`
#   kernel-K/package        the Debian package and version it came from
#   kernel-K/modules/*.ko   uncompressed modules the 9p client needs
#   kernel-K/modules.load   their file names, in load order
#   kernel-K/.complete      written last; its presence means "cached"
# A cached kernel is never fetched again; delete its directory to refresh.
#
# 6.1 comes from bookworm (newest linux-image-6.1.0-N-amd64), 6.12 from
# bookworm-backports, whose apt source `tools/deps.sh vm` adds when none is
# configured.  Needs root only for that and for `apt-get update`.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${X9P_VM_CACHE:-$top/build/vm-cache}
# The kernel's 9p client over virtio and over a virtconsole (trans=fd).  Their
# dependencies come from modules.dep, so the load order is the kernel's own.
# X9P_FETCH_MODULES: others (with X9P_VM_CACHE: a cache of their own).
want_modules=${X9P_FETCH_MODULES:-virtio_pci virtio_console 9pnet_virtio 9pnet_fd 9p}

say() { echo "fetch-kernels: $*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "needs root for: $*"; fi
}

updated=0
apt_update() {
	[ "$updated" -eq 0 ] || return 0
	say "apt-get update"
	as_root apt-get update -q >/dev/null || die "apt-get update failed"
	updated=1
}

# Newest package whose name matches the extended regexp $1, or nothing.
newest_pkg() {
	apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$1" | sort -V | tail -n 1
}

# Unpacks the ELF kernel inside bzImage $1/vmlinuz to $1/vmlinux when it has
# a PVH entry note: QEMU boots that directly, sparing the decompressor, which
# under TCG takes seconds (xz in the 6.1 package).  Otherwise records that
# there is none (boot.sh then uses vmlinuz).
extract_vmlinux() {
	d=$1
	[ -f "$d/vmlinux" ] || [ -f "$d/.no-vmlinux" ] && return 0
	command -v readelf >/dev/null 2>&1 || return 0
	img=$d/vmlinuz
	# setup_sects at 0x1f1; payload_offset and payload_length at 0x248 and
	# 0x24c, counted from the protected-mode code after the setup sectors;
	# the payload ends with the 4-byte uncompressed size.
	sects=$(od -An -tu1 -j 497 -N 1 "$img" | tr -d ' ')
	poff=$(od -An -tu4 -j 584 -N 4 "$img" | tr -d ' ')
	plen=$(od -An -tu4 -j 588 -N 4 "$img" | tr -d ' ')
	[ "$sects" -gt 0 ] 2>/dev/null || sects=4
	start=$(((sects + 1) * 512 + poff))
	magic=$(tail -c +$((start + 1)) "$img" | head -c 4 | od -An -tx1 | tr -d ' \n')
	case $magic in
	fd377a58) unpack="xz -dc --single-stream" ;;
	28b52ffd) unpack="zstd -qdc" ;;
	1f8b*) unpack="gzip -dc" ;;
	*) unpack= ;;
	esac
	if [ -n "$unpack" ] &&
		tail -c +$((start + 1)) "$img" | head -c $((plen - 4)) | $unpack >"$d/vmlinux.tmp" 2>/dev/null &&
		LC_ALL=C readelf -n "$d/vmlinux.tmp" 2>/dev/null | grep -q 'note type: (0x00000012)\|XEN_ELFNOTE_PHYS32_ENTRY'; then
		mv "$d/vmlinux.tmp" "$d/vmlinux"
	else
		rm -f "$d/vmlinux.tmp"
		touch "$d/.no-vmlinux"
	fi
}

fetch_one() {
	k=$1
	case $k in
	6.1) re='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+\+(deb12|bpo)-amd64$' ;;
	*) die "unknown kernel '$k' (6.1 or 6.12)" ;;
	esac
	out=$cache/kernel-$k
	if [ -f "$out/.complete" ]; then
		extract_vmlinux "$out"
		return 0
	fi

	if [ "$k" = 6.12 ]; then
		sh "$top/tools/deps.sh" vm || die "cannot set up the apt sources (tools/deps.sh vm)"
	fi
	pkg=$(newest_pkg "$re")
	if [ -z "$pkg" ]; then
		apt_update
		pkg=$(newest_pkg "$re")
	fi
	[ -n "$pkg" ] || die "no package matching $re in the apt lists"

	tmp=$cache/tmp-$k
	rm -rf "$tmp" "$out"
	mkdir -p "$tmp/root" "$out/modules"
	say "downloading $pkg"
	if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/download.err"); then
		# Stale lists name versions the archive no longer has: refresh once.
		[ "$updated" -eq 0 ] || { cat "$tmp/download.err" >&2; die "apt-get download $pkg failed"; }
		apt_update
		pkg=$(newest_pkg "$re")
		say "downloading $pkg"
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>"$tmp/download.err") ||
			{ cat "$tmp/download.err" >&2; die "apt-get download $pkg failed"; }
	fi
	deb=$(ls "$tmp"/*.deb)
	dpkg -x "$deb" "$tmp/root"
	dpkg-deb -f "$deb" Package Version | tr '\n' ' ' >"$out/package"
	echo >>"$out/package"

	moddir=$(ls -d "$tmp/root/lib/modules"/* "$tmp/root/usr/lib/modules"/* 2>/dev/null | head -n 1)
	[ -n "$moddir" ] || die "$pkg has no modules directory"
	rel=$(basename "$moddir")
	case $moddir in
	*/usr/lib/modules/*) # depmod -b looks under BASE/lib/modules
		mkdir -p "$tmp/root/lib/modules" && mv "$moddir" "$tmp/root/lib/modules/" ;;
	esac
	depmod -b "$tmp/root" "$rel"

	: >"$out/modules.load"
	for m in $want_modules; do
		modprobe -d "$tmp/root" -S "$rel" --show-depends "$m" ||
			die "module $m not found in $pkg"
	done | while read -r verb path _; do
		[ "$verb" = insmod ] || continue # built in
		name=$(basename "$path")
		name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
		grep -qx "$name" "$out/modules.load" && continue
		case $path in
		*.xz) xz -dc "$path" ;;
		*.zst) zstd -qdc "$path" ;;
		*.gz) gzip -dc "$path" ;;
		*) cat "$path" ;;
		esac >"$out/modules/$name"
		echo "$name" >>"$out/modules.load"
	done

	img=$(ls "$tmp/root/boot"/vmlinuz-* | head -n 1)
	cp "$img" "$out/vmlinuz"
	echo "$rel" >"$out/release"
	rm -rf "$tmp"
	extract_vmlinux "$out"
	touch "$out/.complete"
	say "kernel $k: $rel, modules: $(tr '\n' ' ' <"$out/modules.load")"
}

main() {
	[ $# -gt 0 ] || set -- all
	mkdir -p "$cache"
	cache=$(cd "$cache" && pwd)
	# One fetch at a time per cache: concurrent runs wait, then find it cached.
	if command -v flock >/dev/null 2>&1 && [ -z "${X9P_FETCH_LOCKED:-}" ]; then
		export X9P_FETCH_LOCKED=1
		exec flock "$cache/.lock" sh "$0" "$@"
	fi
	for a in "$@"; do
		case $a in
		all) fetch_one 6.1; fetch_one 6.12 ;;
		*) fetch_one "$a" ;;
		esac
	done
}

main "$@"
