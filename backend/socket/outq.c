// SPDX-License-Identifier: GPL-2.0-or-later
/* A connection's reply queue (outq.h). */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket/outq.h"

struct outq_chunk {
	size_t len, off;
	uint8_t data[];
};

void x9p_outq_init(struct x9p_outq *q, int fd, bool is_socket, int kick_fd, size_t hard_max)
{
	memset(q, 0, sizeof(*q));
	g_mutex_init(&q->lock);
	g_queue_init(&q->chunks);
	q->fd = fd;
	q->is_socket = is_socket;
	q->kick_fd = kick_fd;
	q->hard_max = hard_max;
}

static void drop_all_locked(struct x9p_outq *q)
{
	struct outq_chunk *ch;

	while ((ch = g_queue_pop_head(&q->chunks)))
		g_free(ch);
	q->bytes = 0;
}

void x9p_outq_clear(struct x9p_outq *q)
{
	drop_all_locked(q);
	g_mutex_clear(&q->lock);
}

/* One non-blocking write; bytes written, 0 when the fd takes nothing now. */
static ssize_t write_some(struct x9p_outq *q, const struct iovec *iov, int iovcnt)
{
	ssize_t w;

	do {
		if (q->is_socket) {
			struct msghdr mh = { .msg_iov = (struct iovec *)iov,
					     .msg_iovlen = (size_t)MIN(iovcnt, IOV_MAX) };

			w = sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			w = writev(q->fd, iov, MIN(iovcnt, IOV_MAX));
		}
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return w;
}

static void kick(struct x9p_outq *q)
{
	uint64_t one = 1;

	/* An eventfd write of 1 cannot block or fail short of a bad fd. */
	if (write(q->kick_fd, &one, sizeof(one)) < 0)
		g_warning("waking a connection's I/O thread failed: %s", g_strerror(errno));
}

int x9p_outq_send(struct x9p_outq *q, const struct iovec *iov, int iovcnt)
{
	size_t total = 0, done = 0, skip;
	struct outq_chunk *ch;
	bool was_empty;
	uint8_t *p;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	g_mutex_lock(&q->lock);
	if (q->error) {
		int e = q->error;

		g_mutex_unlock(&q->lock);
		return e;
	}
	was_empty = g_queue_is_empty(&q->chunks);
	if (was_empty && total) {
		ssize_t w = write_some(q, iov, iovcnt);

		if (w < 0) {
			q->error = (int)w;
			g_mutex_unlock(&q->lock);
			return (int)w;
		}
		done = (size_t)w;
	}
	if (done == total) {
		g_mutex_unlock(&q->lock);
		return 0;
	}
	if (q->bytes + (total - done) > q->hard_max) {
		/* The stream lost a reply: nothing after it may leave either. */
		q->error = -ENOBUFS;
		drop_all_locked(q);
		g_mutex_unlock(&q->lock);
		return -ENOBUFS;
	}
	ch = g_malloc(sizeof(*ch) + (total - done));
	ch->len = total - done;
	ch->off = 0;
	p = ch->data;
	skip = done;
	for (int i = 0; i < iovcnt; i++) {
		size_t l = iov[i].iov_len;
		const uint8_t *b = iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		memcpy(p, b + skip, l - skip);
		p += l - skip;
		skip = 0;
	}
	g_queue_push_tail(&q->chunks, ch);
	if (q->bytes == 0)
		q->last_progress = g_get_monotonic_time();
	q->bytes += ch->len;
	g_mutex_unlock(&q->lock);
	if (was_empty)
		kick(q);
	return 0;
}

int x9p_outq_flush(struct x9p_outq *q)
{
	struct outq_chunk *ch;
	int ret = 0;

	g_mutex_lock(&q->lock);
	while (!q->error && (ch = g_queue_peek_head(&q->chunks))) {
		struct iovec v = { ch->data + ch->off, ch->len - ch->off };
		ssize_t w = write_some(q, &v, 1);

		if (w < 0) {
			q->error = (int)w;
			drop_all_locked(q);
			break;
		}
		if (w == 0)
			break;
		q->last_progress = g_get_monotonic_time();
		ch->off += (size_t)w;
		q->bytes -= (size_t)w;
		if (ch->off == ch->len)
			g_free(g_queue_pop_head(&q->chunks));
	}
	ret = q->error;
	g_mutex_unlock(&q->lock);
	return ret;
}

size_t x9p_outq_pending(struct x9p_outq *q)
{
	size_t n;

	g_mutex_lock(&q->lock);
	n = q->bytes;
	g_mutex_unlock(&q->lock);
	return n;
}

gint64 x9p_outq_stalled_us(struct x9p_outq *q)
{
	gint64 t = 0;

	g_mutex_lock(&q->lock);
	if (q->bytes)
		t = g_get_monotonic_time() - q->last_progress;
	g_mutex_unlock(&q->lock);
	return t;
}
