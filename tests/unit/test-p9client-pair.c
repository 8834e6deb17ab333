/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test client against a tiny scripted 9P server running in a thread
 * on the other end of a socketpair (or a unix/tcp listener).  It proves the
 * client's framing, tag handling, error mapping and reply validation; it
 * is not a test of any real server.
 *
 * Script (by request):
 *   Tversion  msize min(proposed, 8192); "9P2000.X" answers a larger msize;
 *             unknown versions get "unknown".
 *   Twalk     qid path 100+i per name; stops at "missing" (error if first);
 *             "toomany" answers one qid more than asked.
 *   Tread     fid 7: held until flushed, then answered before the Rflush;
 *             fid 8: held, dropped by the flush; fid 10: held, answered
 *             AFTER the Rflush (a server bug); fid 9: answers more than
 *             count; fid 20: stat records (.u directory); else "hello world".
 *   Tclunk    fid 99: EBADF; fid 98: error in the wrong dialect's layout.
 *   Tremove   fid 66: oversized frame; 67: wrong reply type; 68: a stray
 *             reply on the next tag, then the right one.
 *   others    a plausible answer; each request frame is kept for checks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "9p/p9.h"
#include "p9client.h"

/* ---- the fake server -------------------------------------------------------- */

struct fake {
	int fd;
	int listen_fd;          /* >= 0: accept one connection first */
	enum p9_dialect d;
	pthread_t thread;
	GMutex lock;
	GPtrArray *requests;    /* GBytes of every request frame */
	int held7, held8, held10;
};

/* The client may already be gone (a test that stops reading after a
 * protocol error): losing the reply then is fine, dying of SIGPIPE is not. */
static void fake_write(struct fake *f, const void *buf, size_t len)
{
	(void)send(f->fd, buf, len, MSG_NOSIGNAL);
}

static void fake_send(struct fake *f, const struct p9_msg *m)
{
	uint8_t buf[16384];
	int n = p9_encode(buf, sizeof(buf), f->d, m);

	g_assert_cmpint(n, >, 0);
	fake_write(f, buf, (size_t)n);
}

static void fake_error(struct fake *f, uint16_t tag, int err)
{
	struct p9_msg r = { .tag = tag };

	if (f->d == P9_DIALECT_2000L) {
		r.type = P9_RLERROR;
		r.u.rlerror.ecode = (uint32_t)err;
	} else {
		r.type = P9_RERROR;
		r.u.rerror.ename = p9_str_c(err ? strerrordesc_np(err) : "mystery failure");
		r.u.rerror.ecode = (uint32_t)err;
	}
	fake_send(f, &r);
}

static void fake_rread(struct fake *f, uint16_t tag, const char *text)
{
	struct p9_msg r = { .type = P9_RREAD, .tag = tag };

	r.u.rread.count = (uint32_t)strlen(text);
	r.u.rread.data = (const uint8_t *)text;
	fake_send(f, &r);
}

static void fake_empty(struct fake *f, uint8_t type, uint16_t tag)
{
	struct p9_msg r = { .type = type, .tag = tag };
	fake_send(f, &r);
}

static void fake_dirents(struct fake *f, const struct p9_msg *m)
{
	static const char *const names[] = { "alpha", "beta", "gamma" };
	uint8_t buf[512];
	struct p9_wr w;
	struct p9_msg r = { .type = P9_RREADDIR, .tag = m->tag };

	p9_wr_init(&w, buf, sizeof(buf));
	/* At most two entries per batch so listings take several round trips. */
	for (uint64_t i = m->u.tread.offset, n = 0; i < 3 && n < 2; i++, n++) {
		struct p9_dirent de = { { P9_QTFILE, 0, 200 + i }, i + 1, 8, p9_str_c(names[i]) };
		if (p9_wr_len(&w) + p9_dirent_size(de.name.len) > m->u.tread.count)
			break;
		p9_putdirent(&w, &de);
	}
	r.u.rread.count = (uint32_t)p9_wr_len(&w);
	r.u.rread.data = buf;
	fake_send(f, &r);
}

static void fill_stat(struct p9_stat *st, const char *name, uint64_t path)
{
	memset(st, 0, sizeof(*st));
	st->qid = (struct p9_qid){ P9_QTFILE, 1, path };
	st->mode = 0644;
	st->length = path * 10;
	st->name = p9_str_c(name);
	st->uid = p9_str_c("uid");
	st->gid = p9_str_c("gid");
	st->muid = p9_str_c("");
	st->extension = p9_str_c("");
	st->n_uid = 1000;
	st->n_gid = 1000;
	st->n_muid = P9_NONUNAME;
}

static void fake_stats(struct fake *f, const struct p9_msg *m)
{
	uint8_t buf[512];
	struct p9_wr w;
	struct p9_stat st;
	struct p9_msg r = { .type = P9_RREAD, .tag = m->tag };

	p9_wr_init(&w, buf, sizeof(buf));
	if (m->u.tread.offset == 0) {
		fill_stat(&st, "one", 1);
		p9_putstat(&w, f->d, &st);
		fill_stat(&st, "two", 2);
		p9_putstat(&w, f->d, &st);
	}
	r.u.rread.count = (uint32_t)p9_wr_len(&w);
	r.u.rread.data = buf;
	fake_send(f, &r);
}

