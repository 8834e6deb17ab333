#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian packages a step needs, when they are missing.
#   deps.sh build   compiler, libraries and test tools
#   deps.sh vm      what the guest-VM test tier and `make run` need
set -eu

build_pkgs="build-essential pkg-config libglib2.0-dev libseccomp-dev libcap-ng-dev libxen-dev perl"
vm_pkgs="qemu-system-x86 busybox-static cpio xz-utils kmod zstd"

case "${1:-build}" in
build) want=$build_pkgs ;;
vm) want=$vm_pkgs ;;
*) echo "deps.sh: unknown step '$1'" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "x9p: installing missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "x9p: installing packages needs root; run as root or install:$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
