/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One client connection: its I/O thread (frame reader, writer of queued
 * replies), its reply path, and parking it while the client is idle. */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "journal/journal.h"
#include "socket/socket.h"
#include "socket/socket-int.h"
#include "socket/stream.h"

/* Small frames are read in batches through this buffer; big ones bypass it. */
#define RBUF_SIZE (64u * 1024)
/* Largest replies the requests of one connection in flight may get. */
#define INFLIGHT_BUDGET (X9P_SOCK_MAX_QUEUED / 2)

/* How a connection's I/O thread ends. */
enum conn_end { CONN_CLEAN, CONN_FAULT, CONN_PARK };

static bool errno_is_disconnect(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ECONNABORTED || e == ENOTCONN ||
	       e == ESHUTDOWN || e == ETIMEDOUT;
}

static bool conn_cancel(struct x9p_sock_conn *c)
{
	uint64_t one = 1;

	if (!g_atomic_int_compare_and_exchange(&c->cancelled, 0, 1))
		return false;
	/* An eventfd write of 1 cannot block or fail short of a bad fd. */
	if (write(c->cancel_fd, &one, sizeof(one)) < 0)
		g_warning("%s: waking the connection failed: %s", c->label, g_strerror(errno));
	return true;
}

void x9p_sock_conn_cancel(struct x9p_sock_conn *c)
{
	conn_cancel(c);
}

static int conn_send(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct x9p_sock_conn *c = opaque;
	int r;

	if (g_atomic_int_get(&c->cancelled))
		return -ECANCELED;
	/* Never waits for the client: what it does not take now is queued. */
	r = x9p_outq_send(&c->outq, iov, iovcnt);
	if (r < 0 && !errno_is_disconnect(-r))
		g_atomic_int_set(&c->faulted, 1);
	if (r < 0 && conn_cancel(c)) {
		/* A partly written reply leaves the stream unusable. */
		if (r == -ENOBUFS)
			g_warning("%s: the client does not read its replies (%zu bytes unread, "
				  "limit %u); closing the connection", c->label,
				  x9p_outq_pending(&c->outq), X9P_SOCK_MAX_QUEUED);
		else if (errno_is_disconnect(-r))
			g_info("%s: the client went away while receiving a reply (%s)", c->label,
			       g_strerror(-r));
		else
			g_warning("%s: sending a reply failed: %s; closing the connection",
				  c->label, g_strerror(-r));
	}
	return r;
}

/* ---- zero-copy Rread ---- */

/* Payloads smaller than this are cheaper copied than spliced. */
#define ZC_MIN (64u * 1024)

static void zc_close(struct x9p_sock_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->zc_pipe[i] >= 0)
			close(c->zc_pipe[i]);
		c->zc_pipe[i] = -1;
	}
}

/*
 * A pipe with a slot for every page that max bytes at off touch (a pipe
 * holds page-sized buffers: a read that starts inside a page needs one
 * more), or false: then the copying path serves this read.
 */
