# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The guest side shared by the VM tiers' launchers, tests/vm/boot.sh
# (trans=fd and QEMU's virtio-9p) and tests/vhost/vhost-vm.sh (x9p-vhost
# over vhost-user or vfio-user): their global options, the guest's kernel,
# configuration and initramfs, and in script mode the reading of the
# serial console (guest-init.sh's "@@X9P" markers) into the script's
# output and one exit status.  Sourced by bash; docs/testing-vm.md.
#
# The launcher defines say(), die() and stop_servers, and sets B (the
# build), vm (the tests/vm directory) and tmp (its scratch directory)
# before the calls below.  What they set or read: kernel script cmd mode
# timeout log mem progs verbose (the global options), kdir image (the
# kernel), conf, descs[] (one description per configuration, for the
# messages), server_pids[] (the launcher's servers, by configuration) and
# server_kind (what they are called in messages).

kernel=${X9P_VM_KERNEL:-6.12} script='' cmd='' mode=script timeout=${X9P_VM_TIMEOUT:-300}
log='' mem=512 progs=$B/tests/progs verbose=0
server_pids=() server_kind=server

vm_need() { [ $# -ge 2 ] || { say "$1 needs an argument"; exit 2; }; }

# vm_global_option "$@": takes a global option off the front; VM_SHIFT is
# how many arguments it used, 0 when $1 is not one.
vm_global_option() {
	VM_SHIFT=2
	case $1 in
	--kernel) vm_need "$@"; kernel=$2 ;;
	--script) vm_need "$@"; script=$2 ;;
	--cmd) vm_need "$@"; cmd=$2 ;;
	--timeout) vm_need "$@"; timeout=$2 ;;
	--log) vm_need "$@"; log=$2 ;;
	--mem) vm_need "$@"; mem=$2 ;;
	--progs) vm_need "$@"; progs=$2 ;;
	--shell) mode=shell VM_SHIFT=1 ;;
	--verbose | -v) verbose=1 VM_SHIFT=1 ;;
	*) VM_SHIFT=0 ;;
	esac
}

# After the options: checks them; a shell without a terminal becomes a
# script of what would have been typed.
vm_check_globals() {
	case $kernel in 6.1 | 6.12) ;; *) say "--kernel must be 6.1 or 6.12"; exit 2 ;; esac
	case $timeout in '' | *[!0-9]*) say "--timeout needs a number of seconds"; exit 2 ;; esac
	if [ "$mode" = shell ] && [ ! -t 0 ]; then
		mode=script
		if [ -z "$script" ] && [ -z "$cmd" ]; then
			cmd=$(cat)
			[ -n "$cmd" ] || cmd=:
		fi
	fi
	if [ "$mode" = script ] && [ -z "$script" ] && [ -z "$cmd" ]; then
		say "give --script FILE, --cmd 'COMMAND' or --shell"
		exit 2
	fi
	[ -z "$script" ] || [ -r "$script" ] || die "cannot read script $script"
}

# Fetches the kernel (cached): sets kdir, and image to the unpacked ELF
# kernel when there is one, which boots through its PVH entry and skips
# the bzImage decompressor (seconds under TCG).
vm_kernel() {
	sh "$vm/fetch-kernels.sh" "$kernel" || die "cannot fetch kernel $kernel"
	kdir=$(cd "$X9P_VM_CACHE/kernel-$kernel" && pwd) || die "no kernel in $X9P_VM_CACHE"
	image=${X9P_VM_KERNEL_IMAGE:-$kdir/vmlinuz}
	[ -n "${X9P_VM_KERNEL_IMAGE:-}" ] || [ ! -f "$kdir/vmlinux" ] || image=$kdir/vmlinux
}

# Shell-quotes $1 for the guest's busybox sh.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The guest's /etc/x9p-vm.conf (guest-init.sh): its head, then one
# vm_conf_mount per configuration.
vm_conf_begin() { # NCONF
	conf=$tmp/x9p-vm.conf
	{
		echo "X9P_MODE=$mode"
		echo "X9P_N=$1"
		if [ -t 0 ] && size=$(stty size 2>/dev/null); then
			echo "X9P_ROWS=${size% *} X9P_COLS=${size#* } X9P_TERM=$(q "${TERM:-vt100}")"
		fi
	} >"$conf"
}
vm_conf_mount() { # I KIND DEV OPTS VERSION MSIZE CACHE DESC
	descs[$1]=$8
	{
		echo "X9P_${1}_KIND=$2 X9P_${1}_DEV=$3 X9P_${1}_OPTS=$(q "$4")"
		echo "X9P_${1}_VERSION=$5 X9P_${1}_MSIZE=$6 X9P_${1}_CACHE=$(q "$7")"
		echo "X9P_${1}_DESC=$(q "$8")"
	} >>"$conf"
}

