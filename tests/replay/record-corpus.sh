#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Records the replay corpus (tests/replay/corpus/) from real Linux frontends
# on the real Xen tier, and the hostile-frontend recordings from the
# simulated one.  Not part of make check (it takes about 15 minutes):
# run it as root after a change to the recording format or to add cases.
#
#   sh tests/replay/record-corpus.sh           the host's part: runs
#       tests/xen/test-xen-system.sh with this file as dom0's scenario,
#       then compresses build/xen-logs/rec/*.x9prec into the corpus
#   X9P_CORPUS_GUESTS  the guests: r61 (Debian's 6.1, the tier's own) and
#       r612 (Debian's 6.12 from bookworm-backports, fetched as the VM
#       tier does); default "r61 r612"
#   (in dom0, as /x9ptest/scenario.sh)         the recording
#
# In dom0: x9p-backend --record, and per workload one new device on a new
# empty export (ext4, passthrough), the guest's 9p client module loaded
# afresh (it keeps a lowered msize until it is), mounted, the workload of
# corpus-guest.sh, unmounted, detached; its recording copied out before
# the devid can be used again (a new connection starts it again).
set -u

# ============================================================ dom0 (bash)
M=/mnt/r
REC=/srv/rec
EXP=/srv/exp
# NAME[:ORDER[:VERSION]]: 9 is the largest ring order, 2 the smallest a
# Linux client mounts (its msize must be at least 4096)
WL="posix tar build git large:9 large:2 rings remount dotu:9:9p2000.u reattach"

backend_up() { [ -n "$(be_pid)" ]; }

start_recording() {
	x9p_init >/dev/null || { fail "no init script"; return 1; }
	mkdir -p "$REC" "$EXP" "$OUT/rec"
	echo "X9P_BACKEND_ARGS=\"\$X9P_BACKEND_ARGS --record $REC --record-size 512\"" \
		>>/etc/default/x9p-backend
	be_start && wait_for 20 backend_up || { tail -n 20 "$X9P_LOG"; fail "x9p-backend did not start"; return 1; }
	ps -o args= -p "$(be_pid)"
}

guest() {
	domu_create "$1" && domu_ready "$1" && gcmd "$1" 20 "uname -r" || return 1
	KREL=$(head -n 1 "$W/gout")
	DEVN=0
}

# keep DOM DEVID NAME: the device's recording, out before its label is reused
keep() {
	local f=$REC/dom$1-$(be_kind)-$2
	cp "$f.x9prec" "$OUT/rec/$3.x9prec" || { fail "no recording $f.x9prec"; return 1; }
	[ -s "$f.1.x9prec" ] && fail "$3 rotated: raise --record-size"
	echo "$3 kernel=$KREL" >>"$OUT/rec/MANIFEST"
	rm -f "$f.x9prec" "$f.1.x9prec"
}

attach() { x9p-attach "$1" "tag=r$2,path=$3,security_model=$X9P_MODEL,devid=$2" >/dev/null; }
detach() {
	be_detach "$2" "$3" && gcmd "$1" 100 "xt wait-gone $3" &&
		wait_for 20 xs_gone "/local/domain/0/backend/$(be_kind)/$2/$3"
}

# connect G DOM DEVID EXPORT ORDER VERSION: a device, the client module
# loaded after the backend's keys are there, mounted on $M
connect() {
	local be=/local/domain/0/backend/$(be_kind)/$2/$3
	gcmd "$1" 30 "rmmod 9p 9pnet_xen 2>/dev/null; true"
	attach "$2" "$3" "$4" || { fail "x9p-attach"; return 1; }
	# x9p publishes 9 with InitWait; a client that loads now reads this.
	[ "$5" = 9 ] || xenstore-write "$be/max-ring-page-order" "$5"
	gcmd "$1" 100 "for m in 9pnet_xen 9p; do insmod \$(grep /\$m.ko /etc/modules.order); done; xt wait-dev $3" ||
		{ dump_xs "$2"; return 1; }
	gcmd "$1" 60 "mkdir -p $M && mount -t 9p -o trans=xen,version=$6 r$3 $M && xt is9p $M"
}

record() {
	local g=$1 wl=${2%%:*} order=9 ver=9p2000.L dom n exp name
	case $2 in *:*:*) ver=${2##*:} ;; esac
	case $2 in *:*) order=${2#*:}; order=${order%%:*} ;; esac
	dom=$(domid_of "$g") DEVN=$((DEVN + 1)) n=$DEVN
	name=$g-$wl-o$order${ver#9p2000}
	exp=$EXP/$name
	rm -rf "$exp" && mkdir -m 0755 "$exp"
	connect "$g" "$dom" "$n" "$exp" "$order" "$ver" || return 1
	case $wl in
	posix) gcmd "$g" 900 "domu-posixdiff.sh /tmp $M $POSIXDIFF_ARGS" >/dev/null ||
		echo "posixdiff status $?" ;;
	reattach) gcmd "$g" 60 "echo one >$M/a && mkdir $M/d && echo two >$M/d/b" || fail "first connection" ;;
	*) gcmd "$g" 1200 "rec-wl $wl $M" || fail "workload $wl: status $?" ;;
	esac
	gcmd "$g" 60 "umount $M" || fail "umount"
	detach "$g" "$dom" "$n" || fail "detach"
	keep "$dom" "$n" "$name"
	[ "$wl" = reattach ] || { rm -rf "$exp"; return 0; }
	# The same device again, new rings: what Linux does instead of
	# reconnecting a closed device.  It starts from what the first left.
	mkdir -p "$OUT/rec/$name-b.seed" && cp -a "$exp/." "$OUT/rec/$name-b.seed/"
	connect "$g" "$dom" "$n" "$exp" 9 9p2000.L || return 1
	gcmd "$g" 60 "cat $M/a $M/d/b && echo three >>$M/a && rm -r $M/d && ls -la $M" || fail "second connection"
	gcmd "$g" 60 "umount $M" || fail "umount"
	detach "$g" "$dom" "$n" || fail "detach"
	keep "$dom" "$n" "$name-b"
	rm -rf "$exp"
}

