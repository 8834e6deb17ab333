/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One client connection: its I/O thread (frame reader) and its reply path. */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socket/socket.h"
#include "socket/socket-int.h"

/* Small frames are read in batches through this buffer; big ones bypass it. */
#define RBUF_SIZE (64u * 1024)

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
	/*
	 * The engine already serializes send() per session; the lock keeps two
	 * replies from ever interleaving on the stream should that change.
	 */
	g_mutex_lock(&c->send_lock);
	r = x9p_sock_writev_all(c->wfd, c->wfd_is_socket, iov, iovcnt, c->cancel_fd);
	g_mutex_unlock(&c->send_lock);
	if (r < 0 && conn_cancel(c)) {
		/* A partly written reply leaves the stream unusable. */
		if (errno_is_disconnect(-r))
			g_info("%s: the client went away while receiving a reply (%s)", c->label,
			       g_strerror(-r));
		else
			g_warning("%s: sending a reply failed: %s; closing the connection",
				  c->label, g_strerror(-r));
	}
	return r;
}

static const struct x9p_transport_ops conn_ops = {
	.send = conn_send,
};

/*
 * Reads exactly n bytes.  Returns n, fewer at the end of the stream, or
 * -errno (-ECANCELED when the connection was asked to stop).
 */
static ssize_t conn_read(struct x9p_sock_conn *c, uint8_t *dst, size_t n)
{
	size_t got = 0;

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
			w = x9p_sock_wait(c->rfd, POLLIN, c->cancel_fd);
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

/* Returns true when the connection ended cleanly, false on a fault. */
static bool conn_serve(struct x9p_sock_conn *c)
{
	for (;;) {
		uint8_t hdr[4], *frame;
		uint32_t size, max;
		ssize_t r;

		if (g_atomic_int_get(&c->cancelled))
			return true;
		r = conn_read(c, hdr, sizeof(hdr));
		if (r == -ECANCELED)
			return true;
		if (r == 0 || (r < 0 && errno_is_disconnect(-r))) {
			g_info("%s: the client closed the connection", c->label);
			return true;
		}
		if (r < 0) {
			g_warning("%s: read failed: %s; closing the connection", c->label,
				  g_strerror(-r));
			return false;
		}
		if (r < (ssize_t)sizeof(hdr)) {
			g_warning("%s: the stream ended inside a frame header; closing the connection",
				  c->label);
			return false;
		}
		size = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		       (uint32_t)hdr[3] << 24;
		max = x9p_session_max_frame(c->session);
		if (size < P9_HDR_SIZE || size > max) {
			g_warning("%s: bad frame size %" G_GUINT32_FORMAT " (allowed %u..%"
				  G_GUINT32_FORMAT "); closing the connection",
				  c->label, size, P9_HDR_SIZE, max);
			return false;
		}
		frame = g_try_malloc(size);
		if (!frame) {
			g_warning("%s: no memory for a %" G_GUINT32_FORMAT
				  "-byte frame; closing the connection", c->label, size);
			return false;
		}
		memcpy(frame, hdr, sizeof(hdr));
		r = conn_read(c, frame + sizeof(hdr), size - sizeof(hdr));
		if (r != (ssize_t)(size - sizeof(hdr))) {
			g_free(frame);
			if (r == -ECANCELED)
				return true;
			if (r >= 0 || errno_is_disconnect(-r))
				g_warning("%s: the stream ended inside a %" G_GUINT32_FORMAT
					  "-byte frame; closing the connection", c->label, size);
			else
				g_warning("%s: read failed: %s; closing the connection", c->label,
					  g_strerror(-r));
			return false;
		}
		x9p_session_submit(c->session, frame, size);
	}
}

static gpointer conn_thread(gpointer data)
{
	struct x9p_sock_conn *c = data;
	bool clean = conn_serve(c);

	/* Wake workers blocked writing to a peer that no longer reads. */
	conn_cancel(c);
	x9p_session_close(c->session);
	c->session = NULL;
	g_debug("%s: session closed", c->label);
	x9p_sock_server_conn_finished(c->owner, c, clean);
	return NULL;
}

static void conn_destroy(struct x9p_sock_conn *c)
{
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	if (c->cancel_fd >= 0)
		close(c->cancel_fd);
	g_mutex_clear(&c->send_lock);
	g_free(c->rbuf);
	g_free(c->label);
	g_free(c);
}

struct x9p_sock_conn *x9p_sock_conn_start(struct x9p_sock_server *ss,
					  struct x9p_server *engine, uint32_t max_msize,
					  int rfd, int wfd, const char *label, bool from_fd,
					  GError **err)
{
	struct x9p_sock_conn *c = g_new0(struct x9p_sock_conn, 1);
	GError *terr = NULL;
	int type;
	socklen_t tl = sizeof(type);

	c->owner = ss;
	c->label = g_strdup(label);
	c->rfd = rfd;
	c->wfd = wfd;
	c->from_fd = from_fd;
	g_mutex_init(&c->send_lock);
	c->rbuf = g_malloc(RBUF_SIZE);
	c->wfd_is_socket = getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->cancel_fd < 0) {
		int e = errno;

		g_set_error(err, X9P_SOCK_ERROR, e, "%s: eventfd: %s", label, g_strerror(e));
		conn_destroy(c);
		return NULL;
	}
	c->session = x9p_session_new(engine, &conn_ops, c, max_msize, c->label);
	if (!c->session) {
		g_set_error(err, X9P_SOCK_ERROR, ENOMEM, "%s: the 9P engine refused a new session",
			    label);
		conn_destroy(c);
		return NULL;
	}
	c->thread = g_thread_try_new(c->label, conn_thread, c, &terr);
	if (!c->thread) {
		g_set_error(err, X9P_SOCK_ERROR, EAGAIN, "%s: cannot start the I/O thread: %s",
			    label, terr->message);
		g_error_free(terr);
		x9p_session_close(c->session);
		conn_destroy(c);
		return NULL;
	}
	return c;
}

void x9p_sock_conn_free(struct x9p_sock_conn *c)
{
	conn_cancel(c);
	g_thread_join(c->thread);
	conn_destroy(c);
}
