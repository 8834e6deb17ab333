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

# tests/tap-exec keeps each test's TAP here, for the account of skips below.
rm -rf "$B/tap"
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

# Every skip is reported with its reason, grouped.  Under CI (CI=true) a
# skip is a failure, since CI can install and do everything make check needs,
# unless its reason starts with "host:" (a property of the machine's kernel
# or filesystem that no package changes, e.g. no 9p client in the host
# kernel; the guest tiers cover those paths) or "by design:" (a case that
# does not apply to a configuration).
strict=0
[ "${CI:-}" != true ] && [ "${X9P_STRICT_SKIPS:-0}" != 1 ] || strict=1
awk '
	tolower($0) ~ /^(not )?ok .*# skip|^1\.\.0 *# skip/ {
		r = $0; sub(/.*# *[Ss][Kk][Ii][Pp][^ ]* */, "", r)
		f = FILENAME; sub(/.*\//, "", f); sub(/\.tap$/, "", f)
		# P: a whole test skipped (no TAP result), T: one result, counted as passed.
		print (/^1\.\./ ? "P" : "T"), f ": " (r == "" ? "(no reason given)" : r)
	}' "$B"/tap/*.tap 2>/dev/null | sort | uniq -c | sed 's/^ *//' >"$B/skipped.txt"
while read -r count kind what; do
	case ${what#*: } in
	"host:"* | "by design:"*) echo "# skipped $count: $what" ;;
	*)
		if [ "$strict" -eq 1 ]; then
			echo "not ok - skipped under CI, a missing prerequisite: $what"
			failed=$((failed + count))
			[ "$kind" = P ] || passed=$((passed - count))
		else
			echo "# skipped $count: $what (a failure under CI)"
		fi
		;;
	esac
done <"$B/skipped.txt"
# Wall time per tier: the directory under tests/ a test comes from.
for f in "$B"/tap/*.tap.time; do
	[ -f "$f" ] || continue
	n=${f##*/}; n=${n%.tap.time}; n=${n#build-san_}; n=${n#build_}; n=${n#tests_}
	echo "${n%%_*} $(cat "$f")"
done | awk '{ t[$1] += $2; T += $2 } END {
	for (k in t) printf "# time: tier %s: %d s\n", k, t[k]
	printf "# time: all tiers: %d s\n", T }' | sort
# The failures again, next to the total: a CI log is often read from its
# tail, and prove's account of them is far above.
for f in "$B"/tap/*.tap; do
	[ -f "$f" ] || continue
	n=${f##*/}; n=${n%.tap}
	grep -v '# *[Tt][Oo][Dd][Oo]' "$f" | grep '^not ok' | cut -c1-240 | sed "s|^|# failed: $n: |"
	st=$(cat "$f.rc" 2>/dev/null || echo "?")
	[ "$st" = 0 ] || echo "# failed: $n: exit status $st"
done | head -n 40
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
