/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * p9client: connections, framing, tag bookkeeping and reply validation.
 * Everything above this file only sees validated replies.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "p9client-impl.h"

#define RBUF_INITIAL (64u * 1024u)
#define TBUF_INITIAL (16u * 1024u)
#define TBUF_MAX (1u << 30)

/* ---- construction ---------------------------------------------------------- */

static bool is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

struct p9c *p9c_new_fds(int rfd, int wfd)
{
	struct p9c *c;

	if (rfd < 0 || wfd < 0)
		return NULL;
	c = g_new0(struct p9c, 1);
	c->rfd = rfd;
	c->wfd = wfd;
	c->wfd_is_socket = is_socket(wfd);
	c->dialect = P9_DIALECT_2000L;
	c->msize = P9C_DEFAULT_MSIZE;
	c->timeout_ms = -1;
	c->next_fid = 1;
	c->next_tag = 1;
	c->rcap = RBUF_INITIAL;
	c->rbuf = g_malloc(c->rcap);
	c->tcap = TBUF_INITIAL;
	c->tbuf = g_malloc(c->tcap);
	p9c_tags_init(c);
	g_queue_init(&c->queue);
	return c;
}

struct p9c *p9c_new_fd(int fd)
{
	return p9c_new_fds(fd, fd);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int connect_tcp(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char *host;
	int fd = -ECONNREFUSED, one = 1;

	if (!colon || colon == hostport || !colon[1])
		return -EINVAL;
	host = g_strndup(hostport, (gsize)(colon - hostport));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		g_free(host);
		return -EHOSTUNREACH;
	}
	g_free(host);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		int e = errno;
		close(fd);
		fd = -e;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

struct p9c *p9c_connect(const char *addr, int *err)
{
	int fd = -EINVAL, dummy;
	struct p9c *c;

