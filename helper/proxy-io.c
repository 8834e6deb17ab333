/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sending and receiving one proxy message (one SOCK_SEQPACKET datagram)
 * with at most one descriptor.  The receive side never lets a descriptor
 * it did not ask for stay open.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proxy.h"

int x9p_px_send(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SEQPACKET sends all or nothing. */
	return (size_t)n == len ? 0 : -EIO;
}

/* Closes every descriptor carried by the control messages of mh. */
static int collect_fds(struct msghdr *mh, int *fd)
{
	struct cmsghdr *c;
	int n = 0;

	*fd = -1;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n == 0)
				*fd = f;
			else
				close(f);
			n++;
		}
	}
	return n;
}

int x9p_px_recv(int sock, void *buf, size_t cap, size_t *len, int *fd)
{
	/* Room for a few descriptors, so that a surplus is seen and closed. */
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(8 * sizeof(int))];
	} u;
	struct iovec iov = { buf, cap };
	struct msghdr mh;
	ssize_t n;
	int nfds;

	*len = 0;
	*fd = -1;
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0)
		return -errno;
	nfds = collect_fds(&mh, fd);
	if (n == 0 && nfds == 0)
		return 1;
	*len = (size_t)n;
	if (mh.msg_flags & MSG_TRUNC) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		*len = cap;
		return -EMSGSIZE;
	}
	if ((mh.msg_flags & MSG_CTRUNC) || nfds > 1) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EBADMSG;
	}
	return 0;
}
