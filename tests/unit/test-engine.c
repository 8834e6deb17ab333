// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The engine in process, over a capturing transport, with the synthetic
 * driver (optionally wrapped so a test controls when an operation ends).
 * These tests need control no socket client has: exact interleavings of
 * Tflush with the request it flushes, blocked operations, tag reuse.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "9p/p9.h"
#include "core/server.h"
#include "fs/synth.h"
#include "split-fill.h"

/* ---- a transport that records replies ---- */

struct cap {
	GMutex m;
	GCond c;
	GQueue q; /* GBytes */
};

static int cap_send(void *o, const struct iovec *iov, int n)
{
	struct cap *c = o;
	GByteArray *a = g_byte_array_new();

	for (int i = 0; i < n; i++)
		g_byte_array_append(a, iov[i].iov_base, (guint)iov[i].iov_len);
	g_mutex_lock(&c->m);
	g_queue_push_tail(&c->q, g_byte_array_free_to_bytes(a));
	g_cond_broadcast(&c->c);
	g_mutex_unlock(&c->m);
	return 0;
}

static const struct x9p_transport_ops cap_ops = { .send = cap_send };

/* Like a ring transport: the payload lands in two separate segments. */
static int fill_calls;

static int cap_send_fill(void *o, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg)
{
	fill_calls++;
	return x9p_test_send_fill_split(hdr, hdrlen, max, fill, arg, 2, cap_send, o);
}

static const struct x9p_transport_ops fill_ops = { .send = cap_send, .send_fill = cap_send_fill };
static bool use_fill_ops;

/* ---- a driver wrapper whose getattr of /file can be held by the test ---- */

static struct x9p_fs_ops held_ops;
static const struct x9p_fs_ops *synth_ops;
static GMutex hold_m;
static GCond hold_c;
static int hold_armed, hold_waiting, hold_go;

static int held_getattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			struct x9p_attr *a)
{
	g_mutex_lock(&hold_m);
	if (hold_armed) {
		hold_armed = 0;
		hold_waiting = 1;
		g_cond_broadcast(&hold_c);
		/* Deliberately ignores cancellation: the operation completes. */
		while (!hold_go)
			g_cond_wait(&hold_c, &hold_m);
		hold_waiting = 0;
	}
	g_mutex_unlock(&hold_m);
	return synth_ops->getattr(fs, c, n, a);
}

struct fx {
	struct x9p_server *srv;
	struct x9p_session *s;
	struct x9p_fs *fs;
	struct cap cap;
	enum p9_dialect d;
	uint8_t rbuf[1 << 16];
};

static void fx_setup_full(struct fx *f, unsigned max_fids, uint32_t max_msize, bool keep)
{
	GError *err = NULL;
	struct x9p_server_cfg cfg = { 0 };

	memset(f, 0, sizeof(*f));
	f->fs = x9p_synth_new("bigdir=300", &err);
	g_assert_no_error(err);
	synth_ops = f->fs->ops;
	held_ops = *synth_ops;
	held_ops.getattr = held_getattr;
	f->fs->ops = &held_ops;
	cfg.fs = f->fs;
	cfg.workers = 4;
	cfg.max_fids = max_fids;
	cfg.keep_fids_on_version = keep;
	f->srv = x9p_server_new(&cfg);
	g_mutex_init(&f->cap.m);
	g_cond_init(&f->cap.c);
	g_queue_init(&f->cap.q);
	f->s = x9p_session_new(f->srv, use_fill_ops ? &fill_ops : &cap_ops, &f->cap, max_msize, "test");
	f->d = P9_DIALECT_2000L;
	hold_armed = hold_waiting = hold_go = 0;
}

static void fx_teardown(struct fx *f)
{
	x9p_session_close(f->s);
	x9p_server_free(f->srv);
	g_queue_clear_full(&f->cap.q, (GDestroyNotify)g_bytes_unref);
	g_mutex_clear(&f->cap.m);
	g_cond_clear(&f->cap.c);
}

