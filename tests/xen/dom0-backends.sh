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
# MODE=x9p: x9p-backend --xen from this tree, started by its init script
# and given devices with x9p-attach/x9p-detach (xenstore-scripts/) when
# those are installed; otherwise started directly and given hand-written
# devices in libxl's layout. Its backend kind is not "9pfs", so the QEMU of
# the benchmark's p9= entries (which claims every backend/9pfs device of its
# domain) and x9p never serve the same device.
# MODE=qemu: Debian's qemu-system-xen, which libxl 4.17 starts per domain
# for xl.cfg p9= entries; hot-added devices are hand-written XenStore nodes
# in libxl's layout, which that QEMU picks up through its watch on
# backend/9pfs/DOMID. There is no daemon to restart in this mode.

QEMU_DM=/usr/libexec/xen-qemu-system-i386

X9P_KIND=${X9P_KIND:-x9p}
# Guests run the POSIX suite as root: passthrough gives them root's view
# ("none" refuses chown and device nodes by design, docs/security-models.md).
X9P_MODEL=passthrough
X9P_LOG=/var/log/xen/x9p-backend.log

be_kind() {
	if [ "$MODE" = qemu ]; then echo 9pfs; else echo "$X9P_KIND"; fi
}

# ---- x9p --------------------------------------------------------------------
x9p_init() {
	local s
	for s in /etc/init.d/x9p-backend; do
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

x9p_direct_start() {
	echo "no x9p-backend init script installed: starting x9p-backend --xen directly"
	setsid x9p-backend --xen --xen-backend-kinds="$X9P_KIND" >>"$X9P_LOG" 2>&1 </dev/null &
}

be_start() {
	[ "$MODE" = qemu ] && return 0
	local s
	if s=$(x9p_init); then
		"$s" start
	else
		x9p_direct_start
	fi
}

be_restart() {
	local s p
	if s=$(x9p_init); then
		"$s" restart
		return
	fi
	p=$(be_pid)
	if [ -n "$p" ]; then
		kill "$p"
		wait_for 10 not_running "$p" || echo "x9p-backend $p still runs 10 s after SIGTERM"
	fi
	x9p_direct_start
}

be_listed() {
	if [ "$MODE" = qemu ]; then
		[ -n "$(be_devs "$1" 9pfs)" ]
	elif command -v x9p-list >/dev/null; then
		x9p-list 2>/dev/null | awk -v d="$1" '$1 == d { f = 1 } END { exit !f }'
	else
		[ -n "$(be_devs "$1" "$X9P_KIND")" ]
	fi
}

be_attach() {
	local d=$1 tag=$2 path=$3
	if [ "$MODE" = x9p ] && command -v x9p-attach >/dev/null; then
		x9p-attach "$d" "tag=$tag,path=$path,security_model=$X9P_MODEL"
	elif [ "$MODE" = x9p ]; then
		xs_attach "$X9P_KIND" "$d" "$tag" "$path" "$X9P_MODEL"
	else
		xs_attach 9pfs "$d" "$tag" "$path" none
	fi
}

be_detach() {
	if [ "$MODE" = x9p ] && command -v x9p-detach >/dev/null; then
		x9p-detach "$1" "$2"
	else
		xs_detach "$(be_kind)" "$1" "$2"
	fi
}

# ---- hand-written devices (libxl 4.17's layout) ------------------------------
# xs_attach KIND DOMID TAG PATH MODEL: the frontend follows
# device/9pfs/N/backend whatever KIND is, so a devid is free when neither
# side uses it.
xs_attach() {
	local k=$1 d=$2 tag=$3 path=$4 model=$5 n=0 b f
	while xenstore-exists "/local/domain/$d/device/9pfs/$n" 2>/dev/null ||
		xenstore-exists "/local/domain/0/backend/$k/$d/$n" 2>/dev/null; do
		n=$((n + 1))
	done
	b=/local/domain/0/backend/$k/$d/$n
	f=/local/domain/$d/device/9pfs/$n
	# Frontend directory without "state" first, owned by the guest, then
	# state=1 last: the guest may not probe before it can write its keys.
	xenstore-write "$b/frontend" "$f" "$b/frontend-id" "$d" "$b/path" "$path" \
		"$b/security_model" "$model" "$b/state" 1 || return 1
	xenstore-chmod -r "$b" n0 "r$d"
	xenstore-write "$f/backend" "$b" "$f/backend-id" 0 "$f/tag" "$tag" || return 1
	xenstore-chmod -r "$f" "n$d" r0
	xenstore-write "$f/state" 1 "$b/online" 1 || return 1
	echo "$n"
}

xs_detach() {
	local k=$1 d=$2 n=$3 b f s
	b=/local/domain/0/backend/$k/$d/$n
	f=/local/domain/$d/device/9pfs/$n
	xenstore-write "$b/online" 0 "$b/state" 5 || return 1
	# libxl waits up to 10 s for the backend to reach Closed (6).
	wait_for 10 xs_is "$b/state" 6 ||
		echo "backend $b state '$(xenstore-read "$b/state" 2>&1)' after 10 s (going on like libxl)"
	xenstore-rm "$f" 2>/dev/null
	xenstore-rm "$b" 2>/dev/null
	xenstore-rm "/libxl/$d/device/$k/$n" 2>/dev/null
	return 0
}
