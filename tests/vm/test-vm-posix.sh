#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real-client POSIX tier (TAP): the Linux 9p client in a guest runs the
# differential suite (posixdiff, tmpfs /tmp against the 9p mount /mnt), the
# integrity stress and a dd conv=fsync against x9p-backend + x9p-helper
# serving fresh export directories, over a matrix of configurations:
# 9P2000.L/9P2000.u x cache=none/loose x msize 8192/512000 x security model
# passthrough/mapped-xattr x guest kernel 6.1/6.12.  One TAP line per
# configuration and check ("<config>: posixdiff <case>"), posixdiff's
# diverging observations as diagnostics under a failing case.
#
# Full documentation: docs/testing-vm.md ("make check: test-vm-posix.sh").
#
# Environment:
#   X9P_VM_KERNELS         kernels to run (default "6.1 6.12"; both boot at once)
#   X9P_VM_POSIX_SERVER    x9p (default) or qemu: QEMU's built-in virtio-9p,
#                          same configurations, to compare behaviour
#   X9P_VM_POSIX_MATRIX    pairwise (default, 7 configurations), full (32),
#                          or a list of KERNEL/VERSION/CACHE/MSIZE/MODEL rows,
#                          e.g. "6.12/9p2000.L/none/512000/mapped-xattr"
#   X9P_VM_POSIX_CASES     posixdiff case filter (comma-separated names or
#                          globs; a plain name selects the cases containing it)
#   X9P_VM_POSIX_SEED      first stress seed (default 1; configuration i uses
#                          seed+i), X9P_VM_POSIX_STEPS stress steps (400)
#   X9P_VM_POSIX_CASE_TIMEOUT  seconds before a posixdiff case or stress is
#                          killed in the guest (default 600)
#   X9P_VM_POSIX_BACKEND_ARGS  extra x9p-backend arguments (investigation)
#   X9P_VM_TIMEOUT         seconds per boot before QEMU is killed (2400)
set -u

# The whole test is one function, read completely before it runs: the
# working tree may change under a run (the shell would otherwise go on
# reading the edited file at its old offset).
main() {
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${X9P_BUILD:-build}
B=$(cd "$B" 2>/dev/null && pwd || echo "$top/$B")
kernels=${X9P_VM_KERNELS:-6.1 6.12}
server=${X9P_VM_POSIX_SERVER:-x9p}
matrix=${X9P_VM_POSIX_MATRIX:-pairwise}
filter=${X9P_VM_POSIX_CASES:-}
seed0=${X9P_VM_POSIX_SEED:-1}
steps=${X9P_VM_POSIX_STEPS:-400}
extra_args=${X9P_VM_POSIX_BACKEND_ARGS:-}
boot_timeout=${X9P_VM_TIMEOUT:-2400}
case_timeout=${X9P_VM_POSIX_CASE_TIMEOUT:-600}
posixdiff=$B/tests/progs/posixdiff
artefacts=$B/artefacts
# The one configuration whose full message trace is kept (x9p only).
trace_row="6.12/9p2000.L/none/512000/mapped-xattr"
# Asked of the client in the msize probe: above every cap on the way.
probe_msize=4194304
# x9p's socket transport: 1 MiB of payload plus the 9P header.
server_msize_cap=1048600

case $server in x9p | qemu) ;; *)
	echo "1..0 # SKIP X9P_VM_POSIX_SERVER must be x9p or qemu"
	exit 0
	;;
esac

# The matrix.  pairwise: six rows in which every pair of values of any two
# dimensions (kernel included) occurs, so each value of each dimension runs
# on both kernels; 9P2000.L with cache=none, the common setup, on both.  A
# seventh row, the newer kernel's cached setup at a large msize, costs no
# wall time: the 6.1 boot, one configuration shorter, takes as long.
rows() {
	case $matrix in
	pairwise)
		cat <<'EOF'
6.12/9p2000.L/none/512000/mapped-xattr
6.12/9p2000.L/loose/8192/passthrough
6.12/9p2000.u/loose/8192/mapped-xattr
6.1/9p2000.L/none/8192/passthrough
6.1/9p2000.u/none/512000/passthrough
6.1/9p2000.u/loose/512000/mapped-xattr
6.12/9p2000.L/loose/512000/mapped-xattr
EOF
		;;
	full)
		for k in 6.12 6.1; do for v in 9p2000.L 9p2000.u; do for c in none loose; do
			for m in 512000 8192; do for s in mapped-xattr passthrough; do
				echo "$k/$v/$c/$m/$s"
			done; done
		done; done; done
		;;
	*) printf '%s\n' $matrix ;;
	esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/x9p-vm-posix.XXXXXX")
