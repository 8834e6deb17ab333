#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2034  # step_* variables are read through an eval
# Installs the Debian packages and apt sources a step needs, when missing.
#   deps.sh build          compiler, libraries and test tools
#   deps.sh vm             the guest-VM test tier and `make run` (the 6.12
#                          guest kernel comes from bookworm-backports)
#   deps.sh xen            what the Xen system test needs to build its images
#   deps.sh vhost          what tests/vhost/build-qemu.sh needs: build tools,
#                          meson from bookworm-backports and that suite's
#                          QEMU source index
#   deps.sh bench          the references `make bench` measures against
#                          (diod, Debian's 9P server)
#   deps.sh vfu            what tests/vfu/qemu-trixie.sh needs to run
#                          trixie-backports' QEMU (vfio-user-pci) from a
#                          debootstrapped trixie root: debootstrap, the
#                          archive keys, wget, unshare and mount
#   deps.sh steps          lists the steps above
#   deps.sh mirror SUITE   prints the URI of the enabled binary entry for SUITE
#                          (nothing when there is none)
#   deps.sh packages STEP  lists what STEP promises: "PKG" for a package from
#                          the stock suites, "PKG/bookworm-backports" for one
#                          that must come from backports, "deb-src SUITE" or
#                          "deb SUITE" for an apt source it configures
#
# An apt source is added only when no enabled source of the same type (deb
# or deb-src, told apart by the entry's type, never by a suite name found
# somewhere) serves the suite.  It gets the URI and keyring of the machine's
# own bookworm entry, in a file of its own under sources.list.d; running a
# step again changes nothing.  Both apt formats are read: deb822 .sources
# files and one-line .list files.
set -eu

steps="build vm xen vhost bench vfu"
bpo_suite=bookworm-backports

# step_NAME_pkgs, _bpo and _sources are read through step_vars' eval.
step_build_pkgs="build-essential pkg-config libglib2.0-dev libjson-glib-dev libseccomp-dev libcap-ng-dev libxen-dev perl help2man man-db systemd"
step_vm_pkgs="qemu-system-x86 busybox-static cpio xz-utils zstd kmod binutils"
step_vm_sources="deb:$bpo_suite"
step_xen_pkgs="qemu-system-x86 debootstrap e2fsprogs busybox-static cpio kmod gzip"
step_vhost_pkgs="build-essential ninja-build python3-venv zlib1g-dev libglib2.0-dev libpixman-1-dev libslirp-dev seabios qemu-system-data ipxe-qemu xz-utils"
step_bench_pkgs="diod"
# debootstrap checks the trixie Release file against the archive keyring.
step_vfu_pkgs="debootstrap debian-archive-keyring wget util-linux mount"
# QEMU 10 needs meson >= 1.5 (bookworm has 1.0.1).
step_vhost_bpo="meson python3-pycotap"
step_vhost_sources="deb:$bpo_suite deb-src:$bpo_suite"

