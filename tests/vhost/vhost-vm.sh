#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boots a throwaway Linux guest under QEMU (TCG) whose 9p client mounts
# virtio-9p devices (trans=virtio) in turn: x9p-vhost behind QEMU's generic
# vhost-user-device-pci, x9p-vhost --vfio-user behind QEMU's vfio-user-pci,
# or QEMU's own virtio-9p-pci on the same export.  The guest side (kernels,
# initramfs, /init) is the VM tier's: see docs/testing-vm.md.  The QEMU
# comes from tests/vhost/build-qemu.sh, or when any mount is --server vfu
# Debian's QEMU 11.1 (tests/vfu/qemu-trixie.sh) for every mount.
#
#   vhost-vm.sh [GLOBAL OPTIONS] [MOUNT OPTIONS] [--then MOUNT OPTIONS]...
#
# Global: --kernel 6.1|6.12, --script FILE | --cmd 'CMD' | --shell,
#   --timeout S (default 300), --log FILE, --mem MB (default 512),
#   --progs DIR, --verbose, --qmp PATH (QEMU's QMP monitor on that unix
#   socket, for the caller), --reboot (a guest reboot restarts the machine
#   instead of ending QEMU; so does a panic, until --timeout).
# Per mount (--then starts the next, inheriting): --server vhost|vfu|qemu
#   (default vhost), --export DIR, --security-model M (default
#   passthrough), --vhost-args 'ARGS' (x9p-vhost arguments besides
#   --socket-path and --tag; default --export DIR --security-model M, or
#   --synthetic without --export), --version V (default 9p2000.L),
#   --msize N (default 512000), --cache MODE (default none), --socket PATH
#   (vhost or vfu: the socket of an x9p-vhost the caller started with
#   --tag x9pN for mount N, which this script then neither starts nor
#   stops; not inherited by --then).
#
# The guest script sees the VM tier's variables (X9P_MNT, X9P_CONFIG,
# X9P_TRANS=virtio, ...).  Each x9p-vhost's stderr goes to
# $X9P_VHOST_LOGDIR/vhostN.log when that is set.
# Exit status: the script's first non-zero status, else 0; 124 timeout,
# 125 boot, server or harness failure, 126 a mount failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/proctree.sh"
vm=$top/tests/vm
export X9P_VM_CACHE=${X9P_VM_CACHE:-$top/build/vm-cache}
B=${X9P_BUILD:-build}
B=$(cd "$top" && cd "$B" 2>/dev/null && pwd || echo "$B")

say() { echo "vhost-vm: $*" >&2; }
die() { say "$*"; exit 125; }
. "$top/tests/lib/vm-guest.sh"
server_kind=x9p-vhost
qmp='' noreboot=-no-reboot
cur_server=vhost cur_export='' cur_model=passthrough cur_vargs='' cur_version=9p2000.L
cur_msize=512000 cur_cache=none cur_socket=''
c_server=() c_export=() c_model=() c_vargs=() c_version=() c_msize=() c_cache=() c_socket=()
push_conf() {
	c_server+=("$cur_server") c_export+=("$cur_export") c_model+=("$cur_model")
	c_vargs+=("$cur_vargs") c_version+=("$cur_version") c_msize+=("$cur_msize")
	c_cache+=("$cur_cache") c_socket+=("$cur_socket")
	cur_socket=''
}
need() { vm_need "$@"; }
while [ $# -gt 0 ]; do
	vm_global_option "$@"
	[ "$VM_SHIFT" -eq 0 ] || { shift "$VM_SHIFT"; continue; }
	case $1 in
	--qmp) need "$@"; qmp=$2; shift ;;
	--reboot) noreboot= ;;
	--server) need "$@"; cur_server=$2; shift ;;
	--export) need "$@"; cur_export=$(realpath -m -- "$2"); shift ;;
	--security-model) need "$@"; cur_model=$2; shift ;;
	--vhost-args) need "$@"; cur_vargs=$2; shift ;;
	--version) need "$@"; cur_version=$2; shift ;;
	--msize) need "$@"; cur_msize=$2; shift ;;
	--cache) need "$@"; cur_cache=$2; shift ;;
	--socket) need "$@"; cur_socket=$2; shift ;;
	--then) push_conf ;;
	-h | --help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) say "unknown option '$1'"; exit 2 ;;
	esac
	shift
done
push_conf
nconf=${#c_server[@]}
vm_check_globals
[ -x "$B/x9p-vhost" ] || die "$B/x9p-vhost is not built (make build-all)"

case " ${c_server[*]} " in
*" vfu "*) qemu=$(sh "$top/tests/vfu/qemu-trixie.sh") || die "no QEMU 11.1 (tests/vfu/qemu-trixie.sh)" ;;
*) qemu=$(sh "$here/build-qemu.sh") || die "no QEMU with vhost-user-device-pci (tests/vhost/build-qemu.sh)" ;;
esac
vm_kernel

tmp=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vhost-vm.XXXXXX") || die "mktemp failed"
server_pids=()
qpid=''
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	stop_servers >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 125' INT TERM HUP

