#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The socket transport of the real x9p-backend binary, with --synthetic:
# options and refusals, 9P over unix, tcp and an inherited descriptor,
# faulty clients losing only their own connection, clean shutdown, the
# confined worker (its process tree, a killed worker, the self-attacks of
# the test build), and (when the host kernel has 9p) a real Linux mount.
# Prints TAP.
set -u

B=${X9P_BUILD:-build}
BIN=$B/x9p-backend
ATTACKER=$B/tests/x9p-worker-attack
PY=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/proctree.sh"

planned=38
echo "1..$planned"

if [ ! -x "$BIN" ]; then
	echo "Bail out! $BIN not built"
	exit 1
fi
if ! command -v "$PY" >/dev/null 2>&1; then
	echo "Bail out! $PY not found"
	exit 1
fi

tmp=$(mktemp -d /tmp/x9p-socket-test.XXXXXX)
n=0
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	if [ -n "${mnt:-}" ] && grep -q " $mnt " /proc/mounts 2>/dev/null; then
		umount -l "$mnt" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); echo "not ok $n - $1"
	if [ -s "$tmp/why" ]; then sed 's/^/# /' "$tmp/why"; fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # check NAME CMD...: ok when CMD succeeds
	name=$1; shift
	: >"$tmp/why"
	if "$@" >"$tmp/why" 2>&1; then ok "$name"; else notok "$name"; fi
}

# ---- a minimal 9P2000.L client (only what these checks need) -------------
cat >"$tmp/p9.py" <<'EOF'
import os, socket, struct, subprocess, sys, threading

# A hung server must not hang the test run; this is a safety net, the
# checks themselves never depend on timing.
SAFETY = 120

def s(x):
    b = x.encode()
    return struct.pack('<H', len(b)) + b

class Client:
    def __init__(self, sock):
        self.sock = sock
        self.tag = 0
        sock.settimeout(SAFETY)

    def recvn(self, n):
        buf = b''
        while len(buf) < n:
            d = self.sock.recv(n - len(buf))
            if not d:
                raise EOFError('connection closed by the server')
            buf += d
        return buf

    def rpc(self, t, body, tag=None):
        if tag is None:
            self.tag = (self.tag + 1) % 0xffff
            tag = self.tag
        self.sock.sendall(struct.pack('<IBH', 7 + len(body), t, tag) + body)
        size, rt, rtag = struct.unpack('<IBH', self.recvn(7))
        body = self.recvn(size - 7)
        if rtag != tag:
            raise AssertionError('reply tag %d for request tag %d' % (rtag, tag))
        if rt == 7:
            raise OSError(struct.unpack('<I', body[:4])[0], 'Rlerror for type %d' % t)
        if rt != t + 1:
            raise AssertionError('reply type %d for request type %d' % (rt, t))
        return body

    def version(self, msize=65536):
        b = self.rpc(100, struct.pack('<I', msize) + s('9P2000.L'), tag=0xffff)
        m, = struct.unpack('<I', b[:4])
        vl, = struct.unpack('<H', b[4:6])
        return m, b[6:6 + vl].decode()

    def attach(self, fid):
        self.rpc(104, struct.pack('<II', fid, 0xffffffff) + s('root') + s('') +
                 struct.pack('<I', 0))

    def walk(self, fid, newfid, names):
        self.rpc(110, struct.pack('<IIH', fid, newfid, len(names)) +
                 b''.join(s(x) for x in names))

    def lopen(self, fid, flags=0):
        self.rpc(12, struct.pack('<II', fid, flags))

    def read(self, fid, off, count):
        b = self.rpc(116, struct.pack('<IQI', fid, off, count))
        n, = struct.unpack('<I', b[:4])
        return b[4:4 + n]

    def clunk(self, fid):
        self.rpc(120, struct.pack('<I', fid))

HELLO = b'hello, world\n'

def read_file(c, fid=1):
    """attach as fid, read /file through fid+1; returns its content"""
    c.attach(fid)
    c.walk(fid, fid + 1, ['file'])
    c.lopen(fid + 1)
    data = c.read(fid + 1, 0, 4096)
    c.clunk(fid + 1)
    c.clunk(fid)
    return data

