// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's virtio-9p qtest list, against the real x9p-backend process over
 * its unix socket, with the synthetic driver.
 */
#include "proto-fixture.h"

static const char *const synth_args[] = { "--synthetic=bigdir=100", NULL };

static void t_version_basic(void)
{
	struct pfx f;
	char ver[32];
	uint32_t msize;

	pfx_start(&f, synth_args, true);
	g_assert_cmpint(p9c_version(f.c, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "9P2000.L");
	g_assert_cmpuint(msize, ==, 8192);
	pfx_stop(&f);
}

static void t_attach_basic(void)
{
	struct pfx f;

	pfx_start(&f, synth_args, false);
	g_assert_cmpuint(f.root.type, ==, P9_QTDIR);
	pfx_stop(&f);
}

static void t_walk_basic(void)
{
	struct pfx f;
	const char *names[P9_MAXWELEM];
	char buf[P9_MAXWELEM][8];
	struct p9_qid q[P9_MAXWELEM];
	uint16_t n = 0;

	pfx_start(&f, synth_args, false);
	for (int i = 0; i < P9_MAXWELEM; i++) {
		snprintf(buf[i], sizeof(buf[i]), "w%02d", i);
		names[i] = buf[i];
	}
	g_assert_cmpint(p9c_walk(f.c, 0, 1, P9_MAXWELEM, names, &n, q), ==, 0);
	g_assert_cmpuint(n, ==, P9_MAXWELEM);
	for (int i = 0; i < P9_MAXWELEM; i++) {
		g_assert_cmpuint(q[i].type, ==, P9_QTDIR);
		for (int j = 0; j < i; j++)
			g_assert_cmpuint(q[i].path, !=, q[j].path);
	}
	pfx_stop(&f);
}

static void t_walk_no_slash(void)
{
	struct pfx f;
	const char *names[] = { " /" };
	uint16_t n;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk(f.c, 0, 1, 1, names, &n, NULL), ==, -ENOENT);
	pfx_stop(&f);
}

static void t_walk_none(void)
{
	struct pfx f;
	struct p9_getattr a;
	uint16_t n = 99;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk(f.c, 0, 1, 0, NULL, &n, NULL), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpint(p9c_getattr(f.c, 1, P9_GETATTR_BASIC, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, f.root.path);
	pfx_stop(&f);
}

static void t_walk_dotdot_from_root(void)
{
	struct pfx f;
	const char *names[] = { ".." };
	struct p9_qid q;
	uint16_t n;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk(f.c, 0, 1, 1, names, &n, &q), ==, 0);
	g_assert_cmpuint(n, ==, 1);
	g_assert_cmpuint(q.path, ==, f.root.path);
	pfx_stop(&f);
}

static void t_walk_non_existent(void)
{
	struct pfx f;
	const char *names[] = { "non-existent" };
	uint16_t n;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk(f.c, 0, 1, 1, names, &n, NULL), ==, -ENOENT);
	pfx_stop(&f);
}

static void t_walk_2nd_non_existent(void)
{
	struct pfx f;
	const char *names[] = { "w00", "non-existent" };
	struct p9_getattr a;
	struct p9_qid q[2];
	uint16_t n;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk(f.c, 0, 1, 2, names, &n, q), ==, 0);
	g_assert_cmpuint(n, ==, 1);
	g_assert_cmpuint(q[0].type, ==, P9_QTDIR);
	/* newfid is unaffected by a partial walk */
	g_assert_cmpint(p9c_getattr(f.c, 1, P9_GETATTR_BASIC, &a), ==, -ENOENT);
	pfx_stop(&f);
}

static void t_lopen_basic(void)
{
	struct pfx f;
	struct p9_qid q;
	uint32_t iounit;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_WRONLY, &q, &iounit), ==, 0);
	g_assert_cmpuint(q.type, ==, P9_QTFILE);
	pfx_stop(&f);
}

static void t_write_basic(void)
{
	struct pfx f;
	uint8_t data[1024], back[1024];
	uint32_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, data, sizeof(data), &n), ==, 0);
	g_assert_cmpuint(n, ==, sizeof(data));
	g_assert_cmpint(p9c_read(f.c, 1, 0, sizeof(back), back, &n), ==, 0);
	g_assert_cmpuint(n, ==, sizeof(back));
	g_assert_cmpmem(back, n, data, sizeof(data));
	pfx_stop(&f);
}

/* Sends Tlopen of /blocker on fid; returns its tag once it is blocked. */
static int send_blocked_lopen(struct pfx *f, uint32_t fid)
{
	struct p9_msg m = { 0 };
	int tag;

	g_assert_cmpint(p9c_walk_path(f->c, 0, fid, "blocker", NULL), ==, 0);
	m.type = P9_TLOPEN;
	m.u.tlopen.fid = fid;
	m.u.tlopen.flags = P9L_RDONLY;
	tag = p9c_send(f->c, &m, P9C_AUTOTAG);
	g_assert_cmpint(tag, >=, 0);
	return tag;
}

