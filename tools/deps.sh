#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian packages a step needs, when they are missing.
#   deps.sh build   compiler, libraries and test tools
#   deps.sh vm      what the guest-VM test tier and `make run` need
#   deps.sh xen     what the Xen system test needs to build its dom0/domU images
#   deps.sh vhost   what tests/vhost/build-qemu.sh needs to build a QEMU
set -eu

build_pkgs="build-essential pkg-config libglib2.0-dev libseccomp-dev libcap-ng-dev libxen-dev perl"
vm_pkgs="qemu-system-x86 busybox-static cpio xz-utils kmod zstd"
xen_pkgs="qemu-system-x86 debootstrap e2fsprogs busybox-static cpio kmod gzip"
vhost_pkgs="build-essential ninja-build python3-venv zlib1g-dev libglib2.0-dev libpixman-1-dev libslirp-dev seabios qemu-system-data ipxe-qemu xz-utils"
# From bookworm-backports: QEMU 10 needs meson >= 1.5 (bookworm has 1.0.1).
vhost_bpo_pkgs="meson python3-pycotap"
bpo=""

case "${1:-build}" in
build) want=$build_pkgs ;;
vm) want=$vm_pkgs ;;
xen) want=$xen_pkgs ;;
vhost) want=$vhost_pkgs; bpo=$vhost_bpo_pkgs ;;
*) echo "deps.sh: unknown step '$1'" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
bpo_missing=""
for p in $bpo; do
	v=$(dpkg-query -W -f='${Status} ${Version}\n' "$p" 2>/dev/null | sed -n 's/^install ok installed //p')
	case $v in *bpo*) ;; *) bpo_missing="$bpo_missing $p" ;; esac
done
[ -z "$missing$bpo_missing" ] && exit 0

echo "x9p: installing missing Debian packages:$missing$bpo_missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "x9p: installing packages needs root; run as root or install:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$bpo_missing" ] && ! grep -Eqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*; then
	# Same URI and key as the bookworm source.
	uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
		"${uri:-http://deb.debian.org/debian}" /usr/share/keyrings/debian-archive-keyring.gpg |
		$SUDO tee /etc/apt/sources.list.d/x9p-bookworm-backports.sources >/dev/null
fi
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
[ -z "$missing" ] || $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
# shellcheck disable=SC2086
[ -z "$bpo_missing" ] || $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports $bpo_missing >/dev/null
