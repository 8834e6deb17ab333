#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make run`: serves a host directory with x9p-backend and boots a throwaway
# Linux guest that mounts it at /mnt.
#
#   make run                       interactive busybox shell in the guest
#   make run CMD='ls -l /mnt'      runs CMD in the guest, exits with its status
#   echo 'ls /mnt' | make run      no terminal: stdin is the guest's script
#
# Environment: EXPORT (directory to serve, default ./share, created if
# missing), SECURITY_MODEL (default mapped-xattr), KERNEL (6.12 or 6.1),
# VERSION (9p2000.L or 9p2000.u), CACHE (default none), MSIZE, CMD.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
B=${X9P_BUILD:-build}
export X9P_BUILD="$B"
export_dir=${EXPORT:-./share}
model=${SECURITY_MODEL:-mapped-xattr}

# TRANSPORT=virtio: the same export through x9p-vhost and trans=virtio
# (QEMU's vhost-user-device-pci; tests/vhost/vhost-vm.sh, docs/x9p-vhost.md).
if [ "${TRANSPORT:-fd}" = virtio ]; then
	mkdir -p "$export_dir"
	export_dir=$(cd "$export_dir" && pwd)
	echo "x9p: exporting $export_dir (security model $model) through x9p-vhost, trans=virtio"
	set -- --kernel "${KERNEL:-6.12}" --version "${VERSION:-9p2000.L}" --cache "${CACHE:-none}" \
		--timeout "${TIMEOUT:-3600}" --export "$export_dir" --security-model "$model"
	[ -n "${MSIZE:-}" ] && set -- "$@" --msize "$MSIZE"
	[ -n "${CMD:-}" ] && exec bash "$here/../vhost/vhost-vm.sh" "$@" --cmd "$CMD"
	exec bash "$here/../vhost/vhost-vm.sh" "$@" --shell
fi

set -- --kernel "${KERNEL:-6.12}" --version "${VERSION:-9p2000.L}" --cache "${CACHE:-none}" \
	--timeout "${TIMEOUT:-3600}"
[ -n "${MSIZE:-}" ] && set -- "$@" --msize "$MSIZE"

if "$B/x9p-backend" --help 2>&1 | grep -- '--export' | grep -qv 'not yet supported'; then
	mkdir -p "$export_dir"
	export_dir=$(cd "$export_dir" && pwd)
	echo "x9p: exporting $export_dir (security model $model) at /mnt in the guest"
	set -- "$@" --export "$export_dir" --security-model "$model"
else
	echo "x9p: x9p-backend has no --export yet: the guest sees its synthetic in-memory tree at /mnt, not $export_dir"
	echo "x9p: (stat of its /blocker waits until cancelled, so 'ls -l' stops there: Ctrl-C)"
	set -- "$@" --backend-args --synthetic
fi

if [ -n "${CMD:-}" ]; then
	exec bash "$here/boot.sh" "$@" --cmd "$CMD"
fi
if [ -t 0 ]; then
	echo "x9p: booting the guest (a few seconds); leave it with 'exit' or Ctrl-A X"
else
	echo "x9p: stdin is not a terminal: running it as a script in the guest"
fi
exec bash "$here/boot.sh" "$@" --shell
