/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listening sockets: unix (stale-path replacement, mode) and TCP (loopback). */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "socket/socket.h"

#define LISTEN_BACKLOG 64

/* Error with errno e as code, the message followed by ": strerror(e)". */
static void G_GNUC_PRINTF(3, 4) set_errno_error(GError **err, int e, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, X9P_SOCK_ERROR, e, "%s: %s", msg, g_strerror(e));
	g_free(msg);
}

/*
 * A leftover socket file from a server that is gone refuses connections;
 * a live one accepts.  Only the former may be replaced.
 */
static int probe_unix(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r, e;

	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	return r == 0 ? 0 : -e;
}

int x9p_sock_listen_unix(const char *path, unsigned mode, GError **err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, tries;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(err, X9P_SOCK_ERROR, EINVAL,
			    "%s: unix socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_errno_error(err, errno, "%s: socket", path);
		return -1;
	}
	for (tries = 0;; tries++) {
		int r;

		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		if (errno != EADDRINUSE || tries > 0) {
			set_errno_error(err, errno, "%s: bind", path);
			goto fail;
		}
		if (lstat(path, &st) < 0)
			continue; /* vanished meanwhile: just retry */
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(err, X9P_SOCK_ERROR, EEXIST,
				    "%s: exists and is not a socket; not replacing it", path);
			goto fail;
		}
		r = probe_unix(&sun);
		if (r == 0) {
			g_set_error(err, X9P_SOCK_ERROR, EADDRINUSE,
				    "%s: another server is listening on this socket", path);
			goto fail;
		}
		if (r != -ECONNREFUSED) {
			set_errno_error(err, -r, "%s: cannot tell whether the socket is stale",
					path);
			goto fail;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			set_errno_error(err, errno, "%s: removing the stale socket", path);
			goto fail;
		}
		g_info("unix:%s: replaced a stale socket", path);
	}
	/* Not listening yet, so nobody can connect before the mode is right. */
	if (chmod(path, mode & 07777) < 0) {
		set_errno_error(err, errno, "%s: chmod", path);
		unlink(path);
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		set_errno_error(err, errno, "%s: listen", path);
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int x9p_sock_listen_tcp(const char *host, uint16_t port, bool allow_remote,
			uint16_t *bound_port, GError **err)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[8];
	int fd = -1, r, one = 1;

	g_snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0 || !res) {
		g_set_error(err, X9P_SOCK_ERROR, EINVAL,
			    "tcp:%s: not a numeric IP address (%s)", host,
			    r ? gai_strerror(r) : "no result");
		goto out;
	}
	if (!allow_remote && !x9p_sock_sockaddr_is_loopback(res->ai_addr, res->ai_addrlen)) {
		g_set_error(err, X9P_SOCK_ERROR, EACCES,
			    "tcp:%s: not a loopback address; 9P has no authentication or "
			    "encryption, so TCP is served only on 127.0.0.1 or ::1 unless "
			    "--allow-remote is given", host);
		goto out;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_errno_error(err, errno, "tcp:%s: socket", host);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "tcp:%s:%u: bind: %s",
			    host, port, g_strerror(e));
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		set_errno_error(err, errno, "tcp:%s: listen", host);
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		set_errno_error(err, errno, "tcp:%s: getsockname", host);
		goto fail;
	}
	if (bound_port)
		*bound_port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
	goto out;
fail:
	close(fd);
	fd = -1;
out:
	if (res)
		freeaddrinfo(res);
	return fd;
}
