#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every test under prove.  Compiled GTest programs print TAP (--tap);
# shell tests (tests/*/test-*.sh) print TAP themselves.  The last line is
# the total: "N passed, N failed".
set -u
B=${X9P_BUILD:-build}
export X9P_BUILD=$B
top=$(pwd)
export X9P_TOP=$top
log=$B/test-results.txt
mkdir -p "$B"

tests=$(find "$B/tests" -type f -perm -u+x -name 'test-*' 2>/dev/null | sort)
scripts=$(find tests -name 'test-*.sh' -type f 2>/dev/null | sort)
if [ -n "${X9P_TESTS:-}" ]; then
	tests=$(printf '%s\n' $tests $scripts | grep -E "$X9P_TESTS" || true)
	scripts=
fi

# prove's status, not tee's: a plain pipeline would lose it.
rcfile=$B/.prove-rc
{ prove --exec "$top/tests/tap-exec" $tests $scripts 2>&1; echo $? > "$rcfile"; } | tee "$log"
rc=$(cat "$rcfile")
# prove's own status decides; the totals come from the TAP lines it saw.
passed=$(grep -Eo 'Tests=[0-9]+' "$log" | tail -1 | cut -d= -f2)
failed=$(sed -n 's/.*Failed [0-9]*\/[0-9]* subtests.*//p; s/^.*Failed: *\([0-9]*\).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
badfiles=$(grep -Ec 'Wstat: [1-9]|No subtests run|Parse errors' "$log")
[ -n "$passed" ] || passed=0
passed=$((passed - failed))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=$((badfiles > 0 ? badfiles : 1)); fi
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
