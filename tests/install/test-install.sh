#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make install into a DESTDIR, as a packager would, then the installed tree:
# every file where it belongs with its mode, paths in the service files and
# scripts that follow the install variables, each installed program's
# --version and its refusal of an unknown option (status 2, one line), the
# man pages rendered without a warning, the systemd units verified by
# systemd-analyze, the init script's syntax, LSB header and status, the
# installed daemon serving from its installed worker, and make uninstall
# leaving nothing but the administrator's settings.  TAP.
set -u
B=${X9P_BUILD:-build}
top=$(pwd)
san=0
[ "$B" = build-san ] && san=1
D=$(mktemp -d "${TMPDIR:-/tmp}/x9p-install-XXXXXX")
trap 'rm -rf "$D"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && [ -s "$2" ] && sed 's/^/#   /' "$2" | head -n 20
	return 0
}
check() { # NAME LOG CMD...
	name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then ok "$name"; else not_ok "$name" "$log"; fi
}
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top" --no-print-directory SANITIZE=$san "$@"
}
P=/usr/local
sbin=$D$P/sbin libexec=$D$P/libexec/x9p

if ! mk install DESTDIR="$D" >"$D.install.log" 2>&1; then
	echo "1..1"
	not_ok "make install DESTDIR=..." "$D.install.log"
	rm -f "$D.install.log"
	exit 1
fi
rm -f "$D.install.log"

