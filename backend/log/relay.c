// SPDX-License-Identifier: GPL-2.0-or-later
/* Copies a child's log lines to stderr; see relay.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "log/relay.h"

#define LINE_MAX_BYTES 1024

struct relay {
	int fd;
	pid_t pid;
	char *name;
};

static void put_line(const struct relay *r, const char *s, size_t len)
{
	char out[LINE_MAX_BYTES + 128];
	size_t nl = strlen(r->name), o;
	const char *p = memchr(s, ']', MIN(len, nl + 16));

	/* The child's own "NAME[PID]: " names its pid in its own namespace. */
	if (len > nl + 1 && memcmp(s, r->name, nl) == 0 && s[nl] == '[' && p &&
	    p + 2 < s + len && p[1] == ':' && p[2] == ' ') {
		len -= (size_t)(p + 3 - s);
		s = p + 3;
	}
	o = (size_t)g_snprintf(out, 96, "%s[%d]: ", r->name, (int)r->pid);
	for (size_t i = 0; i < len && i < LINE_MAX_BYTES; i++)
		out[o++] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	out[o++] = '\n';
	/* One write: lines of several writers never interleave. */
	if (write(STDERR_FILENO, out, o) < 0)
		return;
}

static gpointer relay_thread(gpointer data)
{
	struct relay *r = data;
	char buf[LINE_MAX_BYTES + 1];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(r->fd, buf + have, sizeof(buf) - have);
		char *start = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		while ((nl = memchr(start, '\n', (size_t)(buf + have - start)))) {
			put_line(r, start, (size_t)(nl - start));
			start = nl + 1;
		}
		have = (size_t)(buf + have - start);
		memmove(buf, start, have);
		if (have == sizeof(buf)) {
			put_line(r, buf, have);   /* overlong: cut */
			have = 0;
		}
	}
	if (have)
		put_line(r, buf, have);
	close(r->fd);
	g_free(r->name);
	g_free(r);
	return NULL;
}

void x9p_log_relay_start(int rfd, const char *name, pid_t pid)
{
	struct relay *r = g_new(struct relay, 1);
	GThread *t;

	r->fd = rfd;
	r->pid = pid;
	r->name = g_strdup(name);
	t = g_thread_try_new("x9p-log-relay", relay_thread, r, NULL);
	if (t) {
		g_thread_unref(t);
	} else {
		close(rfd);
		g_free(r->name);
		g_free(r);
	}
}
