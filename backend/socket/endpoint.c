// SPDX-License-Identifier: GPL-2.0-or-later
/* Opening what a --listen address names; see socket.h. */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socket/socket.h"

/* An inherited listening socket (socket activation) is accepted on. */
static bool inherited_listener(int fd, bool allow_remote, struct x9p_sock_endpoint *ep,
			       GError **err)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "fd:%d: getsockname: %s", fd, g_strerror(e));
		return false;
	}
	if (sa.ss_family == AF_UNIX) {
		ep->family = "unix";
	} else if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
		ep->family = "tcp";
		if (!allow_remote && !x9p_sock_sockaddr_is_loopback(&sa, sl)) {
			g_set_error(err, X9P_SOCK_ERROR, EACCES,
				    "fd:%d: a listening socket on a non-loopback address; "
				    "refused without --allow-remote", fd);
			return false;
		}
	} else {
		g_set_error(err, X9P_SOCK_ERROR, EAFNOSUPPORT,
			    "fd:%d: listening socket of an unsupported family", fd);
		return false;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "fd:%d: fcntl: %s", fd, g_strerror(e));
		return false;
	}
	ep->listening = true;
	ep->rfd = ep->wfd = fd;
	ep->bound = g_strdup_printf("fd:%d", fd);
	return true;
}

static bool check_fd(int fd, int want_acc, bool *listening, GError **err)
{
	int fl = fcntl(fd, F_GETFL), type, acc;
	socklen_t tl = sizeof(type);

	*listening = false;
	if (fl < 0) {
		g_set_error(err, X9P_SOCK_ERROR, EBADF, "fd:%d: not an open descriptor", fd);
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) {
		if (type != SOCK_STREAM) {
			g_set_error(err, X9P_SOCK_ERROR, EPROTOTYPE,
				    "fd:%d: a socket, but not a stream socket", fd);
			return false;
		}
		tl = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &tl) == 0 && acc)
			*listening = true;
		return true;
	}
	acc = fl & O_ACCMODE;
	if (acc != O_RDWR && acc != want_acc) {
		g_set_error(err, X9P_SOCK_ERROR, EBADF, "fd:%d: not open for %s", fd,
			    want_acc == O_RDONLY ? "reading" : "writing");
		return false;
	}
	return true;
}

static bool setup_fd(int fd, GError **err)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "fd:%d: fcntl: %s", fd, g_strerror(e));
		return false;
	}
	return true;
}

static bool open_fd(const struct x9p_sock_addr *a, bool allow_remote,
		    struct x9p_sock_endpoint *ep, GError **err)
{
	bool rlisten, wlisten;

	if (!check_fd(a->rfd, O_RDONLY, &rlisten, err) ||
	    !check_fd(a->wfd, O_WRONLY, &wlisten, err))
		return false;
	if (rlisten || wlisten) {
		if (a->rfd != a->wfd) {
			g_set_error(err, X9P_SOCK_ERROR, EINVAL,
				    "fd:%d,%d: a listening socket is given as fd:N alone",
				    a->rfd, a->wfd);
			return false;
		}
		return inherited_listener(a->rfd, allow_remote, ep, err);
	}
	if (!setup_fd(a->rfd, err) || (a->wfd != a->rfd && !setup_fd(a->wfd, err)))
		return false;
	ep->family = "fd";
	ep->rfd = a->rfd;
	ep->wfd = a->wfd;
	ep->bound = a->rfd == a->wfd ? g_strdup_printf("fd:%d", a->rfd) :
				       g_strdup_printf("fd:%d,%d", a->rfd, a->wfd);
	return true;
}

bool x9p_sock_endpoint_open(const struct x9p_sock_addr *a, unsigned unix_mode,
			    bool allow_remote, struct x9p_sock_endpoint *ep, GError **err)
{
	struct stat st;
	uint16_t port = 0;
	int fd;

	memset(ep, 0, sizeof(*ep));
	ep->rfd = ep->wfd = -1;
	switch (a->kind) {
	case X9P_SOCK_UNIX:
		fd = x9p_sock_listen_unix(a->path, unix_mode ? unix_mode : X9P_SOCK_DEFAULT_MODE,
					  err);
		if (fd < 0)
			return false;
		ep->listening = true;
		ep->family = "unix";
		ep->rfd = ep->wfd = fd;
		ep->bound = g_strdup_printf("unix:%s", a->path);
		if (lstat(a->path, &st) == 0) {
			ep->path = g_strdup(a->path);
			ep->dev = st.st_dev;
			ep->ino = st.st_ino;
		}
		return true;
	case X9P_SOCK_TCP:
		fd = x9p_sock_listen_tcp(a->host, a->port, allow_remote, &port, err);
		if (fd < 0)
			return false;
		ep->listening = true;
		ep->family = "tcp";
		ep->rfd = ep->wfd = fd;
		ep->bound = strchr(a->host, ':') ? g_strdup_printf("tcp:[%s]:%u", a->host, port) :
						   g_strdup_printf("tcp:%s:%u", a->host, port);
		return true;
	case X9P_SOCK_FD:
		return open_fd(a, allow_remote, ep, err);
	}
	g_set_error(err, X9P_SOCK_ERROR, EINVAL, "unknown address kind");
	return false;
}

void x9p_sock_endpoint_clear(struct x9p_sock_endpoint *ep)
{
	struct stat st;

	if (ep->rfd >= 0)
		close(ep->rfd);
	if (ep->wfd >= 0 && ep->wfd != ep->rfd)
		close(ep->wfd);
	ep->rfd = ep->wfd = -1;
	/* Someone may have replaced the socket meanwhile; leave theirs alone. */
	if (ep->path && lstat(ep->path, &st) == 0 && st.st_dev == ep->dev && st.st_ino == ep->ino)
		unlink(ep->path);
	g_clear_pointer(&ep->path, g_free);
	g_clear_pointer(&ep->bound, g_free);
}