static void fake_handle(struct fake *f, const struct p9_msg *m)
{
	struct p9_msg r = { .type = (uint8_t)(m->type + 1), .tag = m->tag };

	switch (m->type) {
	case P9_TVERSION: {
		struct p9_str v = m->u.version.version;
		r.u.version.msize = m->u.version.msize < 8192 ? m->u.version.msize : 8192;
		if (p9_str_eq(v, "9P2000.L")) {
			r.u.version.version = v;
			f->d = P9_DIALECT_2000L;
		} else if (p9_str_eq(v, "9P2000.u")) {
			r.u.version.version = v;
			f->d = P9_DIALECT_2000U;
		} else if (p9_str_eq(v, "9P2000")) {
			r.u.version.version = v;
			f->d = P9_DIALECT_2000;
		} else if (p9_str_eq(v, "9P2000.X")) {
			r.u.version.version = p9_str_c("9P2000.L");
			r.u.version.msize = m->u.version.msize * 2;
		} else {
			r.u.version.version = p9_str_c("unknown");
		}
		fake_send(f, &r);
		return;
	}
	case P9_TATTACH:
		r.u.rattach.qid = (struct p9_qid){ P9_QTDIR, 0, 1 };
		break;
	case P9_TWALK: {
		unsigned n = 0;
		for (; n < m->u.twalk.nwname; n++) {
			if (p9_str_eq(m->u.twalk.wname[n], "missing"))
				break;
			r.u.rwalk.wqid[n] = (struct p9_qid){ P9_QTDIR, 0, 100 + n };
		}
		if (n == 0 && m->u.twalk.nwname > 0) {
			fake_error(f, m->tag, ENOENT);
			return;
		}
		if (n > 0 && p9_str_eq(m->u.twalk.wname[0], "toomany"))
			n++;
		r.u.rwalk.nwqid = (uint16_t)n;
		break;
	}
	case P9_TREAD:
		switch (m->u.tread.fid) {
		case 7:
			f->held7 = m->tag;
			return;
		case 8:
			f->held8 = m->tag;
			return;
		case 10:
			f->held10 = m->tag;
			return;
		case 9:
			fake_rread(f, m->tag, "more than you asked for");
			return;
		case 20:
			fake_stats(f, m);
			return;
		default: {
			const char *text = "hello world";
			size_t len = strlen(text);
			size_t off = m->u.tread.offset < len ? (size_t)m->u.tread.offset : len;
			size_t n = len - off < m->u.tread.count ? len - off : m->u.tread.count;
			char *part = g_strndup(text + off, n);
			fake_rread(f, m->tag, part);
			g_free(part);
			return;
		}
		}
	case P9_TFLUSH: {
		int old = m->u.tflush.oldtag;
		if (old == f->held7) {
			fake_rread(f, (uint16_t)old, "late");
			f->held7 = -1;
		} else if (old == f->held8) {
			f->held8 = -1;
		}
		fake_empty(f, P9_RFLUSH, m->tag);
		if (old == f->held10) {
			fake_rread(f, (uint16_t)old, "too late");
			f->held10 = -1;
		}
		return;
	}
	case P9_TWRITE:
		r.u.rwrite.count = m->u.twrite.count;
		break;
	case P9_TCLUNK:
		if (m->u.tfid.fid == 99) {
			fake_error(f, m->tag, EBADF);
			return;
		}
		if (m->u.tfid.fid == 98) {
			enum p9_dialect saved = f->d;
			f->d = saved == P9_DIALECT_2000L ? P9_DIALECT_2000U : P9_DIALECT_2000L;
			fake_error(f, m->tag, EBADF);
			f->d = saved;
			return;
		}
		break;
	case P9_TREMOVE:
		if (m->u.tfid.fid == 66) {
			uint8_t big[9000] = { 0 };
			big[0] = (uint8_t)(sizeof(big) & 0xff);
			big[1] = (uint8_t)(sizeof(big) >> 8);
			big[4] = P9_RREMOVE;
			big[5] = (uint8_t)m->tag;
			big[6] = (uint8_t)(m->tag >> 8);
			fake_write(f, big, sizeof(big));
			return;
		}
		if (m->u.tfid.fid == 67)
			r.type = P9_RCLUNK;
		if (m->u.tfid.fid == 68) {
			r.tag = (uint16_t)(m->tag + 1);
			fake_send(f, &r);
			r.tag = m->tag;
		}
		break;
	case P9_TOPEN:
	case P9_TCREATE:
	case P9_TLOPEN:
	case P9_TLCREATE:
		r.u.ropen.qid = (struct p9_qid){ P9_QTFILE, 1, 42 };
		r.u.ropen.iounit = 4096;
		break;
	case P9_TREADDIR:
		fake_dirents(f, m);
		return;
	case P9_TGETATTR:
		r.u.rgetattr.valid = m->u.tgetattr.request_mask & P9_GETATTR_BASIC;
		r.u.rgetattr.qid = (struct p9_qid){ P9_QTFILE, 1, 42 };
		r.u.rgetattr.mode = 0100644;
		r.u.rgetattr.size = 11;
		r.u.rgetattr.nlink = 1;
		break;
	case P9_TMKDIR:
		if (p9_str_eq(m->u.tmkdir.name, "exists")) {
			fake_error(f, m->tag, EEXIST);
			return;
		}
		r.u.rqid.qid = (struct p9_qid){ P9_QTDIR, 0, 300 };
		break;
	case P9_TSYMLINK:
	case P9_TMKNOD:
		r.u.rqid.qid = (struct p9_qid){ P9_QTSYMLINK, 0, 301 };
		break;
	case P9_TREADLINK:
		r.u.rreadlink.target = p9_str_c("../some/target");
		break;
	case P9_TSTATFS:
		r.u.rstatfs.st = (struct p9_statfs){ 0x01021997, 4096, 10, 9, 8, 7, 6, 5, 255 };
		break;
	case P9_TXATTRWALK:
		r.u.rxattrwalk.size = 17;
		break;
	case P9_TLOCK:
		r.u.rlock.status = P9_LOCK_SUCCESS;
		break;
	case P9_TGETLOCK:
		r.u.rgetlock.lock = m->u.tlock.lock;
		r.u.rgetlock.lock.type = P9_LOCK_TYPE_UNLCK;
		r.u.rgetlock.lock.client_id = p9_str_c("other-host");
		break;
	case P9_TSTAT:
		fill_stat(&r.u.rstat.stat, "file", 5);
		r.u.rstat.stat.extension = p9_str_c("ext");
		break;
	case P9_TAUTH:
		fake_error(f, m->tag, EOPNOTSUPP);
		return;
	default:
		/* The remaining requests have empty replies. */
		break;
	}
	fake_send(f, &r);
}

