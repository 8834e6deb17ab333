#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Xen system test (TAP): boots Xen 4.17 with a Debian dom0 under QEMU (TCG),
# runs the 9pfs scenario (tests/xen/scenario.sh) in dom0 against PV domUs
# whose Linux 9pnet_xen frontend mounts x9p, and reports its results. Also
# measures x9p against QEMU's Xen 9pfs backend on the same guest workload
# (figures in the log and in build/xen-bench.txt, never a test result).
#
#   sh tests/xen/test-xen-system.sh            (as root; see docs/testing-xen.md)
#
# Environment:
#   X9P_XEN_BACKEND  x9p (default when this tree's x9p-backend has --xen) or
#                    qemu (every scenario step against QEMU's Xen 9pfs backend
#                    instead: the same harness checked against a known server)
#   X9P_XEN_SMP      vCPUs of the emulated machine (default 2: dom0 and a domU
#                    run in parallel; every guest has one vCPU)
#   X9P_XEN_TIMEOUT  seconds before QEMU is killed (default 780)
#   X9P_XEN_BENCH_FILES  small files in the benchmark (default 200)
#   X9P_XEN_POSIXDIFF    posixdiff options (default "--skip @client,@slow,@special")
#   X9P_XEN_STRESS   stress options (default "--steps 60 --max-size 32768")
#   X9P_XEN_CACHE    image cache (default build/xen-cache)
# For other scenarios on the same machinery (tests/replay/record-corpus.sh):
#   X9P_XEN_SCENARIO     dom0's scenario instead of tests/xen/scenario.sh
#   X9P_XEN_DOMU_FILES   more files in the domU initramfs: "SRC=DEST ..."
#   X9P_XEN_STAGE_FILES  more files or directories on the test disk
#                        (/x9ptest/DEST in dom0): "SRC=DEST ..."
#   X9P_XEN_DISK_MIB     room left on the test disk for results (default 200)
#   X9P_XEN_INIT         dom0's init: "shell" (default: dom0-init.sh starts
#                        the Xen daemons and runs the scenario as PID 1) or
#                        "systemd" (Debian's systemd boots dom0, its xen
#                        service starts the Xen daemons and a unit runs the
#                        scenario: dom0-systemd-init.sh)
#   X9P_XEN_NAME         names the run's directories (default xen)
#
# Outputs in build/$X9P_XEN_NAME-logs/: serial.log (Xen and dom0 console),
# the guests' console logs, the scenario's per-test logs; build/xen-bench.txt.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
name=${X9P_XEN_NAME:-xen}
logs=$top/build/$name-logs
run=$top/build/$name-run
init=${X9P_XEN_INIT:-shell}
smp=${X9P_XEN_SMP:-2}
qtimeout=${X9P_XEN_TIMEOUT:-780}

