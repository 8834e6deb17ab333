#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Life cycle of x9p-vhost --vfio-user with Debian's QEMU 11.1 and a Linux
# 6.12 guest: one x9p-vhost serves five QEMU runs in turn (QEMU has no
# vfio-user reconnect: a new QEMU, or device_add, is a new client).  In the
# first run the guest unbinds the virtio-pci driver from the device and
# binds it again (a device reset and a new bring-up), then mounts again;
# in another it reboots; in another the device is hot-unplugged
# (device_del through QMP), and the last mounts it again.
# Between the runs a client that speaks garbage is refused without harm.
# Prints TAP; the plan comes last.  About a minute after the QEMU fixture
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
line=$(timeout 20 head -n 1 "$work/ready")
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

# Run 2b: the guest reboots (QEMU resets the machine: a DEVICE_RESET on
# the same connection, the firmware's DMA map changes, a new bring-up).
cat >"$work/reboot.sh" <<'EOF'
if [ -e /mnt/rebooted ]; then
	[ "$(cat /mnt/rebooted)" = before ]
	echo "@@T after-reboot $?"
	echo after >/mnt/rebooted && sync
else
	echo before >/mnt/rebooted && sync
	echo "@@T rebooting"
	cd / && umount /mnt && reboot -f
fi
EOF
resets0=$(grep -c 'device reset by the client' "$log")
bash "$vm" --kernel 6.12 --timeout 300 --reboot --server vfu --socket "$sock" \
	--script "$work/reboot.sh" >"$work/outr" 2>"$work/errr"
rc=$?
check "$rc" "run 2b: the guest ran its script across a reboot (status $rc)"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/errr" | tail -n 30
grep -q '^@@T rebooting' "$work/outr" && grep -q '^@@T after-reboot 0' "$work/outr"
check $? "run 2b: after the reboot the guest mounts again and reads what it wrote before"
[ "$(cat "$exp/rebooted" 2>/dev/null)" = after ]
check $? "run 2b: its write after the reboot is in the export"
resets=$(($(grep -c 'device reset by the client' "$log") - resets0))
[ "$resets" -ge 2 ]
check $? "run 2b: QEMU reset the device at start and at the reboot ($resets resets)"

# Run 3: hot-unplug.  The guest unmounts and says so through the export,
# then device_del through QMP; the guest sees the device go (ACPI hotplug
# of the pc machine) and QEMU unmaps the memory and disconnects.
cat >"$work/run3.sh" <<'EOF'
[ "$(cat /mnt/three)" = second ]
echo "@@T read-run2 $?"
echo ready >/mnt/ready-unplug && sync
cd / && umount /mnt
echo "@@T umounted $?"
i=0 found=1
while [ $i -lt 120 ]; do
	found=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1049 ] && found=1
	done
	[ $found -eq 0 ] && break
	sleep 1
	i=$((i + 1))
done
echo "@@T unplugged $found"
# Something for the harness to unmount.
mount -t tmpfs none /mnt
EOF
cat >"$work/unplug.py" <<'EOF'
import json, os, socket, sys, time
qmp, ready = sys.argv[1], sys.argv[2]
deadline = time.time() + 240
while not os.path.exists(ready):
    if time.time() > deadline:
        sys.exit("the guest never got ready for the unplug")
    time.sleep(0.5)
s = socket.socket(socket.AF_UNIX)
s.connect(qmp)
s.settimeout(120)
f = s.makefile("rw")
def send(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
f.readline()
send("qmp_capabilities")
send("device_del", id="x9p0")
for line in f:
    msg = json.loads(line)
    if "error" in msg:
        sys.exit("QMP: %s" % msg["error"])
    if msg.get("event") == "DEVICE_DELETED" and msg["data"].get("device") == "x9p0":
        sys.exit(0)
sys.exit("no DEVICE_DELETED event")
EOF
qmp=$work/qmp.sock
bash "$vm" --kernel 6.12 --timeout 300 --server vfu --socket "$sock" --qmp "$qmp" \
	--script "$work/run3.sh" >"$work/out3" 2>"$work/err3" &
run3=$!
python3 "$work/unplug.py" "$qmp" "$exp/ready-unplug" >"$work/unplug.out" 2>&1
unplug=$?
sed 's/^/# /' "$work/unplug.out"
wait "$run3"
rc=$?
# QEMU 11.1 aborts when it finalizes an unplugged vfio-user-pci device with
# MSI-X: vfio_user_msix_teardown() removes the PBA overlay from a BAR
# region that is gone already.  What the device can show then is that it
# survives and serves the next client.
todo=
if grep -q 'memory_region_del_subregion: Assertion' "$work/err3"; then
	todo=" # TODO QEMU 11.1 aborts finalizing an unplugged vfio-user-pci device with MSI-X"
fi
check "$unplug" "run 3: device_del of the vfio-user device completed (DEVICE_DELETED)$todo"
check "$rc" "run 3: the guest ran its script (status $rc)$todo"
[ "$rc" -eq 0 ] || [ -n "$todo" ] || sed 's/^/# /' "$work/err3" | tail -n 30
for step in read-run2 umounted; do
	grep -q "^@@T $step 0" "$work/out3"
	check $? "run 3: $step"
done
grep -q "^@@T unplugged 0" "$work/out3"
check $? "run 3: the guest saw the device go$todo"

# Run 4: a new QEMU after the unplug (or after QEMU died of it).
bash "$vm" --kernel 6.12 --timeout 300 --server vfu --socket "$sock" \
	--cmd '[ "$(cat /mnt/ready-unplug)" = ready ]' >"$work/out4" 2>"$work/err4"
rc=$?
check "$rc" "run 4: a QEMU started after the unplug mounts the device and reads (status $rc)"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/err4" | tail -n 30

kill -0 "$vpid" 2>/dev/null
check $? "x9p-vhost is still running"
[ -n "$w1" ] && [ "$(worker)" = "$w1" ]
check $? "the same worker served every client"
n_conn=$(grep -c 'frontend connected' "$log")
[ "$n_conn" -eq 6 ]
check $? "six clients were accepted in turn ($n_conn)"
n_gone=$(grep -c 'the client disconnected' "$log")
[ "$n_gone" -eq 5 ]
check $? "the five QEMU runs ended their connections cleanly ($n_gone)"
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