dom0_main() {
	. /x9ptest/config.sh
	. /x9ptest/dom0-lib.sh
	. /x9ptest/dom0-backends.sh
	local w g guests
	guests=$(cat /x9ptest/corpus-guests)
	plan $((1 + $(echo $guests | wc -w) * (1 + $(echo $WL | wc -w))))
	run_test "x9p-backend --record $REC" start_recording
	for g in $guests; do
		# r61: the tier's own kernel and initramfs; others from the test disk.
		[ "$g" = r61 ] || { DOMU_KERNEL=/x9ptest/$g/vmlinuz DOMU_INITRD=/x9ptest/$g/initrd.gz; }
		run_test "guest $g boots" guest $g
		for w in $WL; do run_test "record $g $w" record $g "$w"; done
		domu_destroy $g
	done
	"$(x9p_init)" stop
	ls -l "$OUT/rec"
}

# ============================================================ host
# domu612 TOP B: B/r612/{vmlinuz,initrd.gz}, Debian's 6.12 as a PV domU with
# the same /init, programs and workloads as the tier's 6.1 one
domu612() {
	local top=$1 b=$2 x=$1/tests/xen k rel r cache
	k=$b/vm/kernel-6.12
	X9P_VM_CACHE=$b/vm X9P_FETCH_MODULES="9pnet_xen 9p" sh "$top/tests/vm/fetch-kernels.sh" 6.12 ||
		return 1
	cache=$(sh "$x/build-images.sh" 2>/dev/null | tail -n 1)
	rel=$(cat "$k/release") r=$b/root-6.12
	rm -rf "$r" "$b/r612" && mkdir -p "$r/lib/modules/$rel/kernel" "$r/bin" "$b/r612"
	cp "$k"/modules/*.ko "$r/lib/modules/$rel/kernel/" && depmod -b "$r" "$rel" || return 1
	cp "$cache/rootfs/bin/busybox" "$r/bin/" || return 1
	sh "$x/mkinitramfs.sh" -o "$b/r612/initrd.gz" -r "$r" -k "$rel" -i "$x/domu-init.sh" \
		-m 9pnet_xen -m 9p -p "$top/build/tests/progs" -f "$x/domu-tool.sh=bin/xt" \
		-f "$x/domu-posixdiff.sh=bin/domu-posixdiff.sh" -f "$top/tests/replay/corpus-guest.sh=bin/rec-wl" \
		-f "$b/src.tar.gz=root/src.tar.gz" && cp "$k/vmlinuz" "$b/r612/vmlinuz"
}

host_main() {
	local here top b corpus n
	here=$(cd "$(dirname "$0")" && pwd)
	top=$(cd "$here/../.." && pwd)
	b=$top/build/corpus-rec
	corpus=$here/corpus
	[ "$(id -u)" -eq 0 ] || { echo "record-corpus.sh: needs root" >&2; exit 2; }
	make -C "$top" -j2 build-all >/dev/null || exit 1
	rm -rf "$b" && mkdir -p "$b" "$corpus"
	git -C "$top" archive --format=tar.gz -o "$b/src.tar.gz" HEAD || exit 1
	guests=${X9P_CORPUS_GUESTS:-r61 r612}
	echo "$guests" >"$b/corpus-guests"
	stage="$b/corpus-guests=corpus-guests"
	case " $guests " in *" r612 "*)
		domu612 "$top" "$b" || exit 1
		stage="$stage $b/r612=r612" ;;
	esac
	X9P_XEN_SCENARIO=$here/record-corpus.sh X9P_XEN_STAGE_FILES=$stage \
		X9P_XEN_DOMU_FILES="$here/corpus-guest.sh=bin/rec-wl $b/src.tar.gz=root/src.tar.gz" \
		X9P_XEN_DISK_MIB=600 X9P_XEN_TIMEOUT=${X9P_XEN_TIMEOUT:-3000} \
		sh "$top/tests/xen/test-xen-system.sh" | tee "$b/tier.log"
	rec=$top/build/xen-logs/rec
	[ -f "$rec/MANIFEST" ] || { echo "record-corpus.sh: no recordings came back" >&2; exit 1; }
	for f in "$rec"/*.x9prec; do
		n=$(basename "$f" .x9prec)
		# The second connection of "reattach" starts from the first's tree.
		[ -d "$rec/$n.seed" ] && "$top/build/tests/replay/x9p-replay" --seed "$rec/$n.seed" "$f"
		xz -9 -c "$f" >"$corpus/$n.x9prec.xz"
	done
	# The hostile frontends: the simulated one, on the real daemon.
	X9P_BUILD=$top/build X9P_HOSTILE_CORPUS=$corpus \
		"$top/build/tests/xen-sim/test-xen-record" -p /xen/record/hostile-corpus \
		-p /xen/record/unknown-fids || exit 1
	# One line per recording: those of other guests stay.
	touch "$corpus/MANIFEST.xen"
	awk 'NR == FNR { new[$1] = 1; next } !($1 in new)' "$rec/MANIFEST" "$corpus/MANIFEST.xen" |
		cat - "$rec/MANIFEST" | sort >"$b/MANIFEST" && cp "$b/MANIFEST" "$corpus/MANIFEST.xen"
	ls -l "$corpus"
}

if [ -f /x9ptest/config.sh ]; then dom0_main; else host_main; fi
