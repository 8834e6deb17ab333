#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every fuzzer of $X9P_BUILD/fuzz/ (built with ASan and UBSan whatever
# the build) for a bounded time each and reports one TAP result per fuzzer.
#
#   X9P_FUZZ_SECONDS   time per fuzzer (default 20; `make fuzz` gives 600)
#   X9P_FUZZ_SEED      seed (default: each fuzzer takes one from the clock and
#                      prints it, with the command that replays a failure)
set -u
B=${X9P_BUILD:-build}
secs=${X9P_FUZZ_SECONDS:-20}
# Leaks are reports too; a sanitizer report ends the run with a failure.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
# The replay corpus's recordings seed fuzz-engine and fuzz-record.
if ls tests/replay/corpus/*.x9prec.xz >/dev/null 2>&1; then
	rm -rf "$B/fuzz/corpus" && mkdir -p "$B/fuzz/corpus"
	for z in tests/replay/corpus/*.x9prec.xz; do
		xz -dc "$z" >"$B/fuzz/corpus/$(basename "$z" .xz)"
	done
	export X9P_FUZZ_CORPUS=$B/fuzz/corpus
fi
fuzzers=$(find "$B/fuzz" -maxdepth 1 -type f -perm -u+x -name 'fuzz-*' 2>/dev/null | sort)
[ -n "$fuzzers" ] || { echo "1..1"; echo "not ok 1 - no fuzzers in $B/fuzz (make build-all)"; exit 1; }
n=0 failed=0
echo "1..$(echo "$fuzzers" | wc -l)"
for f in $fuzzers; do
	n=$((n + 1))
	name=$(basename "$f")
	log=$B/fuzz/$name.log
	t0=$(date +%s)
	"$f" --seconds "$secs" ${X9P_FUZZ_SEED:+--seed "$X9P_FUZZ_SEED"} >"$log" 2>&1
	rc=$?
	res=$(grep -E '^(not )?ok 1 ' "$log" | tail -n 1 | sed 's/^\(not \)\{0,1\}ok 1 - //')
	if [ "$rc" -eq 0 ] && grep -q '^ok 1 ' "$log"; then
		echo "ok $n - $name: $res ($(($(date +%s) - t0)) s)"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name: exit $rc${res:+: $res}"
		grep -E '^# (seed|replay)' "$log"
		grep -E 'ERROR: AddressSanitizer|runtime error|engine bug|SUMMARY' "$log" | head -n 5 | sed 's/^/#   /'
		echo "#   log: $log"
	fi
done
[ "$failed" -eq 0 ]
