#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: runs every benchmark script bench/*.sh in turn (bash), each
# printing its own report.  Benchmarks measure; they never pass or fail.
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b")"
	bash "$b" || echo "== $(basename "$b") did not finish (status $?)"
done
