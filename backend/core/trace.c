// SPDX-License-Identifier: GPL-2.0-or-later
/* Message trace writer; the format is documented in trace.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "core/trace.h"

struct x9p_trace {
	FILE *f;
	GMutex lock;
};

int x9p_trace_file(const char *path)
{
	/* Traces hold file contents and names: the daemon's user only. */
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
}

struct x9p_trace *x9p_trace_open(const char *path)
{
	int fd = x9p_trace_file(path);

	return fd < 0 ? NULL : x9p_trace_open_fd(fd);
}

struct x9p_trace *x9p_trace_open_fd(int fd)
{
	struct x9p_trace *t;
	FILE *f = fdopen(fd, "ae");

	if (!f) {
		close(fd);
		return NULL;
	}
	t = g_new0(struct x9p_trace, 1);
	t->f = f;
	g_mutex_init(&t->lock);
	fprintf(f, "# x9p trace v1: time dir channel len hex-frame\n");
	fflush(f);
	return t;
}

void x9p_trace_close(struct x9p_trace *t)
{
	if (!t)
		return;
	fclose(t->f);
	g_mutex_clear(&t->lock);
	g_free(t);
}

void x9p_trace_msg(struct x9p_trace *t, char dir, const char *channel,
		   const struct iovec *iov, int iovcnt)
{
	static const char hex[] = "0123456789abcdef";
	struct timespec ts;
	size_t len = 0;
	GString *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	line = g_string_sized_new(64 + 2 * len);
	g_string_append_printf(line, "%lld.%09ld %c %s %zu ", (long long)ts.tv_sec,
			       ts.tv_nsec, dir, channel, len);
	for (int i = 0; i < iovcnt; i++) {
		const unsigned char *p = iov[i].iov_base;
		for (size_t j = 0; j < iov[i].iov_len; j++) {
			g_string_append_c(line, hex[p[j] >> 4]);
			g_string_append_c(line, hex[p[j] & 15]);
		}
	}
	g_string_append_c(line, '\n');
	g_mutex_lock(&t->lock);
	fwrite(line->str, 1, line->len, t->f);
	fflush(t->f);
	g_mutex_unlock(&t->lock);
	g_string_free(line, TRUE);
}