def connect(kind, where):
    if kind == 'unix':
        so = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        so.settimeout(SAFETY)
        so.connect(where)
    else:
        host, port = where.rsplit(':', 1)
        so = socket.create_connection((host, int(port)), timeout=SAFETY)
    return so

def session(kind, where):
    c = Client(connect(kind, where))
    m, v = c.version()
    assert v == '9P2000.L', 'version %r' % v
    data = read_file(c)
    assert data == HELLO, 'read %r' % data
    c.sock.close()

def expect_closed(so):
    """the server must close this connection: EOF or reset, never data"""
    so.settimeout(SAFETY)
    try:
        while True:
            d = so.recv(65536)
            if not d:
                return
            raise AssertionError('server answered a faulty frame with %d bytes' % len(d))
    except (ConnectionResetError, BrokenPipeError):
        return

def cmd_read(kind, where):
    session(kind, where)

def cmd_many(count, *targets):
    errors = []
    def one(kind, where):
        try:
            session(kind, where)
        except Exception as e:
            errors.append('%s %s: %r' % (kind, where, e))
    ts = []
    for i in range(int(count)):
        for t in targets:
            kind, where = t.split('=', 1)
            ts.append(threading.Thread(target=one, args=(kind, where)))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise AssertionError('; '.join(errors))

def cmd_garbage(kind, where, how):
    # A healthy connection opened first, with a fid attached.
    good = Client(connect(kind, where))
    good.version()
    good.attach(10)
    bad = connect(kind, where)
    if how == 'small':
        bad.sendall(struct.pack('<I', 3) + b'\x64\xff\xff' + b'junk' * 4)
    elif how == 'huge':
        bad.sendall(struct.pack('<I', 0xffffffff) + b'\x64\xff\xff' + b'junk' * 4)
    elif how == 'msize':
        # Negotiate a small msize, then send a frame just above it.
        bc = Client(bad)
        m, _ = bc.version(8192)
        assert m == 8192, 'negotiated msize %d' % m
        bad.sendall(struct.pack('<IBH', m + 1, 110, 1) + b'\0' * (m + 1 - 7))
    else:
        raise SystemExit('unknown garbage ' + how)
    expect_closed(bad)
    bad.close()
    # The other connection keeps its session and state.
    good.walk(10, 11, ['file'])
    good.lopen(11)
    data = good.read(11, 0, 4096)
    assert data == HELLO, 'read %r after the faulty client' % data
    good.sock.close()
    # And new connections are still accepted.
    session(kind, where)

def cmd_bigmsize(kind, where, cap):
    c = Client(connect(kind, where))
    m, _ = c.version(1 << 26)
    assert 8192 <= m <= int(cap), 'negotiated msize %d, cap %s' % (m, cap)
    data = read_file(c)
    assert data == HELLO
    c.sock.close()

def cmd_fd(binary, *extra):
    a, b = socket.socketpair()
    fd = b.fileno()
    p = subprocess.Popen([binary, '--synthetic', '--listen', 'fd:%d' % fd] + list(extra),
                         pass_fds=[fd])
    b.close()
    c = Client(a)
    m, v = c.version()
    assert v == '9P2000.L'
    assert read_file(c) == HELLO
    a.close()
    rc = p.wait(timeout=SAFETY)
    assert rc == 0, 'exit status %d after the connection ended' % rc

def cmd_fdfault(binary):
    a, b = socket.socketpair()
    fd = b.fileno()
    p = subprocess.Popen([binary, '--synthetic', '--listen', 'fd:%d' % fd], pass_fds=[fd])
    b.close()
    a.sendall(struct.pack('<I', 2))
    expect_closed(a)
    rc = p.wait(timeout=SAFETY)
    assert rc == 1, 'exit status %d after a faulty frame' % rc

def cmd_stale(path):
    so = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    so.bind(path)
    so.close()          # bound, never listened: a stale socket file

globals()['cmd_' + sys.argv[1]](*sys.argv[2:])
EOF

p9() { "$PY" "$tmp/p9.py" "$@"; }

# Starts the backend in the background with --ready-fd; sets $pid and
# $ready (the lines it reported).  Returns non-zero if it never got ready.
start() {
	rm -f "$tmp/ready.fifo"
	mkfifo "$tmp/ready.fifo"
	"$BIN" --ready-fd 3 "$@" 3>"$tmp/ready.fifo" 2>>"$tmp/log" &
	pid=$!
	pids="$pids $pid"
	ready=$(timeout 120 cat "$tmp/ready.fifo")
	echo "$ready" | grep -qx ready
}