static bool read_exact(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void *fake_main(void *opaque)
{
	struct fake *f = opaque;

	if (f->listen_fd >= 0) {
		f->fd = accept(f->listen_fd, NULL, NULL);
		g_assert_cmpint(f->fd, >=, 0);
	}
	for (;;) {
		uint8_t hdr[4];
		if (!read_exact(f->fd, hdr, 4))
			break;
		uint32_t size = p9_frame_size(hdr);
		if (size < P9_HDR_SIZE || size > (1u << 20))
			break;
		uint8_t *frame = g_malloc(size);
		memcpy(frame, hdr, 4);
		if (!read_exact(f->fd, frame + 4, size - 4)) {
			g_free(frame);
			break;
		}
		g_mutex_lock(&f->lock);
		g_ptr_array_add(f->requests, g_bytes_new(frame, size));
		g_mutex_unlock(&f->lock);

		struct p9_msg m;
		int rc = p9_decode(frame, size, f->d, &m);
		if (rc == 0)
			fake_handle(f, &m);
		else if (size >= P9_HDR_SIZE)
			fake_error(f, m.tag, -rc);
		g_free(frame);
	}
	return NULL;
}

static struct fake *fake_start_on(int fd, int listen_fd)
{
	struct fake *f = g_new0(struct fake, 1);

	f->fd = fd;
	f->listen_fd = listen_fd;
	f->d = P9_DIALECT_2000L;
	f->held7 = f->held8 = f->held10 = -1;
	g_mutex_init(&f->lock);
	f->requests = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_assert_cmpint(pthread_create(&f->thread, NULL, fake_main, f), ==, 0);
	return f;
}

/* Starts the fake server on a socketpair; returns the client. */
static struct p9c *pair_start(struct fake **fp)
{
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	*fp = fake_start_on(sv[1], -1);
	struct p9c *c = p9c_new_fd(sv[0]);
	g_assert_nonnull(c);
	return c;
}

/* Closes the client (the server sees EOF) and joins the server. */
static void pair_stop(struct p9c *c, struct fake *f)
{
	p9c_free(c);
	pthread_join(f->thread, NULL);
	close(f->fd);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	g_ptr_array_unref(f->requests);
	g_mutex_clear(&f->lock);
	g_free(f);
}

/* The last request frame the server saw, decoded in dialect d. */
static GBytes *last_request(struct fake *f, struct p9_msg *m, enum p9_dialect d)
{
	g_mutex_lock(&f->lock);
	g_assert_cmpuint(f->requests->len, >, 0);
	GBytes *b = g_bytes_ref(f->requests->pdata[f->requests->len - 1]);
	g_mutex_unlock(&f->lock);
	gsize len;
	const void *p = g_bytes_get_data(b, &len);
	g_assert_cmpint(p9_decode(p, len, d, m), ==, 0);
	return b;   /* keeps m's strings alive */
}

static void session(struct p9c *c, const char *version)
{
	uint32_t msize = 0;
	char ver[32];

	g_assert_cmpint(p9c_version(c, 65536, version, &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpuint(msize, ==, 8192);
	g_assert_cmpstr(ver, ==, version);
	g_assert_cmpuint(p9c_msize(c), ==, 8192);
	struct p9_qid qid;
	g_assert_cmpint(p9c_attach(c, 1, P9_NOFID, "user", "", 1000, &qid), ==, 0);
	g_assert_cmpuint(qid.type, ==, P9_QTDIR);
	g_assert_cmpuint(qid.path, ==, 1);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_version(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	uint32_t msize;
	char ver[32];

	/* Unknown version: a successful Rversion "unknown", dialect unchanged. */
	g_assert_cmpint(p9c_version(c, 4096, "9P3000", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "unknown");
	g_assert_cmpint(p9c_dialect(c), ==, P9_DIALECT_2000L);
	g_assert_cmpuint(p9c_msize(c), ==, P9C_DEFAULT_MSIZE);

	/* The server may not raise the msize. */
	g_assert_cmpint(p9c_version(c, 4096, "9P2000.X", &msize, ver, sizeof(ver)), ==, -EPROTO);

	g_assert_cmpint(p9c_version(c, 65536, "9P2000.u", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_dialect(c), ==, P9_DIALECT_2000U);
	g_assert_cmpint(p9c_version(c, 65536, "9P2000", &msize, NULL, 0), ==, 0);
	g_assert_cmpint(p9c_dialect(c), ==, P9_DIALECT_2000);
	session(c, "9P2000.L");
	g_assert_cmpint(p9c_dialect(c), ==, P9_DIALECT_2000L);

	/* Tversion went out on NOTAG, in the exact bytes of the protocol. */
	struct p9_msg m;
	GBytes *b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_cmpuint(m.type, ==, P9_TATTACH);
	g_bytes_unref(b);
	g_mutex_lock(&f->lock);
	GBytes *tv = g_bytes_ref(f->requests->pdata[f->requests->len - 2]);
	g_mutex_unlock(&f->lock);
	static const uint8_t want[] = { 0x15, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0x00, 0x00,
					0x01, 0x00, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L' };
	gsize len;
	const void *p = g_bytes_get_data(tv, &len);
	g_assert_cmpmem(p, len, want, sizeof(want));
	g_bytes_unref(tv);

	/* A Tversion sent as raw bytes (trace replay) switches the client too. */
	static const uint8_t rawv[] = { 0x15, 0, 0, 0, P9_TVERSION, 0xff, 0xff, 0x00, 0x10,
					0x00, 0x00, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'u' };
	struct p9c_reply r;
	g_assert_cmpint(p9c_send_raw(c, rawv, sizeof(rawv)), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RVERSION);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_dialect(c), ==, P9_DIALECT_2000U);
	g_assert_cmpuint(p9c_msize(c), ==, 4096);
	pair_stop(c, f);
}

static void test_walk(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9_qid qids[16], qid;
	uint16_t n = 99;

	session(c, "9P2000.L");
	const char *names[] = { "a", "b", "missing", "d" };
	g_assert_cmpint(p9c_walk(c, 1, 2, 4, names, &n, qids), ==, 0);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpuint(qids[1].path, ==, 101);
	g_assert_cmpint(p9c_walk(c, 1, 2, 1, names + 2, &n, qids), ==, -ENOENT);
	g_assert_cmpint(p9c_walk(c, 1, 2, 0, NULL, &n, NULL), ==, 0);
	g_assert_cmpuint(n, ==, 0);

	g_assert_cmpint(p9c_walk_path(c, 1, 3, "x/y/z", &qid), ==, 0);
	g_assert_cmpuint(qid.path, ==, 102);
	g_assert_cmpint(p9c_walk_path(c, 1, 3, "x/missing", &qid), ==, -ENOENT);
	g_assert_cmpint(p9c_walk_path(c, 1, 3, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &qid), ==, -EINVAL);

	/* The names went out as sent. */
	struct p9_msg m;
	g_assert_cmpint(p9c_walk_path(c, 1, 3, "/one//two/", NULL), ==, 0);
	GBytes *b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_cmpuint(m.u.twalk.nwname, ==, 2);
	g_assert_true(p9_str_eq(m.u.twalk.wname[0], "one"));
	g_assert_true(p9_str_eq(m.u.twalk.wname[1], "two"));
	g_assert_cmpuint(m.u.twalk.newfid, ==, 3);
	g_bytes_unref(b);

	/* A reply with more qids than names is caught by the client. */
	const char *tm[] = { "toomany" };
	g_assert_cmpint(p9c_walk(c, 1, 4, 1, tm, &n, qids), ==, -EPROTO);
	g_assert_cmpint(p9c_walk(c, 1, 4, 17, names, &n, qids), ==, -EINVAL);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);
	pair_stop(c, f);
}

static void test_error_mapping(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9_qid qid;

	session(c, "9P2000.L");
	g_assert_cmpint(p9c_clunk(c, 99), ==, -EBADF);
	g_assert_cmpstr(p9c_last_ename(c), ==, "");
	g_assert_cmpint(p9c_mkdir(c, 1, "exists", 0755, 0, &qid), ==, -EEXIST);
	g_assert_cmpint(p9c_mkdir(c, 1, "new", 0755, 0, &qid), ==, 0);
	g_assert_cmpuint(qid.path, ==, 300);
	/* An Rerror in a .L session is not what the client agreed to. */
	g_assert_cmpint(p9c_clunk(c, 98), ==, -EPROTO);
	g_assert_cmpint(p9c_clunk(c, 5), ==, 0);

	g_assert_cmpint(p9c_version(c, 65536, "9P2000.u", NULL, NULL, 0), ==, 0);
	g_assert_cmpint(p9c_clunk(c, 99), ==, -EBADF);
	g_assert_cmpstr(p9c_last_ename(c), ==, "Bad file descriptor");
	g_assert_cmpint(p9c_clunk(c, 98), ==, -EPROTO);
	g_assert_cmpint(p9c_auth(c, 5, "u", "", 0, &qid), ==, -EOPNOTSUPP);

	/* 9P2000 has only the text: mapped back through strerror. */
	g_assert_cmpint(p9c_version(c, 65536, "9P2000", NULL, NULL, 0), ==, 0);
	g_assert_cmpint(p9c_clunk(c, 99), ==, -EBADF);
	g_assert_cmpint(p9c_mkdir(c, 1, "exists", 0755, 0, &qid), ==, -EEXIST);
	g_assert_cmpstr(p9c_last_ename(c), ==, "File exists");
	pair_stop(c, f);
}

static void test_out_of_order(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9c_reply r;
	struct p9_msg t = { .type = P9_TREAD };

	session(c, "9P2000.L");
	t.u.tread.fid = 7;
	t.u.tread.count = 100;
	int held = p9c_send(c, &t, 40);
	g_assert_cmpint(held, ==, 40);
	t.u.tread.fid = 1;
	int quick = p9c_send(c, &t, P9C_AUTOTAG);
	g_assert_cmpint(quick, >=, 0);
	g_assert_cmpint(quick, !=, 40);
	g_assert_cmpuint(p9c_outstanding(c), ==, 2);

	/* The second request is answered first. */
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, quick);
	g_assert_cmpuint(r.m.type, ==, P9_RREAD);
	g_assert_cmpmem(r.m.u.rread.data, r.m.u.rread.count, "hello world", 11);
	p9c_reply_clear(&r);

	/* Nothing else is coming until the held one is flushed. */
	g_assert_cmpint(p9c_recv(c, &r, 50), ==, -ETIMEDOUT);
	g_assert_null(r.frame);

	/* Raw Tflush: the flushed reply arrives before the Rflush. */
	struct p9_msg fl = { .type = P9_TFLUSH };
	fl.u.tflush.oldtag = 40;
	g_assert_cmpint(p9c_send(c, &fl, 41), ==, 41);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 40);
	g_assert_cmpmem(r.m.u.rread.data, r.m.u.rread.count, "late", 4);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 41);
	g_assert_cmpuint(r.m.type, ==, P9_RFLUSH);
	p9c_reply_clear(&r);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);
	pair_stop(c, f);
}

static void test_flush_call(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9c_reply r;
	struct p9_msg t = { .type = P9_TREAD };

	session(c, "9P2000.L");

	/* Answered before the Rflush: queued for p9c_recv. */
	t.u.tread.fid = 7;
	int a = p9c_send(c, &t, P9C_AUTOTAG);
	g_assert_cmpint(a, >=, 0);
	g_assert_cmpint(p9c_flush(c, (uint16_t)a), ==, 0);
	g_assert_cmpuint(p9c_queued(c), ==, 1);
	g_assert_cmpint(p9c_recv(c, &r, 0), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, a);
	g_assert_cmpuint(r.m.type, ==, P9_RREAD);
	p9c_reply_clear(&r);

	/* Dropped by the flush: the tag is no longer outstanding. */
	t.u.tread.fid = 8;
	int b = p9c_send(c, &t, P9C_AUTOTAG);
	g_assert_cmpint(p9c_flush(c, (uint16_t)b), ==, 0);
	g_assert_cmpuint(p9c_queued(c), ==, 0);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);

	/* A reply after its Rflush is a protocol violation. */
	t.u.tread.fid = 10;
	int d = p9c_send(c, &t, P9C_AUTOTAG);
	g_assert_cmpint(p9c_flush(c, (uint16_t)d), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, -EPROTO);
	g_assert_nonnull(r.frame);
	g_assert_cmpuint(r.m.tag, ==, d);
	p9c_reply_clear(&r);

	/* The connection is still usable. */
	g_assert_cmpint(p9c_clunk(c, 2), ==, 0);
	pair_stop(c, f);
}