static void tx(struct fx *f, uint8_t type, uint16_t tag, struct p9_msg *m)
{
	uint8_t *buf = g_malloc(1 << 16);
	int len;

	m->type = type;
	m->tag = tag;
	len = p9_encode(buf, 1 << 16, f->d, m);
	g_assert_cmpint(len, >, 0);
	x9p_session_submit(f->s, buf, (size_t)len);
}

/* Next reply, or type 0 if none arrives within ms. */
static struct p9_msg rx_wait(struct fx *f, gint64 ms)
{
	struct p9_msg m = { 0 };
	gint64 end = g_get_monotonic_time() + ms * 1000;
	GBytes *b = NULL;
	gsize len;
	const void *data;

	g_mutex_lock(&f->cap.m);
	while (!(b = g_queue_pop_head(&f->cap.q)))
		if (!g_cond_wait_until(&f->cap.c, &f->cap.m, end))
			break;
	g_mutex_unlock(&f->cap.m);
	if (!b)
		return m;
	data = g_bytes_get_data(b, &len);
	g_assert_cmpuint(len, <=, sizeof(f->rbuf));
	memcpy(f->rbuf, data, len);
	g_bytes_unref(b);
	g_assert_cmpint(p9_decode(f->rbuf, len, f->d, &m), ==, 0);
	return m;
}

static struct p9_msg rx(struct fx *f)
{
	struct p9_msg m = rx_wait(f, 10000);
	g_assert_cmpint(m.type, !=, 0);
	return m;
}

static int rx_err(struct fx *f, uint16_t tag)
{
	struct p9_msg m = rx(f);
	g_assert_cmpuint(m.tag, ==, tag);
	if (m.type == P9_RLERROR)
		return (int)m.u.rlerror.ecode;
	if (m.type == P9_RERROR)
		return (int)m.u.rerror.ecode;
	return 0;
}

static void do_version(struct fx *f, const char *v, uint32_t msize, const char *want, uint32_t want_msize)
{
	struct p9_msg m = { 0 };

	m.u.version.msize = msize;
	m.u.version.version = p9_str_c(v);
	tx(f, P9_TVERSION, P9_NOTAG, &m);
	m = rx(f);
	g_assert_cmpint(m.type, ==, P9_RVERSION);
	g_assert_true(p9_str_eq(m.u.version.version, want));
	g_assert_cmpuint(m.u.version.msize, ==, want_msize);
}

static void do_attach(struct fx *f, uint32_t fid)
{
	struct p9_msg m = { 0 };

	m.u.tattach.fid = fid;
	m.u.tattach.afid = P9_NOFID;
	m.u.tattach.uname = p9_str_c("root");
	m.u.tattach.aname = p9_str_c("");
	m.u.tattach.n_uname = 0;
	tx(f, P9_TATTACH, 1, &m);
	m = rx(f);
	g_assert_cmpint(m.type, ==, P9_RATTACH);
	g_assert_cmpuint(m.u.rattach.qid.type, ==, P9_QTDIR);
}

static int do_walk(struct fx *f, uint32_t fid, uint32_t newfid, const char *name)
{
	struct p9_msg m = { 0 };

	m.u.twalk.fid = fid;
	m.u.twalk.newfid = newfid;
	m.u.twalk.nwname = name ? 1 : 0;
	if (name)
		m.u.twalk.wname[0] = p9_str_c(name);
	tx(f, P9_TWALK, 2, &m);
	m = rx(f);
	if (m.type == P9_RLERROR || m.type == P9_RERROR)
		return -(int)(m.type == P9_RLERROR ? m.u.rlerror.ecode : m.u.rerror.ecode);
	g_assert_cmpint(m.type, ==, P9_RWALK);
	return m.u.rwalk.nwqid;
}

