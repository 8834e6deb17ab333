#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boots a throwaway Linux guest under QEMU (TCG) whose kernel 9p client mounts
# one or more 9P servers in turn, runs a script in it and exits with the
# script's status.  Full documentation: docs/testing-vm.md.
#
#   boot.sh [GLOBAL OPTIONS] [MOUNT OPTIONS] [--then MOUNT OPTIONS]...
#
# Exit status: the guest script's (the first non-zero one over all mount
# configurations), or 124 timeout, 125 harness/boot/server failure, 126 a
# mount failed.
set -u

usage() {
	cat <<'EOF'
usage: boot.sh [options] [mount options] [--then mount options]...
global options:
  --kernel 6.1|6.12     guest kernel (default $X9P_VM_KERNEL or 6.12)
  --script FILE         guest script, run by busybox sh with cwd /mnt
  --cmd 'COMMAND'       guest command line instead of a script
  --shell               interactive shell on this terminal (stdin not a
                        terminal: stdin is read as the guest script)
  --timeout SECONDS     kill QEMU after this long (default $X9P_VM_TIMEOUT or 300)
  --progs DIR           static programs copied to the guest's /bin
                        (default $X9P_BUILD/tests/progs)
  --log FILE            keep the serial log there (default: kept only on failure)
  --append 'ARGS'       extra kernel command line
  --mem MB              guest memory (default 512)
  --qemu PATH           QEMU binary (default $X9P_QEMU or qemu-system-x86_64)
  --verbose             copy the whole serial log to stderr as it arrives
mount options (one configuration; --then starts the next, inheriting these):
  --server x9p|qemu     x9p: build/x9p-backend over trans=fd on a virtconsole
                        (default); qemu: QEMU's built-in virtio-9p, trans=virtio
  --server-cmd 'CMD'    any 9P server over trans=fd: CMD (sh -c) must listen on
                        the unix socket $X9P_SOCK (also substituted for {sock})
  --backend-args 'ARGS' x9p-backend arguments besides --listen (default
                        --synthetic, or --export DIR --security-model MODEL)
  --export DIR          directory to export (x9p and qemu)
  --security-model M    passthrough|mapped-xattr|mapped-file|none
                        (default mapped-xattr)
  --version V           9p2000.L (default) or 9p2000.u
  --msize N             default 131072 (trans=fd), 512000 (trans=virtio)
  --cache MODE          none (default), loose, fscache, mmap, ...
  --mount-opts 'A,B'    extra mount options
  --then                start the next configuration
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export X9P_VM_CACHE=${X9P_VM_CACHE:-$top/build/vm-cache}
B=${X9P_BUILD:-build}
B=$(cd "$B" 2>/dev/null && pwd || echo "$B")

say() { echo "boot.sh: $*" >&2; }
die() { say "$*"; exit 125; }
vm=$here
. "$top/tests/lib/vm-guest.sh"
append='' qemu=${X9P_QEMU:-qemu-system-x86_64}

# Current configuration, and the list of finished ones.
cur_server=x9p cur_cmd='' cur_bargs='' cur_export='' cur_model=mapped-xattr
cur_version=9p2000.L cur_msize='' cur_cache=none cur_mopts=''
c_server=() c_cmd=() c_bargs=() c_export=() c_model=() c_version=() c_msize=()
c_cache=() c_mopts=()
push_conf() {
	c_server+=("$cur_server") c_cmd+=("$cur_cmd") c_bargs+=("$cur_bargs")
	c_export+=("$cur_export") c_model+=("$cur_model") c_version+=("$cur_version")
	c_msize+=("$cur_msize") c_cache+=("$cur_cache") c_mopts+=("$cur_mopts")
}

need() { vm_need "$@"; }
orig_args=("$@")
while [ $# -gt 0 ]; do
	vm_global_option "$@"
	[ "$VM_SHIFT" -eq 0 ] || { shift "$VM_SHIFT"; continue; }
	case $1 in
	--append) need "$@"; append=$2; shift ;;
	--qemu) need "$@"; qemu=$2; shift ;;
	--server) need "$@"; cur_server=$2; cur_cmd=; shift ;;
	--server-cmd) need "$@"; cur_server=cmd; cur_cmd=$2; shift ;;
	--backend-args) need "$@"; cur_bargs=$2; shift ;;
	--export) need "$@"; cur_export=$(realpath -m -- "$2"); shift ;;
	--security-model) need "$@"; cur_model=$2; shift ;;
	--version) need "$@"; cur_version=$2; shift ;;
	--msize) need "$@"; cur_msize=$2; shift ;;
	--cache) need "$@"; cur_cache=$2; shift ;;
	--mount-opts) need "$@"; cur_mopts=$2; shift ;;
	--then) push_conf ;;
	-h | --help) usage; exit 0 ;;
	*) say "unknown option '$1'"; usage >&2; exit 2 ;;
	esac
	shift