/* Two requests on one tag: each reply retires the request it answers. */
static void test_duplicate_tag(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9c_reply r;
	struct p9_msg t = { .type = P9_TREAD };

	session(c, "9P2000.L");
	t.u.tread.fid = 7;
	g_assert_cmpint(p9c_send(c, &t, 50), ==, 50);
	struct p9_msg cl = { .type = P9_TCLUNK };
	cl.u.tfid.fid = 5;
	g_assert_cmpint(p9c_send(c, &cl, 50), ==, 50);
	g_assert_cmpuint(p9c_outstanding(c), ==, 2);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RCLUNK);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_flush(c, 50), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r, 0), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RREAD);
	g_assert_cmpuint(r.m.tag, ==, 50);
	p9c_reply_clear(&r);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);

	/* An error reply on a doubled tag retires the newer request. */
	g_assert_cmpint(p9c_send(c, &t, 51), ==, 51);
	cl.u.tfid.fid = 99;
	g_assert_cmpint(p9c_send(c, &cl, 51), ==, 51);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RLERROR);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_flush(c, 51), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r, 0), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RREAD);
	p9c_reply_clear(&r);
	pair_stop(c, f);
}

static void test_raw_send(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9c_reply r;

	session(c, "9P2000.L");
	/* A Tclunk written in two pieces, split inside the header. */
	static const uint8_t tclunk[] = { 11, 0, 0, 0, P9_TCLUNK, 0x34, 0x12, 5, 0, 0, 0 };
	g_assert_cmpint(p9c_send_raw(c, tclunk, 3), ==, 0);
	g_assert_cmpint(p9c_send_raw(c, tclunk + 3, sizeof(tclunk) - 3), ==, 0);
	g_assert_cmpuint(p9c_outstanding(c), ==, 1);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RCLUNK);
	g_assert_cmpuint(r.m.tag, ==, 0x1234);
	g_assert_cmpuint(r.len, ==, 7);
	p9c_reply_clear(&r);

	/* Two frames in one write. */
	uint8_t two[22];
	memcpy(two, tclunk, 11);
	memcpy(two + 11, tclunk, 11);
	two[17] = 0x13;
	g_assert_cmpint(p9c_send_raw(c, two, sizeof(two)), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 0x1234);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 0x1334);
	p9c_reply_clear(&r);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);
	pair_stop(c, f);
}