# Waits for $1 to exit (with a safety net), leaves its status in $status.
reap() {
	# The watchdog must not keep a sleep holding our stdout (the TAP pipe).
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep 120 &
		s=$!
		wait "$s" && kill -9 "$1"
	) >/dev/null 2>&1 &
	dog=$!
	wait "$1"
	status=$?
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
}

# ---- options and refusals --------------------------------------------------

help_lists_all() {
	"$BIN" --help >"$tmp/help" || { echo "--help failed"; return 1; }
	missing=""
	for o in --listen --synthetic --trace --workers --max-fids --max-open-files \
		--max-connections --socket-mode --allow-remote --log-level --ready-fd \
		--export --security-model --readonly --multidevs unix: tcp: fd: \
		--max-locks --max-xattr-bytes --reply-timeout --version-timeout \
		--max-connections-per-peer --max-nodes --no-setid --sandbox --seccomp --worker-user \
		--socket-group --rlimit-nofile --log-target --syslog --record --version; do
		grep -q -e "$o" "$tmp/help" || missing="$missing $o"
	done
	[ -z "$missing" ] || { echo "missing from --help:$missing"; return 1; }
}
check "--help explains every option" help_lists_all

refused() { # refused PATTERN ARGS...: exits non-zero, message matches
	pat=$1; shift
	# Bounded: a daemon that accepts the arguments would serve for ever.
	if timeout 10 "$BIN" "$@" >"$tmp/out" 2>&1; then echo "accepted: $*"; return 1; fi
	grep -q -e "$pat" "$tmp/out" || { cat "$tmp/out"; return 1; }
}
check "a non-loopback tcp address is refused" \
	refused "loopback" --synthetic --listen tcp:192.0.2.1:5640
check "the wildcard tcp address is refused" \
	refused "loopback" --synthetic --listen tcp:0.0.0.0:0
check "a malformed listen address is refused" \
	refused "unknown address" --synthetic --listen udp:127.0.0.1:5
check "an --export option without --export is refused" \
	refused "needs --export" --synthetic --readonly --listen "unix:$tmp/never.sock"
check "--max-nodes without --export or --xen is refused" \
	refused "max-nodes needs --export or --xen" --synthetic --max-nodes 64 \
	--listen "unix:$tmp/never.sock"
check "--max-nodes below the helper's 16 is refused" \
	refused "at least 16" --export "$tmp" --security-model passthrough --max-nodes 8 \
	--listen "unix:$tmp/never.sock"

# ---- serving over unix and tcp ---------------------------------------------

sock=$tmp/x9p.sock
: >"$tmp/log"
if start --synthetic --listen "unix:$sock" --listen tcp:127.0.0.1:0; then
	ok "starts on unix and tcp:127.0.0.1:0 and reports ready"
else
	echo "$ready" >"$tmp/why"; cat "$tmp/log" >>"$tmp/why"
	notok "starts on unix and tcp:127.0.0.1:0 and reports ready"
fi
main_pid=$pid
tcp=$(echo "$ready" | sed -n 's/^listen tcp:\(127\.0\.0\.1:[0-9]*\)$/\1/p')
proctree_print "$main_pid"
check "the worker serving the clients is non-root, without capabilities, NoNewPrivs, seccomp, own mount namespace" \
	proctree_check_workers "$main_pid"

mode_is() { m=$(stat -c %a "$1") && [ "$m" = "$2" ] || { echo "mode $m"; return 1; }; }
check "the unix socket is created with mode 0600" mode_is "$sock" 600
check "9P session over the unix socket reads /file" p9 read unix "$sock"
check "the chosen tcp port was reported ($tcp)" test -n "$tcp" -a "${tcp##*:}" != 0
check "9P session over tcp reads /file" p9 read tcp "$tcp"
check "16 concurrent sessions over unix and tcp" p9 many 8 "unix=$sock" "tcp=$tcp"
check "msize is capped by the transport (1 MiB + 24)" p9 bigmsize unix "$sock" 1048600

