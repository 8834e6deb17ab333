/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sockpairs BYTES FIRSTFD N COMMAND [ARG...]
 *
 * Runs COMMAND with N connected unix stream socket pairs: pair k on
 * descriptors FIRSTFD+2k (the 9P server's end) and FIRSTFD+2k+1 (QEMU's
 * end), inheritable, each end with a send buffer of BYTES.
 *
 * Why the test guests need it: a virtconsole is a lossy channel.  When its
 * chardev socket would block, QEMU drops what the guest wrote instead of
 * throttling the port (hw/char/virtio-console.c, flush_buf: console ports
 * are never throttled, because the guest's hvc driver writes with a spin
 * lock held), and the guest cannot tell.  A 9P server that falls behind
 * for a moment on a loaded host then loses part of a Twrite and both sides
 * wait for ever.  On a unix stream socket what may wait unread is bounded
 * by the sender's send buffer, which QEMU leaves at the system default
 * (about 200 KiB, a few milliseconds of a busy guest); with BYTES in its
 * place the server may stall for seconds without a byte lost.  As root the
 * size is forced past net.core.wmem_max (SO_SNDBUFFORCE); otherwise the
 * largest allowed is taken and a warning says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "sockpairs: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (int)v;
}

static void set_sndbuf(int fd, int bytes)
{
	int got;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len) < 0) {
		perror("sockpairs: SO_SNDBUF");
		exit(125);
	}
	/* The kernel reports twice what it was asked (bookkeeping overhead). */
	if (got / 2 < bytes)
		fprintf(stderr, "sockpairs: send buffer %d bytes, not %d (not root); "
			"a stalled server may make the guest's console lose data\n", got / 2, bytes);
}

int main(int argc, char **argv)
{
	int bytes, first, n;

	if (argc < 5) {
		fprintf(stderr, "usage: sockpairs BYTES FIRSTFD N COMMAND [ARG...]\n");
		return 2;
	}
	bytes = number(argv[1], 4096, INT_MAX / 2, "size");
	first = number(argv[2], 3, 1000, "descriptor");
	n = number(argv[3], 1, 64, "count");
	for (int k = 0; k < n; k++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
			perror("sockpairs: socketpair");
			return 125;
		}
		for (int e = 0; e < 2; e++) {
			int want = first + 2 * k + e;

			set_sndbuf(sv[e], bytes);
			if (sv[e] == want)
				continue;
			/* Never clobber a descriptor the caller left open. */
			if (fcntl(want, F_GETFD) >= 0) {
				fprintf(stderr, "sockpairs: descriptor %d is already open\n", want);
				return 125;
			}
			if (dup2(sv[e], want) < 0) {
				perror("sockpairs: dup2");
				return 125;
			}
			close(sv[e]);
		}
	}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "sockpairs: %s: %s\n", argv[4], strerror(errno));
	return 127;
}