# SIGTERM to every x9p-vhost; complains about any that did not exit 0.
stop_servers() {
	local i st bad=0
	for i in "${!server_pids[@]}"; do
		[ -n "${server_pids[$i]}" ] || continue
		kill "${server_pids[$i]}" 2>/dev/null
		wait "${server_pids[$i]}"
		st=$?
		server_pids[i]=
		if [ "$st" -ne 0 ]; then
			say "x9p-vhost of configuration $i exited with status $st:"
			tail -n 20 "$(vlog "$i")" | sed 's/^/  /' >&2
			bad=1
		fi
	done
	return $bad
}
vlog() { echo "${X9P_VHOST_LOGDIR:-$tmp}/vhost$1.log"; }

qargs=(-L /usr/share/seabios -L /usr/share/qemu -L /usr/lib/ipxe/qemu
	-accel tcg -smp 1 -m "$mem" -nodefaults -no-user-config -display none ${noreboot:+"$noreboot"}
	-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -machine memory-backend=mem
	-kernel "$image")
[ -z "$qmp" ] || qargs+=(-qmp "unix:$qmp,server=on,wait=off")
vm_conf_begin "$nconf"
# Starts x9p-vhost for configuration $1 on $tmp/vu$1.sock.
start_server() {
	local i=$1 vargs vfu line why
	sock=$tmp/vu$i.sock
	if [ -n "${c_vargs[$i]}" ]; then
		eval "vargs=(${c_vargs[$i]})"
	elif [ -n "$exp" ]; then
		vargs=(--export "$exp" --security-model "${c_model[$i]}")
	else
		vargs=(--synthetic)
	fi
	mkfifo "$tmp/ready$i"
	vfu=()
	[ "${c_server[$i]}" = vfu ] && vfu=(--vfio-user)
	"$B/x9p-vhost" "${vfu[@]}" --socket-path "$sock" --tag "x9p$i" --ready-fd 9 "${vargs[@]}" \
		9>"$tmp/ready$i" </dev/null >"$(vlog "$i")" 2>&1 &
	server_pids[i]=$!
	read -r -t 20 line <"$tmp/ready$i" || line=
	[ "$line" = ready ] || { sed 's/^/  /' "$(vlog "$i")" >&2; die "x9p-vhost ($i) did not start"; }
	# Its process tree, and whether the worker is confined, for the tests.
	{
		proctree_print "${server_pids[$i]}"
		if why=$(proctree_check_workers "${server_pids[$i]}"); then
			echo "worker confined"
		else
			echo "$why" | sed 's/^/# /'
		fi
	} >"$(vlog "$i").tree"
}

descs=()
for ((i = 0; i < nconf; i++)); do
	tag=x9p$i exp=${c_export[$i]}
	case ${c_server[$i]} in
	vhost | vfu)
		sock=${c_socket[$i]}
		[ -n "$sock" ] || start_server "$i"
		if [ "${c_server[$i]}" = vfu ]; then
			qargs+=(-device "{\"driver\":\"vfio-user-pci\",\"id\":\"$tag\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock\"}}")
			desc="x9p-vhost --vfio-user"
		else
			qargs+=(-chardev "socket,id=vu$i,path=$sock"
				-device "vhost-user-device-pci,chardev=vu$i,virtio-id=9,num_vqs=1,vq_size=128,config_size=$((2 + ${#tag}))")
			desc="x9p-vhost"
		fi
		;;
	qemu)
		[ -d "$exp" ] || die "--server qemu needs --export DIR"
		qargs+=(-fsdev "local,id=fs$i,path=$exp,security_model=${c_model[$i]}"
			-device "virtio-9p-pci,fsdev=fs$i,mount_tag=$tag")
		desc="qemu-9p"
		;;
	*) say "unknown --server '${c_server[$i]}' (vhost, vfu or qemu)"; exit 2 ;;
	esac
	opts="trans=virtio,version=${c_version[$i]},msize=${c_msize[$i]},cache=${c_cache[$i]}"
	vm_conf_mount "$i" virtio "$tag" "$opts" "${c_version[$i]}" "${c_msize[$i]}" "${c_cache[$i]}" \
		"$desc ${c_version[$i]} msize=${c_msize[$i]} cache=${c_cache[$i]}"
done

vm_initramfs
qargs+=(-initrd "$tmp/initrd.gz" -append "$vm_append")

if [ "$mode" = shell ]; then
	say "guest kernel $(cat "$kdir/release"), mounting: ${descs[0]}"
	"$qemu" "${qargs[@]}" -serial mon:stdio
	exit 0
fi

serial=$tmp/serial.log
: >"$serial"
t0=$EPOCHREALTIME
timeout -s TERM "$timeout" "$qemu" "${qargs[@]}" -serial "file:$serial" </dev/null >"$tmp/qemu.log" 2>&1 &
qpid=$!
vm_follow "$qpid" "$serial" "$t0"
qpid=
rc=$VM_RC
if [ "$rc" -ge 124 ] && [ "$rc" -le 126 ]; then
	for i in "${!c_server[@]}"; do
		[ -f "$(vlog "$i")" ] && { say "x9p-vhost $i:"; tail -n 15 "$(vlog "$i")" | sed 's/^/  /' >&2; }
	done
fi
exit "$rc"