static void start(struct fx *f)
{
	fx_setup_full(f, 0, 65536, false);
	do_version(f, "9P2000.L", 65536, "9P2000.L", 65536);
	do_attach(f, 0);
}

/* ---- tests ---- */

static void test_version(void)
{
	struct fx f;

	fx_setup_full(&f, 0, 65536, false);
	do_version(&f, "9P2000.L", 8192, "9P2000.L", 8192);
	g_assert_cmpuint(x9p_session_max_frame(f.s), ==, 8192);
	do_version(&f, "9P2000.L", 1 << 20, "9P2000.L", 65536); /* clamped */
	do_version(&f, "9P2000.u", 8192, "9P2000.u", 8192);
	f.d = P9_DIALECT_2000;
	do_version(&f, "9P2000", 8192, "9P2000", 8192);
	do_version(&f, "9P2000.foo", 8192, "9P2000", 8192);
	do_version(&f, "9P3000", 8192, "unknown", 8192);
	do_version(&f, "9P2000.L", 100, "unknown", 100); /* below the minimum */
	fx_teardown(&f);
}

static void test_before_version(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	fx_setup_full(&f, 0, 65536, false);
	m.u.tfid.fid = 0;
	tx(&f, P9_TCLUNK, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, EPROTO);
	fx_teardown(&f);
}

static void test_version_resets_fids(void)
{
	struct fx f;

	start(&f);
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, 1);
	do_version(&f, "9P2000.L", 65536, "9P2000.L", 65536);
	g_assert_cmpint(do_walk(&f, 1, 2, NULL), ==, -ENOENT);
	fx_teardown(&f);

	/* Mini-OS live update: the same session keeps its fids. */
	fx_setup_full(&f, 0, 65536, true);
	do_version(&f, "9P2000.L", 65536, "9P2000.L", 65536);
	do_attach(&f, 0);
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, 1);
	do_version(&f, "9P2000.L", 65536, "9P2000.L", 65536);
	g_assert_cmpint(do_walk(&f, 1, 2, NULL), ==, 0);
	fx_teardown(&f);
}

static void test_fid_limit(void)
{
	struct fx f;

	fx_setup_full(&f, 4, 65536, false);
	do_version(&f, "9P2000.L", 65536, "9P2000.L", 65536);
	do_attach(&f, 0);
	for (uint32_t i = 1; i < 4; i++)
		g_assert_cmpint(do_walk(&f, 0, i, NULL), ==, 0);
	g_assert_cmpint(do_walk(&f, 0, 4, NULL), ==, -EMFILE);
	/* Clunking one makes room again. */
	struct p9_msg m = { 0 };
	m.u.tfid.fid = 3;
	tx(&f, P9_TCLUNK, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RCLUNK);
	g_assert_cmpint(do_walk(&f, 0, 4, NULL), ==, 0);
	fx_teardown(&f);
}

static void test_duplicate_fid(void)
{
	struct fx f;

	start(&f);
	g_assert_cmpint(do_walk(&f, 0, 1, "dir"), ==, 1);
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, -EBADF);
	fx_teardown(&f);
}

static void lopen_blocker(struct fx *f, uint16_t tag, uint32_t fid)
{
	struct p9_msg m = { 0 };

	g_assert_cmpint(do_walk(f, 0, fid, "blocker"), ==, 1);
	m.u.tlopen.fid = fid;
	m.u.tlopen.flags = P9L_RDONLY;
	tx(f, P9_TLOPEN, tag, &m);
	while (x9p_synth_blocked(f->fs) == 0)
		g_usleep(1000);
}

static void test_duplicate_tag(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	lopen_blocker(&f, 7, 1);
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	tx(&f, P9_TGETATTR, 7, &m);
	g_assert_cmpint(rx_err(&f, 7), ==, EBUSY);
	x9p_synth_release(f.fs);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RLOPEN);
	g_assert_cmpuint(m.tag, ==, 7);
	/* Tag 7 is free again. */
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	tx(&f, P9_TGETATTR, 7, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RGETATTR);
	fx_teardown(&f);
}

