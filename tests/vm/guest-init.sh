#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the test guest (busybox sh, PID 1).  Installed by mkinitramfs.sh.
#
# Reads /etc/x9p-vm.conf (written by boot.sh), loads the 9p modules, then for
# each mount configuration in turn: mount it at /mnt, run the caller's script
# (script mode) or a shell on the console (shell mode), unmount.  Everything
# the host harness parses is a line on the console starting with "@@X9P ":
#   @@X9P init UPTIME                 /init started (guest seconds since boot)
#   @@X9P mounted I UPTIME            configuration I is mounted at /mnt
#   @@X9P mountfail I STATUS          mount of configuration I failed
#   @@X9P begin I / @@X9P end I STATUS   the script's output lies in between
#   @@X9P error TEXT                  something the harness should report
#   @@X9P done                        all configurations ran; powering off
# The guest always ends with `poweroff -f`; a panic reboots, which QEMU
# (-no-reboot) turns into an exit, so the harness never waits on a dead guest.

PATH=/bin
export PATH
mount -t devtmpfs dev /dev
# The initramfs has no /dev/console node (building it needs no root), so
# /init starts without stdio: take the console now.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mkdir -p /dev/pts /mnt
mount -t devpts devpts /dev/pts

# In shell mode the console is a person's: only errors are worth a line.
say() {
	[ "${X9P_MODE:-}" = shell ] && [ "$1" != error ] && return 0
	echo "@@X9P $*"
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }

if ! . /etc/x9p-vm.conf; then
	say error "no /etc/x9p-vm.conf"
	poweroff -f
fi
say init "$(uptime_s)"
hostname x9p-guest

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$m" || say error "insmod $m failed"
done </lib/modules/modules.load

# Console ports appear once the host has answered the driver's handshake,
# which happens after module load: wait (bounded) for the device node.
wait_dev() {
	n=0
	while [ ! -e "$1" ] && [ $n -lt 200 ]; do
		usleep 50000
		n=$((n + 1))
	done
	[ -e "$1" ]
}

# Configuration $1's variables as plain ones: kind dev opts desc.
load_conf() {
	eval "kind=\$X9P_${1}_KIND dev=\$X9P_${1}_DEV opts=\$X9P_${1}_OPTS desc=\$X9P_${1}_DESC"
	eval "X9P_VERSION=\$X9P_${1}_VERSION X9P_MSIZE=\$X9P_${1}_MSIZE X9P_CACHE=\$X9P_${1}_CACHE"
	X9P_CONFIG=$1
	X9P_TRANS=$kind
	X9P_MNT=/mnt
	export X9P_CONFIG X9P_TRANS X9P_MNT X9P_VERSION X9P_MSIZE X9P_CACHE
}

# Mounts configuration $1 at /mnt.  For trans=fd the console stays open as
# fd 3 until unmount: raw mode only holds while it is open (hvc resets the
# termios on last close), and the kernel reads and writes 9P through it.
do_mount() {
	case $kind in
	fd)
		if ! wait_dev "/dev/$dev"; then
			say error "/dev/$dev did not appear"
			return 1
		fi
		exec 3<>"/dev/$dev" || return 1
		stty raw -echo -iexten <&3 || return 1
		mount -t 9p -o "$opts" none /mnt
		;;
	virtio)
		mount -t 9p -o "$opts" "$dev" /mnt
		;;
	*)
		say error "unknown kind '$kind'"
		return 1
		;;
	esac
}

do_umount() {
	cd /
	umount /mnt 2>/dev/null || umount -l /mnt || say error "umount of configuration $1 failed"
	[ "$kind" = fd ] && exec 3<&-
	return 0
}

run_shell() {
	[ -n "${X9P_ROWS:-}" ] && stty rows "$X9P_ROWS" cols "$X9P_COLS" 2>/dev/null
	echo
	echo "x9p guest ($(uname -r)): $desc mounted at /mnt"
	echo "Type 'exit' (or press Ctrl-A X) to leave."
	HOME=/mnt PS1='x9p-guest:\w# ' TERM=${X9P_TERM:-vt100} \
		setsid cttyhack sh -c 'cd /mnt && exec sh -i'
}

export X9P_KERNEL
X9P_KERNEL=$(uname -r)
i=0
while [ "$i" -lt "${X9P_N:-0}" ]; do
	load_conf "$i"
	if do_mount "$i"; then
		say mounted "$i" "$(uptime_s)"
		if [ "$X9P_MODE" = shell ]; then
			run_shell 3>&-
		else
			say begin "$i"
			(cd /mnt && sh /x9p/script) </dev/null 3>&- 2>&1
			st=$?
			say end "$i" "$st"
		fi
		do_umount "$i"
	else
		st=$?
		say mountfail "$i" "$st"
		[ "$kind" = fd ] && exec 3<&-
	fi
	i=$((i + 1))
done
say "done"
sync
poweroff -f