# The initramfs with the configuration and the script, and vm_append, the
# kernel command line.  Warnings reach the serial log in script mode (a 9p
# client warning is worth seeing next to the output it explains); a
# person's shell stays quiet.
vm_initramfs() {
	if [ -n "$cmd" ]; then
		printf '%s\n' "$cmd" >"$tmp/script"
		script=$tmp/script
	elif [ -z "$script" ]; then
		: >"$tmp/script"
		script=$tmp/script
	fi
	sh "$vm/mkinitramfs.sh" -o "$tmp/initrd.gz" -k "$kdir" -p "$progs" \
		-f "$conf=etc/x9p-vm.conf" -f "$script=x9p/script" || die "mkinitramfs failed"
	vm_append="console=ttyS0 loglevel=5 panic=-1 oops=panic"
	[ "$mode" = script ] || vm_append="console=ttyS0 quiet panic=-1 oops=panic"
}

# Once the guest is done: true (after saying so) if a server died.
vm_servers_died() {
	local i died=1
	for i in "${!server_pids[@]}"; do
		if [ -n "${server_pids[$i]}" ] && ! kill -0 "${server_pids[$i]}" 2>/dev/null; then
			say "$server_kind of configuration $i died during the run"
			died=0
		fi
	done
	return $died
}

# Script mode, once QEMU (pid $1, started with -serial file:$2 at
# EPOCHREALTIME $3, its output in $tmp/qemu.log) runs: follows the serial
# console until QEMU ends, prints the script's output, stops the servers,
# and sets VM_RC: the script's first non-zero status, else 0; 124
# timeout, 125 boot or harness failure, 126 a mount failed.  The
# death of a server while the guest ran and stop_servers failing (a
# server that had failed) count as harness failures.  On 124 to 126 the end of QEMU's output and of the console go
# to stderr.
vm_follow() {
	local qpid=$1 serial=$2 t0=$3 line prefix in_script=-1 done=0 fail=0 first=0
	local mountfail=0 t_init='' t_mount='' qrc
	local -a m
	vm_elapsed() {
		local now=$EPOCHREALTIME
		local us=$(((${now/./} - ${t0/./}) / 1000))
		printf '%d.%d' $((us / 1000)) $((us % 1000 / 100))
	}
	while IFS= read -r line; do
		line=${line%$'\r'}
		[ "$verbose" -eq 1 ] && printf '%s\n' "$line" >&2
		case $line in
		*"@@X9P "*)
			# Output without a final newline runs into the next marker.
			prefix=${line%%@@X9P *}
			[ -n "$prefix" ] && [ "$in_script" -ge 0 ] && printf '%s\n' "$prefix"
			read -r -a m <<<"${line#*@@X9P }"
			case ${m[0]} in
			init) t_init=$(vm_elapsed) ;;
			mounted)
				[ -n "$t_mount" ] || t_mount=$(vm_elapsed)
				say "configuration ${m[1]} mounted: ${descs[${m[1]}]}"
				;;
			mountfail)
				say "configuration ${m[1]}: mount failed (${descs[${m[1]}]})"
				mountfail=1
				;;
			begin)
				in_script=${m[1]}
				[ "${#descs[@]}" -gt 1 ] && echo "# configuration ${m[1]}: ${descs[${m[1]}]}"
				;;
			end)
				in_script=-1
				[ "$first" -ne 0 ] || first=${m[2]}
				;;
			error) say "guest: ${line#*@@X9P error }"; fail=1 ;;
			done)
				done=1
				vm_servers_died && fail=1
				;;
			esac
			;;
		*) [ "$in_script" -ge 0 ] && printf '%s\n' "$line" ;;
		esac
	done < <(tail -s 0.2 --pid="$qpid" -n +1 -f "$serial")
	wait "$qpid"
	qrc=$?
	stop_servers || fail=1
	[ -z "$t_mount" ] ||
		say "kernel $(cat "$kdir/release"): /init at ${t_init}s, first mount at ${t_mount}s, total $(vm_elapsed)s"
	VM_RC=$first
	[ "$mountfail" -eq 0 ] || VM_RC=126
	if [ "$qrc" -eq 124 ]; then
		say "TIMEOUT: QEMU killed after ${timeout}s"
		VM_RC=124
	elif [ "$done" -eq 0 ]; then
		say "guest stopped before finishing (QEMU status $qrc; kernel panic or /init failure?)"
		VM_RC=125
	elif [ "$fail" -ne 0 ]; then
		VM_RC=125
	fi
	if [ "$VM_RC" -ge 124 ] && [ "$VM_RC" -le 126 ]; then
		sed 's/^/  qemu: /' "$tmp/qemu.log" >&2
		say "last lines of the serial console:"
		tail -n 30 "$serial" | tr -d '\r' | sed 's/^/  /' >&2
	fi
	[ -z "$log" ] || tr -d '\r' <"$serial" >"$log"
}
