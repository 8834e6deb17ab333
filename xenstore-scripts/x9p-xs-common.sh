# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers of x9p-attach, x9p-detach and x9p-list (sourced, not run).
# Needs Xen's xenstore-read/-write/-rm/-list/-chmod/-exists on PATH.

x9p_die() {
	echo "$X9P_PROG: $*" >&2
	exit 1
}

x9p_need_tools() {
	for t in xenstore-read xenstore-write xenstore-rm xenstore-list xenstore-chmod \
		 xenstore-exists; do
		command -v "$t" >/dev/null 2>&1 || x9p_die "$t not found (install xenstore-utils)"
	done
}

# Domain id of a number or a domain name.
x9p_domid() {
	case $1 in
	'' ) return 1 ;;
	*[!0-9]*) ;;
	*) echo "$1"; return 0 ;;
	esac
	for d in $(xenstore-list /local/domain 2>/dev/null); do
		if [ "$(xenstore-read "/local/domain/$d/name" 2>/dev/null)" = "$1" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# The domain this runs in (the toolstack's): 0 unless XenStore says otherwise.
x9p_self() {
	xenstore-read domid 2>/dev/null || echo 0
}

x9p_state_name() {
	case $1 in
	1) echo Initialising ;; 2) echo InitWait ;; 3) echo Initialised ;;
	4) echo Connected ;; 5) echo Closing ;; 6) echo Closed ;;
	'') echo absent ;; *) echo "unknown($1)" ;;
	esac
}

# Waits until the node $1 reads one of the space-separated values $2, for at
# most $3 tenths of a second; prints the value read last.
x9p_wait_value() {
	n=0
	while :; do
		v=$(xenstore-read "$1" 2>/dev/null || true)
		for want in $2; do
			[ "$v" = "$want" ] && { echo "$v"; return 0; }
		done
		[ "$n" -ge "$3" ] && { echo "$v"; return 1; }
		sleep 0.1
		n=$((n + 1))
	done
}

# --version, for every script that sources this file (`make install`
# writes the release in; from the source tree it says so).
X9P_VERSION=@VERSION@
[ "${X9P_VERSION#@}" = "$X9P_VERSION" ] || X9P_VERSION="(source tree)"
if [ "${1:-}" = --version ]; then
	echo "${X9P_PROG:-x9p} $X9P_VERSION"
	exit 0
fi
# --help: the script's header comment (lines X9P_HELP), its synopsis first.
if [ "${1:-}" = --help ]; then
	sed -n "${X9P_HELP:-4,4}s/^# \{0,1\}//p" "$0" | sed '1s/^/Usage: /'
	exit 0
fi