done
push_conf
nconf=${#c_server[@]}

# Each x9p configuration talks to QEMU over a socket pair from sockpairs
# (descriptors pair_base+2k for x9p-backend, +1 for QEMU): a virtconsole
# drops what the guest writes when its socket is full, and the pairs' send
# buffers are large enough that a server stalled on a loaded host loses
# nothing (tests/vm/sockpairs.c).  The script runs again under sockpairs.
pair_base=40 npairs=0
c_pair=()
for ((i = 0; i < nconf; i++)); do
	c_pair+=('')
	[ "${c_server[$i]}" = x9p ] || continue
	c_pair[i]=$npairs
	npairs=$((npairs + 1))
done
if [ $npairs -gt 0 ] && [ "${X9P_VM_PAIRS:-}" != "$pair_base/$npairs/$$" ]; then
	[ -x "$B/tests/vm/sockpairs" ] || die "$B/tests/vm/sockpairs is not built (make build-all)"
	exec "$B/tests/vm/sockpairs" $((32 << 20)) $pair_base $npairs \
		env X9P_VM_PAIRS="$pair_base/$npairs/$$" bash "$here/boot.sh" "${orig_args[@]}"
fi
unset X9P_VM_PAIRS
# In a subshell about to run a program: closes the pair descriptors it
# must not hold (a peer that holds both ends never sees the other go).
close_pairs() {
	local f keep=" $* "
	for ((f = pair_base; f < pair_base + 2 * npairs; f++)); do
		[ "${keep/ $f /}" != "$keep" ] || eval "exec $f>&-"
	done
}

vm_check_globals
command -v "$qemu" >/dev/null || die "$qemu not found (sh tools/deps.sh vm)"

vm_kernel

tmp=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vm.XXXXXX") || die "mktemp failed"
server_pids=()
qpid=''
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	stop_servers
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 125' INT TERM HUP

# Stops the servers; prints a complaint for each one that exited on its own
# with a failure status or that failed on SIGTERM.  Returns 1 if any did.
stop_servers() {
	local i pid st bad=0
	for i in "${!server_pids[@]}"; do
		pid=${server_pids[$i]}
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		st=$?
		server_pids[i]=
		# 143: the SIGTERM we sent.
		if [ "$st" -ne 0 ] && [ "$st" -ne 143 ]; then
			say "server of configuration $i exited with status $st; its output:"
			tail -n 20 "$tmp/server$i.log" | sed 's/^/  /' >&2
			bad=1
		fi
	done
	return $bad
}

# Starts the server of configuration $1 listening on $2; returns once it
# listens (bounded wait).
start_server() {
	local i=$1 sock=$2 n=0 args
	local -a argv
	case ${c_server[$i]} in
	x9p)
		[ -x "$B/x9p-backend" ] || die "$B/x9p-backend is not built (make build-all)"
		if [ -n "${c_bargs[$i]}" ]; then
			args=${c_bargs[$i]}
		elif [ -n "${c_export[$i]}" ]; then
			args=$(printf -- '--export %q --security-model %q' "${c_export[$i]}" "${c_model[$i]}")
		else
			args=--synthetic
		fi
		local sfd=$((pair_base + 2 * c_pair[i]))
		eval "argv=(\"\$B/x9p-backend\" --listen \"fd:\$sfd\" $args)"
		echo "${argv[*]}" >"$tmp/server$i.cmd"
		# --ready-fd says "ready" once it listens, or closes on failure.
		mkfifo "$tmp/ready$i" || die "mkfifo failed"
		(close_pairs "$sfd"; exec "${argv[@]}" --ready-fd 9) 9>"$tmp/ready$i" </dev/null \
			>"$tmp/server$i.log" 2>&1 &
		server_pids[i]=$!
		local rfd line ready=0
		exec {rfd}<"$tmp/ready$i"
		while read -r -t 20 -u "$rfd" line; do
			[ "$line" = ready ] && { ready=1; break; }
		done
		exec {rfd}<&-
		if [ $ready -eq 0 ]; then
			say "server of configuration $i ($(cat "$tmp/server$i.cmd")) did not start:"
			kill "${server_pids[$i]}" 2>/dev/null
			wait "${server_pids[$i]}" 2>/dev/null
			server_pids[i]=
			sed 's/^/  /' "$tmp/server$i.log" >&2
			exit 125
		fi
		return 0
		;;
	cmd)
		argv=(sh -c "${c_cmd[$i]//\{sock\}/$sock}")
		;;
	esac
	echo "${argv[*]}" >"$tmp/server$i.cmd"
	X9P_SOCK=$sock "${argv[@]}" </dev/null >"$tmp/server$i.log" 2>&1 &
	server_pids[i]=$!
	# Any command: the socket file appears at bind(), listen() follows at
	# once, and QEMU connects only after the initramfs is built.
	while [ ! -S "$sock" ]; do
		if ! kill -0 "${server_pids[$i]}" 2>/dev/null; then
			say "server of configuration $i ($(cat "$tmp/server$i.cmd")) exited:"
			wait "${server_pids[$i]}" 2>/dev/null
			server_pids[i]=
			sed 's/^/  /' "$tmp/server$i.log" >&2
			exit 125
		fi
		n=$((n + 1))
		[ $n -le 200 ] || die "server of configuration $i never created $sock"
		sleep 0.05
	done
}

