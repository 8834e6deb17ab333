#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds a busybox initramfs (newc cpio, gzip) for the Xen system test.
#
#   mkinitramfs.sh -o OUT -r ROOTFS -k KVER -i INIT [-m MODULE]... [-p PROGDIR] [-f SRC=DEST]...
#
#   -o OUT      the .cpio.gz to write
#   -r ROOTFS   the Debian tree whose kernel modules are used
#   -k KVER     the kernel release in ROOTFS/lib/modules
#   -i INIT     the script that becomes /init
#   -m MODULE   a module to load at boot; its dependencies come first, in the
#               order modprobe resolves them, listed in /etc/modules.order
#               (Debian 6.1 modules are plain .ko: busybox insmod takes them)
#   -p PROGDIR  every executable regular file in it goes to /bin (the static
#               test programs); a missing directory is fine
#   -f SRC=DEST an extra file
set -eu

out='' rootfs='' kver='' init='' mods='' progs='' extras=''
while getopts o:r:k:i:m:p:f: opt; do
	case $opt in
	o) out=$OPTARG ;;
	r) rootfs=$OPTARG ;;
	k) kver=$OPTARG ;;
	i) init=$OPTARG ;;
	m) mods="$mods $OPTARG" ;;
	p) progs=$OPTARG ;;
	f) extras="$extras
$OPTARG" ;;
	*) echo "usage: mkinitramfs.sh -o OUT -r ROOTFS -k KVER -i INIT [-m MOD]... [-p DIR] [-f SRC=DEST]..." >&2; exit 2 ;;
	esac
done
[ -n "$out" ] && [ -n "$rootfs" ] && [ -n "$kver" ] && [ -n "$init" ] ||
	{ echo "mkinitramfs.sh: -o, -r, -k and -i are required" >&2; exit 2; }

bb=$rootfs/bin/busybox
[ -x "$bb" ] || bb=/bin/busybox
stage=$(mktemp -d "${TMPDIR:-/tmp}/x9p-xen-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" \
	"$stage/mnt" "$stage/newroot" "$stage/lib/modules/$kver"
cp "$bb" "$stage/bin/busybox"
for a in $("$stage/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done
ln -s bin "$stage/sbin"
cp "$init" "$stage/init"
chmod 0755 "$stage/init"

# modprobe prints "insmod /lib/modules/..." lines, dependencies first, and
# "builtin NAME" for what the kernel has built in.
: >"$stage/etc/modules.order"
for m in $mods; do
	deps=$(modprobe -d "$rootfs" -S "$kver" --show-depends "$m") ||
		{ echo "mkinitramfs.sh: module $m not found for $kver" >&2; exit 1; }
	for p in $(echo "$deps" | awk '$1 == "insmod" { print $2 }'); do
		rel=${p#"$rootfs"}
		grep -qxF "$rel" "$stage/etc/modules.order" && continue
		mkdir -p "$stage$(dirname "$rel")"
		cp "$rootfs$rel" "$stage$rel"
		echo "$rel" >>"$stage/etc/modules.order"
	done
done

if [ -n "$progs" ] && [ -d "$progs" ]; then
	for p in "$progs"/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		rm -f "$stage/bin/$(basename "$p")"
		cp "$p" "$stage/bin/"
	done
fi

printf '%s\n' "$extras" | while IFS= read -r spec; do
	[ -n "$spec" ] || continue
	src=${spec%%=*}
	dest=${spec#*=}
	mkdir -p "$stage/$(dirname "$dest")"
	cp "$src" "$stage/$dest"
	case $dest in bin/* | /bin/*) chmod 0755 "$stage/$dest" ;; esac
done

out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -1 >"$out_abs.tmp"
mv "$out_abs.tmp" "$out_abs"