check "a size field below 7 closes only that connection" p9 garbage unix "$sock" small
logged() { grep -E "$1" "$tmp/log" || { cat "$tmp/log"; return 1; }; }
check "the fault is logged with the connection label" \
	logged '(unix|tcp):[0-9]+: bad frame size 3 '
check "a size field of 4 GiB closes only that connection" p9 garbage tcp "$tcp" huge
check "a frame above the negotiated msize closes only that connection" \
	p9 garbage unix "$sock" msize

# ---- the worker: killed, and attacking from inside --------------------------

# What the worker program can call at all: no XenStore, no new processes.
worker_links() {
	w=$B/x9p-worker
	if readelf -d "$w" | grep -q 'NEEDED.*libxenstore'; then
		echo "$w needs libxenstore"; return 1
	fi
	bad=$(nm -D --undefined-only "$w" |
		grep -Ew '(xs_[a-z_]+|fork|vfork|clone|clone3|execve|execveat|execv|execvp|posix_spawn|posix_spawnp|system|popen|g_spawn_(async|sync|command_line)[a-z_]*)(@.*)?$')
	[ -z "$bad" ] || { echo "$w imports:"; echo "$bad"; return 1; }
}
check "x9p-worker links no XenStore library and nothing that starts a process" worker_links

worker_of() { pgrep -P "$1" -f '^x9p-backend: worker ' | head -n 1; }

# Another server, the "other guest": it must not notice anything below.
other_sock=$tmp/other.sock
start --synthetic --listen "unix:$other_sock" || echo "# the other server did not start"
other_pid=$pid

# Retries a read for a few seconds (a worker being restarted).
read_soon() {
	for i in $(seq 50); do
		p9 read unix "$1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	p9 read unix "$1"
}

killed_worker() {
	w=$(worker_of "$main_pid")
	[ -n "$w" ] || { echo "no worker"; proctree_print "$main_pid"; return 1; }
	kill -KILL "$w"
	p9 read unix "$other_sock" || { echo "the other server failed"; return 1; }
	read_soon "$sock" || return 1
	kill -0 "$main_pid" || { echo "the monitor is gone"; return 1; }
	[ "$(worker_of "$main_pid")" != "$w" ] || { echo "same worker"; return 1; }
	grep -q "worker .*(pid $w) died (killed by signal 9" "$tmp/log" ||
		{ echo "the monitor did not log it"; cat "$tmp/log"; return 1; }
}
check "a killed worker loses only its connections; the monitor restarts it, the other server never notices" \
	killed_worker

# attack N WHAT EXPECT: the test build's worker tries attack N after its
# lockdown (backend/worker/attack.h); EXPECT is "refused" (an error, the
# worker serves on) or "killed" (SIGSYS, the monitor logs it and starts a
# worker that does not attack).  Either way it must never succeed, the
# monitor and the other server go on, and the server serves again.
attack() {
	a=$1 expect=$3
	: >"$tmp/log"
	X9P_WORKER=$ATTACKER X9P_WORKER_ATTACK=$a \
		start --synthetic --listen "unix:$tmp/attack$a.sock" || { cat "$tmp/log"; return 1; }
	apid=$pid
	read_soon "$tmp/attack$a.sock" || { cat "$tmp/log"; return 1; }
	kill -0 "$apid" || { echo "the monitor died"; return 1; }
	p9 read unix "$other_sock" || { echo "the other server failed"; return 1; }
	kill -TERM "$apid"; reap "$apid"
	grep -q "self-attack $a .*: trying" "$tmp/log" || { echo "no attack"; cat "$tmp/log"; return 1; }
	! grep -q "SUCCEEDED" "$tmp/log" || { cat "$tmp/log"; return 1; }
	case $expect in
	refused) grep -q "self-attack $a .*: refused" "$tmp/log" ;;
	killed) grep -q "died (killed by signal 31" "$tmp/log" &&
		! grep -q "self-attack $a .*: refused" "$tmp/log" ;;
	esac || { echo "expected: $expect"; cat "$tmp/log"; return 1; }
}
if [ -x "$ATTACKER" ]; then
	for spec in "1:open a host file:refused" "2:connect to XenStore:refused" \
		"3:map a grant (open gntdev):refused" "4:bind an event channel (open evtchn):refused" \
		"5:ptrace the monitor:killed" "6:kill the monitor:killed" \
		"7:open an AF_INET socket:killed" "8:execve a shell:killed"; do
		IFS=: read -r a what expect <<-SPEC
		$spec
		SPEC
		check "self-attack $a: $what is $expect; monitor and other server unharmed" \
			attack "$a" "$what" "$expect"
	done
