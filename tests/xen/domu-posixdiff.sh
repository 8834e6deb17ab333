#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side: posixdiff one case at a time, to time each case.
#
#   domu-posixdiff.sh REF_DIR TEST_DIR [posixdiff options...]
#
# Prints, per case, its TAP line from posixdiff (with the diverging steps
# of a failed case) and "# time: CASE S s", then "# N skipped" and
# "N passed, N failed".
# Exit status 0 when every case passed or was skipped.
set -u
ref=$1 test=$2
shift 2
pass=0 failn=0 skipped=0
for c in $(posixdiff --list | awk '{ print $1 }'); do
	# A name without wildcards selects every case containing it; a bracket
	# around the first letter makes it a glob matching only this case.
	pat="[$(echo "$c" | cut -c1)]$(echo "$c" | cut -c2-)"
	a=$(nstime -m)
	posixdiff "$@" "$ref" "$test" "$pat" >/tmp/pd-case.tap 2>&1
	rc=$?
	b=$(nstime -m)
	grep -E '^(not )?ok ' /tmp/pd-case.tap | sed "s/^\(not \)\{0,1\}ok 1 /\1ok /"
	if [ $rc -eq 0 ] && grep -q '^ok .*# SKIP' /tmp/pd-case.tap; then
		skipped=$((skipped + 1))
	elif [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	else
		failn=$((failn + 1))
		grep -E '^#' /tmp/pd-case.tap | grep -v '^# posixdiff:' | head -n 20
		[ $rc -eq 1 ] || echo "# posixdiff exit status $rc"
	fi
	echo "# time: $c $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
done
echo "# $skipped skipped"
echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