	if (!err)
		err = &dummy;
	if (!addr) {
		*err = -EINVAL;
		return NULL;
	}
	if (g_str_has_prefix(addr, "unix:")) {
		fd = connect_unix(addr + 5);
	} else if (g_str_has_prefix(addr, "tcp:")) {
		fd = connect_tcp(addr + 4);
	} else if (g_str_has_prefix(addr, "fd:")) {
		char *end;
		long n = strtol(addr + 3, &end, 10);
		if (end != addr + 3 && !*end && n >= 0 && n <= INT32_MAX &&
		    fcntl((int)n, F_GETFD) >= 0)
			fd = (int)n;
		else
			fd = -EBADF;
	}
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	c = p9c_new_fd(fd);
	*err = 0;
	return c;
}

void p9c_free(struct p9c *c)
{
	struct p9c_queued *q;

	if (!c)
		return;
	while ((q = g_queue_pop_head(&c->queue))) {
		p9c_reply_clear(&q->r);
		g_free(q);
	}
	if (c->wfd != c->rfd)
		close(c->wfd);
	close(c->rfd);
	g_free(c->rbuf);
	g_free(c->tbuf);
	p9c_tags_free(c);
	g_free(c);
}

int p9c_fd(const struct p9c *c) { return c->rfd; }
void p9c_set_dialect(struct p9c *c, enum p9_dialect d) { c->dialect = d; }
enum p9_dialect p9c_dialect(const struct p9c *c) { return c->dialect; }
void p9c_set_msize(struct p9c *c, uint32_t msize) { c->msize = msize; }
uint32_t p9c_msize(const struct p9c *c) { return c->msize; }
void p9c_set_timeout(struct p9c *c, int timeout_ms) { c->timeout_ms = timeout_ms; }
const char *p9c_last_ename(const struct p9c *c) { return c->ename; }
uint32_t p9c_newfid(struct p9c *c) { return c->next_fid++; }
unsigned p9c_queued(const struct p9c *c) { return c->queue.length; }
unsigned p9c_outstanding(const struct p9c *c) { return c->outstanding; }

/* ---- sending --------------------------------------------------------------- */

/* Feeds sent bytes through the frame tracker. */
static void track_tx(struct p9c *c, const uint8_t *p, size_t len)
{
	while (len && !c->txgarbage) {
		if (c->txskip) {
			size_t n = len < c->txskip ? len : (size_t)c->txskip;
			p += n;
			len -= n;
			c->txskip -= n;
			continue;
		}
		/* Collect the header; a Tflush also needs its oldtag[2]. */
		size_t want = P9_HDR_SIZE;
		if (c->txhdr_len >= 5 && c->txhdr[4] == P9_TFLUSH &&
		    p9_frame_size(c->txhdr) >= 9)
			want = 9;
		while (len && c->txhdr_len < want) {
			c->txhdr[c->txhdr_len++] = *p++;
			len--;
			if (c->txhdr_len == 5 && c->txhdr[4] == P9_TFLUSH &&
			    p9_frame_size(c->txhdr) >= 9)
				want = 9;
		}
		if (c->txhdr_len < want)
			return;
		uint32_t size = p9_frame_size(c->txhdr);
		if (size < P9_HDR_SIZE) {
			c->txgarbage = true;
			return;
		}
		p9c_tag_sent(c, c->txhdr[4], (uint16_t)(c->txhdr[5] | c->txhdr[6] << 8),
			     want == 9 ? c->txhdr[7] | c->txhdr[8] << 8 : -1);
		c->txskip = size - c->txhdr_len;
		c->txhdr_len = 0;
	}
}

static int write_all(struct p9c *c, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n;
		if (c->wfd_is_socket)
			n = send(c->wfd, p, len, MSG_NOSIGNAL);
		else
			n = write(c->wfd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = c->wfd, .events = POLLOUT };
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		track_tx(c, p, (size_t)n);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int p9c_send_raw(struct p9c *c, const void *buf, size_t len)
{
	return write_all(c, buf, len);
}

int p9c_send(struct p9c *c, const struct p9_msg *m, int tag)
{
	struct p9_msg copy;
	int n;

	if (tag == P9C_AUTOTAG)
		tag = p9c_tag_alloc(c);
	if (tag < 0 || tag > (int)P9_NOTAG)
		return tag < 0 ? tag : -EINVAL;
	copy = *m;
	copy.tag = (uint16_t)tag;
	for (;;) {
		n = p9_encode(c->tbuf, c->tcap, c->dialect, &copy);
		if (n != -EMSGSIZE || c->tcap >= TBUF_MAX)
			break;
		c->tcap *= 2;
		c->tbuf = g_realloc(c->tbuf, c->tcap);
	}
	if (n < 0)
		return n;
	n = write_all(c, c->tbuf, (size_t)n);
	return n < 0 ? n : tag;
}

/* ---- receiving ------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			t = left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, t);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		return rc == 0 ? -ETIMEDOUT : 0;
	}
}

/* Makes room for `need` bytes from rstart on. */
static void rbuf_reserve(struct p9c *c, size_t need)
{
	if (c->rstart) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	if (c->rcap < need) {
		c->rcap = need;
		c->rbuf = g_realloc(c->rbuf, c->rcap);
	}
}

/* Delimits the next frame; it stays in rbuf at [rstart, rstart+*len). */
static int read_frame(struct p9c *c, int timeout_ms, size_t *len)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	if (c->broken)
		return c->broken_rc;
	for (;;) {
		size_t avail = c->rend - c->rstart;
		size_t need = 4;
		if (avail >= 4) {
			uint32_t size = p9_frame_size(c->rbuf + c->rstart);
			if (size < P9_HDR_SIZE || size > c->msize) {
				c->broken = true;
				c->broken_rc = -EPROTO;
				return -EPROTO;
			}
			if (avail >= size) {
				*len = size;
				return 0;
			}
			need = size;
		}
		if (c->rcap - c->rstart < need || c->rend == c->rcap)
			rbuf_reserve(c, need > RBUF_INITIAL ? need : RBUF_INITIAL);

		int rc = wait_readable(c->rfd, deadline);
		if (rc)
			return rc;
		ssize_t n = read(c->rfd, c->rbuf + c->rend, c->rcap - c->rend);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			c->broken = true;
			c->broken_rc = -ECONNRESET;
			return -ECONNRESET;
		}
		c->rend += (size_t)n;
	}
}

static uint8_t error_type(enum p9_dialect d)
{
	return d == P9_DIALECT_2000L ? P9_RLERROR : P9_RERROR;
}

/* The session now speaks what the server answered, however the Tversion
 * was sent (p9c_version or raw bytes replayed from a trace). */
static void apply_version(struct p9c *c, const struct p9_msg *m)
{
	struct p9_str v = m->u.version.version;
	enum p9_dialect d;

	if (p9_str_eq(v, "9P2000.L"))
		d = P9_DIALECT_2000L;
	else if (p9_str_eq(v, "9P2000.u"))
		d = P9_DIALECT_2000U;
	else if (p9_str_eq(v, "9P2000"))
		d = P9_DIALECT_2000;
	else
		return;
	c->dialect = d;
	if (m->u.version.msize >= P9_HDR_SIZE)
		c->msize = m->u.version.msize;
}

