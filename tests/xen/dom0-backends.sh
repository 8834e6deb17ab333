# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The two 9pfs backends the dom0 scenario drives, behind one set of calls:
#
#   be_start / be_restart / be_pid   the backend daemon (x9p only)
#   be_attach DOMID TAG PATH         add a device, print its devid
#   be_detach DOMID DEVID            remove it (libxl's removal protocol)
#   be_kind                          the XenStore backend kind it serves
#   be_listed DOMID                  does its own listing show the domain?
#
# MODE=x9p: x9p-backend from this tree, started by its init script, devices
# added with x9p-attach/x9p-detach (xenstore-scripts/).
# MODE=qemu: Debian's qemu-system-xen, which libxl 4.17 starts per domain
# for xl.cfg p9= entries; hot-added devices are hand-written XenStore nodes
# in libxl's layout, which that QEMU picks up through its watch on
# backend/9pfs/DOMID. There is no daemon to restart in this mode.

QEMU_DM=/usr/libexec/xen-qemu-system-i386

be_kind() {
	if [ "$MODE" = qemu ]; then echo 9pfs; else echo "${X9P_KIND:-9pfs}"; fi
}

# ---- x9p --------------------------------------------------------------------
x9p_init() {
	local s
	for s in /etc/init.d/x9p-backend /etc/init.d/x9p /x9ptest/xenstore-scripts/x9p-backend.init; do
		[ -x "$s" ] && { echo "$s"; return 0; }
	done
	return 1
}

be_pid() {
	if [ "$MODE" = qemu ]; then
		pgrep -f "$QEMU_DM" | head -n 1
	else
		pgrep -x x9p-backend | head -n 1
	fi
}

be_start() {
	[ "$MODE" = qemu ] && return 0
	local s
	s=$(x9p_init) || { echo "no x9p-backend init script installed"; return 1; }
	"$s" start
}

be_restart() {
	local s
	s=$(x9p_init) || { echo "no x9p-backend init script installed"; return 1; }
	"$s" restart
}

be_listed() {
	if [ "$MODE" = qemu ]; then
		[ -n "$(be_devs "$1" 9pfs)" ]
	else
		x9p-list 2>/dev/null | awk -v d="$1" '$1 == d || $2 == d { f = 1 } END { exit !f }'
	fi
}

be_attach() {
	local d=$1 tag=$2 path=$3
	if [ "$MODE" = qemu ]; then
		qemu_attach "$d" "$tag" "$path"
	else
		x9p-attach "$d" "$tag" "$path"
	fi
}

be_detach() {
	if [ "$MODE" = qemu ]; then
		qemu_detach "$1" "$2"
	else
		x9p-detach "$1" "$2"
	fi
}

# ---- QEMU (hand-written nodes, libxl 4.17's layout) --------------------------
qemu_attach() {
	local d=$1 tag=$2 path=$3 n=0 b f
	while [ -n "$(xenstore-read "/local/domain/$d/device/9pfs/$n/state" 2>/dev/null)" ] ||
		xenstore-exists "/local/domain/0/backend/9pfs/$d/$n" 2>/dev/null; do
		n=$((n + 1))
	done
	b=/local/domain/0/backend/9pfs/$d/$n
	f=/local/domain/$d/device/9pfs/$n
	# Frontend directory without "state" first, owned by the guest, then
	# state=1 last: the guest may not probe before it can write its keys.
	xenstore-write "$b/frontend" "$f" "$b/frontend-id" "$d" "$b/path" "$path" \
		"$b/security_model" none "$b/state" 1 || return 1
	xenstore-chmod -r "$b" n0 "r$d"
	xenstore-write "$f/backend" "$b" "$f/backend-id" 0 "$f/tag" "$tag" || return 1
	xenstore-chmod -r "$f" "n$d" r0
	xenstore-write "$f/state" 1 "$b/online" 1 || return 1
	echo "$n"
}

qemu_detach() {
	local d=$1 n=$2 b f i=0 s
	b=/local/domain/0/backend/9pfs/$d/$n
	f=/local/domain/$d/device/9pfs/$n
	xenstore-write "$b/online" 0 "$b/state" 5 || return 1
	# libxl waits up to 10 s for the backend to reach Closed (6).
	while s=$(xenstore-read "$b/state" 2>/dev/null) && [ "$s" != 6 ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ "$s" = 6 ] || echo "backend $b state '$s' after 10 s (continuing like libxl)"
	xenstore-rm "$f" 2>/dev/null
	xenstore-rm "$b" 2>/dev/null
	xenstore-rm "/libxl/$d/device/9pfs/$n" 2>/dev/null
	return 0
}
