/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listen-address syntax ("unix:", "tcp:", "fd:") and the loopback test. */
#define G_LOG_DOMAIN "x9p-socket"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "socket/socket.h"

G_DEFINE_QUARK(x9p-socket-error-quark, x9p_sock_error)

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_fds(const char *text, const char *s, struct x9p_sock_addr *a, GError **err)
{
	const char *comma = strchr(s, ',');
	unsigned long r, w;
	bool ok;

	if (comma) {
		char *rs = g_strndup(s, comma - s);

		ok = parse_uint(rs, INT_MAX, &r) && parse_uint(comma + 1, INT_MAX, &w);
		g_free(rs);
	} else {
		ok = parse_uint(s, INT_MAX, &r);
		w = r;
	}
	if (!ok) {
		g_set_error(err, X9P_SOCK_ERROR, EINVAL,
			    "%s: expected fd:N or fd:READFD,WRITEFD with decimal descriptor numbers",
			    text);
		return false;
	}
	a->rfd = (int)r;
	a->wfd = (int)w;
	return true;
}

static bool parse_tcp(const char *text, const char *s, struct x9p_sock_addr *a, GError **err)
{
	const char *colon;
	char *host;
	unsigned long port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		host = g_strndup(s + 1, close - s - 1);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		host = g_strndup(s, colon - s);
		if (strchr(host, ':')) {
			g_free(host);
			goto bad;
		}
	}
	if (!parse_uint(colon + 1, 65535, &port) || !host[0]) {
		g_free(host);
		goto bad;
	}
	if (strcmp(host, "localhost") == 0) {
		g_free(host);
		host = g_strdup("127.0.0.1");
	}
	a->host = host;
	a->port = (uint16_t)port;
	return true;
bad:
	g_set_error(err, X9P_SOCK_ERROR, EINVAL,
		    "%s: expected tcp:HOST:PORT (e.g. tcp:127.0.0.1:5640, tcp:[::1]:0)", text);
	return false;
}

bool x9p_sock_addr_parse(const char *text, struct x9p_sock_addr *a, GError **err)
{
	memset(a, 0, sizeof(*a));
	a->rfd = a->wfd = -1;

	if (g_str_has_prefix(text, "unix:")) {
		const char *path = text + 5;

		a->kind = X9P_SOCK_UNIX;
		if (!path[0]) {
			g_set_error(err, X9P_SOCK_ERROR, EINVAL,
				    "%s: the unix socket path is empty", text);
			return false;
		}
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			g_set_error(err, X9P_SOCK_ERROR, EINVAL,
				    "%s: the unix socket path is longer than %zu bytes", text,
				    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return false;
		}
		a->path = g_strdup(path);
		return true;
	}
	if (g_str_has_prefix(text, "tcp:")) {
		a->kind = X9P_SOCK_TCP;
		return parse_tcp(text, text + 4, a, err);
	}
	if (g_str_has_prefix(text, "fd:")) {
		a->kind = X9P_SOCK_FD;
		return parse_fds(text, text + 3, a, err);
	}
	g_set_error(err, X9P_SOCK_ERROR, EINVAL,
		    "%s: unknown address; use unix:PATH, tcp:127.0.0.1:PORT or fd:N", text);
	return false;
}

void x9p_sock_addr_clear(struct x9p_sock_addr *a)
{
	g_clear_pointer(&a->path, g_free);
	g_clear_pointer(&a->host, g_free);
}

bool x9p_sock_sockaddr_is_loopback(const void *sa, unsigned salen)
{
	const struct sockaddr *s = sa;

	if (salen >= sizeof(struct sockaddr_in) && s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (salen >= sizeof(struct sockaddr_in6) && s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		       in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}