else
	for a in 1 2 3 4 5 6 7 8; do skip "self-attack $a" "$ATTACKER not built"; done
fi
kill -TERM "$other_pid"; reap "$other_pid"

stop_main() {
	kill -TERM "$main_pid" && reap "$main_pid"
	[ "$status" -eq 0 ] || { echo "exit status $status"; return 1; }
	[ ! -e "$sock" ] || { echo "$sock left behind"; return 1; }
}
check "SIGTERM stops it with status 0 and removes the socket" stop_main

# ---- unix socket details ---------------------------------------------------

sock2=$tmp/mode.sock
mode_and_stale() {
	p9 stale "$sock2" || return 1
	[ -S "$sock2" ] || { echo "no stale socket made"; return 1; }
	start --synthetic --listen "unix:$sock2" --socket-mode 0660 || return 1
	mode_is "$sock2" 660 || return 1
	p9 read unix "$sock2"
}
check "a stale socket is replaced and --socket-mode applies" mode_and_stale
second_pid=$pid
check "a second server on a live socket is refused" \
	refused "another server is listening" --synthetic --listen "unix:$sock2"
kill -TERM "$second_pid" 2>/dev/null && reap "$second_pid"

group_and_limit() {
	g=$(getent group daemon | cut -d: -f3)
	[ -n "$g" ] || { echo "no group daemon"; return 1; }
	start --synthetic --listen "unix:$tmp/group.sock" --socket-mode 0660 --socket-group daemon \
		--rlimit-nofile 4321 || return 1
	[ "$(stat -c %g "$tmp/group.sock")" = "$g" ] || { echo "group $(stat -c %g "$tmp/group.sock")"; return 1; }
	grep -q '^Max open files *4321 *4321 ' "/proc/$pid/limits" || { grep 'open files' "/proc/$pid/limits"; return 1; }
	p9 read unix "$tmp/group.sock"
	kill -TERM "$pid" && reap "$pid"
}
check "--socket-group and --rlimit-nofile apply" group_and_limit
check "an unknown --socket-group is refused" \
	refused "no group" --synthetic --listen "unix:$tmp/never.sock" --socket-group no-such-group-x9p

not_a_socket() {
	echo precious >"$tmp/file"
	refused "not a socket" --synthetic --listen "unix:$tmp/file" || return 1
	[ "$(cat "$tmp/file")" = precious ] || { echo "the file was touched"; return 1; }
}
check "a non-socket file at the path is refused and left alone" not_a_socket

# ---- inherited descriptor ----------------------------------------------------

check "fd:N serves a socketpair end and exits 0 when it closes" p9 fd "$BIN"
check "fd:N exits 1 after a faulty frame" p9 fdfault "$BIN"

# ---- a real Linux client, if the host kernel has one ---------------------------

mnt=""
have_9p() {
	[ "$(id -u)" -eq 0 ] || return 1
	grep -qw 9p /proc/filesystems 2>/dev/null ||
		{ modprobe 9p 2>/dev/null && modprobe 9pnet_fd 2>/dev/null; } || return 1
	grep -qw 9p /proc/filesystems
}
if have_9p; then
	mnt=$tmp/mnt
	mkdir -p "$mnt"
	host_mount() {
		start --synthetic --listen "unix:$tmp/mnt.sock" || return 1
		mount -t 9p -o trans=unix,version=9p2000.L,msize=262144 "$tmp/mnt.sock" "$mnt" ||
			return 1
		got=$(cat "$mnt/file")
		umount "$mnt"
		kill -TERM "$pid"; reap "$pid"
		[ "$got" = "hello, world" ] || { echo "read '$got'"; return 1; }
	}
	check "the host kernel mounts it with trans=unix and reads /file" host_mount
else
	skip "the host kernel mounts it with trans=unix" "host: the kernel has no 9p/9pnet_fd client (the guest tiers mount x9p with it)"
fi

[ "$n" -eq "$planned" ] || echo "# planned $planned checks, ran $n"