static bool zc_pipe(struct x9p_sock_conn *c, size_t max, off_t off)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need = ((size_t)off % page + max + page - 1) / page * page;
	int sz;

	if (c->zc_cap && need > c->zc_cap)
		return false;
	if (c->zc_pipe[0] < 0) {
		if (pipe2(c->zc_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
			return false;
		sz = fcntl(c->zc_pipe[1], F_GETPIPE_SZ);
		c->zc_size = sz > 0 ? (size_t)sz : 0;
	}
	if (c->zc_size >= need)
		return true;
	/* A page more than this read needs serves the next, unaligned one;
	 * beyond fs.pipe-max-size or the user's pipe pages, exactly what it
	 * needs; beyond that, copying. */
	sz = fcntl(c->zc_pipe[1], F_SETPIPE_SZ, (int)MIN(need + page, (size_t)G_MAXINT));
	if (sz < 0)
		sz = fcntl(c->zc_pipe[1], F_SETPIPE_SZ, (int)MIN(need, (size_t)G_MAXINT));
	if (sz > 0)
		c->zc_size = (size_t)sz;
	if (c->zc_size < need) {
		c->zc_cap = MAX(c->zc_size, 1);
		return false;
	}
	return true;
}

/* Waits until the client can take more: 0, -ECANCELED or -ETIMEDOUT. */
static int zc_wait(struct x9p_sock_conn *c)
{
	struct pollfd p[2] = { { c->wfd, POLLOUT, 0 }, { c->cancel_fd, POLLIN, 0 } };
	int r;

	do
		r = poll(p, 2, (int)MIN(c->reply_timeout_us / 1000, G_MAXINT));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return p[1].revents ? -ECANCELED : 0;
}

/*
 * send_file (server.h): the file's pages go into a pipe (which tells the
 * count before the header must be written), then from the pipe into the
 * socket, never through a buffer of ours.  Only on the connection's own
 * thread (a request it runs inline), where waiting for the client to take
 * the reply holds up nobody else, and with nothing queued ahead of it.
 */
static int conn_send_file(void *opaque, uint8_t *hdr, size_t hdrlen, size_t max, int fd,
			  off_t off)
{
	struct x9p_sock_conn *c = opaque;
	size_t n = 0, sent = 0;
	int e = 0;

	if (g_thread_self() != c->self || !c->wfd_is_socket || max < ZC_MIN ||
	    g_atomic_int_get(&c->cancelled) || x9p_outq_pending(&c->outq) ||
	    !zc_pipe(c, max, off))
		return -EAGAIN;
	while (n < max) {
		/* Never waits on the pipe (it has room for all of it); a
		 * file's read may block, as pread would. */
		ssize_t k = splice(fd, &off, c->zc_pipe[1], NULL, max - n,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			/* A file that cannot splice: the copying path reads it. */
			zc_close(c);
			return -EAGAIN;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	x9p_reply_set_count(hdr, hdrlen, n);
	while (e == 0 && sent < hdrlen) {
		ssize_t k = send(c->wfd, hdr + sent, hdrlen - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k > 0)
			sent += (size_t)k;
		else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			e = zc_wait(c);
		else if (k < 0 && errno != EINTR)
			e = -errno;
	}
	for (sent = 0; e == 0 && sent < n;) {
		ssize_t k = splice(c->zc_pipe[0], NULL, c->wfd, NULL, n - sent,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (k > 0)
			sent += (size_t)k;
		else if (k < 0 && errno == EAGAIN)
			e = zc_wait(c);
		else if (k < 0 && errno != EINTR)
			e = -errno;
		else if (k == 0)
			e = -EPIPE;
	}
	if (e == 0)
		return 0;
	/* Part of a reply left: the stream is unusable. */
	zc_close(c);
	if (!errno_is_disconnect(-e) && e != -ECANCELED)
		g_atomic_int_set(&c->faulted, 1);
	if (conn_cancel(c)) {
		if (e == -ETIMEDOUT)
			g_warning("%s: the client left a reply unread for %" G_GINT64_FORMAT
				  " s; closing the connection", c->label,
				  c->reply_timeout_us / G_USEC_PER_SEC);
		else if (e != -ECANCELED)
			g_info("%s: sending a reply failed: %s; closing the connection", c->label,
			       g_strerror(-e));
	}
	return e;
}

static void conn_dropped(void *opaque, uint16_t tag)
{
	struct x9p_sock_conn *c = opaque;

	x9p_stream_dropped(c->stream, tag);
}

static const struct x9p_transport_ops conn_ops = {
	.send = conn_send,
	.send_file = conn_send_file,
};

/* Journaled: replies go whole through the output pipe (socket/stream.h). */
static const struct x9p_transport_ops conn_journaled_ops = {
	.send = conn_send,
	.dropped = conn_dropped,
};

/*
 * True while the requests in flight could answer with more than
 * INFLIGHT_BUDGET bytes (x9p_session_reply_bytes).  Holding new requests
 * back then keeps the queue below its limit whatever the client pipelines:
 * at most high_water + inflight_budget + a frame or two are ever queued,
 * so a client that reads, however slowly, is never closed for queueing too
 * much; and only reads count big, so small requests are not held back.
 */
static bool inflight_over(struct x9p_sock_conn *c)
{
	return x9p_session_reply_bytes(c->session) > INFLIGHT_BUDGET;
}

/*
 * Writes queued replies while waiting until the client's input is readable
 * (want_input) or until no more than high_water bytes are queued and the
 * requests in flight are within their budget.  Until then the client's
 * requests are not read: it holds up only itself.  Returns 0, -ECANCELED
 * when the connection must stop, -ETIMEDOUT when the client left its
 * replies unread for too long, -EAGAIN when it may park (between frames,
 * may_park) and the client has been idle for X9P_SOCK_PARK_MS with nothing
 * in flight or queued, or -errno.
 */
static int conn_wait(struct x9p_sock_conn *c, bool want_input, bool may_park)
{
	for (;;) {
		size_t pending = x9p_outq_pending(&c->outq);
		bool busy = inflight_over(c);
		bool held = pending > c->high_water || busy;
		/* Requests still in flight may end meanwhile, answered by a pool
		 * thread that wakes nobody here: look again after a while. */
		bool idle = may_park && !pending;
		struct pollfd p[4];
		int n = 0, iw = -1, ir = -1, timeout = idle ? X9P_SOCK_PARK_MS : -1, r;

		if (!want_input && !held)
			return 0;
		p[n++] = (struct pollfd){ .fd = c->cancel_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = c->kick_fd, .events = POLLIN };
		if (pending) {
			gint64 left = c->reply_timeout_us - x9p_outq_stalled_us(&c->outq);

			if (left <= 0) {
				g_warning("%s: the client has left %zu bytes of replies unread for %"
					  G_GINT64_FORMAT " s; closing the connection", c->label,
					  pending, c->reply_timeout_us / G_USEC_PER_SEC);
				return -ETIMEDOUT;
			}
			timeout = (int)MIN(left / 1000 + 1, G_MAXINT);
			iw = n;
			p[n++] = (struct pollfd){ .fd = c->wfd, .events = POLLOUT };
		}
		if (want_input && !held) {
			ir = n;
			p[n++] = (struct pollfd){ .fd = c->rfd, .events = POLLIN };
		}
		/* Answers written straight to the client wake nobody: look again
		 * soon (only a client with that much in flight ever waits here). */
		if (busy && (timeout < 0 || timeout > 5))
			timeout = 5;
		r = poll(p, (nfds_t)n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* Still nothing in flight (no reply can come), the input still
		 * untouched: the thread may go. */
		if (r == 0 && idle && x9p_session_idle(c->session) && !x9p_outq_pending(&c->outq))
			return -EAGAIN;
		if (p[0].revents)
			return -ECANCELED;
		if (p[1].revents) {
			uint64_t v;

			if (read(c->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
		}
		if (iw >= 0 && p[iw].revents) {
			r = x9p_outq_flush(&c->outq);
			if (r < 0)
				return r;
		}
		if (ir >= 0 && p[ir].revents)
			/* POLLERR/POLLHUP: the next read reports what happened. */
			return (p[ir].revents & POLLNVAL) ? -EBADF : 0;
	}
}

/*
 * Journaled: the inbox is full of requests not answered yet.  Waits a
 * little for answers, writing the client's replies meanwhile: 0, or
 * -errno (-ECANCELED).
 */
static int conn_wait_answers(struct x9p_sock_conn *c)
{
	struct pollfd p[2] = { { c->cancel_fd, POLLIN, 0 }, { c->wfd, POLLOUT, 0 } };
	nfds_t n = x9p_outq_pending(&c->outq) ? 2 : 1;

	if (poll(p, n, 2) < 0 && errno != EINTR)
		return -errno;
	if (p[0].revents)
		return -ECANCELED;
	if (n == 2 && p[1].revents)
		return MIN(x9p_outq_flush(&c->outq), 0);
	return 0;
}

/* conn_read through the journal's inbox. */
static ssize_t conn_read_journaled(struct x9p_sock_conn *c, uint8_t *dst, size_t n,
				   bool may_park)
{
	size_t got = 0;

	while (got < n) {
		size_t avail = x9p_stream_unread(c->stream);
		ssize_t r;

		if (avail) {
			size_t take = MIN(avail, n - got);

			x9p_stream_copy(c->stream, dst + got, take);
			got += take;
			continue;
		}
		r = x9p_stream_fill(c->stream, c->rfd);
		if (r > 0)
			continue;
		if (r == 0)
			return (ssize_t)got;
		if (r == -ENOSPC)
			r = conn_wait_answers(c);
		else if (r == -EAGAIN)
			r = conn_wait(c, true, may_park && got == 0);
		if (r < 0)
			return r;
	}
	return (ssize_t)got;
}

/*
 * Reads exactly n bytes.  Returns n, fewer at the end of the stream, or
 * -errno (-ECANCELED when the connection was asked to stop; -EAGAIN when
 * it may park, only if may_park and nothing of the n bytes came yet).
 */
static ssize_t conn_read(struct x9p_sock_conn *c, uint8_t *dst, size_t n, bool may_park)
{
	size_t got = 0;

	if (c->stream)
		return conn_read_journaled(c, dst, n, may_park);

	while (got < n) {
		uint8_t *into;
		size_t room;
		ssize_t r;

		if (c->rpos < c->rlen) {
			size_t take = MIN(n - got, c->rlen - c->rpos);

			memcpy(dst + got, c->rbuf + c->rpos, take);
			c->rpos += take;
			got += take;
			continue;
		}
		c->rpos = c->rlen = 0;
		if (!c->rbuf)
			c->rbuf = g_malloc(RBUF_SIZE);  /* freed while parked */
		if (n - got >= RBUF_SIZE) {
			into = dst + got;
			room = n - got;
		} else {
			into = c->rbuf;
			room = RBUF_SIZE;
		}
		r = read(c->rfd, into, room);
		if (r < 0) {
			int w;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			w = conn_wait(c, true, may_park && got == 0);
			if (w < 0)
				return w;
			continue;
		}
		if (r == 0)
			return got;
		if (into == c->rbuf)
			c->rlen = r;
		else
			got += r;
	}
	return got;
}

static enum conn_end conn_serve(struct x9p_sock_conn *c)
{
	for (;;) {
		uint8_t hdr[4], *frame;
		uint32_t size, max;
		ssize_t r;

		if (g_atomic_int_get(&c->cancelled))
			return CONN_CLEAN;
		/* Backpressure: no new request while too many replies are unread. */
		r = conn_wait(c, false, false);
		if (r == 0)
			r = conn_read(c, hdr, sizeof(hdr), true);
		if (r == -EAGAIN)
			return CONN_PARK;
		if (r == -ECANCELED)
			return CONN_CLEAN;
		if (r == -ETIMEDOUT)
			return CONN_FAULT;
		if (r == 0 || (r < 0 && errno_is_disconnect(-r))) {
			g_info("%s: the client closed the connection", c->label);
			return CONN_CLEAN;
		}
		if (r < 0) {
			g_warning("%s: read failed: %s; closing the connection", c->label,
				  g_strerror(-r));
			return CONN_FAULT;
		}
		if (r < (ssize_t)sizeof(hdr)) {
			g_warning("%s: the stream ended inside a frame header; closing the connection",
				  c->label);
			return CONN_FAULT;
		}
		size = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		       (uint32_t)hdr[3] << 24;
		max = x9p_session_max_frame(c->session);
		if (size < P9_HDR_SIZE || size > max) {
			g_warning("%s: bad frame size %" G_GUINT32_FORMAT " (allowed %u..%"
				  G_GUINT32_FORMAT "); closing the connection",
				  c->label, size, P9_HDR_SIZE, max);
			return CONN_FAULT;
		}
		frame = g_try_malloc(size);
		if (!frame) {
			g_warning("%s: no memory for a %" G_GUINT32_FORMAT
				  "-byte frame; closing the connection", c->label, size);
			return CONN_FAULT;
		}
		memcpy(frame, hdr, sizeof(hdr));
		r = conn_read(c, frame + sizeof(hdr), size - sizeof(hdr), false);
		if (r != (ssize_t)(size - sizeof(hdr))) {
			g_free(frame);
			if (r == -ECANCELED)
				return CONN_CLEAN;
			if (r == -ETIMEDOUT)
				return CONN_FAULT;
			if (r >= 0 || errno_is_disconnect(-r))
				g_warning("%s: the stream ended inside a %" G_GUINT32_FORMAT
					  "-byte frame; closing the connection", c->label, size);
			else
				g_warning("%s: read failed: %s; closing the connection", c->label,
					  g_strerror(-r));
			return CONN_FAULT;
		}
		/* Recorded before anything may answer it. */
		if (c->stream)
			x9p_stream_take(c->stream, (uint16_t)(frame[5] | frame[6] << 8), size);
		/* Nothing more of this client at hand, and no reply of it waiting
		 * to be written (this thread writes those): answer it here. */
		x9p_session_submit_inline(c->session, frame, size,
					  (c->stream ? !x9p_stream_unread(c->stream) &&
						       !x9p_stream_piped(c->stream) :
						       c->rpos >= c->rlen) &&
					  !x9p_outq_pending(&c->outq));
		if (!g_atomic_int_get(&c->versioned) && x9p_session_versioned(c->session))
			g_atomic_int_set(&c->versioned, 1);
	}
}

static void conn_end(struct x9p_sock_conn *c, bool clean)
{
	/* Wake workers blocked writing to a peer that no longer reads. */
	conn_cancel(c);
	/* A journaled connection that ends here is over: its session leaves
	 * the journal (one whose worker dies ends nowhere). */
	if (c->stream)
		x9p_session_end(c->session);
	else
		x9p_session_close(c->session);
	c->session = NULL;
	g_debug("%s: session closed", c->label);
	x9p_sock_server_conn_finished(c->owner, c, clean);
}

static gboolean conn_unpark_cb(gint fd, GIOCondition cond, gpointer data);

/*
 * An idle client costs no thread and no read buffer: a watch on its
 * socket (and on cancel_fd) brings a thread back.  Nothing is in flight,
 * so no reply can arrive meanwhile.  The thread detaches itself (nobody
 * joins a parked connection's thread, so its stack goes at once) and
 * touches nothing of c once park_lock is released.  False when the
 * connection was cancelled first: then it ends as usual.
 */
static bool conn_park(struct x9p_sock_conn *c)
{
	GThread *self;

	g_free(c->rbuf);
	c->rbuf = NULL;
	c->rpos = c->rlen = 0;
	zc_close(c);
	g_mutex_lock(&c->park_lock);
	if (g_atomic_int_get(&c->cancelled)) {
		g_mutex_unlock(&c->park_lock);
		return false;
	}
	g_debug("%s: idle; parked", c->label);
	c->park_src = g_unix_fd_source_new(c->rfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_add_unix_fd(c->park_src, c->cancel_fd, G_IO_IN);
	g_source_set_callback(c->park_src, G_SOURCE_FUNC(conn_unpark_cb), c, NULL);
	c->parked = true;
	self = c->thread;
	c->thread = NULL;
	c->self = NULL;             /* its GThread may be reused by another thread */
	g_source_attach(c->park_src, c->ctx);
	g_mutex_unlock(&c->park_lock);
	g_thread_unref(self);
	return true;
}

/* Takes c out of the parked state: false if it was not parked. */
static bool conn_unpark(struct x9p_sock_conn *c)
{
	bool was;

	g_mutex_lock(&c->park_lock);
	was = c->parked;
	if (was) {
		c->parked = false;
		g_source_destroy(c->park_src);
		g_source_unref(c->park_src);
		c->park_src = NULL;
	}
	g_mutex_unlock(&c->park_lock);
	return was;
}

static gpointer conn_thread(gpointer data)
{
	struct x9p_sock_conn *c = data;
	enum conn_end how;

	c->self = g_thread_self();
	how = conn_serve(c);
	if (how == CONN_PARK && conn_park(c))
		return NULL;
	conn_end(c, how != CONN_FAULT && !g_atomic_int_get(&c->faulted));
	return NULL;
}

static bool conn_run(struct x9p_sock_conn *c, GError **err)
{
	GThread *t;

	/* Under park_lock: the thread may park (and clear c->thread) at once. */
	g_mutex_lock(&c->park_lock);
	t = c->thread = g_thread_try_new(c->label, conn_thread, c, err);
	g_mutex_unlock(&c->park_lock);
	return t != NULL;
}

/* The client sent something, left, or the connection must stop. */
static gboolean conn_unpark_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct x9p_sock_conn *c = data;
	GError *err = NULL;

	if (!conn_unpark(c))
		return G_SOURCE_REMOVE;
	if (!conn_run(c, &err)) {
		g_warning("%s: cannot restart the I/O thread: %s; closing the connection",
			  c->label, err->message);
		g_error_free(err);
		conn_end(c, false);
	}
	return G_SOURCE_REMOVE;
}

static void conn_destroy(struct x9p_sock_conn *c)
{
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	if (c->cancel_fd >= 0)
		close(c->cancel_fd);
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	zc_close(c);
	x9p_outq_clear(&c->outq);
	x9p_stream_free(c->stream);
	g_mutex_clear(&c->park_lock);
	g_free(c->rbuf);
	g_free(c->label);
	g_free(c->peer);
	g_free(c);
}

/* A connection's state, up to its session (not made yet). */
static struct x9p_sock_conn *conn_alloc(struct x9p_sock_server *ss,
					const struct x9p_sock_cfg *cfg, int rfd, int wfd,
					const char *label, const char *peer, bool from_fd,
					GError **err)
{
	struct x9p_sock_conn *c = g_new0(struct x9p_sock_conn, 1);
	int type;
	socklen_t tl = sizeof(type);

	c->owner = ss;
	c->ctx = x9p_sock_server_ctx(ss);
	g_mutex_init(&c->park_lock);
	c->label = g_strdup(label);
	c->peer = g_strdup(peer);
	c->rfd = rfd;
	c->wfd = wfd;
	c->from_fd = from_fd;
	c->rbuf = g_malloc(RBUF_SIZE);
	c->zc_pipe[0] = c->zc_pipe[1] = -1;
	c->wfd_is_socket = getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x9p_outq_init(&c->outq, wfd, c->wfd_is_socket, c->kick_fd, X9P_SOCK_MAX_QUEUED);
	c->high_water = 2 * (size_t)cfg->max_msize;
	c->reply_timeout_us = (gint64)(cfg->reply_timeout_s ? cfg->reply_timeout_s :
				       X9P_SOCK_DEFAULT_REPLY_TIMEOUT) * G_USEC_PER_SEC;
	c->started = g_get_monotonic_time();
	if (c->cancel_fd < 0 || c->kick_fd < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "%s: eventfd: %s", label, g_strerror(e));
		conn_destroy(c);
		return NULL;
	}
	return c;
}

/* Whether the connection's bytes can pass through pipes (splice). */
static bool conn_can_stream(int rfd, int wfd)
{
	struct stat a, b;

	return fstat(rfd, &a) == 0 && fstat(wfd, &b) == 0 &&
	       (S_ISSOCK(a.st_mode) || S_ISFIFO(a.st_mode)) &&
	       (S_ISSOCK(b.st_mode) || S_ISFIFO(b.st_mode));
}

/* Journaled: replies through the stream's output pipe, msize within it. */
static uint32_t conn_use_stream(struct x9p_sock_conn *c, const struct x9p_sock_cfg *cfg)
{
	struct x9p_outq_stage st;

	x9p_stream_outq(c->stream, &st);
	x9p_outq_stage(&c->outq, &st);
	return (uint32_t)MIN((size_t)cfg->max_msize, x9p_stream_room(c->stream));
}

/* The connection's descriptors for the keeper: its ends, then its pipes. */
static unsigned conn_fds(const struct x9p_sock_conn *c, int fds[6])
{
	unsigned n = 0;

	fds[n++] = c->rfd;
	if (c->wfd != c->rfd)
		fds[n++] = c->wfd;
	x9p_stream_pipes(c->stream, fds + n);
	return n + 4;
}

unsigned x9p_sock_conn_journal_fds(const struct x9p_sock_conn *c, int fds[6])
{
	return c->stream ? conn_fds(c, fds) : 0;
}

struct x9p_sock_conn *x9p_sock_conn_start(struct x9p_sock_server *ss,
					  struct x9p_server *engine, const struct x9p_sock_cfg *cfg,
					  int rfd, int wfd, const char *label, const char *peer,
					  bool from_fd, unsigned jsession, GError **err)
{
	struct x9p_sock_conn *c = conn_alloc(ss, cfg, rfd, wfd, label, peer, from_fd, err);
	GError *terr = NULL;
	uint32_t msize = cfg->max_msize;

	if (!c)
		return NULL;
	if (jsession && !conn_can_stream(rfd, wfd))
		g_warning("%s: served without a journal (its worker's death will end it): "
			  "only sockets and pipes can pass through pipes", label);
	else if (jsession) {
		char *why = NULL;

		c->stream = x9p_stream_new(x9p_journal_session(cfg->journal, jsession),
					   cfg->max_msize, &why);
		if (c->stream) {
			c->jsession = jsession;
			msize = conn_use_stream(c, cfg);
		} else {
			g_warning("%s: served without a journal (its worker's death will end it): "
				  "%s", label, why);
			g_free(why);
		}
	}
	c->session = x9p_session_new(engine, c->stream ? &conn_journaled_ops : &conn_ops, c,
				     msize, c->label);
	if (c->session && c->stream)
		x9p_session_set_journal(c->session, x9p_journal_session(cfg->journal, jsession));
	if (!c->session) {
		g_set_error(err, X9P_SOCK_ERROR, ENOMEM, "%s: the 9P engine refused a new session",
			    label);
		conn_destroy(c);
		return NULL;
	}
	/* Held by the monitor before a byte of it is read. */
	if (c->stream)
		x9p_sock_server_conn_journaled(ss, c);
	if (!conn_run(c, &terr)) {
		g_set_error(err, X9P_SOCK_ERROR, EAGAIN, "%s: cannot start the I/O thread: %s",
			    label, terr->message);
		g_error_free(terr);
		if (c->stream) {
			x9p_session_end(c->session);
			x9p_sock_server_conn_unkept(ss, c->jsession);
		} else {
			x9p_session_close(c->session);
		}
		conn_destroy(c);
		return NULL;
	}
	return c;
}

struct x9p_sock_conn *x9p_sock_conn_adopt(struct x9p_sock_server *ss,
					  struct x9p_server *engine, const struct x9p_sock_cfg *cfg,
					  struct x9p_sock_kept_conn *kc, GArray **reruns,
					  GError **err)
{
	struct x9p_journal *j = x9p_journal_session(cfg->journal, kc->session);
	unsigned nconn = kc->nfds - 4;
	struct x9p_sock_conn *c;
	uint32_t dialect, msize;
	char *why = NULL;

	*reruns = NULL;
	if (!j || (nconn != 1 && nconn != 2)) {
		g_set_error(err, X9P_SOCK_ERROR, EINVAL, "%s: not a connection this journal has",
			    kc->label);
		for (unsigned i = 0; i < kc->nfds; i++)
			close(kc->fds[i]);
		return NULL;
	}
	c = conn_alloc(ss, cfg, kc->fds[0], kc->fds[nconn - 1], kc->label, kc->peer,
		       g_str_has_prefix(kc->label, "fd:"), err);
	if (!c) {
		for (unsigned i = 0; i < kc->nfds; i++)
			close(kc->fds[i]);
		return NULL;
	}
	c->stream = x9p_stream_adopt(j, kc->fds + nconn, cfg->max_msize, reruns, &why);
	if (!c->stream) {
		g_set_error(err, X9P_SOCK_ERROR, EPROTO, "%s: cannot take the connection over: %s",
			    kc->label, why);
		g_free(why);
		conn_destroy(c);
		return NULL;
	}
	c->jsession = kc->session;
	msize = conn_use_stream(c, cfg);
	c->session = x9p_session_new(engine, &conn_journaled_ops, c, msize, c->label);
	if (!c->session) {
		g_set_error(err, X9P_SOCK_ERROR, ENOMEM, "%s: the 9P engine refused a new session",
			    kc->label);
		conn_destroy(c);
		return NULL;
	}
	x9p_session_set_journal(c->session, j);
	if (x9p_journal_version(j, &dialect, &msize)) {
		x9p_session_resume(c->session, (enum p9_dialect)dialect, msize);
		g_atomic_int_set(&c->versioned, 1);
	}
	return c;
}

bool x9p_sock_conn_resume(struct x9p_sock_conn *c, GArray *reruns, unsigned fids,
			  GError **err)
{
	GError *terr = NULL;
	unsigned failed = 0, n = reruns ? reruns->len : 0;

	for (unsigned i = 0; i < n; i++) {
		struct x9p_stream_rerun *rr = &g_array_index(reruns, struct x9p_stream_rerun, i);

		if (!x9p_session_rerun(c->session, rr->tag, rr->frame, rr->len, &rr->taken))
			failed++;
	}
	if (reruns)
		g_array_free(reruns, TRUE);
	x9p_session_log_restored(c->session, fids, n, failed);
	if (!conn_run(c, &terr)) {
		g_set_error(err, X9P_SOCK_ERROR, EAGAIN, "%s: cannot start the I/O thread: %s",
			    c->label, terr->message);
		g_error_free(terr);
		conn_end(c, false);
		return false;
	}
	return true;
}

void x9p_sock_conn_free(struct x9p_sock_conn *c)
{
	GThread *t;

	/* Cancelled first: a thread that has not parked yet will not park. */
	conn_cancel(c);
	if (conn_unpark(c)) {
		conn_end(c, true);
	} else {
		g_mutex_lock(&c->park_lock);
		t = c->thread;
		g_mutex_unlock(&c->park_lock);
		if (t)
			g_thread_join(t);
	}
	conn_destroy(c);
}