static void test_bad_replies(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	uint8_t buf[64];
	uint32_t n;

	session(c, "9P2000.L");
	/* Rread longer than the count asked for. */
	g_assert_cmpint(p9c_read(c, 9, 0, 4, buf, &n), ==, -EPROTO);
	/* Wrong reply type for the request. */
	g_assert_cmpint(p9c_remove(c, 67), ==, -EPROTO);
	/* A reply on a tag nobody used does not fail the call waiting for
	 * its own reply; it is handed out later as the error it is. */
	struct p9c_reply r;
	g_assert_cmpint(p9c_remove(c, 68), ==, 0);
	g_assert_cmpuint(p9c_queued(c), ==, 1);
	g_assert_cmpint(p9c_recv(c, &r, 0), ==, -EPROTO);
	g_assert_nonnull(r.frame);
	g_assert_cmpuint(r.m.type, ==, P9_RREMOVE);
	p9c_reply_clear(&r);
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);
	g_assert_cmpint(p9c_read(c, 1, 6, 64, buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "world", 5);
	/* A frame larger than the negotiated msize: the stream is lost. */
	g_assert_cmpint(p9c_remove(c, 66), ==, -EPROTO);
	g_assert_cmpint(p9c_clunk(c, 1), ==, -EPROTO);
	pair_stop(c, f);
}

