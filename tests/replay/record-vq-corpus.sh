#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Records the virtqueue part of the replay corpus (tests/replay/corpus/vq-*)
# from the real Linux virtio-9p client: one guest boot per workload
# (tests/vhost/vhost-vm.sh), x9p-vhost --record on a new empty export, the
# workload of corpus-guest.sh on the mount.  Not part of make check (a few
# minutes under TCG): run it after a change to the recording format.
#
#   sh tests/replay/record-vq-corpus.sh
#   X9P_VQ_CORPUS  SERVER:WORKLOAD... (default "vhost:basic vhost:rings
#                  vfu:basic"; vfu needs the vfio-user tier's QEMU)
#   X9P_KERNEL     the guest's kernel (default 6.12)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
out=$here/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vq-corpus-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
status=0
manifest=$out/MANIFEST.vq
: >"$manifest.new"

for c in ${X9P_VQ_CORPUS:-vhost:basic vhost:rings vfu:basic}; do
	server=${c%%:*} wl=${c#*:}
	name=vq-$server-$wl
	rm -rf "$work/rec" "$work/exp"
	mkdir -m 0700 "$work/rec" && mkdir -m 0755 "$work/exp"
	{ echo "set -- $wl \"\$X9P_MNT\""; cat "$here/corpus-guest.sh"; } >"$work/guest.sh"
	echo "# $name"
	(cd "$top" && X9P_BUILD=$B bash tests/vhost/vhost-vm.sh --kernel "${X9P_KERNEL:-6.12}" \
		--timeout 900 --script "$work/guest.sh" --server "$server" --export "$work/exp" \
		--vhost-args "--export $work/exp --security-model passthrough --record $work/rec") ||
		{ echo "$name: the guest failed (status $?)"; status=1; continue; }
	set -- "$work"/rec/*.x9prec
	for f; do
		case $f in *.1.x9prec | *.prev.*) continue ;; esac
		[ -s "${f%.x9prec}.1.x9prec" ] && { echo "$name rotated: raise --record-size"; status=1; }
		xz -9 -c "$f" >"$out/$name.x9prec.xz" && echo "$name: $(du -k "$out/$name.x9prec.xz" | cut -f1) KiB"
	done
	echo "$name kernel=${X9P_KERNEL:-6.12} server=$server" >>"$manifest.new"
done
mv "$manifest.new" "$manifest"
exit $status