static void test_out_of_order(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	lopen_blocker(&f, 10, 1);
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	tx(&f, P9_TGETATTR, 11, &m);
	m = rx(&f);
	g_assert_cmpuint(m.tag, ==, 11); /* the later request finished first */
	x9p_synth_release(f.fs);
	m = rx(&f);
	g_assert_cmpuint(m.tag, ==, 10);
	fx_teardown(&f);
}

static void test_flush_cancels(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	lopen_blocker(&f, 10, 1);
	m.u.tflush.oldtag = 10;
	tx(&f, P9_TFLUSH, 11, &m);
	m = rx(&f);
	/* The cancelled request gets no reply; only Rflush comes. */
	g_assert_cmpint(m.type, ==, P9_RFLUSH);
	g_assert_cmpuint(m.tag, ==, 11);
	g_assert_cmpint(rx_wait(&f, 200).type, ==, 0);
	/* The fid was not opened by the cancelled request. */
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	x9p_synth_release(f.fs);
	fx_teardown(&f);
}

static void test_flush_after_completion_order(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, 1);
	hold_armed = 1;
	m.u.tgetattr.fid = 1;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	tx(&f, P9_TGETATTR, 20, &m);
	g_mutex_lock(&hold_m);
	while (!hold_waiting)
		g_cond_wait(&hold_c, &hold_m);
	g_mutex_unlock(&hold_m);
	/* Two flushes of the same request, then let it complete. */
	m.u.tflush.oldtag = 20;
	tx(&f, P9_TFLUSH, 21, &m);
	m.u.tflush.oldtag = 20;
	tx(&f, P9_TFLUSH, 22, &m);
	g_assert_cmpint(rx_wait(&f, 200).type, ==, 0); /* nothing before it completes */
	g_mutex_lock(&hold_m);
	hold_go = 1;
	g_cond_broadcast(&hold_c);
	g_mutex_unlock(&hold_m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RGETATTR); /* the reply first */
	g_assert_cmpuint(m.tag, ==, 20);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RFLUSH);
	g_assert_cmpuint(m.tag, ==, 21);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RFLUSH);
	g_assert_cmpuint(m.tag, ==, 22);
	fx_teardown(&f);
}

static void test_flush_unknown(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	m.u.tflush.oldtag = 999;
	tx(&f, P9_TFLUSH, 30, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RFLUSH);
	g_assert_cmpuint(m.tag, ==, 30);
	fx_teardown(&f);
}

static void test_malformed_keeps_serving(void)
{
	struct fx f;
	struct p9_msg m = { 0 };
	/* Twalk with nwname 17: header-valid, body invalid. */
	uint8_t bad[7 + 4 + 4 + 2] = { sizeof(bad), 0, 0, 0, P9_TWALK, 40, 0,
				       0, 0, 0, 0, 1, 0, 0, 0, 17, 0 };

	start(&f);
	x9p_session_submit(f.s, g_memdup2(bad, sizeof(bad)), sizeof(bad));
	g_assert_cmpint(rx_err(&f, 40), ==, EINVAL);
	/* Unknown message type. */
	uint8_t unk[7] = { 7, 0, 0, 0, 200, 41, 0 };
	x9p_session_submit(f.s, g_memdup2(unk, sizeof(unk)), sizeof(unk));
	g_assert_cmpint(rx_err(&f, 41), ==, EOPNOTSUPP);
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	tx(&f, P9_TGETATTR, 42, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RGETATTR);
	fx_teardown(&f);
}

