#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The workloads of the replay corpus, run in the Xen tier's domU (busybox
# sh: no compiler, no make, no git) by tests/replay/record-corpus.sh as
#   rec-wl NAME DIR
# and in the VM tier's guest by record-vq-corpus.sh (basic and rings: that
# guest has no source tree).
# on a 9p mount DIR of an empty export.  Each is small enough to record
# in a few MB and touches what its name says.
set -u
SRC=/root/src.tar.gz     # git archive of this tree, in the initramfs
MIB=${LARGE_MIB:-3}

# tar extract, every file's sha256 checked against a local extraction,
# packed again from the mount
wl_tar() {
	mkdir "$1/src" && tar -xzf $SRC -C "$1/src" || return 1
	mkdir -p /tmp/ref && tar -xzf $SRC -C /tmp/ref || return 1
	(cd /tmp/ref && find . -type f | sort | xargs sha256sum) >/tmp/sums
	(cd "$1/src" && sha256sum -c -s /tmp/sums) || { echo "sha256 mismatch"; return 1; }
	tar -czf "$1/again.tar.gz" -C "$1" src && tar -tzf "$1/again.tar.gz" | wc -l
	rm -rf /tmp/ref /tmp/sums
}

# A make -j4 of this tree as make would do it, without a compiler: each
# "compile" reads the .c and the "..." headers it includes along a search
# path (misses are failed lookups), writes its .o through a temporary and
# a rename, and a .d; then a link, a pass that finds nothing stale (stats
# only), a header touched and what includes it built again, a clean.
bld() {
	s=$1 o=obj/${1%.c}.o
	mkdir -p "${o%/*}" && : >"$o.d.tmp"
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$s"); do
		for i in "${s%/*}" backend helper tests/lib .; do
			[ -f "$i/$h" ] && { cat "$i/$h"; echo "$i/$h" >>"$o.d.tmp"; break; }
		done
	done | cat - "$s" | sha256sum >"$o.tmp" && mv "$o.tmp" "$o" && mv "$o.d.tmp" "${o%.o}.d"
}
jobs4() {
	for j in 0 1 2 3; do
		awk -v j=$j 'NR % 4 == j' "$1" | while read -r s; do bld "$s"; done &
	done
	wait
}
wl_build() {
	mkdir "$1/p" && tar -xzf $SRC -C "$1/p" && cd "$1/p" || return 1
	find backend helper -name '*.c' | sort >/tmp/srcs
	jobs4 /tmp/srcs
	find obj -name '*.o' | sort | xargs cat >x9p.tmp && mv x9p.tmp x9p && chmod 0755 x9p
	while read -r s; do [ "$s" -nt "obj/${s%.c}.o" ] && echo "stale $s"; done </tmp/srcs
	touch backend/9p/p9.h
	find obj -name '*.d' | xargs grep -lxF backend/9p/p9.h | sed 's|^obj/||; s|\.d$|.c|' >/tmp/stale
	echo "rebuild $(wc -l </tmp/stale) after touching backend/9p/p9.h"
	jobs4 /tmp/stale
	cd / && rm -rf "$1/p/obj" "$1/p/x9p"
}

# git-like: loose objects named by their hash (temporary + rename), an
# index and a ref through O_EXCL lock files, a status, a second commit,
# a checkout, a pack
gadd() {
	find . -path ./.git -prune -o -type f -print | sort | while read -r f; do
		h=$(sha1sum <"$f" | cut -c1-40)
		d=.git/objects/$(echo "$h" | cut -c1-2) o=$d/$(echo "$h" | cut -c3-)
		[ -e "$o" ] || { mkdir -p "$d" && gzip -c <"$f" >.git/objects/tmp && mv .git/objects/tmp "$o"; }
		echo "$h $f"
	done >/tmp/idx
	(set -C; : >.git/index.lock) && cat /tmp/idx >.git/index.lock && mv .git/index.lock .git/index
}
gcommit() {
	(set -C; : >.git/refs/heads/main.lock) && sha1sum <.git/index >.git/refs/heads/main.lock &&
		mv .git/refs/heads/main.lock .git/refs/heads/main
}
wl_git() {
	mkdir -p "$1/w/.git/objects" "$1/w/.git/refs/heads" && cd "$1/w" && tar -xzf $SRC docs backend/9p || return 1
	gadd && gcommit || return 1
	find . -path ./.git -prune -o -name '*.c' -print | while read -r f; do echo "/* e */" >>"$f"; done
	echo "modified: $(find . -path ./.git -prune -o -type f -newer .git/index -print | wc -l)"
	gadd && gcommit || return 1
	ls -A | grep -vx .git | while read -r e; do rm -rf "$e"; done
	while read -r h f; do
		mkdir -p "${f%/*}" && gunzip -c <".git/objects/$(echo "$h" | cut -c1-2)/$(echo "$h" | cut -c3-)" >"$f"
	done <.git/index
	find .git/objects -type f | sort | xargs cat >.git/pack.tmp && mv .git/pack.tmp .git/pack
	rm -rf .git/objects/?? && cd /
}