trap 'rm -rf "$work"' EXIT
t_start=$(date +%s)

# ---- the expected divergences --------------------------------------------
# A failing case is reported "# TODO" (with its diagnostics) when every
# diverging step it printed is explained by a property of the Linux client
# or of the protocol dialect, never of the server: the table below.
# Fields (tab-separated): conditions (comma-separated tokens that must all
# describe the configuration: x9p qemu 6.1 6.12 L u none loose passthrough
# mapped-xattr, or "*"), case, rule, step regex, reason.  Rules: "case" (the
# whole case), "steps" (each printed diverging step, as "N label", matches
# the regex and nothing was cut off), "nlink" (like steps, and the two values
# differ only in the link count), "output" (for stress: a line of its output
# matches the regex).
cat >"$work/expect" <<'EOF'
u	fsync	steps	^[0-9]+ (fsync dir|fdatasync dir|fsync case dir)$	9P2000.u: the Linux client has no fsync for directories (EINVAL without a message)
u	rename_file	steps	^[0-9]+ (rename d1/x -> d2/y|d1|d2|visible at new name|rename symlink s2 -> d1/s3|moved symlink|readlink moved symlink|target|listing)$	9P2000.u renames only within a directory (Twstat of the name): the client answers EXDEV to a cross-directory rename
u	rename_dir	steps	^[0-9]+ (rename p/q -> s/q2 \(across dirs\)|p|s|\(check\) moved dir's \.\. is its new parent|s/q2)$	9P2000.u renames only within a directory (Twstat of the name): the client answers EXDEV to a cross-directory rename
u	dir_nlink	steps	^(10 rename d/b -> e/b|11 d nlink|12 e nlink|13 e/b nlink)$	9P2000.u renames only within a directory: EXDEV, and the link counts that follow from it
u	hardlink	nlink	^[0-9]+ (sym2 is a symlink|sym nlink)$	9P2000.u: the client takes a link count (HARDLINKCOUNT in the stat extension) only for regular files and directories
u	mknod	nlink	^[0-9]+ stat linked$	9P2000.u: the client takes a link count (HARDLINKCOUNT in the stat extension) only for regular files and directories
u,loose	hardlink	case		9P2000.u with cache=loose: the client gives a hard link it makes an inode of its own (v9fs_vfs_link creates through v9fs_create), so the two names cache data and link counts separately
u,loose	rename_file	nlink	^[0-9]+ h1 still there$	9P2000.u with cache=loose: the client gives a hard link it makes an inode of its own, so the old name's cached link count is not updated
u	readdir_5000	steps	^[0-9]+ \(check\) seekdir\(telldir\) resumes at the same entry$	9P2000.u directory offsets are byte offsets into a stream of stat records with no cookies; the client keeps read-ahead that lseek does not reset, and a server can only continue where the last read ended
u	utimens	steps	^[0-9]+ (64-bit times|symlink times)$	9P2000.u stat times are 32-bit seconds (0xFFFFFFFF means "don't touch"); a .u stat of a symlink carries its target, and reading it updates the link's atime on the host (relatime)
u	perm_nonroot	steps	^[0-9]+ own file$	9P2000.u Tcreate carries no group: a new file cannot get the creator's group
u	xattr_user	case		9P2000.u has no xattr messages
u,loose	stress	output	^stress: FAIL at step [0-9]+ \(.*\): f[0-9]+: (size|nlink|first differing offset)	9P2000.u with cache=loose: the client gives a hard link it makes an inode of its own, so sizes and data read through the other name are stale
loose	utimens	steps	^31 \(check\) mtime moves forward after a write$	cache=loose: the client keeps the written data and the mtime it last set in its own cache and does not ask the server again (QEMU's server shows the same)
u	fcntl_locks	case		9P2000.u has no lock messages: the Linux client's .u lock operation sends nothing and reports success (F_SETLK never conflicts, F_GETLK echoes the request)
EOF

# ---- configurations ------------------------------------------------------
descr() { # KERNEL VERSION CACHE MSIZE MODEL
	echo "$1 $2 cache=$3 msize=$4 $5"
}
tokens() { # KERNEL VERSION CACHE MSIZE MODEL
	v=L
	[ "$2" = 9p2000.u ] && v=u
	echo "$server $1 $v $3 $4 $5"
}

# The cases posixdiff will run (the program runs natively to list them).
if [ ! -x "$posixdiff" ]; then
	echo "1..1"
	echo "not ok 1 - $posixdiff is not built (make build-all)"
	exit 0
fi
"$posixdiff" --list | awk '{ print $1 }' >"$work/allcases"
if [ -n "$filter" ]; then
	: >"$work/cases"
	while read -r c; do
		for f in $(echo "$filter" | tr ',' ' '); do
			case $f in *'*'* | *'?'* | *'['*) pat=$f ;; *) pat="*$f*" ;; esac
			# shellcheck disable=SC2254
			case $c in $pat) echo "$c" >>"$work/cases"; break ;; esac
		done
	done <"$work/allcases"
	cases_arg=$filter