static void test_walk_rules(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	g_assert_cmpint(do_walk(&f, 0, 1, "a/b"), ==, -ENOENT);
	g_assert_cmpint(do_walk(&f, 0, 1, "."), ==, -ENOENT);
	g_assert_cmpint(do_walk(&f, 0, 1, "nope"), ==, -ENOENT);
	/* '..' at the root is the root */
	g_assert_cmpint(do_walk(&f, 0, 1, ".."), ==, 1);
	/* partial walk: dir ok, then missing: one qid, newfid untouched */
	m.u.twalk.fid = 0;
	m.u.twalk.newfid = 5;
	m.u.twalk.nwname = 2;
	m.u.twalk.wname[0] = p9_str_c("dir");
	m.u.twalk.wname[1] = p9_str_c("missing");
	tx(&f, P9_TWALK, 2, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RWALK);
	g_assert_cmpuint(m.u.rwalk.nwqid, ==, 1);
	g_assert_cmpint(do_walk(&f, 5, 6, NULL), ==, -ENOENT);
	/* newfid == fid walks the fid itself */
	g_assert_cmpint(do_walk(&f, 0, 7, NULL), ==, 0);
	g_assert_cmpint(do_walk(&f, 7, 7, "dir"), ==, 1);
	g_assert_cmpint(do_walk(&f, 7, 8, ".."), ==, 1);
	fx_teardown(&f);
}

static void test_clunk_frees_on_error(void)
{
	struct fx f;
	struct p9_msg m = { 0 };

	start(&f);
	g_assert_cmpint(do_walk(&f, 0, 1, NULL), ==, 0);
	/* Tremove of the root fails, but the fid is gone anyway. */
	m.u.tfid.fid = 1;
	tx(&f, P9_TREMOVE, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, EBUSY);
	g_assert_cmpint(do_walk(&f, 1, 2, NULL), ==, -ENOENT);
	/* Txattrcreate with a short write: Tclunk reports EINVAL and frees. */
	g_assert_cmpint(do_walk(&f, 0, 4, "file"), ==, 1);
	m.u.txattrcreate.fid = 4;
	m.u.txattrcreate.name = p9_str_c("user.x");
	m.u.txattrcreate.attr_size = 10;
	tx(&f, P9_TXATTRCREATE, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RXATTRCREATE);
	m.u.tfid.fid = 4;
	tx(&f, P9_TCLUNK, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, EINVAL);
	g_assert_cmpint(do_walk(&f, 4, 5, NULL), ==, -ENOENT);
	fx_teardown(&f);
}

/* Records of a whole directory read in Treads of `count`, or -errno. */
static int read_dir_records(struct fx *f, uint32_t fid, uint32_t count)
{
	struct p9_msg m = { 0 };
	int records = 0;

	for (uint64_t off = 0;;) {
		struct p9_rd rd;

		m.u.tread.fid = fid;
		m.u.tread.offset = off;
		m.u.tread.count = count;
		tx(f, P9_TREAD, 3, &m);
		m = rx(f);
		if (m.type == P9_RERROR || m.type == P9_RLERROR)
			return -EIO;
		g_assert_cmpint(m.type, ==, P9_RREAD);
		if (m.u.rread.count == 0)
			return records;
		p9_rd_init(&rd, m.u.rread.data, m.u.rread.count);
		while (p9_rd_left(&rd)) {
			p9_getstat(&rd, f->d);
			g_assert_false(rd.err);
			records++;
		}
		off += m.u.rread.count;
	}
}

/*
 * Plan 9 directories list no "." and "..": in 9P2000 an empty directory
 * reads as empty (its only entries are skipped), not as an error; in
 * 9P2000.u it lists the two.
 */
