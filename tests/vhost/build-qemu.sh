#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Test fixture: a QEMU whose -device vhost-user-device-pci is allowed on the
# command line, built from Debian's bookworm-backports QEMU source.
#
#   build-qemu.sh              prints the path of qemu-system-x86_64 on stdout
#   build-qemu.sh --deps-only  installs what the build needs and checks that
#                              the source is in apt's index; builds nothing
#
# QEMU 9.1 and later mark the generic vhost-user device not user-creatable;
# this build removes exactly those two lines (as upstream documents), sets
# unpack_edk2_blobs = false (the +ds source has no edk2 blobs) and builds only
# x86_64 with a minimal device list.  Only the upstream (orig) tarball is
# needed: its SHA-256 is checked against the apt Sources index.
#
# Cache: $X9P_QEMU_VHOST_CACHE (default build/qemu-vhost at the top of the
# tree), one directory per source version and recipe revision, holding
# qemu-system-x86_64 and a .complete marker.  A cached build is reused by
# every later call; concurrent calls wait on a lock and then find it.  The
# first build takes about 3 minutes on 2 cores.
#
# Run the binary with the firmware of the host's packages:
#   -L /usr/share/seabios -L /usr/share/qemu -L /usr/lib/ipxe/qemu
# $X9P_QEMU_VHOST, when set, names a binary to use instead of building one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${X9P_QEMU_VHOST_CACHE:-$top/build/qemu-vhost}
# Bump when the changes or the configuration below change.
recipe=r1
bpo_suite=bookworm-backports
deps_only=0
[ "${1:-}" != --deps-only ] || deps_only=1

say() { echo "build-qemu: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -n "${X9P_QEMU_VHOST:-}" ]; then
	[ -x "$X9P_QEMU_VHOST" ] || die "X9P_QEMU_VHOST=$X9P_QEMU_VHOST is not executable"
	echo "$X9P_QEMU_VHOST"
	exit 0
fi

# The newest complete build, whatever its version (used when apt cannot say
# which version is current).
newest_cached() {
	ls -d "$cache"/*/.complete 2>/dev/null | sort -V | tail -n 1 | sed 's,/\.complete$,/qemu-system-x86_64,'
}

# "FILE SHA256" of the orig tarball of qemu in bookworm-backports, from the
# local Sources index (no download).
orig_of_index() {
	apt-get source --print-uris "qemu/$bpo_suite" 2>/dev/null |
		sed -n "s/^'[^']*' \(qemu_[^ ]*\.orig\.tar\.[a-z]*\) [0-9]* SHA256:\([0-9a-f]*\)$/\1 \2/p" |
		head -n 1
}

build() {
	src=$cache/src
	mkdir -p "$src"
	# The build tools, meson from bookworm-backports and that suite's source
	# index (tools/deps.sh adds the deb and deb-src entries it lacks).
	if ! sh "$top/tools/deps.sh" vhost >&2; then
		cached=$(newest_cached)
		[ -n "$cached" ] || die "cannot install the build dependencies (tools/deps.sh vhost)"
		say "tools/deps.sh vhost failed: using the cached $cached"
		echo "$cached"
		return 0
	fi
	orig=$(orig_of_index)
	[ -n "$orig" ] || die "no qemu source in $bpo_suite (apt-get source --print-uris qemu/$bpo_suite)"
	if [ "$deps_only" = 1 ]; then
		say "dependencies ready; source ${orig% *}"
		return 0
	fi
	file=${orig% *} sum=${orig#* }
	version=${file#qemu_}
	version=${version%.orig.tar.*}
	key=$version-$recipe
	out=$cache/$key
	if [ -f "$out/.complete" ]; then
		echo "$out/qemu-system-x86_64"
		return 0
	fi

	if ! echo "$sum  $src/$file" | sha256sum -c --status 2>/dev/null; then
		rm -f "$src/$file"
		say "downloading $file"
		# The .dsc and Debian tarball may be missing on the mirror; the orig
		# tarball is all this build needs, so only its presence counts.
		(cd "$src" && apt-get source --download-only "qemu/$bpo_suite" >"$src/download.log" 2>&1) || true
		echo "$sum  $src/$file" | sha256sum -c --status 2>/dev/null ||
			{ cat "$src/download.log" >&2; die "$file missing or its SHA-256 does not match the Sources index"; }
	fi

	work=$cache/work-$key
	rm -rf "$work"
	mkdir -p "$work"
	say "unpacking $file"
	tar -xf "$src/$file" -C "$work" --strip-components=1

	# The change: the generic device becomes user-creatable again.
	for f in hw/virtio/vhost-user-device.c hw/virtio/vhost-user-device-pci.c; do
		grep -q 'dc->user_creatable = false;' "$work/$f" || die "$f: no user_creatable line to remove"
		sed -i '/dc->user_creatable = false;/d' "$work/$f"
	done
	grep -q 'unpack_edk2_blobs = bzip2.found()' "$work/meson.build" || die "meson.build: edk2 line not found"
	sed -i 's/unpack_edk2_blobs = bzip2.found()/unpack_edk2_blobs = false/' "$work/meson.build"
	# Enough machine for the test guests: the PC board, virtio over PCI and
	# QEMU's own virtio-9p (the benchmark's reference).
	cat >"$work/configs/devices/x86_64-softmmu/x9p-vhost.mak" <<-'EOF'
	CONFIG_I440FX=y
	CONFIG_VIRTIO_PCI=y
	CONFIG_VIRTIO_SERIAL=y
	CONFIG_VIRTIO_NET=y
	CONFIG_VIRTIO_BLK=y
	CONFIG_VIRTIO_RNG=y
	CONFIG_VIRTIO_9P=y
	EOF

	say "configuring QEMU $version"
	mkdir -p "$work/build"
	(cd "$work/build" && ../configure --python=/usr/bin/python3 --target-list=x86_64-softmmu \
		--without-default-features --without-default-devices --with-devices-x86_64=x9p-vhost \
		--enable-tcg --enable-kvm --enable-vhost-user --enable-vhost-kernel --enable-slirp \
		--enable-pixman --enable-attr --enable-virtfs --disable-docs --disable-tools \
		--disable-user --disable-gtk --disable-sdl --disable-vnc --disable-spice \
		--disable-opengl --disable-werror --disable-download --disable-guest-agent \
		--disable-debug-info --disable-install-blobs) >"$work/configure.log" 2>&1 ||
		{ tail -n 30 "$work/configure.log" >&2; die "configure failed (log: $work/configure.log)"; }
	say "compiling qemu-system-x86_64 (about 3 minutes)"
	(cd "$work/build" && ninja -j"$(nproc)" qemu-system-x86_64) >"$work/ninja.log" 2>&1 ||
		{ tail -n 30 "$work/ninja.log" >&2; die "build failed (log: $work/ninja.log)"; }

	mkdir -p "$out"
	cp "$work/build/qemu-system-x86_64" "$out/qemu-system-x86_64"
	echo "$version $recipe" >"$out/version"
	touch "$out/.complete"
	rm -rf "$work"
	say "built $out/qemu-system-x86_64"
	echo "$out/qemu-system-x86_64"
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
if command -v flock >/dev/null 2>&1 && [ -z "${X9P_QEMU_BUILD_LOCKED:-}" ]; then
	export X9P_QEMU_BUILD_LOCKED=1
	exec flock "$cache/.lock" sh "$0" "$@"
fi
build