static void test_eof(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9c_reply r;

	session(c, "9P2000.L");
	shutdown(f->fd, SHUT_RDWR);
	g_assert_cmpint(p9c_recv(c, &r, -1), ==, -ECONNRESET);
	g_assert_cmpint(p9c_recv(c, &r, 0), ==, -ECONNRESET);
	pair_stop(c, f);
}

static int collect_dirent(const struct p9_dirent *de, void *opaque)
{
	GString *s = opaque;
	g_string_append_printf(s, "%.*s@%" G_GUINT64_FORMAT ";", de->name.len, de->name.s,
			       de->offset);
	return 0;
}

static int stop_at_beta(const struct p9_dirent *de, void *opaque)
{
	return p9_str_eq(de->name, "beta") ? 42 : 0;
}

static void test_dotl_calls(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9_qid qid;
	uint32_t iounit, n;
	uint8_t buf[256];
	struct p9_msg m;
	GBytes *b;

	session(c, "9P2000.L");
	g_assert_cmpint(p9c_lopen(c, 2, P9L_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpuint(qid.path, ==, 42);
	g_assert_cmpuint(iounit, ==, 4096);
	g_assert_cmpint(p9c_lcreate(c, 2, "f", P9L_CREATE | P9L_WRONLY, 0600, 5, &qid, &iounit), ==, 0);
	b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_true(p9_str_eq(m.u.tlcreate.name, "f"));
	g_assert_cmpuint(m.u.tlcreate.mode, ==, 0600);
	g_assert_cmpuint(m.u.tlcreate.gid, ==, 5);
	g_bytes_unref(b);

	g_assert_cmpint(p9c_write(c, 2, 100, "data", 4, &n), ==, 0);
	g_assert_cmpuint(n, ==, 4);
	b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_cmpuint(m.u.twrite.offset, ==, 100);
	g_assert_cmpmem(m.u.twrite.data, m.u.twrite.count, "data", 4);
	g_bytes_unref(b);
	g_assert_cmpint(p9c_read(c, 2, 0, 5, buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "hello", 5);

	/* Raw readdir, then the whole listing across batches. */
	g_assert_cmpint(p9c_readdir(c, 2, 0, sizeof(buf), buf, &n), ==, 0);
	GString *s = g_string_new("");
	g_assert_cmpint(p9c_parse_dirents(buf, n, collect_dirent, s), ==, 0);
	g_assert_cmpstr(s->str, ==, "alpha@1;beta@2;");
	g_string_truncate(s, 0);
	g_assert_cmpint(p9c_readdir_all(c, 2, 4096, collect_dirent, s), ==, 0);
	g_assert_cmpstr(s->str, ==, "alpha@1;beta@2;gamma@3;");
	g_assert_cmpint(p9c_readdir_all(c, 2, 4096, stop_at_beta, NULL), ==, 42);
	g_string_free(s, TRUE);
	/* A malformed payload is refused before any callback. */
	g_assert_cmpint(p9c_parse_dirents(buf, n - 1, stop_at_beta, NULL), ==, -EPROTO);

	struct p9_getattr ga;
	g_assert_cmpint(p9c_getattr(c, 2, P9_GETATTR_ALL, &ga), ==, 0);
	g_assert_cmpuint(ga.valid, ==, P9_GETATTR_BASIC);
	g_assert_cmpuint(ga.size, ==, 11);
	struct p9_setattr sa = { .valid = P9_SETATTR_SIZE, .size = 3 };
	g_assert_cmpint(p9c_setattr(c, 2, &sa), ==, 0);
	b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_cmpuint(m.u.tsetattr.attr.size, ==, 3);
	g_bytes_unref(b);

	g_assert_cmpint(p9c_unlinkat(c, 1, "gone", P9_AT_REMOVEDIR), ==, 0);
	g_assert_cmpint(p9c_renameat(c, 1, "old", 3, "new"), ==, 0);
	b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_true(p9_str_eq(m.u.trenameat.newname, "new"));
	g_assert_cmpuint(m.u.trenameat.newdirfid, ==, 3);
	g_bytes_unref(b);
	g_assert_cmpint(p9c_rename(c, 2, 1, "moved"), ==, 0);
	g_assert_cmpint(p9c_symlink(c, 1, "sl", "target", 0, &qid), ==, 0);
	g_assert_cmpuint(qid.path, ==, 301);
	char target[64];
	g_assert_cmpint(p9c_readlink(c, 2, target, sizeof(target)), ==, 0);
	g_assert_cmpstr(target, ==, "../some/target");
	g_assert_cmpint(p9c_readlink(c, 2, target, 4), ==, -ENAMETOOLONG);
	g_assert_cmpint(p9c_link(c, 1, 2, "hard"), ==, 0);
	g_assert_cmpint(p9c_mknod(c, 1, "fifo", 010644, 0, 0, 0, &qid), ==, 0);
	struct p9_statfs sf;
	g_assert_cmpint(p9c_statfs(c, 1, &sf), ==, 0);
	g_assert_cmpuint(sf.namelen, ==, 255);
	g_assert_cmpint(p9c_fsync(c, 2, 1), ==, 0);
	b = last_request(f, &m, P9_DIALECT_2000L);
	g_assert_cmpuint(m.u.tfsync.datasync, ==, 1);
	g_bytes_unref(b);
	uint64_t xsize;
	g_assert_cmpint(p9c_xattrwalk(c, 2, 6, "user.x", &xsize), ==, 0);
	g_assert_cmpuint(xsize, ==, 17);
	g_assert_cmpint(p9c_xattrcreate(c, 6, "user.y", 3, 0), ==, 0);

	struct p9_lock lk = { P9_LOCK_TYPE_WRLCK, P9_LOCK_FLAGS_BLOCK, 0, 10, 77,
			      p9_str_c("me") };
	uint8_t status = 0xff;
	g_assert_cmpint(p9c_lock(c, 2, &lk, &status), ==, 0);
	g_assert_cmpuint(status, ==, P9_LOCK_SUCCESS);
	struct p9_lock out;
	char cid[32];
	g_assert_cmpint(p9c_getlock(c, 2, &lk, &out, cid, sizeof(cid)), ==, 0);
	g_assert_cmpuint(out.type, ==, P9_LOCK_TYPE_UNLCK);
	g_assert_cmpuint(out.proc_id, ==, 77);
	g_assert_true(p9_str_eq(out.client_id, "other-host"));
	g_assert_cmpuint(p9c_outstanding(c), ==, 0);
	pair_stop(c, f);
}

static int collect_stat(const struct p9_stat *st, void *opaque)
{
	GString *s = opaque;
	g_string_append_printf(s, "%.*s:%" G_GUINT64_FORMAT ";", st->name.len, st->name.s,
			       st->length);
	return 0;
}

static void test_dotu_calls(void)
{
	struct fake *f;
	struct p9c *c = pair_start(&f);
	struct p9_qid qid;
	uint32_t iounit;
	struct p9_msg m;
	GBytes *b;

	session(c, "9P2000.u");
	g_assert_cmpint(p9c_open(c, 2, P9_OREAD, &qid, &iounit), ==, 0);
	g_assert_cmpuint(iounit, ==, 4096);
	g_assert_cmpint(p9c_create(c, 2, "ln", P9_DMSYMLINK | 0777, P9_OREAD, "dest", &qid, NULL), ==, 0);
	b = last_request(f, &m, P9_DIALECT_2000U);
	g_assert_true(p9_str_eq(m.u.tcreate.extension, "dest"));
	g_assert_cmpuint(m.u.tcreate.perm, ==, P9_DMSYMLINK | 0777);
	g_bytes_unref(b);

	struct p9_stat *st;
	g_assert_cmpint(p9c_stat(c, 2, &st), ==, 0);
	g_assert_cmpstr(st->name.s, ==, "file");
	g_assert_cmpuint(st->name.len, ==, 4);
	g_assert_cmpstr(st->extension.s, ==, "ext");
	g_assert_cmpuint(st->n_uid, ==, 1000);
	g_assert_cmpuint(st->length, ==, 50);

	st->length = 7;
	g_assert_cmpint(p9c_wstat(c, 2, st), ==, 0);
	g_free(st);
	b = last_request(f, &m, P9_DIALECT_2000U);
	g_assert_cmpuint(m.u.twstat.stat.length, ==, 7);
	g_assert_true(p9_str_eq(m.u.twstat.stat.uid, "uid"));
	g_bytes_unref(b);

	GString *s = g_string_new("");
	g_assert_cmpint(p9c_read_stats(c, 20, 4096, collect_stat, s), ==, 0);
	g_assert_cmpstr(s->str, ==, "one:10;two:20;");
	g_string_free(s, TRUE);
	g_assert_cmpint(p9c_remove(c, 2), ==, 0);
	pair_stop(c, f);
}

/* The same client over a real unix and tcp listener. */
static void test_connect(void)
{
	char *dir = g_dir_make_tmp("p9client-XXXXXX", NULL);
	char *path = g_build_filename(dir, "sock", NULL);
	char *addr;
	int err;

	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	g_assert_cmpint(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	g_assert_cmpint(listen(lfd, 1), ==, 0);
	struct fake *f = fake_start_on(-1, lfd);
	addr = g_strdup_printf("unix:%s", path);
	struct p9c *c = p9c_connect(addr, &err);
	g_assert_nonnull(c);
	g_assert_cmpint(err, ==, 0);
	session(c, "9P2000.L");
	pair_stop(c, f);
	g_free(addr);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	g_assert_cmpint(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
	g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sin, &slen), ==, 0);
	g_assert_cmpint(listen(lfd, 1), ==, 0);
	f = fake_start_on(-1, lfd);
	addr = g_strdup_printf("tcp:127.0.0.1:%u", ntohs(sin.sin_port));
	c = p9c_connect(addr, &err);
	g_assert_nonnull(c);
	session(c, "9P2000.L");
	pair_stop(c, f);
	g_free(addr);

	g_assert_null(p9c_connect("bogus:1", &err));
	g_assert_cmpint(err, ==, -EINVAL);
	g_assert_null(p9c_connect("fd:notanumber", &err));
	g_assert_cmpint(err, ==, -EBADF);
	char *missing = g_build_filename(dir, "nothing", NULL);
	addr = g_strdup_printf("unix:%s", missing);
	g_assert_null(p9c_connect(addr, &err));
	g_assert_cmpint(err, ==, -ENOENT);
	g_free(addr);
	g_free(missing);

	unlink(path);
	rmdir(dir);
	g_free(path);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/p9client/version", test_version);
	g_test_add_func("/p9client/walk", test_walk);
	g_test_add_func("/p9client/errors", test_error_mapping);
	g_test_add_func("/p9client/out-of-order", test_out_of_order);
	g_test_add_func("/p9client/flush", test_flush_call);
	g_test_add_func("/p9client/duplicate-tag", test_duplicate_tag);
	g_test_add_func("/p9client/raw-send", test_raw_send);
	g_test_add_func("/p9client/bad-replies", test_bad_replies);
	g_test_add_func("/p9client/eof", test_eof);
	g_test_add_func("/p9client/dotl-calls", test_dotl_calls);
	g_test_add_func("/p9client/dotu-calls", test_dotu_calls);
	g_test_add_func("/p9client/connect", test_connect);
	return g_test_run();
}
