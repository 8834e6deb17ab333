#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Life cycle of x9p-vhost --vfio-user with Debian's QEMU 11.1 and a Linux
# 6.12 guest: one x9p-vhost serves two QEMU runs in turn (QEMU has no
# vfio-user reconnect: a new QEMU, or device_add, is a new client), and in
# the first run the guest unbinds the virtio-pci driver from the device and
# binds it again (a device reset and a new bring-up), then mounts again.
# Between the runs a client that speaks garbage is refused without harm.
# Prints TAP; the plan comes last.  About one minute after the QEMU fixture
# (tests/vfu/qemu-trixie.sh) and the kernels are cached.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
export X9P_BUILD=$B
vm=$top/tests/vhost/vhost-vm.sh

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" -eq 0 ]; then shift; ok "$@"; else shift; nok "$@"; fi; }
finish() { echo "1..$n"; exit 0; }

if ! sh "$here/qemu-trixie.sh" >/dev/null 2>"$B/qemu-trixie.log"; then
	nok "install Debian's QEMU 11.1 (see $B/qemu-trixie.log)"
	finish
fi
sh "$top/tests/vm/fetch-kernels.sh" 6.12 >/dev/null 2>&1 || true

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vfu-life.XXXXXX")
vpid=''
cleanup() {
	[ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
exp=$work/export
mkdir -p "$exp"
sock=$work/vfu.sock
log=$work/x9p-vhost.log

mkfifo "$work/ready"
"$B/x9p-vhost" --vfio-user --socket-path "$sock" --tag x9p0 --export "$exp" \
	--security-model passthrough --ready-fd 9 9>"$work/ready" </dev/null >"$log" 2>&1 &
vpid=$!
read -r -t 20 line <"$work/ready" || line=
[ "$line" = ready ]
check $? "x9p-vhost --vfio-user listens on $sock"
# The worker names itself "x9p-vhost: worker vfu:PATH" (the helper is its sibling).
worker() { pgrep -P "$vpid" -f 'worker vfu:' | head -n 1; }
w1=$(worker)

# Run 1: write, unbind and rebind the driver, mount again, read back.
cat >"$work/run1.sh" <<'EOF'
. /etc/x9p-vm.conf
echo before-rebind >/mnt/one && sync
echo "@@T wrote $?"
pci=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1049 ] && pci=${d##*/}
done
echo "@@T found ${pci:-none}"
cd / && umount /mnt
echo "$pci" >/sys/bus/pci/drivers/virtio-pci/unbind
echo "@@T unbound $?"
echo "$pci" >/sys/bus/pci/drivers/virtio-pci/bind
echo "@@T bound $?"
mount -t 9p -o "$X9P_0_OPTS" x9p0 /mnt
echo "@@T remounted $?"
[ "$(cat /mnt/one)" = before-rebind ]
echo "@@T read-after-rebind $?"
echo after-rebind >/mnt/two && sync
echo "@@T wrote-after-rebind $?"
EOF
bash "$vm" --kernel 6.12 --timeout 300 --server vfu --socket "$sock" --script "$work/run1.sh" \
	>"$work/out1" 2>"$work/err1"
rc=$?
check "$rc" "run 1: the guest ran its script (harness status $rc)"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/err1" | tail -n 30
for step in wrote unbound bound remounted read-after-rebind wrote-after-rebind; do
	grep -q "^@@T $step 0" "$work/out1"
	check $? "run 1: $step"
done
grep -q '^@@T found 0000:' "$work/out1"
check $? "run 1: the guest sees the device as PCI 1af4:1049"
[ "$(cat "$exp/two" 2>/dev/null)" = after-rebind ]
check $? "run 1: what the guest wrote after the rebind is in the export"

# A client that is no vfio-user client at all.
python3 - "$sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"\xff" * 64)
s.settimeout(10)
try:
    sys.exit(0 if s.recv(16) == b"" else 1)
except (ConnectionResetError, socket.timeout):
    sys.exit(0)
EOF
check $? "a client sending garbage is disconnected"

# Run 2: a new QEMU (a new client) on the same device.
cat >"$work/run2.sh" <<'EOF'
[ "$(cat /mnt/one)" = before-rebind ] && [ "$(cat /mnt/two)" = after-rebind ]
echo "@@T read-run1 $?"
echo second >/mnt/three && sync
echo "@@T wrote $?"
EOF
bash "$vm" --kernel 6.12 --timeout 300 --server vfu --socket "$sock" --script "$work/run2.sh" \
	>"$work/out2" 2>"$work/err2"
rc=$?
check "$rc" "run 2: a new QEMU attached to the same device ran its script (status $rc)"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/err2" | tail -n 30
grep -q '^@@T read-run1 0' "$work/out2"
check $? "run 2: reads what run 1 wrote"
[ "$(cat "$exp/three" 2>/dev/null)" = second ]
check $? "run 2: its write is in the export"

kill -0 "$vpid" 2>/dev/null
check $? "x9p-vhost is still running"
[ -n "$w1" ] && [ "$(worker)" = "$w1" ]
check $? "the same worker served every client"
n_conn=$(grep -c 'frontend connected' "$log")
[ "$n_conn" -eq 3 ]
check $? "three clients were accepted in turn ($n_conn)"
grep -q 'broken vfio-user message' "$log"
check $? "the garbage client is logged as a broken message"
warn='x9p-(vhost|worker|helper)(\[[0-9]+\])?: (fatal|error|warning):'
others=$(grep -E "$warn" "$log" | grep -v -e 'broken vfio-user message' \
	-e 'frontend connection ended: Protocol error')
[ -z "$others" ]
check $? "nothing else was logged as a warning"
printf '%s\n' "$others" | head -n 5 | grep . | sed 's/^/# /'
kill "$vpid"
wait "$vpid"
rc=$?
vpid=''
check "$rc" "x9p-vhost exits 0 on SIGTERM"
finish
