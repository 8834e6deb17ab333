// SPDX-License-Identifier: GPL-2.0-or-later
/* A connection's reply queue (outq.h). */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "9p/p9.h"
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

void x9p_outq_stage(struct x9p_outq *q, const struct x9p_outq_stage *st)
{
	q->staged = true;
	q->stage = *st;
	q->bytes = st->fill;
	if (q->bytes)
		q->last_progress = g_get_monotonic_time();
}

/* Staged, lock held: moves what fd takes out of the pipe; 0 or -errno. */
static int pump_locked(struct x9p_outq *q)
{
	while (q->stage.fill) {
		ssize_t k = splice(q->stage.rfd, NULL, q->fd, NULL, q->stage.fill,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (k == 0)
			return -EPIPE;
		q->stage.fill -= (size_t)k;
		q->bytes -= (size_t)k;
		q->last_progress = g_get_monotonic_time();
	}
	return 0;
}

/* Staged, lock held: the first P9_HDR_SIZE bytes of a reply. */
static void reply_hdr(const struct iovec *iov, int iovcnt, uint8_t *hdr)
{
	size_t got = 0;

	memset(hdr, 0, P9_HDR_SIZE);
	for (int i = 0; i < iovcnt && got < P9_HDR_SIZE; i++) {
		size_t n = MIN(iov[i].iov_len, P9_HDR_SIZE - got);

		memcpy(hdr + got, iov[i].iov_base, n);
		got += n;
	}
}

/*
 * Staged, lock held: one whole reply into the pipe if it has room (true),
 * journaled around the write; a write short of the whole is -EIO in
 * q->error (the pipe had the room: only a kernel failure does that).
 */
static bool stage_locked(struct x9p_outq *q, const struct iovec *iov, int iovcnt, size_t len)
{
	uint8_t hdr[P9_HDR_SIZE];
	size_t done = 0;

	if (q->stage.fill + len > q->stage.room)
		return false;
	reply_hdr(iov, iovcnt, hdr);
	q->stage.begin(q->stage.arg, hdr, len, q->stage.fill);
	while (done < len) {
		struct iovec v[IOV_MAX];
		int n = 0;
		size_t skip = done;
		ssize_t w;

		for (int i = 0; i < iovcnt && n < IOV_MAX; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
			v[n++].iov_len = iov[i].iov_len - skip;
			skip = 0;
		}
		w = writev(q->stage.wfd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0 || (size_t)w != len - done) {
			q->error = -EIO;
			g_warning("a reply went into its pipe only in part (%s)",
				  w < 0 ? g_strerror(errno) : "short write");
			return true;
		}
		done += (size_t)w;
	}
	q->stage.fill += len;
	if (q->bytes == 0)
		q->last_progress = g_get_monotonic_time();
	q->bytes += len;
	q->stage.end(q->stage.arg, hdr);
	return true;
}

/* Staged, lock held: queued replies into the pipe while they fit, and
 * the pipe into fd; 0 or -errno. */
static int stage_flush_locked(struct x9p_outq *q)
{
	struct outq_chunk *ch;
	int r = pump_locked(q);

	while (r == 0 && !q->error && (ch = g_queue_peek_head(&q->chunks))) {
		struct iovec v = { ch->data, ch->len };

		/* A queued reply counts in bytes until it is in the pipe. */
		q->bytes -= ch->len;
		if (!stage_locked(q, &v, 1, ch->len)) {
			q->bytes += ch->len;
			break;
		}
		g_free(g_queue_pop_head(&q->chunks));
		r = pump_locked(q);
	}
	return q->error ? q->error : r;
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
	if (q->staged) {
		int r;

		if (was_empty && stage_locked(q, iov, iovcnt, total)) {
			r = q->error ? q->error : pump_locked(q);
			if (r < 0)
				q->error = r;
			was_empty = q->bytes == total && r == 0 && q->stage.fill;
			g_mutex_unlock(&q->lock);
			/* Left in the pipe: the I/O thread waits for the client. */
			if (was_empty)
				kick(q);
			return r;
		}
		/* Whole, as it must enter the pipe. */
		done = 0;
	} else if (was_empty && total) {
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
	if (q->staged) {
		ret = q->error ? q->error : stage_flush_locked(q);
		if (ret < 0 && !q->error) {
			q->error = ret;
			drop_all_locked(q);
		}
		g_mutex_unlock(&q->lock);
		return ret;
	}
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