tree() {
	for f in "755 $P/sbin/x9p-backend" "755 $P/sbin/x9p-vhost" "755 $P/sbin/x9p-attach" \
		"755 $P/sbin/x9p-detach" "755 $P/sbin/x9p-list" "755 $P/libexec/x9p/x9p-helper" \
		"755 $P/libexec/x9p/x9p-worker" "755 $P/libexec/x9p/x9p-qemu-dm" \
		"755 $P/libexec/x9p/xen-9pfsd" "644 $P/lib/x9p/x9p-xs-common.sh" \
		"644 $P/lib/systemd/system/x9p-backend.service" \
		"644 $P/lib/systemd/system/x9p-vhost@.service" "755 /etc/init.d/x9p-backend" \
		"644 /etc/default/x9p-backend" "644 $P/share/man/man8/x9p-backend.8" \
		"644 $P/share/man/man8/x9p-vhost.8" "644 $P/share/man/man8/x9p-helper.8" \
		"644 $P/share/man/man8/x9p-attach.8" "644 $P/share/man/man8/x9p-detach.8" \
		"644 $P/share/man/man8/x9p-list.8" "644 $P/share/doc/x9p/README.md" \
		"644 $P/share/doc/x9p/xen.md" "644 $P/share/qemu/vhost-user/50-x9p-vhost.json"; do
		m=$(stat -c %a "$D${f#* }" 2>/dev/null) || { echo "missing: ${f#* }"; return 1; }
		[ "$m" = "${f%% *}" ] || { echo "${f#* }: mode $m, not ${f%% *}"; return 1; }
	done
	# Nothing a test build makes, nothing outside the prefix and /etc.
	find "$D" -type f | sed "s|^$D||" | grep -v "^$P/\|^/etc/" && return 1
	find "$D" -type f -name 'test-*' | grep . && return 1
	return 0
}
paths() {
	for f in "$P/lib/systemd/system/x9p-backend.service" "$P/lib/systemd/system/x9p-vhost@.service" \
		/etc/init.d/x9p-backend "$P/sbin/x9p-attach" "$P/lib/x9p/x9p-xs-common.sh" \
		"$P/libexec/x9p/xen-9pfsd" "$P/share/qemu/vhost-user/50-x9p-vhost.json"; do
		grep -n '@[A-Z0-9]*@' "$D$f" && { echo "$f: a placeholder left"; return 1; }
	done
	grep -qx "ExecStart=$P/sbin/x9p-backend \$X9P_BACKEND_ARGS" "$D$P/lib/systemd/system/x9p-backend.service" &&
		grep -q "^DAEMON=.*$P/sbin/x9p-backend" "$D/etc/init.d/x9p-backend" &&
		grep -q "$P/lib/x9p" "$D$P/sbin/x9p-attach" &&
		grep -q "\"binary\": \"$P/sbin/x9p-vhost\"" "$D$P/share/qemu/vhost-user/50-x9p-vhost.json"
}
versions() {
	for p in "$sbin/x9p-backend" "$sbin/x9p-vhost" "$libexec/x9p-helper" "$libexec/x9p-worker" \
		"$sbin/x9p-attach" "$sbin/x9p-detach" "$sbin/x9p-list"; do
		v=$(X9P_LIBDIR=$D$P/lib/x9p "$p" --version) || { echo "$p --version failed"; return 1; }
		echo "$v"
		case $v in "${p##*/} "[0-9]*) ;; *) echo "$p: '$v'"; return 1 ;; esac
	done
	# What the vhost-user descriptor's binary must answer.
	"$sbin/x9p-vhost" --print-capabilities | grep -q '"type": "9p"'
}
bad_options() {
	for p in "$sbin/x9p-backend" "$sbin/x9p-vhost" "$libexec/x9p-helper" "$libexec/x9p-worker"; do
		for args in "--bogus" "--print-capabilities --bogus" "--version --bogus"; do
			# shellcheck disable=SC2086
			"$p" $args >"$D.out" 2>"$D.err"
			st=$?
			[ "$st" -eq 2 ] && [ ! -s "$D.out" ] && [ "$(wc -l <"$D.err")" -eq 1 ] || {
				echo "$p $args: status $st, stdout/stderr:"; cat "$D.out" "$D.err"
				rm -f "$D.out" "$D.err"; return 1; }
		done
	done
	rm -f "$D.out" "$D.err"
}
# The export options are one module of both daemons: the same refusals.
export_options() {
	for p in "$sbin/x9p-backend" "$sbin/x9p-vhost"; do
		case $p in *vhost) a="--socket-path $D.sock" ;; *) a="--listen unix:$D.sock" ;; esac
		for c in "--readonly --synthetic|--readonly needs --export" \
			"--export / --security-model bogus|'bogus' is not passthrough" \
			"--export / --security-model none --max-nodes 8|at least 16" \
			"--export / --security-model none --multidevs x|'x' is not remap" \
			"--export / --synthetic|exclude each other" \
			"--export /|--export needs --security-model"; do
			# shellcheck disable=SC2086
			"$p" $a ${c%%|*} >"$D.out" 2>"$D.err"
			st=$?
			[ "$st" -eq 2 ] && grep -qF -- "${c#*|}" "$D.err" || {
				echo "$p ${c%%|*}: status $st, wanted '${c#*|}':"; cat "$D.out" "$D.err"
				rm -f "$D.out" "$D.err"; return 1; }
		done
	done
	rm -f "$D.out" "$D.err" "$D.sock"
}
manpages() {
	for m in "$D$P"/share/man/man8/*.8; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "$m: $out"; return 1; }
		LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q "^NAME" || { echo "$m: no NAME"; return 1; }
	done
	# From the program's own --help: its options are there.
	man -l "$D$P/share/man/man8/x9p-backend.8" 2>/dev/null | grep -q -- "--record=DIR" || return 1
	# Found by name where it was installed, as `man x9p-backend` looks.
	for pg in x9p-backend x9p-helper x9p-vhost x9p-attach; do
		[ "$(man -M "$D$P/share/man" -w "$pg" 2>/dev/null)" = "$D$P/share/man/man8/$pg.8" ] ||
			{ echo "man -w $pg: '$(man -M "$D$P/share/man" -w "$pg" 2>&1)'"; return 1; }
	done
}
units() {
	# systemd-analyze --root reads the root's own units and programs: a
	# scratch root with the host's, the installed tree's, and an instance
	# of the template as systemctl enable x9p-vhost@vm1 makes it.
	r=$D.root
	mkdir -p "$r/usr/lib/systemd" "$r/bin" "$r/etc/x9p/vhost" || return 1
	cp -a "$D/." "$r/" && cp -a /lib/systemd/system "$r/usr/lib/systemd/" &&
		cp /bin/kill "$r/bin/" && : >"$r/etc/x9p/vhost/vm1.conf" || return 1
	u=$r$P/lib/systemd/system
	ln -s x9p-vhost@.service "$u/x9p-vhost@vm1.service"
	SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$r" --man=no \
		"$u/x9p-backend.service" "$u/x9p-vhost@vm1.service" >"$D.verify" 2>&1
	st=$?
	rm -rf "$r"
	grep . "$D.verify" && st=1
	rm -f "$D.verify"
	return $st
}
initscript() {
	s=$D/etc/init.d/x9p-backend
	sh -n "$s" || return 1
	sed -n '/^### BEGIN INIT INFO/,/^### END INIT INFO/p' "$s" | grep -q '^# Required-Start: *\$syslog \$remote_fs$' || return 1
	# Not running here: LSB status 3.
	X9P_DAEMON=$sbin/x9p-backend sh "$s" status
	[ $? -eq 3 ]
}
serves() {
	# The installed daemon, with its installed worker and helper.
	mkfifo "$D.ready" || return 1
	X9P_WORKER=$libexec/x9p-worker X9P_HELPER=$libexec/x9p-helper \
		"$sbin/x9p-backend" --listen "unix:$D.sock" --synthetic --ready-fd 3 3>"$D.ready" &
	pid=$!
	r=$(timeout 20 cat "$D.ready")
	rm -f "$D.ready"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	rm -f "$D.sock"
	echo "$r" | grep -qx ready && [ "$st" -eq 0 ]
}
uninstalled() {
	mk uninstall DESTDIR="$D" || return 1
	left=$(find "$D" -type f | sed "s|^$D||")
	[ "$left" = /etc/default/x9p-backend ] || { echo "left: $left"; return 1; }
}

echo "1..10"
check "make install puts every file where it belongs, with its mode" "$D.log" tree
check "service files and scripts name the installed paths" "$D.log" paths
check "every installed program says its version" "$D.log" versions
check "an unknown option: status 2 and one line, everywhere" "$D.log" bad_options
check "both daemons refuse bad export options alike" "$D.log" export_options
check "man pages render without a warning" "$D.log" manpages
check "systemd-analyze verify accepts the units" "$D.log" units
check "the init script: syntax, LSB header, status" "$D.log" initscript
check "the installed daemon serves from its installed worker" "$D.log" serves
check "make uninstall leaves only the administrator's settings" "$D.log" uninstalled
rm -f "$D.log"
[ "$failed" -eq 0 ]
