#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds (once) the Debian pieces of the Xen system test and prints the cache
# directory holding them:
#
#   build-images.sh [CACHE_ROOT]        (default build/xen-cache)
#
#   <dir>/rootfs/         debootstrap minbase bookworm + Xen 4.17 dom0 packages
#                         and systemd
#   <dir>/dom0.img        ext4 image of rootfs (mkfs.ext4 -d: no loop devices)
#   <dir>/xen             the hypervisor, uncompressed (QEMU's multiboot loader
#                         takes only an ELF32/multiboot image, not xen.gz)
#   <dir>/vmlinuz, KVER   the Debian kernel dom0 and the domUs boot
#   <dir>/packages.txt    what was installed, "name version" per line
#   <dir>/.complete       written last
#
# <dir> is named by a hash of the package versions apt would install now and
# of this script, so a new Debian point release or a change here builds anew
# and an unchanged setup reuses the images (older builds are removed). The
# dom0 image holds only Debian packages: everything from this tree reaches
# dom0 on a second, per-run disk (see test-xen-system.sh), so the image is
# never rebuilt for a code change.
#
# Needs root (debootstrap, chroot) and the Debian archive through apt's
# configured mirror. Progress and timings go to stderr.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
root=${1:-$top/build/xen-cache}
X9P_TOP=$top
. "$top/tests/lib/debian-base.sh"

# The dom0 userland. x9p-backend's own runtime libraries are listed so the
# binary built on the host against libxen-dev 4.17 finds them; qemu-system-xen
# is the peer 9pfs backend the test measures against; systemd is the init of
# the second boot (test-xen-systemd.sh), which starts x9p through its unit.
pkgs="xen-utils-4.17 xen-hypervisor-4.17-amd64 xenstore-utils linux-image-amd64
busybox-static kmod procps iproute2 qemu-system-xen systemd systemd-sysv
libglib2.0-0 libjson-glib-1.0-0 libseccomp2 libcap-ng0"

say() { echo "xen-images: $*" >&2; }
now() { date +%s; }

# "pkg version" of what the chroot would get. The host runs the same release
# with the same suites, so its candidates are the chroot's.
candidates() {
	# shellcheck disable=SC2086
	LC_ALL=C apt-cache policy $pkgs 2>/dev/null |
		awk '/^[^ ]/{p=$1} /Candidate:/{print p, $2}'
}

key=$( { candidates; cat "$0"; } | sha256sum | cut -c1-16)
dir=$root/$key
if [ -e "$dir/.complete" ]; then
	say "cached images in $dir"
	echo "$dir"
	exit 0
fi

t0=$(now)
mkdir -p "$root"
# One build at a time; a second caller waits and then finds it complete.
exec 9>"$root/.lock"
flock 9
if [ -e "$dir/.complete" ]; then echo "$dir"; exit 0; fi

for old in "$root"/*/; do
	[ -d "$old" ] && [ "${old%/}" != "$dir" ] && rm -rf "${old%/}"
done
rm -rf "$dir"
mkdir -p "$dir/logs"
r=$dir/rootfs
# A minbase bookworm with the stock apt sources, shared with the other tests
# that need one (debootstrapped once, then unpacked from its cache).
debian_base "$r" "$top/build/debian-base" 2>"$dir/logs/debootstrap.log" ||
	{ say "debootstrap failed:"; tail -n 20 "$dir/logs/debootstrap.log" >&2; exit 1; }
say "base tree done in $(($(now) - t0)) s"
# Nothing boots the Debian initramfs (the test brings its own), and building
# it twice costs most of a minute: divert update-initramfs to a no-op.
chroot "$r" dpkg-divert --local --rename --add /usr/sbin/update-initramfs >/dev/null
printf '#!/bin/sh\nexit 0\n' >"$r/usr/sbin/update-initramfs"
chmod 0755 "$r/usr/sbin/update-initramfs"
mount -t proc proc "$r/proc"
trap 'umount "$r/proc" 2>/dev/null || true' EXIT
t1=$(now)
say "apt-get install in the chroot (log $dir/logs/chroot-install.log)"
# xen-utils' postinst complains "Can't find hypervisor information": harmless.
# shellcheck disable=SC2086
if ! chroot "$r" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
	"apt-get update && apt-get install -y --no-install-recommends $(echo $pkgs) && apt-get clean" \
	>"$dir/logs/chroot-install.log" 2>&1; then
	say "package installation failed:"
	tail -n 20 "$dir/logs/chroot-install.log" >&2
	exit 1
fi
umount "$r/proc"
trap - EXIT
rm -rf "$r"/var/lib/apt/lists/*_Packages "$r"/var/cache/apt/*.bin
say "chroot packages done in $(($(now) - t1)) s"

chroot "$r" dpkg-query -W -f '${Package} ${Version}\n' >"$dir/packages.txt"
kver=$(ls "$r/lib/modules" | sort -V | tail -n 1)
echo "$kver" >"$dir/KVER"
cp "$r/boot/vmlinuz-$kver" "$dir/vmlinuz"
xengz=$(ls "$r"/boot/xen-4.17*-amd64.gz 2>/dev/null | head -n 1)
[ -n "$xengz" ] || { say "no xen-4.17 hypervisor in $r/boot"; exit 1; }
zcat "$xengz" >"$dir/xen"

# The image: the tree plus room for the exports and logs of one run (the
# test boots it with snapshot=on, so the cached image itself never changes).
mib=$(($(du -sm "$r" | cut -f1) * 5 / 4 + 400))
truncate -s "${mib}M" "$dir/dom0.img"
mkfs.ext4 -q -F -L x9p-dom0 -d "$r" "$dir/dom0.img"
touch "$dir/.complete"
say "images built in $(($(now) - t0)) s: $dir"
echo "$dir"
