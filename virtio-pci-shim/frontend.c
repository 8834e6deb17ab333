// SPDX-License-Identifier: GPL-2.0-or-later
/* Accepting frontends one after the other; see frontend.h. */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "frontend.h"

int vhost_fd_is_listener(int fd)
{
	int type, acc;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM)
		return -ENOTSOCK;
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		return -errno;
	return acc != 0;
}

/* Messages are read whole with blocking reads once poll() saw their first
 * bytes (a peer that stalls in the middle is dropped: unix-io.h). */
static void make_blocking(int sock)
{
	int fl = fcntl(sock, F_GETFL);

	if (fl >= 0)
		fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
}

int frontend_wait(int sock, int stop_fd, int reject_fd, int event_fd, const char *label)
{
	struct pollfd p[4] = { { sock, POLLIN, 0 }, { stop_fd, POLLIN, 0 },
			       { reject_fd, POLLIN, 0 }, { event_fd, POLLIN, 0 } };

	for (;;) {
		int fd;

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			return FRONTEND_STOP;
		if (p[3].revents)
			return FRONTEND_EVENT;
		if (p[0].revents)
			return FRONTEND_MESSAGE;
		if (p[2].revents &&
		    (fd = accept4(reject_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
			g_warning("%s: refused a second frontend connection", label);
			close(fd);
		}
	}
}

int vhost_serve_connection(frontend_serve_fn serve, void *dev, int sock, int stop_fd)
{
	make_blocking(sock);
	return serve(dev, sock, stop_fd, -1);
}

int vhost_serve_listener(frontend_serve_fn serve, void *dev, int listen_fd, int stop_fd)
{
	struct pollfd p[2] = { { listen_fd, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };

	for (;;) {
		int fd, err;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			return 0;
		if (!p[0].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				continue;
			g_critical("accept: %s", g_strerror(errno));
			return -errno;
		}
		make_blocking(fd);
		g_info("frontend connected");
		err = serve(dev, fd, stop_fd, listen_fd);
		if (err < 0)
			g_warning("frontend connection ended: %s; waiting for the next one",
				  g_strerror(-err));
		else
			g_info("waiting for the next frontend");
	}
}
