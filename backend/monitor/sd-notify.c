// SPDX-License-Identifier: GPL-2.0-or-later
/* systemd's notification protocol; see sd-notify.h.  Written here rather
 * than taken from libsystemd: it is one datagram, and the daemons run
 * under sysvinit and in containers as well. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/sd-notify.h"

bool x9p_sd_notify(const char *fmt, ...)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = path ? strlen(path) : 0;
	socklen_t len;
	va_list ap;
	char *msg;
	ssize_t sent;
	int fd;

	if (n < 2 || n >= sizeof(sun.sun_path) || (path[0] != '/' && path[0] != '@'))
		return false;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = 0;    /* an abstract name */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	do
		sent = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		g_debug("NOTIFY_SOCKET %s: %s", path, g_strerror(errno));
	close(fd);
	g_free(msg);
	return sent >= 0;
}

bool x9p_sd_notify_reloading(const char *status)
{
	return x9p_sd_notify("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT "\nSTATUS=%s",
			     g_get_monotonic_time(), status);
}