say() { echo "x9p: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- apt sources ------------------------------------------------------------

source_files() {
	ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true
}

# Every enabled apt entry as "TYPE SUITE URI KEYRING" lines (KEYRING "-" when
# the entry names none), one per type, suite and URI.
apt_entries() {
	for f in $(source_files); do
		case $f in
		*.sources)
			awk '
			function flush(   i, j, k, nt, ns, nu, t, s, u) {
				if (types != "" && suites != "" && uris != "" && enabled != "no") {
					nt = split(types, t, " "); ns = split(suites, s, " "); nu = split(uris, u, " ")
					for (i = 1; i <= nt; i++) for (j = 1; j <= ns; j++) for (k = 1; k <= nu; k++)
						print t[i], s[j], u[k], (key == "" ? "-" : key)
				}
				types = suites = uris = key = enabled = ""; field = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			/^[ \t]/ { if (field == "uris") uris = uris " " $1; next }
			{
				field = tolower($1); sub(/:$/, "", field)
				$1 = ""; sub(/^[ \t]+/, "")
				if (field == "types") types = $0
				else if (field == "suites") suites = $0
				else if (field == "uris") uris = $0
				else if (field == "signed-by") key = ($0 ~ /^\// ? $0 : "")
				else if (field == "enabled") enabled = tolower($0)
			}
			END { flush() }' "$f"
			;;
		*)
			sed -e 's/#.*//' "$f" | awk '
			$1 == "deb" || $1 == "deb-src" {
				type = $1; key = "-"; i = 2
				if ($2 ~ /^\[/) {
					opts = ""
					for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
					if (match(opts, /signed-by=[^] ]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
				}
				if (i + 1 <= NF) print type, $(i + 1), $i, key
			}'
			;;
		esac
	done
}

has_source() { # TYPE SUITE
	apt_entries | awk -v t="$1" -v s="$2" '$1 == t && $2 == s { f = 1 } END { exit !f }'
}

# "URI KEYRING" of the machine's first binary entry for SUITE (default bookworm).
stock_source() {
	apt_entries | awk -v s="${1:-bookworm}" '$1 == "deb" && $2 == s { print $3, $4; exit }'
}

# Ensures an enabled entry of TYPE (deb or deb-src) for SUITE; sets
# sources_added when it wrote one.
ensure_source() { # TYPE SUITE
	has_source "$1" "$2" && return 0
	# shellcheck disable=SC2046  # "URI KEYRING", split on purpose
	set -- "$1" "$2" $(stock_source)
	[ $# -ge 3 ] || die "no enabled 'deb ... bookworm' apt source to take the URI of $2 from"
	case $1 in deb) file=x9p-$2.sources ;; *) file=x9p-$2-src.sources ;; esac
	say "adding apt source '$1 $3 $2 main' (/etc/apt/sources.list.d/$file)"
	{
		printf 'Types: %s\nURIs: %s\nSuites: %s\nComponents: main\n' "$1" "$3" "$2"
		[ "${4:--}" = - ] || printf 'Signed-By: %s\n' "$4"
	} | $SUDO tee "/etc/apt/sources.list.d/$file" >/dev/null
	sources_added=1
}

# True when apt has downloaded the index of TYPE for SUITE.
have_index() { # TYPE SUITE
	case $1 in deb) kind='binary-*_Packages' ;; *) kind=source_Sources ;; esac
	lists=$(apt-config shell d Dir::State::lists/d | sed "s/^d='\(.*\)'$/\1/")
	# shellcheck disable=SC2086
	ls ${lists:-/var/lib/apt/lists/}*_dists_"$2"_main_$kind* >/dev/null 2>&1
}

# ---- packages -----------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
installed_bpo() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		grep -q '^install ok installed .*~bpo'
}

step_vars() {
	case " $steps " in *" $1 "*) ;; *) echo "deps.sh: unknown step '$1' (one of: $steps)" >&2; exit 2 ;; esac
	eval "want=\${step_$1_pkgs:-} bpo=\${step_$1_bpo:-} sources=\${step_$1_sources:-}"
}

list_packages() {
	step_vars "$1"
	for p in $want; do echo "$p"; done
	for p in $bpo; do echo "$p/$bpo_suite"; done
	for s in $sources; do echo "${s%%:*} ${s#*:}"; done
}

if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi

install_step() {
	step_vars "$1"
	missing=""
	for p in $want; do installed "$p" || missing="$missing $p"; done
	bpo_missing=""
	for p in $bpo; do installed_bpo "$p" || bpo_missing="$bpo_missing $p"; done
	need_sources=""
	for s in $sources; do
		{ has_source "${s%%:*}" "${s#*:}" && have_index "${s%%:*}" "${s#*:}"; } ||
			need_sources="$need_sources $s"
	done
	[ -z "$missing$bpo_missing$need_sources" ] && return 0

	if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
		die "step $1 needs root (or sudo) to install:$missing$bpo_missing${need_sources:+ and apt sources$need_sources}"
	fi
	export DEBIAN_FRONTEND=noninteractive
	sources_added=0
	for s in $need_sources; do ensure_source "${s%%:*}" "${s#*:}"; done
	say "apt-get update"
	$SUDO apt-get update -q >/dev/null || die "apt-get update failed"
	for s in $need_sources; do
		have_index "${s%%:*}" "${s#*:}" || die "apt has no '${s%%:*} ${s#*:}' index after apt-get update"
	done
	if [ -n "$missing" ]; then
		say "installing missing Debian packages:$missing"
		# shellcheck disable=SC2086
		$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null ||
			die "apt-get install$missing failed"
	fi
	if [ -n "$bpo_missing" ]; then
		say "installing from $bpo_suite:$bpo_missing"
		# shellcheck disable=SC2086
		$SUDO apt-get install -y -q --no-install-recommends -t "$bpo_suite" $bpo_missing >/dev/null ||
			die "apt-get install -t $bpo_suite$bpo_missing failed"
	fi
}

case "${1:-build}" in
steps) echo "$steps" ;;
mirror) stock_source "${2:?deps.sh mirror SUITE}" | awk '{ sub(/\/+$/, "", $1); print $1 }' ;;
packages) list_packages "${2:?deps.sh packages STEP}" ;;
*) install_step "${1:-build}" ;;
esac