else
	cp "$work/allcases" "$work/cases"
	cases_arg=
fi

# First run on a machine: VM packages and guest kernels (no-ops afterwards).
fetch_ok=1
{ sh "$top/tools/deps.sh" vm && sh "$here/fetch-kernels.sh" $kernels; } \
	>"$work/fetch.err" 2>&1 || fetch_ok=0
if [ "$server" = x9p ] && ! "$B/x9p-backend" --help 2>&1 | grep -- '--export' | grep -qv 'not yet supported'; then
	echo "1..0 # SKIP $B/x9p-backend has no --export"
	exit 0
fi
mkdir -p "$artefacts"

# Per kernel: the rows, their boot.sh arguments, and the host-side table
# the parser needs (index role name tokens asked-msize seed).  At most 8
# trans=fd configurations per boot: the full matrix takes two boots per
# kernel, run one after the other.
seed=$seed0
boots=
for k in $kernels; do
	b=0 i=0 nb=0
	for row in $(rows); do
		rk=${row%%/*}
		[ "$rk" = "$k" ] || continue
		if [ $i -eq 7 ]; then
			b=$((b + 1)) i=0
		fi
		id=$k-$b
		[ $i -eq 0 ] && { boots="$boots $id"; : >"$work/args-$id"; : >"$work/table-$id"; : >"$work/head-$id"; nb=$((nb + 1)); }
		set -- $(echo "$row" | tr '/' ' ')
		ver=$2 cache=$3 msize=$4 model=$5
		exp=$work/exp-$id-$i
		mkdir -p "$exp"
		name=$(descr "$@")
		if [ "$server" = qemu ]; then
			name="qemu-9p $name"
			set -- --server qemu --export "$exp" --security-model "$model"
		else
			bargs="--export $exp --security-model $model $extra_args"
			if [ "$row" = "$trace_row" ]; then
				# Written in the work directory, moved to the artefacts
				# when the boot is over: another run sharing the build
				# directory cannot write into it meanwhile.
				tf=trace-$k-$ver-$cache-$msize-$model.txt
				bargs="$bargs --trace $work/$tf"
				echo "$id $i $tf" >>"$work/traces"
			fi
			set -- --server x9p --export "$exp" --security-model "$model" --backend-args "$bargs"
		fi
		[ $i -eq 0 ] || echo "--then" >>"$work/args-$id"
		for a in "$@" --version "$ver" --cache "$cache" --msize "$msize"; do
			printf '%s\n' "$a" >>"$work/args-$id"
		done
		printf '%s\tsuite\t%s\t%s\t%s\t%s\n' "$i" "$name" "$(tokens $k "$ver" "$cache" "$msize" "$model")" \
			"$msize" "$seed" >>"$work/table-$id"
		{
			echo "POSIX_SKIP_$i=@client"
			echo "POSIX_SEED_$i=$seed"
		} >>"$work/head-$id"
		seed=$((seed + 1))
		i=$((i + 1))
	done
	# The msize probe closes each kernel's first boot: ask for more than any
	# transport allows and report what was negotiated.
	id=$k-0
	[ -f "$work/table-$id" ] || continue
	i=$(wc -l <"$work/table-$id")
	exp=$work/exp-$id-probe
	mkdir -p "$exp"
	echo "--then" >>"$work/args-$id"
	if [ "$server" = qemu ]; then
		printf '%s\n' --server qemu --export "$exp" --security-model mapped-xattr >>"$work/args-$id"
		pname="qemu-9p $k"
	else
		printf '%s\n' --server x9p --export "$exp" --security-model mapped-xattr \
			--backend-args "--export $exp --security-model mapped-xattr $extra_args" >>"$work/args-$id"
		pname=$k
	fi
	printf '%s\n' --version 9p2000.L --cache none --msize "$probe_msize" >>"$work/args-$id"
	printf '%s\tprobe\t%s\t%s\t%s\t0\n' "$i" "$pname 9p2000.L msize $probe_msize asked" \
		"$server $k L none $probe_msize mapped-xattr" "$probe_msize" >>"$work/table-$id"
	echo "POSIX_ROLE_$i=probe" >>"$work/head-$id"
done

# Guest scripts: the per-boot settings, then posix-guest.sh.
for id in $boots; do
	{
		echo "POSIX_STEPS=$steps POSIX_TIMEOUT=$case_timeout"
		printf "POSIX_CASES='%s'\n" "$cases_arg"
		cat "$work/head-$id" "$here/posix-guest.sh"
	} >"$work/guest-$id.sh"
done

# One boot.sh per kernel at a time, both kernels at once (one vCPU each).
run_kernel() {
	for id in $boots; do
		case $id in "$1"-*) ;; *) continue ;; esac
		t0=$(date +%s)
		xargs -d '\n' sh -c 'exec bash "$0/boot.sh" "$@"' "$here" \
			--kernel "$1" --script "$work/guest-$id.sh" --timeout "$boot_timeout" \
			<"$work/args-$id" >"$work/out-$id" 2>"$work/err-$id"
		echo $? >"$work/rc-$id"
		echo $(($(date +%s) - t0)) >"$work/secs-$id"
		cat "$work/out-$id" "$work/err-$id" >"$artefacts/vm-posix-$server-$id.log"
	done
}
if [ "$fetch_ok" -eq 1 ]; then
	for k in $kernels; do
		run_kernel "$k" &
		echo $! >"$work/pid-$k"
	done
	for k in $kernels; do
		wait "$(cat "$work/pid-$k")"
	done
fi

# ---- results -------------------------------------------------------------
# parse.awk turns one boot's output into TAP lines without numbers.
cat >"$work/parse.awk" <<'EOF'
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function has_tokens(cond, toks,    n, a, i) {
	if (cond == "*") return 1
	n = split(cond, a, ",")
	for (i = 1; i <= n; i++)
		if (index(" " toks " ", " " a[i] " ") == 0) return 0
	return 1
}
function drop_nlink(v) { gsub(/ n[0-9]+ /, " ", v); return v }
# The TODO reason when every diverging step of case c in configuration n is
# explained by the table, else "".
function expected(n, c,    toks, lines, nl, i, j, line, rest, step, label, refv, testv, p, q, ok, why, used) {
	toks = tok[n]
	for (j = 1; j <= nexp; j++)
		if (ecase[j] == c && erule[j] == "case" && has_tokens(econd[j], toks))
			return ereason[j]
	if (c == "stress") {
		nl = split(stout[n], lines, "\n")
		for (j = 1; j <= nexp; j++)
			if (ecase[j] == c && erule[j] == "output" && has_tokens(econd[j], toks))
				for (i = 1; i <= nl; i++)
					if (lines[i] ~ eregex[j]) return ereason[j]
		return ""
	}
	nl = split(diag[n, c], lines, "\n")
	why = ""
	if (nl == 0) return ""
	for (i = 1; i <= nl; i++) {
		line = lines[i]
		if (line !~ /^#[ ]+[0-9]+ /) return ""
		rest = line
		sub(/^#[ ]+/, "", rest)
		step = rest
		sub(/ .*/, "", step)
		rest = substr(rest, length(step) + 2)
		p = index(rest, " | ref: ")
		if (p == 0) return ""
		label = trim(substr(rest, 1, p - 1))
		rest = substr(rest, p + 8)
		q = index(rest, " | test: ")
		if (q == 0) return ""
		refv = trim(substr(rest, 1, q - 1))
		testv = trim(substr(rest, q + 9))
		ok = 0
		for (j = 1; j <= nexp && !ok; j++) {
			if (ecase[j] != c || erule[j] == "case" || !has_tokens(econd[j], toks)) continue
			if ((step " " label) !~ eregex[j]) continue
			if (erule[j] == "nlink" && drop_nlink(" " refv " ") != drop_nlink(" " testv " ")) continue
			ok = 1
			if (!((j) in used)) { used[j] = 1; why = why (why == "" ? "" : "; ") ereason[j] }
		}
		if (!ok) return ""
	}
	return why
}
function emit(ok, name, directive) {
	printf "%s - %s%s\n", ok ? "ok" : "not ok", name, directive == "" ? "" : " # " directive
}
function emit_diag(text,    a, k, m) {
	m = split(text, a, "\n")
	for (k = 1; k <= m; k++) print (a[k] ~ /^#/ ? "" : "# ") a[k]
}
# Kernel messages worth a line in the TAP output (the whole console is in
# the log artefact): warnings, oopses and anything from the 9p client.
function keep_console(l) {
	if (l ~ /^[ \t]*$/) return 0
	if (l !~ /^\[ *[0-9]+\.[0-9]+\]/) return 1
	return l ~ /WARNING|BUG|Oops|panic|hung|error|9p|v9fs|netfs|cut here|end trace/
}
BEGIN {
	FS = "\n"
	while ((getline l < tablef) > 0) {
		split(l, f, "\t")
		ncfg++
		idx[ncfg] = f[1]; role[f[1]] = f[2]; cname[f[1]] = f[3]; tok[f[1]] = f[4]
		asked[f[1]] = f[5]; cseed[f[1]] = f[6]
	}
	while ((getline l < casesf) > 0) { ncase++; cases[ncase] = l }
	while ((getline l < expectf) > 0) {
		split(l, f, "\t")
		nexp++
		econd[nexp] = f[1]; ecase[nexp] = f[2]; erule[nexp] = f[3]; eregex[nexp] = f[4]; ereason[nexp] = f[5]
	}
	cur = -1; sect = ""
}
/^@@P cfg / { cur = $0; sub(/^@@P cfg /, "", cur); seen[cur] = 1; sect = ""; next }
cur == -1 { next }
/^@@P mount / { m = $0; sub(/^@@P mount /, "", m); mountopts[cur] = m; next }
/^@@P msize / { m = $0; sub(/^@@P msize /, "", m); msize[cur] = m; next }
/^@@P posixdiff-begin/ { sect = "pd"; lastcase = ""; next }
/^@@P posixdiff-end / { split($0, a, " "); pdst[cur] = a[3]; pdms[cur] = a[4]; sect = ""; next }
/^@@P stress-begin/ { sect = "stress"; next }
/^@@P stress-end / { split($0, a, " "); stst[cur] = a[3]; stms[cur] = a[4]; sect = ""; next }
/^@@P dd / {
	split($0, a, " "); ddst[cur] = a[3]; ddms[cur] = a[4]
	d = $0; sub(/^@@P dd [^ ]+ [^ ]+ ?/, "", d); dddetail[cur] = d; next
}
/^@@P done / { done[cur] = 1; sect = ""; next }
/^# configuration [0-9]+: / { next }
sect == "pd" && /^(not )?ok [0-9]+ - / {
	line = $0
	isok = line !~ /^not /
	sub(/^(not )?ok [0-9]+ - /, "", line)
	c = line; dir = ""
	p = index(line, " # ")
	if (p > 0) { c = substr(line, 1, p - 1); dir = substr(line, p + 3) }
	# A kernel message may have landed inside the line: the name is a word.
	if (match(c, /^[A-Za-z0-9_]+/)) c = substr(c, 1, RLENGTH)
	res[cur, c] = isok ? "ok" : "notok"
	rdir[cur, c] = dir
	lastcase = c
	next
}
sect == "pd" && /^1\.\./ { next }
sect == "pd" && /^[0-9]+ passed, [0-9]+ failed$/ { pdsum[cur] = $0; next }
sect == "pd" && /^# [0-9]+ skipped$/ { pdskip[cur] = $0; next }
sect == "pd" && /^# posixdiff: / { pdhead[cur] = substr($0, 3); next }
sect == "pd" && /^#/ && lastcase != "" && res[cur, lastcase] == "notok" {
	diag[cur, lastcase] = diag[cur, lastcase] (diag[cur, lastcase] == "" ? "" : "\n") $0
	next
}
sect == "stress" { stout[cur] = stout[cur] (stout[cur] == "" ? "" : "\n") $0; next }
keep_console($0) && nother[cur]++ < 60 { other[cur] = other[cur] (other[cur] == "" ? "" : "\n") $0 }
END {
	for (x = 1; x <= ncfg; x++) {
		n = idx[x]; name = cname[n]
		print "# ---- " name " (configuration " n " of this boot) ----"
		if (role[n] == "probe") {
			got = msize[n]
			good = seen[n] && got ~ /^[0-9]+$/ && got + 0 <= asked[n] + 0 && got + 0 <= capmsize + 0 && got + 0 >= 4096
			emit(good, name ": negotiated msize " (got == "" ? "(no result from the guest)" : got), "")
			if (seen[n]) print "# mount options: " mountopts[n]
			continue
		}
		got = msize[n]
		emit(seen[n] && got == asked[n], name ": mounted, msize " asked[n] " asked, " \
			(got == "" ? "no result from the guest" : got " negotiated"), "")
		if (seen[n]) print "# mount options: " mountopts[n]
		for (y = 1; y <= ncase; y++) {
			c = cases[y]
			nm = name ": posixdiff " c
			if (!((n, c) in res)) { emit(0, nm " (no result from the guest)", ""); continue }
			if (res[n, c] == "ok") {
				d = rdir[n, c]
				if (d ~ /^SKIP by design: --skip/) d = "SKIP by design: --skip @client, the Linux client diverges whatever the server (docs/testing-posix.md)"
				emit(1, nm, d)
				continue
			}
			why = expected(n, c)
			emit(0, nm, why == "" ? "" : "TODO " why)
			emit_diag(diag[n, c])
		}
		if (pdhead[n] != "") print "# " name ": " pdhead[n]
		if (n in pdsum) printf "# %s: posixdiff %s%s in %.1f s\n", name, pdsum[n], \
			(pdskip[n] == "" ? "" : ", " substr(pdskip[n], 3)), pdms[n] / 1000
		stok = (n in stst) && stst[n] == 0 && stout[n] ~ /stress: ok/
		why = stok ? "" : expected(n, "stress")
		emit(stok, name ": stress --seed " cseed[n] " --steps " steps " (data checked against a model after every step)", \
			why == "" ? "" : "TODO " why)
		if (!stok && stout[n] != "") emit_diag(stout[n])
		if (n in stms) printf "# %s: stress took %.1f s\n", name, stms[n] / 1000
		fs = (tok[n] ~ / u /) ? "Twstat with every field \"don't touch\"" : "Tfsync"
		emit((n in ddst) && ddst[n] == 0, name ": dd conv=fsync of 1 MiB (" fs ") completes, reads back" \
			((n in ddst) ? "" : " (no result from the guest)"), "")
		if ((n in ddst) && ddst[n] != 0) print "# " dddetail[n]
		if (other[n] != "") emit_diag("guest console during " name ":\n" other[n])
	}
}
EOF

