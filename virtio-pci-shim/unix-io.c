// SPDX-License-Identifier: GPL-2.0-or-later
/* Socket I/O with descriptor passing; see unix-io.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unix-io.h"

/* Room for the most descriptors a sender can pass in one call (SCM_MAX_FD),
 * so that up to that many are counted and closed rather than truncated. */
#define UIO_CTL_FDS 253

ssize_t uio_recv_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds,
		     bool *excess)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * UIO_CTL_FDS)];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	*nfds = 0;
	*excess = false;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < max_fds) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				*excess = true;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		/* The kernel closed what did not fit; close what did. */
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return n;
}

int uio_read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { sock, POLLIN, 0 };
			int r = poll(&p, 1, UIO_STALL_MS);

			if (r == 0)
				return -ETIMEDOUT;
			if (r < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		got += (size_t)n;
	}
	return 0;
}

int uio_send_all(int sock, const struct iovec *iov, int iovcnt, const int *fds, int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * UIO_CTL_FDS)];
	} ctl;
	struct iovec v[8];
	struct msghdr mh = { .msg_iov = v };

	if (iovcnt < 0 || iovcnt > 8 || nfds < 0 || nfds > UIO_CTL_FDS)
		return -EINVAL;
	memcpy(v, iov, sizeof(*iov) * (size_t)iovcnt);
	mh.msg_iovlen = (size_t)iovcnt;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* Descriptors went with the first byte; skip what was sent. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		left = (size_t)n;
		while (mh.msg_iovlen && left >= mh.msg_iov->iov_len) {
			left -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (!mh.msg_iovlen)
			return 0;
		mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + left;
		mh.msg_iov->iov_len -= left;
	}
}

void uio_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int uio_take_fd(int *fds, int n, int i)
{
	int fd;

	if (i < 0 || i >= n)
		return -1;
	fd = fds[i];
	fds[i] = -1;
	return fd;
}
