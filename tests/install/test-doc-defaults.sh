#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every default a daemon's --help states (the code's own words, next to the
# option it parses) is the one docs/ states: each option with a default in
# `--help` has a row in a docs table ("| `--OPTION"), and that row names
# the same value.  TAP, one result per program.
set -u
B=${X9P_BUILD:-build}
n=0 failed=0
defaults() { # PROGRAM: "OPTION VALUE" lines, from "(default V)" and "V (default)"
	"$B/$1" --help | sed -n \
		-e 's/^  \(--[a-z-]*\)[= ].*(default \([^ );:]*\)[);:].*/\1 \2/p' \
		-e 's/^  \(--[a-z-]*\)[= ].* \([a-z0-9]*\) (default).*/\1 \2/p'
}
echo "1..2"
for prog in x9p-backend x9p-vhost; do
	n=$((n + 1))
	bad=$(defaults "$prog" | while read -r opt val; do
		rows=$(grep -h -- "^| \`$opt" docs/*.md)
		if [ -z "$rows" ]; then
			echo "$opt (default $val): in no docs table"
		elif ! printf '%s\n' "$rows" | grep -qF -- "$val"; then
			echo "$opt: --help says default $val, docs: $(printf '%s' "$rows" | head -n 1 | cut -c1-160)"
		fi
	done)
	count=$(defaults "$prog" | wc -l)
	if [ -z "$bad" ] && [ "$count" -ge 3 ]; then
		echo "ok $n - $prog: the $count defaults of --help are the docs'"
	else
		failed=$((failed + 1))
		echo "not ok $n - $prog: ${count} defaults in --help"
		printf '%s\n' "$bad" | sed 's/^/#   /'
	fi
done
[ "$failed" -eq 0 ]
