/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole-buffer writes and cancellable waits on non-blocking descriptors. */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket/socket.h"
#include "socket/socket-int.h"

int x9p_sock_wait(int fd, short events, int cancel_fd)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = events },
		{ .fd = cancel_fd, .events = POLLIN },
	};

	for (;;) {
		int r = poll(p, cancel_fd >= 0 ? 2 : 1, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (cancel_fd >= 0 && p[1].revents)
			return -ECANCELED;
		if (p[0].revents & POLLNVAL)
			return -EBADF;
		/* POLLERR/POLLHUP: the next read or write reports what happened. */
		if (p[0].revents)
			return 0;
	}
}

int x9p_sock_writev_all(int fd, bool is_socket, const struct iovec *iov, int iovcnt,
			int cancel_fd)
{
	struct iovec stack[16], *v = stack;
	int n = 0, i, ret = 0;

	if (iovcnt <= 0)
		return 0;
	if (iovcnt > (int)G_N_ELEMENTS(stack))
		v = g_new(struct iovec, iovcnt);
	/* Our own copy, because short writes advance it. */
	for (i = 0; i < iovcnt; i++)
		if (iov[i].iov_len)
			v[n++] = iov[i];

	i = 0;
	while (i < n) {
		int cnt = MIN(n - i, IOV_MAX);
		ssize_t w;

		if (is_socket) {
			struct msghdr mh = { .msg_iov = v + i, .msg_iovlen = cnt };

			w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		} else {
			w = writev(fd, v + i, cnt);
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ret = x9p_sock_wait(fd, POLLOUT, cancel_fd);
				if (ret < 0)
					break;
				continue;
			}
			ret = -errno;
			break;
		}
		if (w == 0) {
			/* A write that makes no progress would spin forever. */
			ret = -EPIPE;
			break;
		}
		while (i < n && (size_t)w >= v[i].iov_len) {
			w -= v[i].iov_len;
			i++;
		}
		if (i < n) {
			v[i].iov_base = (uint8_t *)v[i].iov_base + w;
			v[i].iov_len -= w;
		}
	}
	if (v != stack)
		g_free(v);
	return ret;
}