static void t_flush_success(void)
{
	struct pfx f;
	struct p9c_reply r = { 0 };
	int tag;

	pfx_start(&f, synth_args, false);
	tag = send_blocked_lopen(&f, 1);
	/* Give the request time to reach the driver; the flush must work
	 * whether it is queued or already blocked. */
	g_usleep(100 * 1000);
	g_assert_cmpint(p9c_flush(f.c, (uint16_t)tag), ==, 0);
	/* No reply to the flushed request, before or after the Rflush. */
	g_assert_cmpuint(p9c_queued(f.c), ==, 0);
	g_assert_cmpint(p9c_recv(f.c, &r, 300), ==, -ETIMEDOUT);
	p9c_reply_clear(&r);
	pfx_stop(&f);
}

static void t_flush_ignored(void)
{
	struct pfx f;
	struct p9c_reply r = { 0 };
	struct p9_msg m = { 0 };
	int tag;

	pfx_start(&f, synth_args, false);
	tag = send_blocked_lopen(&f, 1);
	g_usleep(50 * 1000);
	/* Release it (Tmkdir ctl/release), then flush a request that completed. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "ctl", NULL), ==, 0);
	g_assert_cmpint(p9c_mkdir(f.c, 2, "release", 0755, 0, NULL), ==, 0);
	g_assert_cmpint(p9c_flush(f.c, (uint16_t)tag), ==, 0);
	/* Its reply had arrived before the Rflush. */
	g_assert_cmpuint(p9c_queued(f.c), ==, 1);
	g_assert_cmpint(p9c_recv(f.c, &r, 1000), ==, 0);
	g_assert_cmpint(r.m.type, ==, P9_RLOPEN);
	g_assert_cmpuint(r.m.tag, ==, (unsigned)tag);
	p9c_reply_clear(&r);
	(void)m;
	pfx_stop(&f);
}

struct collect {
	GHashTable *names;
	unsigned count;
};

static int collect_cb(const struct p9_dirent *de, void *opaque)
{
	struct collect *c = opaque;
	char *name = g_strndup(de->name.s, de->name.len);

	c->count++;
	g_assert_false(g_hash_table_contains(c->names, name));
	g_hash_table_add(c->names, name);
	return 0;
}

static void readdir_split(uint32_t count)
{
	struct pfx f;
	struct collect c = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), 0 };
	char name[32];

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "big", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDONLY | P9L_DIRECTORY, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_readdir_all(f.c, 1, count, collect_cb, &c), ==, 0);
	g_assert_cmpuint(c.count, ==, 100 + 2);
	g_assert_true(g_hash_table_contains(c.names, "."));
	g_assert_true(g_hash_table_contains(c.names, ".."));
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "entry-%05d", i);
		g_assert_true(g_hash_table_contains(c.names, name));
	}
	g_hash_table_destroy(c.names);
	pfx_stop(&f);
}

static void t_readdir_basic(void) { readdir_split(65536 - 11); }
static void t_readdir_split_512(void) { readdir_split(512); }
static void t_readdir_split_256(void) { readdir_split(256); }
static void t_readdir_split_128(void) { readdir_split(128); }

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/qtest/version/basic", t_version_basic);
	g_test_add_func("/qtest/attach/basic", t_attach_basic);
	g_test_add_func("/qtest/walk/basic", t_walk_basic);
	g_test_add_func("/qtest/walk/no_slash", t_walk_no_slash);
	g_test_add_func("/qtest/walk/none", t_walk_none);
	g_test_add_func("/qtest/walk/dotdot_from_root", t_walk_dotdot_from_root);
	g_test_add_func("/qtest/walk/non_existent", t_walk_non_existent);
	g_test_add_func("/qtest/walk/2nd_non_existent", t_walk_2nd_non_existent);
	g_test_add_func("/qtest/lopen/basic", t_lopen_basic);
	g_test_add_func("/qtest/write/basic", t_write_basic);
	g_test_add_func("/qtest/flush/success", t_flush_success);
	g_test_add_func("/qtest/flush/ignored", t_flush_ignored);
	g_test_add_func("/qtest/readdir/basic", t_readdir_basic);
	g_test_add_func("/qtest/readdir/split_512", t_readdir_split_512);
	g_test_add_func("/qtest/readdir/split_256", t_readdir_split_256);
	g_test_add_func("/qtest/readdir/split_128", t_readdir_split_128);
	return g_test_run();
}
