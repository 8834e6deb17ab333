#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the test guest's initramfs (newc cpio, gzip).
#
#   mkinitramfs.sh -o OUT -k KERNELDIR [-p PROGDIR] [-f SRC=DEST]...
#
#   -o OUT        the .cpio.gz to write
#   -k KERNELDIR  a kernel directory made by fetch-kernels.sh (its modules and
#                 modules.load go to /lib/modules/)
#   -p PROGDIR    every executable regular file in it is copied to /bin
#                 (static test programs; a missing directory is fine)
#   -f SRC=DEST   an extra file, e.g. the guest script or configuration
#
# Contents: busybox-static with one symlink per applet in /bin, /init
# (guest-init.sh), the modules, the programs and the extra files.  Needs no
# root: no device nodes are created (/init mounts devtmpfs first).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out='' kdir='' progs=''
extras=
while getopts o:k:p:f: opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) kdir=$OPTARG ;;
	p) progs=$OPTARG ;;
	f) extras="$extras
$OPTARG" ;;
	*) echo "usage: mkinitramfs.sh -o OUT -k KERNELDIR [-p PROGDIR] [-f SRC=DEST]..." >&2; exit 2 ;;
	esac
done
[ -n "$out" ] && [ -n "$kdir" ] || { echo "mkinitramfs.sh: -o and -k are required" >&2; exit 2; }
[ -f "$kdir/modules.load" ] || { echo "mkinitramfs.sh: $kdir is not a fetched kernel" >&2; exit 1; }

bb=/bin/busybox
if [ ! -x "$bb" ] ||
	{ command -v readelf >/dev/null && LC_ALL=C readelf -l "$bb" | grep -q INTERP; }; then
	echo "mkinitramfs.sh: needs a static $bb (Debian package busybox-static)" >&2
	exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/x9p-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/etc" "$stage/proc" "$stage/sys" \
	"$stage/dev" "$stage/tmp" "$stage/mnt" "$stage/x9p" "$stage/root"

cp "$bb" "$stage/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done
ln -s bin "$stage/sbin"
cp "$here/guest-init.sh" "$stage/init"
chmod 0755 "$stage/init"

cp "$kdir/modules.load" "$stage/lib/modules/"
while read -r m; do
	[ -n "$m" ] && cp "$kdir/modules/$m" "$stage/lib/modules/"
done <"$kdir/modules.load"

if [ -n "$progs" ] && [ -d "$progs" ]; then
	for p in "$progs"/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		rm -f "$stage/bin/$(basename "$p")"
		cp "$p" "$stage/bin/"
	done
fi

printf '%s\n' "$extras" | while IFS= read -r spec; do
	[ -n "$spec" ] || continue
	src=${spec%=*}
	dest=${spec##*=}
	mkdir -p "$stage/$(dirname "$dest")"
	cp "$src" "$stage/$dest"
done

out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -1 >"$out_abs.tmp"
mv "$out_abs.tmp" "$out_abs"