static void test_dir_reads_2000(void)
{
	static const struct { enum p9_dialect d; const char *ver; int dots; } cases[] = {
		{ P9_DIALECT_2000, "9P2000", 0 },
		{ P9_DIALECT_2000U, "9P2000.u", 2 },
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fx f;
		struct p9_msg m = { 0 };

		fx_setup_full(&f, 0, 65536, false);
		f.d = cases[i].d;
		do_version(&f, cases[i].ver, 8192, cases[i].ver, 8192);
		do_attach(&f, 0);
		g_assert_cmpint(do_walk(&f, 0, 1, "dir"), ==, 1);
		g_assert_cmpint(do_walk(&f, 0, 2, "big"), ==, 1);
		for (uint32_t fid = 1; fid <= 2; fid++) {
			m.u.topen.fid = fid;
			m.u.topen.mode = P9_OREAD;
			tx(&f, P9_TOPEN, 3, &m);
			g_assert_cmpint(rx(&f).type, ==, P9_ROPEN);
		}
		g_assert_cmpint(read_dir_records(&f, 1, 1000), ==, cases[i].dots);
		/* Again: the fid lists afresh from offset 0. */
		g_assert_cmpint(read_dir_records(&f, 1, 1000), ==, cases[i].dots);
		g_assert_cmpint(read_dir_records(&f, 2, 1000), ==, 300 + cases[i].dots);
		g_assert_cmpint(read_dir_records(&f, 2, 65000), ==, 300 + cases[i].dots);
		fx_teardown(&f);
	}
}

