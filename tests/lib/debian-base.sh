# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by test scripts that need a Debian 12 root filesystem of their own:
# a debootstrap minbase bookworm with exactly the apt sources a fresh Debian
# 12 machine has (bookworm, bookworm-updates, bookworm-security, one-line
# format, as the installer writes them), from the mirror the host's apt uses
# (the only network these tests may reach).
#
#   debian_mirror / debian_security_mirror   print the host's mirror URIs
#   debian_base DIR [CACHE]   makes DIR such a tree.  The first call
#                             debootstraps and keeps a tarball in CACHE
#                             (default build/debian-base); later calls unpack
#                             it (seconds instead of minutes).  Package
#                             scripts in it cannot start services.
#   debian_chroot_mounts DIR / debian_chroot_umounts DIR
#                             /proc and /sys for package scripts (the tree
#                             has its own /dev nodes from debootstrap)
# Needs root and X9P_TOP (the top of the tree).  Progress goes to stderr.

# The URIs come from tools/deps.sh, which reads apt's configuration.
debian_mirror() {
	_m=$(sh "${X9P_TOP:-.}/tools/deps.sh" mirror bookworm)
	echo "${_m:-http://deb.debian.org/debian}"
}
debian_security_mirror() {
	_m=$(sh "${X9P_TOP:-.}/tools/deps.sh" mirror bookworm-security)
	echo "${_m:-http://deb.debian.org/debian-security}"
}

debian_base() {
	_dir=$1
	_cache=${2:-${X9P_TOP:-.}/build/debian-base}
	# The key names the mirror and this recipe: a change of either rebuilds.
	_key=$( { debian_mirror; debian_security_mirror; echo r1; } | sha256sum | cut -c1-12)
	_tar=$_cache/bookworm-minbase-$_key.tar
	mkdir -p "$_cache"
	(
		flock 9
		if [ ! -f "$_tar" ]; then
			_t0=$(date +%s)
			_tmp=$_cache/root.tmp
			rm -rf "$_tmp"
			echo "debian-base: debootstrap minbase bookworm from $(debian_mirror) (log $_cache/debootstrap.log)" >&2
			debootstrap --variant=minbase bookworm "$_tmp" "$(debian_mirror)" >"$_cache/debootstrap.log" 2>&1 ||
				{ tail -n 20 "$_cache/debootstrap.log" >&2; exit 1; }
			printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
				"$(debian_mirror)" "$(debian_mirror)" "$(debian_security_mirror)" >"$_tmp/etc/apt/sources.list"
			rm -f "$_tmp"/etc/apt/sources.list.d/*
			printf '#!/bin/sh\nexit 101\n' >"$_tmp/usr/sbin/policy-rc.d"
			chmod 0755 "$_tmp/usr/sbin/policy-rc.d"
			rm -rf "$_tmp"/var/cache/apt/archives/*.deb
			tar -C "$_tmp" -cf "$_tar.tmp" . && mv "$_tar.tmp" "$_tar" || exit 1
			rm -rf "$_tmp"
			echo "debian-base: cached $_tar in $(($(date +%s) - _t0)) s" >&2
		fi
	) 9>"$_cache/.lock" || return 1
	# Never remove through a mount left by an interrupted run.
	debian_chroot_umounts "$_dir"
	for _m in proc sys; do
		! mountpoint -q "$_dir/$_m" 2>/dev/null || { echo "debian-base: $_dir/$_m still mounted" >&2; return 1; }
	done
	rm -rf "$_dir"
	mkdir -p "$_dir"
	tar -C "$_dir" -xf "$_tar"
}

debian_chroot_mounts() {
	mount -t proc proc "$1/proc" && mount -t sysfs sysfs "$1/sys"
}
debian_chroot_umounts() {
	for _m in sys proc; do
		umount "$1/$_m" 2>/dev/null || umount -l "$1/$_m" 2>/dev/null || true
	done
}
