# SPDX-License-Identifier: GPL-2.0-or-later
# Process-tree checks shared by the test tiers (sourced, POSIX sh).
#
# proctree_print PID: one line per process of the tree under PID (PID
# included): pid, uid, CapEff, CapBnd, NoNewPrivs, Seccomp, mount namespace
# and the command line, as a "# " comment for TAP output.
#
# proctree_check_workers PID: every process of the tree whose command line
# is "x9p-backend: worker ..." or "x9p-vhost: worker ..." must be confined: uid not 0, empty
# effective and bounding capability sets, NoNewPrivs 1, Seccomp 2
# (filter), another mount namespace than PID's.  There must be at least
# one.  Prints what is wrong and fails.
#
# proctree_named PID NAME: the pids of the tree under PID whose process
# name (comm) is NAME, each after a space.

proctree_pids() {
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		proctree_pids "$c"
	done
}

proctree_named() {
	for p in $(proctree_pids "$1"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] && printf ' %s' "$p"
	done
}

proctree_field() { # PID FIELD
	sed -n "s/^$2:[[:space:]]*//p" /proc/"$1"/status 2>/dev/null | awk '{print $1}'
}

proctree_args() {
	tr '\0' ' ' </proc/"$1"/cmdline 2>/dev/null | cut -c1-100
}

proctree_print() {
	printf '# %-7s %-6s %-16s %-16s %-3s %-3s %-18s %s\n' PID UID CapEff CapBnd NNP SEC MNTNS COMMAND
	for p in $(proctree_pids "$1"); do
		printf '# %-7s %-6s %-16s %-16s %-3s %-3s %-18s %s\n' "$p" \
			"$(proctree_field "$p" Uid)" "$(proctree_field "$p" CapEff)" \
			"$(proctree_field "$p" CapBnd)" "$(proctree_field "$p" NoNewPrivs)" \
			"$(proctree_field "$p" Seccomp)" \
			"$(readlink /proc/"$p"/ns/mnt 2>/dev/null)" "$(proctree_args "$p")"
	done
}

proctree_check_workers() {
	root_ns=$(readlink /proc/"$1"/ns/mnt)
	found=0 bad=""
	for p in $(proctree_pids "$1"); do
		case $(proctree_args "$p") in
		"x9p-"*": worker "*) ;;
		*) continue ;;
		esac
		found=$((found + 1))
		[ "$(proctree_field "$p" Uid)" != 0 ] || bad="$bad $p:uid-0"
		[ "$(proctree_field "$p" CapEff)" = 0000000000000000 ] || bad="$bad $p:CapEff"
		[ "$(proctree_field "$p" CapBnd)" = 0000000000000000 ] || bad="$bad $p:CapBnd"
		[ "$(proctree_field "$p" NoNewPrivs)" = 1 ] || bad="$bad $p:NoNewPrivs"
		[ "$(proctree_field "$p" Seccomp)" = 2 ] || bad="$bad $p:Seccomp"
		[ "$(readlink /proc/"$p"/ns/mnt)" != "$root_ns" ] || bad="$bad $p:mount-namespace"
	done
	[ "$found" -gt 0 ] || bad=" no worker under $1"
	[ -z "$bad" ] && return 0
	echo "not confined:$bad"
	proctree_print "$1"
	return 1
}