static void test_dotu_session(void)
{
	struct fx f;
	struct p9_msg m = { 0 };
	uint32_t total = 0, dots = 0, n;
	uint64_t mid_off = 0;

	fx_setup_full(&f, 0, 65536, false);
	f.d = P9_DIALECT_2000U;
	do_version(&f, "9P2000.u", 8192, "9P2000.u", 8192);
	do_attach(&f, 0);
	/* .L-only operations are refused */
	m.u.tgetattr.fid = 0;
	tx(&f, P9_TGETATTR, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, EOPNOTSUPP);
	/* stat of a file */
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, 1);
	m.u.tfid.fid = 1;
	tx(&f, P9_TSTAT, 3, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RSTAT);
	g_assert_cmpuint(m.u.rstat.stat.length, ==, 13);
	g_assert_true(p9_str_eq(m.u.rstat.stat.name, "file"));
	/* read the big directory as stat records, in several reads */
	g_assert_cmpint(do_walk(&f, 0, 2, "big"), ==, 1);
	m.u.topen.fid = 2;
	m.u.topen.mode = P9_OREAD;
	tx(&f, P9_TOPEN, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_ROPEN);
	for (uint64_t off = 0;; off += n) {
		m.u.tread.fid = 2;
		m.u.tread.offset = off;
		m.u.tread.count = 1000;
		tx(&f, P9_TREAD, 3, &m);
		m = rx(&f);
		g_assert_cmpint(m.type, ==, P9_RREAD);
		n = m.u.rread.count;
		if (!n)
			break;
		struct p9_rd rd;
		p9_rd_init(&rd, m.u.rread.data, n);
		while (p9_rd_left(&rd)) {
			struct p9_stat st = p9_getstat(&rd, P9_DIALECT_2000U);
			g_assert_false(rd.err);
			if (p9_str_eq(st.name, ".") || p9_str_eq(st.name, ".."))
				dots++;
			else
				g_assert_true(st.name.len == 11);
			total++;
			if (total == 150) {
				mid_off = off + (uint64_t)(rd.p - m.u.rread.data);
			}
		}
	}
	/* .u lists "." and ".." as a local directory would. */
	g_assert_cmpuint(total, ==, 302);
	g_assert_cmpuint(dots, ==, 2);
	/* seekdir(): reading again from a record boundary sent before works,
	 * from anywhere else it does not. */
	m.u.tread.fid = 2;
	m.u.tread.offset = mid_off;
	m.u.tread.count = 1000;
	tx(&f, P9_TREAD, 3, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RREAD);
	g_assert_cmpuint(m.u.rread.count, >, 0);
	{
		struct p9_rd rd2;
		p9_rd_init(&rd2, m.u.rread.data, m.u.rread.count);
		struct p9_stat st = p9_getstat(&rd2, P9_DIALECT_2000U);
		g_assert_false(rd2.err);
		g_assert_true(p9_str_eq(st.name, "entry-00148"));
	}
	m.u.tread.fid = 2;
	m.u.tread.offset = mid_off + 1;
	m.u.tread.count = 1000;
	tx(&f, P9_TREAD, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, EINVAL);
	/* wstat with every field "don't touch" is a sync and must answer */
	memset(&m, 0, sizeof(m));
	m.u.twstat.fid = 1;
	m.u.twstat.stat.type = 0xFFFF;
	m.u.twstat.stat.dev = 0xFFFFFFFF;
	m.u.twstat.stat.qid.type = 0xFF;
	m.u.twstat.stat.qid.version = 0xFFFFFFFF;
	m.u.twstat.stat.qid.path = ~0ULL;
	m.u.twstat.stat.mode = 0xFFFFFFFF;
	m.u.twstat.stat.atime = 0xFFFFFFFF;
	m.u.twstat.stat.mtime = 0xFFFFFFFF;
	m.u.twstat.stat.length = ~0ULL;
	m.u.twstat.stat.n_uid = m.u.twstat.stat.n_gid = m.u.twstat.stat.n_muid = 0xFFFFFFFF;
	tx(&f, P9_TWSTAT, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RWSTAT);
	/* A fid renamed by Twstat follows its file: Tremove removes the new name. */
	g_assert_cmpint(do_walk(&f, 0, 20, "dir"), ==, 1);
	memset(&m, 0, sizeof(m));
	m.u.tcreate.fid = 20;
	m.u.tcreate.name = p9_str_c("old");
	m.u.tcreate.perm = 0640;
	m.u.tcreate.mode = P9_OWRITE;
	tx(&f, P9_TCREATE, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RCREATE);
	memset(&m, 0xff, sizeof(m));
	m.u.twstat.fid = 20;
	m.u.twstat.stat.name = p9_str_c("new2");
	m.u.twstat.stat.uid = m.u.twstat.stat.gid = m.u.twstat.stat.muid = p9_str_c("");
	m.u.twstat.stat.extension = p9_str_c("");
	tx(&f, P9_TWSTAT, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RWSTAT);
	memset(&m, 0, sizeof(m));
	m.u.tfid.fid = 20;
	tx(&f, P9_TREMOVE, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RREMOVE);
	g_assert_cmpint(do_walk(&f, 0, 21, "dir"), ==, 1);
	g_assert_cmpint(do_walk(&f, 21, 22, "new2"), ==, -ENOENT);
	g_assert_cmpint(do_walk(&f, 21, 22, "old"), ==, -ENOENT);

	/* create, write, remove */
	g_assert_cmpint(do_walk(&f, 0, 9, "dir"), ==, 1);
	memset(&m, 0, sizeof(m));
	m.u.tcreate.fid = 9;
	m.u.tcreate.name = p9_str_c("new");
	m.u.tcreate.perm = 0640;
	m.u.tcreate.mode = P9_ORDWR;
	tx(&f, P9_TCREATE, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RCREATE);
	m.u.twrite.fid = 9;
	m.u.twrite.offset = 0;
	m.u.twrite.count = 3;
	m.u.twrite.data = (const uint8_t *)"abc";
	tx(&f, P9_TWRITE, 3, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RWRITE);
	g_assert_cmpuint(m.u.rwrite.count, ==, 3);
	m.u.tfid.fid = 9;
	tx(&f, P9_TREMOVE, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RREMOVE);
	g_assert_cmpint(do_walk(&f, 0, 10, "dir"), ==, 1);
	m.u.twalk.fid = 10;
	m.u.twalk.newfid = 11;
	m.u.twalk.nwname = 1;
	m.u.twalk.wname[0] = p9_str_c("new");
	tx(&f, P9_TWALK, 3, &m);
	g_assert_cmpint(rx_err(&f, 3), ==, ENOENT);
	fx_teardown(&f);
}

static int released;