# A large file (compressible data: recordings stay small) written with
# fsync, read back cold in large and small reads, overwritten in the middle,
# truncated; posixdiff's mmap_read and sparse cases; a program on the mount
# executed (its text mapped from the mount)
wl_large() {
	yes "x9p large file line" | head -c $((MIB << 20)) >/tmp/big
	dd if=/tmp/big of="$1/big" bs=1M conv=fsync 2>&1 | tail -n 1
	echo 3 >/proc/sys/vm/drop_caches
	cmp /tmp/big "$1/big" || return 1
	dd if="$1/big" of=/dev/null bs=4k count=256 2>/dev/null
	dd if=/dev/zero of="$1/big" bs=4k seek=100 count=50 conv=notrunc,fsync 2>/dev/null
	truncate -s 1M "$1/big"
	posixdiff /tmp "$1" mmap_read,sparse_4g,truncate,seek | tail -n 1
	cp /bin/nstime "$1/nstime" && "$1/nstime" -m >/dev/null || return 1
	rm -f "$1/big" "$1/nstime" /tmp/big
}

# Everyday file work, needing nothing from the initramfs: a tree, a
# directory of 300 entries listed, renames, links, modes, a 4 MiB file
# written with fsync and read back cold, truncated, removal
wl_basic() {
	mkdir -p "$1/t/a/b" && cd "$1/t" || return 1
	i=0; while [ $i -lt 300 ]; do echo "$i" >"a/f$i"; i=$((i + 1)); done
	ls -l a | wc -l && mv a/f1 a/b/g && ln -s b/g a/l && ln a/f2 a/h && readlink a/l
	chmod 0640 a/f3 && stat -c '%a %h %s' a/f3 a/h a/b/g
	yes "x9p basic" | head -c $((4 << 20)) >/tmp/big
	dd if=/tmp/big of=big bs=256k conv=fsync 2>&1 | tail -n 1
	echo 3 >/proc/sys/vm/drop_caches
	cmp /tmp/big big && truncate -s 1000 big && [ "$(stat -c %s big)" = 1000 ] || return 1
	cd / && rm -rf "$1/t" /tmp/big
}

# Several rings: Linux puts a request on ring tag % 2, and only requests
# in flight together have tags above 0
wl_rings() {
	mkdir "$1/r" || return 1
	for j in 1 2 3 4; do
		(i=0; while [ $i -lt 40 ]; do echo "$j.$i" >"$1/r/f$j.$i"; cat "$1/r/f$j.$i" >/dev/null; i=$((i + 1)); done
		 dd if=/dev/zero of="$1/r/big$j" bs=64k count=16 2>/dev/null; dd if="$1/r/big$j" of=/dev/null bs=64k 2>/dev/null) &
	done
	wait
	ls "$1/r" | wc -l
	rm -rf "$1/r"
}

# A 9P2000.u session (mounted with version=9p2000.u): a tree, links,
# modes, owners, a rename, fsync, removal
wl_dotu() {
	mkdir "$1/u" && tar -xzf $SRC -C "$1/u" docs backend/9p || return 1
	ls -lR "$1/u" >/dev/null
	ln -s docs "$1/u/docs-link" && ln "$1/u/docs/xen.md" "$1/u/xen.hard" || return 1
	chmod 0600 "$1/u/docs/xen.md" && chown 1:1 "$1/u/docs/crash.md" && mv "$1/u/docs" "$1/u/docs2"
	dd if=/dev/zero of="$1/u/f" bs=64k count=16 conv=fsync 2>&1 | tail -n 1
	stat -c '%n %a %u %h %s' "$1/u/docs2/xen.md" "$1/u/xen.hard" "$1/u/docs2/crash.md"
	rm -rf "$1/u"
}

# Two sessions on the same rings: umount, mount again (a new Tversion)
wl_remount() {
	echo one >"$1/a" && mkdir "$1/d" && echo two >"$1/d/b" || return 1
	tag=$(awk -v m="$1" '$2 == m { print $1 }' /proc/mounts)
	umount "$1" && mount -t 9p -o trans=xen,version=9p2000.L "$tag" "$1" || return 1
	cat "$1/a" "$1/d/b" && echo three >>"$1/a" && rm -r "$1/d"
}

w=$1
shift
"wl_$w" "$@"
