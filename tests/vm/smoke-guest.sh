# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of test-vm-smoke.sh (busybox sh, cwd /mnt).  Prints one line per
# check: "PASS CONFIG ID" or "FAIL CONFIG ID DETAIL".  The tree is the one
# every smoke server starts with: /file holding "hello, world" and /dir/
# (x9p's synthetic tree has more, which the checks leave alone).

check() {
	id=$1
	shift
	if out=$("$@" 2>&1); then
		echo "PASS $X9P_CONFIG $id"
	else
		echo "FAIL $X9P_CONFIG $id $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
	fi
}

is_mounted() { grep -q "^[^ ]* $X9P_MNT 9p " /proc/mounts || { cat /proc/mounts; false; }; }
# A glob reads the directory without stat()ing its entries: the synthetic
# tree's /blocker blocks every stat by design.
lists_root() {
	l=$(cd "$X9P_MNT" && echo *) || return 1
	case " $l " in *" dir "*) ;; *) echo "no dir in: $l"; return 1 ;; esac
	case " $l " in *" file "*) ;; *) echo "no file in: $l"; return 1 ;; esac
}
reads_file() {
	c=$(cat "$X9P_MNT/file") || return 1
	[ "$c" = "hello, world" ] || { echo "read '$c'"; false; }
}
makes_dir() { mkdir "$X9P_MNT/smoke" && [ -d "$X9P_MNT/smoke" ]; }
writes_small() {
	echo "written in configuration $X9P_CONFIG" >"$X9P_MNT/smoke/small" || return 1
	c=$(cat "$X9P_MNT/smoke/small") || return 1
	[ "$c" = "written in configuration $X9P_CONFIG" ] || { echo "read back '$c'"; false; }
}
# Larger than any msize used here: several Twrite and Tread each way.
writes_big() {
	dd if=/dev/urandom of=/tmp/big bs=1024 count=700 2>/dev/null || return 1
	cp /tmp/big "$X9P_MNT/smoke/big" || return 1
	cmp /tmp/big "$X9P_MNT/smoke/big" && [ "$(stat -c %s "$X9P_MNT/smoke/big")" = 716800 ]
}
renames() {
	mv "$X9P_MNT/smoke/small" "$X9P_MNT/smoke/renamed" || return 1
	[ ! -e "$X9P_MNT/smoke/small" ] && grep -q "configuration $X9P_CONFIG" "$X9P_MNT/smoke/renamed"
}
removes() {
	rm "$X9P_MNT/smoke/renamed" "$X9P_MNT/smoke/big" && rmdir "$X9P_MNT/smoke" &&
		[ ! -e "$X9P_MNT/smoke" ]
}

check mount is_mounted
check ls lists_root
check cat reads_file
check mkdir makes_dir
check write writes_small
check bigwrite writes_big
check rename renames
check remove removes
# Left in place: with a real export the host checks it landed there.
leaves_file() { echo "written by the guest in configuration $X9P_CONFIG" >"$X9P_MNT/from-guest"; }
check keep leaves_file
