# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of test-vm-crash.sh (busybox sh, cwd /mnt): a mixed load for
# CRASH_SECONDS seconds (prepended by the host), while the host kills the
# server's processes.  Any error of any call is a failure.
#
# Lines the host parses, all starting with "@@C ":
#   @@C start                      the load starts (the mount is up)
#   @@C stress STATUS              the integrity stress (create, write,
#                                  append, truncate, rename, link, unlink,
#                                  fsync, readdir; content checked after
#                                  every step) ran to the end with STATUS
#   @@C slowest MS                 its slowest step
#   @@C file NAME SHA256           a file written with conv=fsync and read back
#   @@C fail WHAT                  something failed
#   @@C rounds N                   rounds of the file and tree load
#   @@C done
secs=${CRASH_SECONDS:-30}
fail() { echo "@@C fail $* ($(head -c 200 /tmp/err 2>/dev/null | tr '\n' ' '))"; }
: >/tmp/err
end=$(($(date +%s) + secs))
echo "@@C start"

stress /mnt --seed "${CRASH_SEED:-1}" --steps 100000000 --seconds "$secs" \
	--max-size 65536 >/tmp/stress.out 2>&1 &
spid=$!

dd if=/dev/urandom of=/tmp/big bs=64k count=16 2>/dev/null
want=$(sha256sum </tmp/big | cut -d' ' -f1)
i=0
while [ "$(date +%s)" -lt "$end" ]; do
	i=$((i + 1))
	# big file: written and fsync'd, read back through the mount
	dd if=/tmp/big of=/mnt/big.$i bs=64k conv=fsync 2>/tmp/err || fail "dd big.$i"
	got=$(sha256sum </mnt/big.$i | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "big.$i reads back as $got"
	echo "@@C file big.$i $got"
	# a tree: mkdir, create, readdir, rename, symlink, link, unlink, rmdir
	d=/mnt/tree.$i
	mkdir -p $d/a/b 2>/tmp/err || fail "mkdir $d"
	for f in 1 2 3 4 5; do echo "$i.$f" 2>/tmp/err >$d/a/f$f || fail "create $d/a/f$f"; done
	ln -s f1 $d/a/sym 2>/tmp/err || fail "symlink in $d"
	ln $d/a/f2 $d/a/hard 2>/tmp/err || fail "link in $d"
	mv $d/a/f3 $d/a/b/moved 2>/tmp/err || fail "rename in $d"
	n=$(ls -l $d/a 2>/tmp/err | wc -l)
	[ "$n" -eq 8 ] || fail "ls -l $d/a: $n lines"
	[ "$(cat $d/a/b/moved)" = "$i.3" ] || fail "content of $d/a/b/moved"
	[ "$(readlink $d/a/sym)" = f1 ] || fail "readlink $d/a/sym"
	rm -r $d/a/b $d/a/f4 2>/tmp/err || fail "rm in $d"
	if [ $((i % 2)) -eq 0 ]; then
		rm -r $d 2>/tmp/err || fail "rm -r $d"
		rm /mnt/big.$((i - 1)) 2>/tmp/err || fail "rm big.$((i - 1))"
	fi
done
wait $spid
st=$?
[ "$st" -eq 0 ] || grep -v "^stress: seed" /tmp/stress.out | head -5 |
	while read -r l; do fail "stress: $l"; done
echo "@@C stress $st"
echo "@@C slowest $(sed -n 's/^stress: slowest step \([0-9]*\) ms.*/\1/p' /tmp/stress.out)"
echo "@@C rounds $i"
echo "@@C done"
