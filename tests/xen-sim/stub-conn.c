// SPDX-License-Identifier: GPL-2.0-or-later
/* Client side of the simulated-Xen protocol; see stub-conn.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub-conn.h"

int sim_recv(int sock, struct sim_hdr *h, char **data, int *fds, int *nfds, int nonblock)
{
	char *buf = malloc(SIM_MAX_MSG + 1);
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * SIM_MAX_FDS)];
	} cbuf;
	struct iovec iov = { buf, SIM_MAX_MSG };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	ssize_t n;
	int got = 0;

	if (!buf)
		return -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (nonblock ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		free(buf);
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (int i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fds && got < SIM_MAX_FDS)
					fds[got++] = fd;
				else
					close(fd);
			}
		}
	}
	if (nfds)
		*nfds = got;
	if ((size_t)n < sizeof(*h)) {
		free(buf);
		errno = EPROTO;
		return -1;
	}
	memcpy(h, buf, sizeof(*h));
	if (h->len != (size_t)n - sizeof(*h)) {
		free(buf);
		errno = EPROTO;
		return -1;
	}
	if (data) {
		memmove(buf, buf + sizeof(*h), h->len);
		buf[h->len] = 0;
		*data = buf;
	} else {
		free(buf);
	}
	return 0;
}

int sim_call(int sock, uint32_t op, const uint32_t a[4], const void *data, size_t len,
	     struct sim_hdr *rh, char **rdata, int *rfds, int *nrfds)
{
	struct sim_hdr h = { .op = op, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (len > SIM_MAX_MSG - sizeof(h)) {
		errno = E2BIG;
		return -1;
	}
	if (a)
		memcpy(h.a, a, sizeof(h.a));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (sim_recv(sock, rh, rdata, rfds, nrfds, 0) < 0)
		return -1;
	if (rh->op != op) {
		if (rdata)
			free(*rdata);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int sim_connect(uint32_t role, uint32_t link, uint32_t *id)
{
	const char *path = getenv(SIM_ENV_SOCK);
	const char *dom = getenv(SIM_ENV_DOMID);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint32_t a[4] = { dom ? (uint32_t)strtoul(dom, NULL, 10) : 0, role, link, 0 };
	struct sim_hdr rh;
	int s;

	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENOENT;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    sim_call(s, SIM_HELLO, a, NULL, 0, &rh, NULL, NULL, NULL) < 0) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	if (rh.err) {
		close(s);
		errno = rh.err;
		return -1;
	}
	if (id)
		*id = rh.a[0];
	return s;
}