t_start=$(date +%s)
stamp() { echo "# time: $1: $(($(date +%s) - ${2:-$t_start})) s"; }
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
bail() {
	# A setup failure is a failed test, not a skip: the machine could do it.
	echo "1..1"
	echo "not ok 1 - Xen system test setup: $1"
	shift
	for f in "$@"; do [ -f "$f" ] && tail -n 25 "$f" | sed 's/^/#   /'; done
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root (debootstrap, chroot)"
mkdir -p "$logs" "$run"
rm -rf "${logs:?}"/* "${run:?}"/*

# ---- host packages ----------------------------------------------------------
if ! sh "$top/tools/deps.sh" xen >"$logs/deps.log" 2>&1; then
	command -v qemu-system-x86_64 >/dev/null && command -v debootstrap >/dev/null ||
		skip_all "qemu-system-x86_64/debootstrap missing and apt cannot install them (see $logs/deps.log)"
fi
for c in qemu-system-x86_64 debootstrap mkfs.ext4 debugfs cpio modprobe; do
	command -v "$c" >/dev/null || skip_all "$c missing and not installable"
done

# ---- images (cached) ------------------------------------------------------------
t0=$(date +%s)
if ! cache=$(sh "$here/build-images.sh" ${X9P_XEN_CACHE:+"$X9P_XEN_CACHE"} 2>"$logs/images.log"); then
	if grep -qiE 'Failed to fetch|Temporary failure resolving|Could not resolve|Couldn.t download|Release file .* is not valid|Network is unreachable' \
		"$logs/images.log" "$top"/build/xen-cache/*/logs/*.log 2>/dev/null; then
		skip_all "the Debian archive is unreachable: cannot build the dom0 image (see $logs/images.log)"
	fi
	bail "building the dom0/domU images failed" "$logs/images.log"
fi
images_s=$(($(date +%s) - t0))
kver=$(cat "$cache/KVER")

# ---- this tree, installed for dom0 -------------------------------------------------
# Built on the host against libxen-dev 4.17, the same libraries as dom0's, with
# the default PREFIX (/usr/local): the helper's path is compiled in, so this
# reuses the build make check made instead of building everything a second
# time. Not sanitized: dom0 has no sanitizer runtimes.
t0=$(date +%s)
stage=$run/stage
mkdir -p "$stage/root" "$stage/domu" "$stage/out"
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top" -j2 --no-print-directory \
	install DESTDIR="$stage/root" SANITIZE=0 >"$logs/make-install.log" 2>&1; then
	bail "make install DESTDIR=... failed" "$logs/make-install.log"
fi
# make install put the init script and its defaults in; these are this
# test's backend kinds. QEMU serves the benchmark's p9= entries (backend
# kind 9pfs), so x9p must not claim 9pfs devices here.
mkdir -p "$stage/root/etc/default"
cat >"$stage/root/etc/default/x9p-backend" <<'EOF'
# Written by tests/xen/test-xen-system.sh: QEMU serves backend kind 9pfs.
X9P_BACKEND_ARGS="--xen --xen-backend-kinds=xen_9pfs,x9p"
EOF

# ---- which backend ------------------------------------------------------------
mode=${X9P_XEN_BACKEND:-}
if [ -z "$mode" ]; then
	mode=qemu
	if "$stage/root/usr/local/sbin/x9p-backend" --help 2>&1 | grep -q -- '--xen '; then
		mode=x9p
	fi
fi
case $mode in x9p | qemu) ;; *) bail "X9P_XEN_BACKEND must be x9p or qemu, not '$mode'" ;; esac
case $init in shell | systemd) ;; *) bail "X9P_XEN_INIT must be shell or systemd, not '$init'" ;; esac

progs=$top/build/tests/progs
for f in dom0-init.sh dom0-end.sh scenario.sh dom0-lib.sh dom0-backends.sh; do
	cp "$here/$f" "$stage/$f"
done
[ -z "${X9P_XEN_SCENARIO:-}" ] || cp "$X9P_XEN_SCENARIO" "$stage/scenario.sh"
if [ "$init" = systemd ]; then
	cp "$here/dom0-systemd-init.sh" "$stage/dom0-init.sh"
	cp "$here/dom0-systemd-run.sh" "$here/x9p-test.service" "$stage/"
	chmod 0755 "$stage/dom0-systemd-run.sh"
fi
for sd in ${X9P_XEN_STAGE_FILES:-}; do
	mkdir -p "$(dirname "$stage/${sd#*=}")" && cp -r "${sd%%=*}" "$stage/${sd#*=}" ||
		bail "X9P_XEN_STAGE_FILES: $sd"
done
domu_files=
for sd in ${X9P_XEN_DOMU_FILES:-}; do domu_files="$domu_files -f $sd"; done
cp "$top/tests/lib/proctree.sh" "$stage/proctree.sh"
# The worker of test builds, with self-attacks (backend/worker/attack.h).
[ -x "$top/build/tests/x9p-worker-attack" ] && cp "$top/build/tests/x9p-worker-attack" "$stage/"
chmod 0755 "$stage/dom0-init.sh"
cat >"$stage/config.sh" <<EOF
MODE=$mode
POSIXDIFF_ARGS="${X9P_XEN_POSIXDIFF:---skip @client,@slow,@special}"
STRESS_ARGS="${X9P_XEN_STRESS:---steps 60 --max-size 32768}"
BENCH_FILES=${X9P_XEN_BENCH_FILES:-200}
EOF
cp "$cache/vmlinuz" "$stage/domu/vmlinuz"
sh "$here/mkinitramfs.sh" -o "$stage/domu/initrd.gz" -r "$cache/rootfs" -k "$kver" \
	-i "$here/domu-init.sh" -m 9pnet -m 9pnet_xen -m netfs -m fscache -m 9p -p "$progs" \
	-f "$here/domu-tool.sh=bin/xt" -f "$here/domu-bench.sh=bin/domu-bench.sh" \
	-f "$here/domu-posixdiff.sh=bin/domu-posixdiff.sh" $domu_files \
	>"$logs/initramfs.log" 2>&1 || bail "domU initramfs" "$logs/initramfs.log"
sh "$here/mkinitramfs.sh" -o "$run/dom0-initrd.gz" -r "$cache/rootfs" -k "$kver" \
	-i "$here/dom0-stage1-init" -m virtio_pci -m virtio_blk -m ext4 \
	>>"$logs/initramfs.log" 2>&1 || bail "dom0 initramfs" "$logs/initramfs.log"
chmod 0755 "$stage/domu"/* 2>/dev/null
# The per-run test disk: everything from this tree, and room for the results.
mib=$(($(du -sm "$stage" | cut -f1) + ${X9P_XEN_DISK_MIB:-200}))
truncate -s "${mib}M" "$run/test.img"
mkfs.ext4 -q -F -L x9ptest -d "$stage" "$run/test.img" ||
	bail "mkfs.ext4 of the test disk failed"
stage_s=$(($(date +%s) - t0))

# ---- boot ---------------------------------------------------------------------
xen_args="console=com1 com1=115200,8n1 loglvl=warning guest_loglvl=warning"
xen_args="$xen_args dom0_mem=512M,max:512M dom0_max_vcpus=1"
dom0_args="console=hvc0 earlyprintk=xen root=/dev/vda rw loglevel=4"
t0=$(date +%s)
timeout "$qtimeout" qemu-system-x86_64 -accel tcg,tb-size=256 -machine pc \
	-cpu max,-smap -smp "$smp" -m 2048 -nodefaults -no-user-config \
	-display none -vga none -monitor none -serial "file:$logs/serial.log" -no-reboot \
	-kernel "$cache/xen" -append "$xen_args" \
	-initrd "$cache/vmlinuz $dom0_args,$run/dom0-initrd.gz" \
	-drive "file=$cache/dom0.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$run/test.img,if=virtio,format=raw,cache=unsafe" \
	>"$logs/qemu.log" 2>&1
qrc=$?
boot_s=$(($(date +%s) - t0))

# ---- results --------------------------------------------------------------------
debugfs -R "rdump /out $run" "$run/test.img" >/dev/null 2>&1
[ -d "$run/out" ] && cp -r "$run/out/." "$logs/"
res=$run/out/results.tap
planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$res" 2>/dev/null | head -n 1)
echo "# Xen system test: backend $mode, dom0 init $init, QEMU -smp $smp, images $cache"
if [ -z "$planned" ]; then
	echo "1..1"
	echo "not ok 1 - dom0 ran the scenario (QEMU status $qrc, see $logs/serial.log)"
	tail -n 30 "$logs/serial.log" 2>/dev/null | sed 's/^/#   /'
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1..$planned"
pass=0 failn=0 n=1
while [ "$n" -le "$planned" ]; do
	line=$(grep -E "^(not )?ok $n( |\$)" "$res" | head -n 1)
	if [ -z "$line" ]; then
		echo "not ok $n - no result (dom0 stopped early; QEMU status $qrc, see $logs/serial.log)"
		failn=$((failn + 1))
	else
		# The line and its diagnostics, up to the next test line.
		awk -v n="$n" '
			$0 ~ "^(not )?ok " n "( |$)" { on = 1; print; next }
			on && /^(not )?ok [0-9]/ { exit }
			on && /^#/ { print }' "$res"
		case $line in
		ok*) pass=$((pass + 1)) ;;
		*) failn=$((failn + 1)) ;;
		esac
	fi
	n=$((n + 1))
done
if [ -s "$run/out/bench.txt" ]; then
	cp "$run/out/bench.txt" "$top/build/xen-bench.txt"
	echo "# ---- benchmark (figures, not assertions; also build/xen-bench.txt) ----"
	sed 's/^/# /' "$run/out/bench.txt"
fi
grep '^# time: phase' "$res" | sed 's/^# time: phase/# time: dom0 phase/'
echo "# time: image build or cache: $images_s s; x9p install + initramfs + test disk: $stage_s s;" \
	"QEMU (boot, scenario, shutdown): $boot_s s (status $qrc)"
stamp "total"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
