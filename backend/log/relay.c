// SPDX-License-Identifier: GPL-2.0-or-later
/* Passes a child's log lines to the daemon's writer; see relay.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "log/log.h"
#include "log/relay.h"

#define LINE_MAX_BYTES 1024
#define BURST 200.0             /* lines */
#define RATE 20.0               /* lines a second, after the burst */

struct relay {
	int fd;
	pid_t pid;
	char *name, *device;
	double tokens;
	gint64 last;                 /* when tokens was last refilled */
	unsigned dropped;
};

/* Whether one more line may pass (a token bucket). */
static bool may_pass(struct relay *r)
{
	gint64 now = g_get_monotonic_time();

	r->tokens = MIN(BURST, r->tokens + (double)(now - r->last) * RATE / G_USEC_PER_SEC);
	r->last = now;
	if (r->tokens < 1) {
		r->dropped++;
		return false;
	}
	r->tokens -= 1;
	if (r->dropped) {
		char *note = g_strdup_printf("warning: %u lines dropped: the process logs faster "
					     "than %.0f lines a second", r->dropped, RATE);

		x9p_log_child_line(r->name, r->pid, r->device, note, strlen(note));
		g_free(note);
		r->dropped = 0;
	}
	return true;
}

static void put_line(struct relay *r, const char *s, size_t len)
{
	char out[LINE_MAX_BYTES];
	size_t nl = strlen(r->name), o = 0;
	const char *p = memchr(s, ']', MIN(len, nl + 16));

	/* The child's own "NAME[PID]: " names its pid in its own namespace. */
	if (len > nl + 1 && memcmp(s, r->name, nl) == 0 && s[nl] == '[' && p &&
	    p + 2 < s + len && p[1] == ':' && p[2] == ' ') {
		len -= (size_t)(p + 3 - s);
		s = p + 3;
	}
	if (!may_pass(r))
		return;
	for (size_t i = 0; i < len && i < LINE_MAX_BYTES; i++)
		out[o++] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	x9p_log_child_line(r->name, r->pid, r->device, out, o);
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
	/* Gone quiet or dead after a flood: its count still goes out. */
	if (r->dropped) {
		r->tokens = 1;
		r->last = g_get_monotonic_time();
		may_pass(r);
	}
	close(r->fd);
	g_free(r->name);
	g_free(r->device);
	g_free(r);
	return NULL;
}

void x9p_log_relay_start(int rfd, const char *name, pid_t pid, const char *device)
{
	struct relay *r = g_new0(struct relay, 1);
	GThread *t;

	r->fd = rfd;
	r->pid = pid;
	r->name = g_strdup(name);
	r->device = g_strdup(device);
	r->tokens = BURST;
	r->last = g_get_monotonic_time();
	t = g_thread_try_new("x9p-log-relay", relay_thread, r, NULL);
	if (t) {
		g_thread_unref(t);
	} else {
		close(rfd);
		g_free(r->name);
		g_free(r->device);
		g_free(r);
	}
}
