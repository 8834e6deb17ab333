# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of test-vm-posix.sh (busybox sh, run once per mount
# configuration by guest-init.sh with the mount at /mnt, cwd /mnt).
#
# test-vm-posix.sh prepends shell assignments to this file:
#   POSIX_ROLE_<n>   "suite" (default) or "probe" (only report the mount)
#   POSIX_SKIP_<n>   posixdiff --skip list for configuration n
#   POSIX_SEED_<n>   stress seed for configuration n
#   POSIX_STEPS      stress steps
#   POSIX_CASES      posixdiff case filter (empty: every case)
#   POSIX_TIMEOUT    posixdiff --timeout per case and side, and the bound
#                    on stress, seconds
#
# Everything the host parses is a line starting with "@@P ":
#   @@P cfg N                      start of configuration N
#   @@P mount OPTIONS              the 9p mount options from /proc/mounts
#   @@P msize N                    the msize the client negotiated
#   @@P posixdiff-begin / @@P posixdiff-end STATUS MS
#                                  posixdiff's TAP output lies in between
#   @@P stress-begin SEED STEPS / @@P stress-end STATUS MS
#   @@P dd STATUS MS DETAIL        dd conv=fsync of 1 MiB, size and content
#   @@P done N
# The script exits 0: results travel in these lines, and a non-zero exit
# is left to harness failures.

n=${X9P_CONFIG:-0}
eval "role=\${POSIX_ROLE_$n:-suite} skip=\${POSIX_SKIP_$n:-} seed=\${POSIX_SEED_$n:-1}"
steps=${POSIX_STEPS:-400}
ptimeout=${POSIX_TIMEOUT:-600}

ms_since() { echo $((($(nstime -m) - $1) / 1000000)); }

echo "@@P cfg $n"
opts=$(awk '$2 == "/mnt" && $3 == "9p" { print $4 }' /proc/mounts)
echo "@@P mount $opts"
msize=$(echo "$opts" | tr ',' '\n' | sed -n 's/^msize=//p')
echo "@@P msize ${msize:-unknown}"
if [ "$role" = probe ]; then
	echo "@@P done $n"
	exit 0
fi

echo "@@P posixdiff-begin"
t=$(nstime -m)
# shellcheck disable=SC2086  # POSIX_CASES is one word or empty
posixdiff ${skip:+--skip "$skip"} --timeout "$ptimeout" /tmp /mnt $POSIX_CASES 2>&1
st=$?
echo "@@P posixdiff-end $st $(ms_since "$t")"

echo "@@P stress-begin $seed $steps"
t=$(nstime -m)
# Bounded like a posixdiff case: a request the server never answers must
# not hang the configurations that follow.
timeout -s KILL "$ptimeout" stress /mnt --seed "$seed" --steps "$steps" 2>&1
st=$?
[ "$st" -eq 137 ] && echo "stress: killed after $ptimeout s"
echo "@@P stress-end $st $(ms_since "$t")"

# fsync of a written file: Tfsync in 9P2000.L, a Twstat with every field
# "don't touch" in 9P2000.u.  Bounded, so a server that never answers the
# fsync fails this check instead of hanging the remaining configurations.
f=/mnt/dd-fsync.$$
t=$(nstime -m)
out=$(timeout -s KILL 120 dd if=/dev/zero of="$f" bs=64k count=16 conv=fsync 2>&1)
st=$?
ms=$(ms_since "$t")
if [ "$st" -eq 0 ]; then
	size=$(stat -c %s "$f" 2>&1)
	if [ "$size" != 1048576 ]; then
		st=1 out="size after fsync: $size"
	elif ! cmp -s -n 1048576 "$f" /dev/zero; then
		st=1 out="content differs from what was written"
	else
		out="1048576 bytes"
	fi
elif [ "$st" -eq 137 ]; then
	out="dd conv=fsync killed after 120 s (fsync never answered?)"
fi
rm -f "$f"
echo "@@P dd $st $ms $(echo "$out" | tr '\n' ' ')"
echo "@@P done $n"
exit 0
