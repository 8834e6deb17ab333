#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real-guest test of x9p-vhost: Linux 6.1 and 6.12 guests (booted at the same
# time) mount an export through x9p-vhost with trans=virtio and run the POSIX
# suite (posixdiff, against the guest's tmpfs) and the data-integrity stress.
# Prints TAP; the plan comes last.  Builds the QEMU once (build-qemu.sh) and
# fetches the kernels once (tests/vm/fetch-kernels.sh); afterwards about two
# minutes on two cores.
#
#   X9P_VM_KERNELS="6.12"       limit the kernels
#   X9P_VHOST_MODEL=mapped-xattr  security model (default passthrough)
#   X9P_GUEST_SERVER=vfu        x9p-vhost --vfio-user behind QEMU 11.1's
#                               vfio-user-pci (tests/vfu/test-vfu-guest.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
export X9P_BUILD=$B
kernels=${X9P_VM_KERNELS:-6.1 6.12}
model=${X9P_VHOST_MODEL:-passthrough}
server=${X9P_GUEST_SERVER:-vhost}

# posixdiff cases that fail the same way over trans=fd with x9p-backend (so
# not because of the virtio transport): reported as TODO, with the reason.
todo_case() {
	case $1/$2 in
	6.1/perm_nonroot) echo "6.1 client keeps set-user-ID on write; same with x9p-backend over trans=fd" ;;
	*) return 1 ;;
	esac
}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" -eq 0 ]; then shift; ok "$@"; else shift; nok "$@"; fi; }

sh "$top/tools/deps.sh" vm >/dev/null 2>&1
if [ "$server" = vfu ]; then
	if ! qemu=$(sh "$top/tests/vfu/qemu-trixie.sh" 2>"$B/qemu-trixie.log"); then
		nok "install Debian's QEMU 11.1 (see $B/qemu-trixie.log)"
		echo "1..$n"
		exit 1
	fi
	ok "Debian's QEMU with vfio-user-pci: $qemu ($(cat "$(dirname "$qemu")/version" 2>/dev/null))"
	what="x9p-vhost --vfio-user through vfio-user-pci"
elif ! qemu=$(sh "$here/build-qemu.sh" 2>"$B/qemu-vhost-build.log"); then
	nok "build a QEMU that accepts vhost-user-device-pci (see $B/qemu-vhost-build.log)"
	echo "1..$n"
	exit 1
else
	ok "QEMU with vhost-user-device-pci: $qemu"
	what="x9p-vhost with trans=virtio"
fi
for k in $kernels; do
	sh "$top/tests/vm/fetch-kernels.sh" "$k" >/dev/null 2>&1 || true
done

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vhost-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/guest.sh" <<'EOF'
mount | grep -q ' /mnt type 9p .*trans=virtio' && echo "@@T mounted 0" || echo "@@T mounted 1"
posixdiff --skip @client /tmp /mnt >/tmp/pd.out 2>&1
echo "@@T posixdiff $?"
sed 's/^/@@P /' /tmp/pd.out
stress /mnt --seed 7 --steps 300 >/tmp/st.out 2>&1
st=$?
sed 's/^/@@S /' /tmp/st.out
echo "@@T stress $st"
echo "written by $(uname -r)" >/mnt/from-guest && sync
echo "@@T wrote $?"
EOF

pids=
for k in $kernels; do
	mkdir -p "$work/exp-$k" "$work/log-$k"
	X9P_VHOST_LOGDIR=$work/log-$k bash "$here/vhost-vm.sh" --kernel "$k" --timeout 600 \
		--server "$server" --script "$work/guest.sh" --export "$work/exp-$k" --security-model "$model" \
		>"$work/out-$k" 2>"$work/err-$k" &
	pids="$pids $!"
	eval "pid_$(echo "$k" | tr . _)=\$!"
done

for k in $kernels; do
	eval "pid=\$pid_$(echo "$k" | tr . _)"
	wait "$pid"
	rc=$?
	out=$work/out-$k
	tag="$k:"
	check "$rc" "$tag guest run completed (harness status $rc)"
	if [ "$rc" -ge 124 ]; then
		sed 's/^/# /' "$work/err-$k" | tail -n 40
	fi
	grep -q '^@@T mounted 0' "$out"
	check $? "$tag mounted $what"
	# posixdiff's own TAP, one line per case, kernel-prefixed.
	sed -n 's/^@@P //p' "$out" >"$work/pd-$k"
	while IFS= read -r line; do
		case $line in
		"ok "*)
			name=${line#ok * - }
			ok "$tag posixdiff $name"
			;;
		"not ok "*)
			name=${line#not ok * - }
			if why=$(todo_case "$k" "$name"); then
				nok "$tag posixdiff $name # TODO $why"
			else
				nok "$tag posixdiff $name"
			fi
			;;
		"#     "*) echo "$line" ;;
		esac
	done <"$work/pd-$k"
	grep -q '^@@T posixdiff' "$out"
	check $? "$tag posixdiff ran to the end"
	grep -q '^@@T stress 0' "$out"
	st=$?
	check $st "$tag stress: 300 random steps verified against a model"
	[ $st -eq 0 ] || sed -n 's/^@@S /# /p' "$out" | tail -n 10
	grep -q "^written by $k" "$work/exp-$k/from-guest" 2>/dev/null
	check $? "$tag the file the guest wrote is in the export"
	# The monitor's lines and its worker's and helper's, relayed.
	warn='x9p-(vhost|worker|helper)(\[[0-9]+\])?: (fatal|error|warning):'
	! grep -Eq "$warn" "$work/log-$k"/vhost*.log
	check $? "$tag x9p-vhost logged no warnings"
	grep -E "$warn" "$work/log-$k"/vhost*.log 2>/dev/null | head -n 5 | sed 's/^/# /'
	cat "$work/log-$k"/vhost0.log.tree 2>/dev/null | grep '^#'
	grep -qx 'worker confined' "$work/log-$k"/vhost0.log.tree 2>/dev/null
	check $? "$tag the worker running the device is non-root, without capabilities, NoNewPrivs, seccomp, own mount namespace"
done
echo "1..$n"