/* Checks a decoded reply against the outstanding requests. */
static int account_reply(struct p9c *c, const struct p9_msg *m)
{
	bool version = p9c_tag_has_type(c, m->tag, P9_TVERSION);
	bool is_error = m->type == error_type(c->dialect) ||
			(version && (m->type == P9_RERROR || m->type == P9_RLERROR));
	int rc;

	if (!p9_is_rmsg(m->type)) {
		p9c_tag_drop(c, m->tag);
		return -EPROTO;
	}
	rc = p9c_tag_reply(c, m->tag, m->type, is_error);
	if (rc == 0 && m->type == P9_RVERSION) {
		p9c_tags_reset(c);
		apply_version(c, m);
	}
	return rc;
}

static int decode_reply(struct p9c *c, struct p9c_reply *r)
{
	int rc = p9_decode(r->frame, r->len, c->dialect, &r->m);

	/* A server refusing Tversion cannot know our dialect either; accept
	 * an Rerror in any layout there. */
	if (rc && r->m.type == P9_RERROR && p9c_tag_has_type(c, r->m.tag, P9_TVERSION)) {
		rc = p9_decode(r->frame, r->len, P9_DIALECT_2000, &r->m);
		if (rc)
			rc = p9_decode(r->frame, r->len, P9_DIALECT_2000U, &r->m);
	}
	return rc;
}

static int recv_wire(struct p9c *c, struct p9c_reply *r, int timeout_ms)
{
	size_t len = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = read_frame(c, timeout_ms, &len);
	if (rc)
		return rc;
	r->frame = g_memdup2(c->rbuf + c->rstart, (gsize)len);
	r->len = len;
	c->rstart += len;
	if (c->rstart == c->rend)
		c->rstart = c->rend = 0;

	rc = decode_reply(c, r);
	if (rc) {
		/* Still consume the tag so that one bad reply does not leave
		 * the request looking outstanding forever. */
		p9c_tag_drop(c, r->m.tag);
		return -EPROTO;
	}
	return account_reply(c, &r->m);
}

int p9c_recv(struct p9c *c, struct p9c_reply *r, int timeout_ms)
{
	struct p9c_queued *q = g_queue_pop_head(&c->queue);

	if (q) {
		int rc = q->rc;
		*r = q->r;
		g_free(q);
		return rc;
	}
	return recv_wire(c, r, timeout_ms);
}

void p9c_reply_clear(struct p9c_reply *r)
{
	if (!r)
		return;
	g_free(r->frame);
	memset(r, 0, sizeof(*r));
}

/* ---- errors and rpc -------------------------------------------------------- */

static int errno_from_text(struct p9_str s)
{
	char buf[256];

	if (!p9_str_copy(buf, sizeof(buf), s))
		return EIO;
	for (int e = 1; e < 200; e++) {
		const char *d = strerrordesc_np(e);
		if (d && strcmp(d, buf) == 0)
			return e;
	}
	return EIO;
}

int p9c_reply_errno(struct p9c *c, const struct p9c_reply *r)
{
	if (r->m.type == P9_RLERROR) {
		c->ename[0] = '\0';
		uint32_t e = r->m.u.rlerror.ecode;
		return (e == 0 || e > 4095) ? -EPROTO : -(int)e;
	}
	if (r->m.type == P9_RERROR) {
		if (!p9_str_copy(c->ename, sizeof(c->ename), r->m.u.rerror.ename))
			g_strlcpy(c->ename, "(error text too long)", sizeof(c->ename));
		uint32_t e = r->m.u.rerror.ecode;
		if (e > 0 && e <= 4095)
			return -(int)e;
		return -errno_from_text(r->m.u.rerror.ename);
	}
	return 0;
}

int p9c_rpc_on(struct p9c *c, const struct p9_msg *t, int tag, struct p9c_reply *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	tag = p9c_send(c, t, tag);
	if (tag < 0)
		return tag;
	for (;;) {
		struct p9c_reply got;
		rc = recv_wire(c, &got, c->timeout_ms);
		if (rc && !got.frame)
			return rc;
		if (got.m.tag == (uint16_t)tag) {
			*r = got;
			if (rc)
				return rc;
			if (r->m.type == t->type + 1)
				return 0;
			rc = p9c_reply_errno(c, r);
			return rc ? rc : -EPROTO;
		}
		/* Another request's reply, good or bad: p9c_recv hands it
		 * out later with its verdict, in arrival order. */
		struct p9c_queued *q = g_new(struct p9c_queued, 1);
		q->r = got;
		q->rc = rc;
		g_queue_push_tail(&c->queue, q);
	}
}

int p9c_rpc(struct p9c *c, const struct p9_msg *t, struct p9c_reply *r)
{
	return p9c_rpc_on(c, t, P9C_AUTOTAG, r);
}
