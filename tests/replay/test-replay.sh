#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-replay (and make check): replays the corpus of recordings
# (tests/replay/corpus/, docs/trace-format.md) against this build, then
# shows that a replay can fail, of a Xen recording and of a virtqueue one:
# the test worker that flips one field of every Rgetattr (attack 14) must
# be told; then fuzzes the Xen rings with the
# corpus as seeds (x9p-replay --mutate) for X9P_FUZZ_SECONDS (default 20).
# The last line is x9p-replay's total: "replay: N traces, M requests, all
# matched".
set -u
B=${X9P_BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
replay=$B/tests/replay/x9p-replay
echo "1..4"
bad=0
[ -x "$replay" ] || { echo "not ok 1 - no $replay (make build-all)"; exit 1; }
set -- "$here"/corpus/*.x9prec.xz
[ -f "$1" ] || { echo "not ok 1 - no recordings in $here/corpus"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/x9p-corpus-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for z; do xz -dc "$z" >"$tmp/$(basename "$z" .xz)"; done
t0=$(date +%s)
"$replay" "$tmp"/*.x9prec >"$tmp/out" 2>"$tmp/err"
rc=$?
total=$(tail -n 1 "$tmp/out")
# The slowest, for a run that takes longer than it should.
sed -n 's/^\(.*\): .* in \([0-9.]*\) s$/\2 \1/p' "$tmp/out" | sort -rn | head -n 3 |
	while read -r secs f; do echo "# $(basename "$f"): $secs s"; done
if [ "$rc" -eq 0 ]; then
	echo "ok 1 - $total ($(($(date +%s) - t0)) s)"
else
	echo "not ok 1 - $total"
	sed 's/^/#   /' "$tmp/err" | head -n 40
fi
# One recording with an Rgetattr per transport (a Xen device's rings, an
# x9p-vhost's virtqueue), replayed against the perturbing worker.
n=2
for kind in xen vhost-user; do
	one=
	for f in "$tmp"/*.x9prec; do
		"$replay" --dump "$f" 2>/dev/null | grep -m1 ' WORKER ' | grep -q "transport=$kind " || continue
		"$replay" --dump "$f" 2>/dev/null | grep -q Rgetattr && { one=$f; break; }
	done
	if [ -z "$one" ]; then
		echo "not ok $n - no $kind recording with an Rgetattr in the corpus"
		rc2=0
	else
		X9P_WORKER=$B/tests/x9p-worker-attack X9P_WORKER_ATTACK=14 "$replay" "$one" >"$tmp/out2" 2>"$tmp/err2"
		rc2=$?
		if [ "$rc2" -eq 1 ] && grep -q "divergence at request" "$tmp/err2"; then
			echo "ok $n - $kind: a changed Rgetattr field is told: $(grep -m1 'divergence at' "$tmp/err2" | sed 's/^.*: divergence/divergence/')"
		else
			echo "not ok $n - the perturbed build replayed $(basename "$one") with status $rc2"
			sed 's/^/#   /' "$tmp/err2" | head -n 20
			rc2=0
		fi
	fi
	[ "$rc2" -eq 1 ] || bad=1
	n=$((n + 1))
done
"$replay" --mutate "${X9P_FUZZ_SECONDS:-20}" ${X9P_FUZZ_SEED:+--seed-rng "$X9P_FUZZ_SEED"} \
	"$tmp"/*.x9prec >"$tmp/out3" 2>"$tmp/err3"
rc3=$?
grep '^# ring fuzz: round' "$tmp/out3"
if [ "$rc3" -eq 0 ]; then
	echo "ok 4 - $(tail -n 1 "$tmp/out3" | cut -c1-200)"
else
	echo "not ok 4 - $(tail -n 1 "$tmp/out3")"
	grep -v 'frontend fault' "$tmp/err3" | tail -n 5 | sed 's/^/#   /'
	grep '^# ring fuzz seed' "$tmp/out3"
fi
echo "$total"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$rc3" -eq 0 ]