# The trace artefact: non-empty, T- and R-lines of the expected types, and
# the msize the server answered equal to the guest's.
trace_checks() { # FILE GUEST-MSIZE NAME
	tf=$1 gm=$2 tn=$3
	if [ ! -s "$tf" ]; then
		echo "not ok - $tn: trace artefact $tf is empty or missing"
		return
	fi
	sz=$(du -m "$tf" | cut -f1)
	echo "ok - $tn: trace artefact $tf ($(wc -l <"$tf") lines, $sz MiB)"
	awk '
	BEGIN { for (i = 0; i < 256; i++) hex[sprintf("%02x", i)] = i }
	/^#/ { next }
	NF >= 5 && ($2 == "T" || $2 == "R") {
		t = hex[substr($5, 9, 2)]
		n[$2 " " t]++
		if ($2 == "R" && t == 101 && !ms)
			ms = hex[substr($5, 15, 2)] + 256 * hex[substr($5, 17, 2)] + 65536 * hex[substr($5, 19, 2)] + 16777216 * hex[substr($5, 21, 2)]
		next
	}
	{ bad++ }
	END {
		for (k in n) print "count", k, n[k]
		print "rversion", ms + 0
		print "bad", bad + 0
	}' "$tf" >"$work/trace-stats"
	bad=$(awk '$1 == "bad" { print $2 }' "$work/trace-stats")
	if [ "$bad" -eq 0 ]; then
		echo "ok - $tn: every trace line is a comment or \"TIME T|R CHANNEL LEN HEX\""
	else
		echo "not ok - $tn: $bad trace lines are neither comments nor T/R records"
	fi
	# What any run sends; a full suite also exercises every other request.
	types="Tversion:100 Tattach:104 Twalk:110 Tlopen:12 Tlcreate:14 Treaddir:40 Tgetattr:24
		Tread:116 Twrite:118 Tclunk:120 Tfsync:50 Tunlinkat:76"
	[ -n "$filter" ] || types="$types Tsetattr:26 Tstatfs:8 Tmkdir:72 Tsymlink:16 Treadlink:22
		Tlink:70 Tmknod:18 Trenameat:74 Txattrwalk:30 Txattrcreate:32 Tlock:52 Tgetlock:54"
	for pair in $types; do
		tname=${pair%%:*} tnum=${pair#*:}
		ct=$(awk -v k="T $tnum" '$1 == "count" && $2 " " $3 == k { print $4 }' "$work/trace-stats")
		cr=$(awk -v k="R $((tnum + 1))" '$1 == "count" && $2 " " $3 == k { print $4 }' "$work/trace-stats")
		if [ "${ct:-0}" -gt 0 ] && [ "${cr:-0}" -gt 0 ]; then
			echo "ok - $tn: trace has $tname (${ct}x) and R${tname#T} (${cr}x)"
		else
			echo "not ok - $tn: trace has $tname (${ct:-0}x) and R${tname#T} (${cr:-0}x)"
		fi
	done
	rv=$(awk '$1 == "rversion" { print $2 }' "$work/trace-stats")
	if [ "$rv" = "$gm" ]; then
		echo "ok - $tn: the server's Rversion msize $rv equals the msize the guest reports"
	else
		echo "not ok - $tn: the server's Rversion msize ${rv:-none} differs from the guest's ${gm:-none}"
	fi
}

: >"$work/body"
for id in $boots; do
	k=${id%-*}
	rc=125
	[ -f "$work/rc-$id" ] && rc=$(cat "$work/rc-$id")
	touch "$work/out-$id"
	awk -v tablef="$work/table-$id" -v casesf="$work/cases" -v expectf="$work/expect" \
		-v steps="$steps" -v capmsize="$server_msize_cap" \
		-f "$work/parse.awk" "$work/out-$id" >>"$work/body"
	if [ -f "$work/traces" ]; then
		while read -r tid ti tf; do
			[ "$tid" = "$id" ] || continue
			if [ -f "$work/$tf" ]; then
				mv -f "$work/$tf" "$artefacts/$tf.tmp" && mv -f "$artefacts/$tf.tmp" "$artefacts/$tf"
			else
				rm -f "$artefacts/$tf"
			fi
			tf=$artefacts/$tf
			gm=$(awk -v n="$ti" '$1 == "@@P" && $2 == "cfg" { c = $3 } $1 == "@@P" && $2 == "msize" && c == n { print $3 }' "$work/out-$id")
			trace_checks "$tf" "$gm" "$(descr $(echo "$trace_row" | tr '/' ' '))" >>"$work/body"
		done <"$work/traces"
	fi
	if [ "$fetch_ok" -eq 0 ]; then
		sed 's/^/# /' "$work/fetch.err" >>"$work/body"
	else
		{
			echo "# kernel $k boot $id: boot.sh status $rc in $(cat "$work/secs-$id" 2>/dev/null || echo ?) s" \
				"(log: $artefacts/vm-posix-$server-$id.log)"
			if [ "$rc" -ne 0 ]; then
				sed 's/^/# /' "$work/err-$id"
			else
				grep 'first mount' "$work/err-$id" | sed 's/^/# /'
			fi
		} >>"$work/body"
	fi
done
if [ "$server" = qemu ]; then
	echo "ok - trace artefact # SKIP by design: QEMU's built-in server writes no trace" >>"$work/body"
fi

total=$(grep -cE '^(not )?ok ' "$work/body")
echo "1..$total"
awk '/^(not )?ok / { n++; sub(/^ok /, "ok " n " "); sub(/^not ok /, "not ok " n " ") } { print }' "$work/body"
echo "# vm-posix: $server, $(echo $(rows) | wc -w) configurations, $(($(date +%s) - t_start)) s"
}

main "$@"
exit $?