qargs=(-accel tcg -smp 1 -m "$mem" -nodefaults -no-user-config -display none -no-reboot
	-kernel "$image")
vm_conf_begin "$nconf"
nfd=0
descs=()
qemu_fds=()
for ((i = 0; i < nconf; i++)); do
	ver=${c_version[$i]} cache_mode=${c_cache[$i]} msize=${c_msize[$i]}
	case ${c_server[$i]} in
	x9p | cmd)
		kind=fd dev=hvc$nfd
		[ -n "$msize" ] || msize=131072
		opts="trans=fd,rfdno=3,wfdno=3"
		[ $nfd -eq 0 ] && qargs+=(-device virtio-serial-pci)
		sock=$tmp/s$i
		start_server "$i" "$sock"
		if [ -n "${c_pair[$i]}" ]; then
			qfd=$((pair_base + 2 * c_pair[i] + 1))
			qemu_fds+=("$qfd")
			qargs+=(-chardev "socket,id=c$i,fd=$qfd")
		else
			qargs+=(-chardev "socket,id=c$i,path=$sock")
		fi
		qargs+=(-device "virtconsole,chardev=c$i,name=x9p.$i")
		nfd=$((nfd + 1))
		[ "${c_server[$i]}" = x9p ] && desc="x9p-backend" || desc="server-cmd"
		;;
	qemu)
		kind=virtio dev=x9p$i
		[ -n "$msize" ] || msize=512000
		opts="trans=virtio"
		exp=${c_export[$i]}
		[ -n "$exp" ] || die "--server qemu needs --export DIR"
		[ -d "$exp" ] || die "export $exp is not a directory"
		qargs+=(-fsdev "local,id=fs$i,path=$exp,security_model=${c_model[$i]}"
			-device "virtio-9p-pci,fsdev=fs$i,mount_tag=$dev")
		desc="qemu-9p"
		;;
	*) say "unknown --server '${c_server[$i]}' (x9p or qemu)"; exit 2 ;;
	esac
	opts="$opts,version=$ver,msize=$msize"
	[ -n "$cache_mode" ] && opts="$opts,cache=$cache_mode"
	[ -n "${c_mopts[$i]}" ] && opts="$opts,${c_mopts[$i]}"
	[ -z "${c_export[$i]}" ] || [ -n "${c_bargs[$i]}" ] || [ "${c_server[$i]}" = cmd ] ||
		desc="$desc ${c_export[$i]} (${c_model[$i]})"
	vm_conf_mount "$i" "$kind" "$dev" "$opts" "$ver" "$msize" "$cache_mode" \
		"$desc $ver msize=$msize cache=$cache_mode"
done
[ $nfd -le 8 ] || die "at most 8 trans=fd configurations per boot (hvc limit)"

vm_initramfs
qargs+=(-initrd "$tmp/initrd.gz" -append "$vm_append $append")

if [ "$mode" = shell ]; then
	say "guest kernel $(cat "$kdir/release"), mounting: ${descs[0]}"
	(close_pairs "${qemu_fds[@]}"; exec "$qemu" "${qargs[@]}" -serial mon:stdio)
	exit 0
fi

# Script mode: QEMU writes the serial console to a file that is read as it
# grows; markers from guest-init.sh drive the state, the script's output
# goes to stdout.
serial=$tmp/serial.log
: >"$serial"
t0=$EPOCHREALTIME
(close_pairs "${qemu_fds[@]}"; exec timeout -s TERM "$timeout" "$qemu" "${qargs[@]}" \
	-serial "file:$serial") </dev/null >"$tmp/qemu.log" 2>&1 &
qpid=$!
close_pairs   # each end is now held by its one user only

vm_follow "$qpid" "$serial" "$t0"
qpid=
rc=$VM_RC
if [ "$rc" -ge 124 ] && [ "$rc" -le 126 ]; then
	keep=$B/vm-logs/$(date +%Y%m%d-%H%M%S)-$kernel-$$
	mkdir -p "$keep"
	tr -d '\r' <"$serial" >"$keep/serial.log"
	cp "$tmp/qemu.log" "$conf" "$keep/" 2>/dev/null
	cp "$tmp"/server*.log "$tmp"/server*.cmd "$keep/" 2>/dev/null
	say "serial, QEMU and server logs kept in $keep"
fi
exit "$rc"