static void count_release(void *arg)
{
	(*(int *)arg)++;
}

static void test_zero_copy(void)
{
	struct fx f;
	struct p9_msg m = { 0 };
	uint8_t hdr[23], payload[1000];
	uint8_t *frame;
	struct iovec data[2];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	use_fill_ops = true;
	fill_calls = 0;
	start(&f);
	use_fill_ops = false;
	g_assert_cmpint(do_walk(&f, 0, 1, "file"), ==, 1);
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDWR;
	tx(&f, P9_TLOPEN, 3, &m);
	g_assert_cmpint(rx(&f).type, ==, P9_RLOPEN);

	/* Twrite whose payload stays in two transport segments (plus 10
	 * bytes inline in the frame). */
	struct p9_wr w;
	p9_wr_init(&w, hdr, sizeof(hdr));
	p9_put32(&w, 23 + sizeof(payload));
	p9_put8(&w, P9_TWRITE);
	p9_put16(&w, 4);
	p9_put32(&w, 1);
	p9_put64(&w, 0);
	p9_put32(&w, sizeof(payload));
	frame = g_malloc(23 + 10);
	memcpy(frame, hdr, 23);
	memcpy(frame + 23, payload, 10);
	data[0].iov_base = payload + 10;
	data[0].iov_len = 490;
	data[1].iov_base = payload + 500;
	data[1].iov_len = 500;
	released = 0;
	x9p_session_submit_data(f.s, frame, 33, data, 2, count_release, &released, false);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RWRITE);
	g_assert_cmpuint(m.u.rwrite.count, ==, sizeof(payload));
	g_assert_cmpint(released, ==, 1);

	/* A count that disagrees with the segments is refused, and released. */
	frame = g_malloc(23);
	memcpy(frame, hdr, 23);
	frame[0] = (23 + 990) & 0xff; /* the frame holds 990 bytes, count says 1000 */
	frame[1] = (23 + 990) >> 8;
	released = 0;
	x9p_session_submit_data(f.s, frame, 23, data, 2, count_release, &released, true);
	g_assert_cmpint(rx_err(&f, 4), ==, EPROTO);
	g_assert_cmpint(released, ==, 1);

	/* Tread filled straight into the transport's segments. */
	m.u.tread.fid = 1;
	m.u.tread.offset = 0;
	m.u.tread.count = 4096;
	tx(&f, P9_TREAD, 5, &m);
	m = rx(&f);
	g_assert_cmpint(m.type, ==, P9_RREAD);
	g_assert_cmpint(fill_calls, ==, 1);
	g_assert_cmpmem(m.u.rread.data, m.u.rread.count, payload, sizeof(payload));
	fx_teardown(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/version", test_version);
	g_test_add_func("/engine/before-version", test_before_version);
	g_test_add_func("/engine/version-resets-fids", test_version_resets_fids);
	g_test_add_func("/engine/fid-limit", test_fid_limit);
	g_test_add_func("/engine/duplicate-fid", test_duplicate_fid);
	g_test_add_func("/engine/duplicate-tag", test_duplicate_tag);
	g_test_add_func("/engine/out-of-order", test_out_of_order);
	g_test_add_func("/engine/flush/cancels", test_flush_cancels);
	g_test_add_func("/engine/flush/reply-before-rflush", test_flush_after_completion_order);
	g_test_add_func("/engine/flush/unknown-tag", test_flush_unknown);
	g_test_add_func("/engine/malformed-keeps-serving", test_malformed_keeps_serving);
	g_test_add_func("/engine/walk-rules", test_walk_rules);
	g_test_add_func("/engine/clunk-frees-on-error", test_clunk_frees_on_error);
	g_test_add_func("/engine/dotu-session", test_dotu_session);
	g_test_add_func("/engine/dir-reads-2000", test_dir_reads_2000);
	g_test_add_func("/engine/zero-copy", test_zero_copy);
	return g_test_run();
}
