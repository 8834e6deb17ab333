/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * End to end: the real x9p-backend with --export serves a real directory
 * through x9p-helper, to the test 9P client, for every security model and
 * for both 9P2000.L and 9P2000.u.
 */
#include <sys/stat.h>

#include "backend-proc.h"
#include "p9client.h"
#include "proxy-test.h"

struct fx {
	struct pt t;
	struct x9p_backend_proc be;
	struct p9c *c;
	bool up;
};

static void start(struct fx *f, enum x9p_secmodel m, bool ro, const char *version)
{
	const char *args[] = { "--export", NULL, "--security-model", x9p_secmodel_name(m),
			       ro ? "--readonly" : NULL, NULL };
	struct p9_qid root;
	char ver[32];
	uint32_t msize;
	int err = 0;

	pt_tree(&f->t, m);
	if (pt_skip_unprivileged(&f->t))
		return;
	args[1] = f->t.export;
	g_assert_true(x9p_backend_start(&f->be, args));
	f->up = true;
	f->c = p9c_connect(f->be.addr, &err);
	g_assert_nonnull(f->c);
	p9c_set_timeout(f->c, 60000);
	g_assert_cmpint(p9c_version(f->c, 65536, version, &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, version);
	g_assert_cmpint(p9c_attach(f->c, 0, P9_NOFID, "user", "", 1000, &root), ==, 0);
	g_assert_cmpuint(root.type, ==, P9_QTDIR);
}

static void stop(struct fx *f)
{
	if (f->c)
		p9c_free(f->c);
	if (f->up) {
		g_assert_true(x9p_backend_alive(&f->be));
		x9p_backend_stop(&f->be);
	}
	pt_free(&f->t);
}

struct names {
	GPtrArray *a;
};

static int collect(const struct p9_dirent *de, void *opaque)
{
	struct names *n = opaque;

	g_ptr_array_add(n->a, g_strndup(de->name.s, de->name.len));
	return 0;
}

static bool has(struct names *n, const char *name)
{
	for (guint i = 0; i < n->a->len; i++) {
		if (!strcmp(n->a->pdata[i], name))
			return true;
	}
	return false;
}

static void test_dotl(gconstpointer data)
{
	enum x9p_secmodel m = (enum x9p_secmodel)GPOINTER_TO_INT(data);
	struct p9_getattr ga;
	struct p9_setattr sa = { 0 };
	struct names n = { g_ptr_array_new_with_free_func(g_free) };
	struct p9_qid q;
	struct fx f = { 0 };
	struct stat st;
	char buf[64], *p;
	uint32_t iounit, done;
	uint64_t xsize;

	start(&f, m, false, "9P2000.L");
	if (!f.up)
		goto out;
	/* create, write, read back */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(f.c, 1, "file", P9L_RDWR, 0640, 1000, &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, "hello, x9p\n", 11, &done), ==, 0);
	g_assert_cmpuint(done, ==, 11);
	g_assert_cmpint(p9c_read(f.c, 1, 7, sizeof(buf), buf, &done), ==, 0);
	g_assert_cmpuint(done, ==, 4);
	g_assert_cmpmem(buf, 4, "x9p\n", 4);
	g_assert_cmpint(p9c_clunk(f.c, 1), ==, 0);
	p = pt_path(&f.t, "file");
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 11);
	if (m == X9P_SM_MAPPED_XATTR)
		g_assert_cmpint(pt_xattr_le(p, "user.virtfs.uid", 4), ==, 1000);
	g_free(p);

	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_getattr(f.c, 2, P9_GETATTR_ALL, &ga), ==, 0);
	g_assert_cmphex(ga.mode, ==, S_IFREG | 0640);
	g_assert_cmpuint(ga.size, ==, 11);
	if (m != X9P_SM_NONE)
		g_assert_cmpuint(ga.uid, ==, 1000);
	sa.valid = P9_SETATTR_MODE;
	sa.mode = 0604;
	g_assert_cmpint(p9c_setattr(f.c, 2, &sa), ==, 0);
	g_assert_cmpint(p9c_getattr(f.c, 2, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_cmphex(ga.mode, ==, S_IFREG | 0604);

	/* xattrs through Txattrcreate / Txattrwalk */
	g_assert_cmpint(p9c_walk_path(f.c, 2, 3, "", NULL), ==, 0);
	g_assert_cmpint(p9c_xattrcreate(f.c, 3, "user.note", 5, 0), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 3, 0, "abcde", 5, &done), ==, 0);
	g_assert_cmpint(p9c_clunk(f.c, 3), ==, 0);
	g_assert_cmpint(p9c_xattrwalk(f.c, 2, 4, "user.note", &xsize), ==, 0);
	g_assert_cmpuint(xsize, ==, 5);
	g_assert_cmpint(p9c_read(f.c, 4, 0, sizeof(buf), buf, &done), ==, 0);
	g_assert_cmpmem(buf, done, "abcde", 5);
	g_assert_cmpint(p9c_clunk(f.c, 4), ==, 0);

	/* directories, symlinks, listing */
	g_assert_cmpint(p9c_mkdir(f.c, 0, "dir", 0750, 1000, &q), ==, 0);
	g_assert_cmpuint(q.type, ==, P9_QTDIR);
	g_assert_cmpint(p9c_symlink(f.c, 0, "sl", "file", 1000, &q), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 5, "sl", NULL), ==, 0);
	g_assert_cmpint(p9c_readlink(f.c, 5, buf, sizeof(buf)), ==, 0);
	g_assert_cmpstr(buf, ==, "file");
	g_assert_cmpint(p9c_walk_path(f.c, 0, 6, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 6, P9L_RDONLY | P9L_DIRECTORY, &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_readdir_all(f.c, 6, 512, collect, &n), ==, 0);
	g_assert_true(has(&n, "file") && has(&n, "dir") && has(&n, "sl") && has(&n, ".."));
	g_assert_false(has(&n, ".virtfs_metadata"));

	/* rename, unlink, and what is refused */
	g_assert_cmpint(p9c_renameat(f.c, 0, "file", 0, "renamed"), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 7, "renamed", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 8, "file", NULL), ==, -ENOENT);
	g_assert_cmpint(p9c_unlinkat(f.c, 0, "renamed", 0), ==, 0);
	g_assert_cmpint(p9c_unlinkat(f.c, 0, "dir", P9_AT_REMOVEDIR), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 9, "..", &q), ==, 0);
	g_assert_cmpint(p9c_mknod(f.c, 0, "pipe", S_IFIFO | 0600, 0, 0, 1000, &q), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 10, "pipe", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 10, P9L_RDONLY, &q, &iounit), ==, -ENXIO);
	{
		struct p9_statfs sf;

		g_assert_cmpint(p9c_statfs(f.c, 0, &sf), ==, 0);
		g_assert_cmpuint(sf.bsize, >, 0);
	}
out:
	g_ptr_array_unref(n.a);
	stop(&f);
}

static void test_dotu(gconstpointer data)
{
	enum x9p_secmodel m = (enum x9p_secmodel)GPOINTER_TO_INT(data);
	struct p9_stat *st = NULL;
	struct p9_qid q;
	struct fx f = { 0 };
	uint32_t iounit, done;
	char buf[16];

	start(&f, m, false, "9P2000.u");
	if (!f.up)
		goto out;
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_create(f.c, 1, "ufile", 0644, P9_ORDWR, "", &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, "dotu", 4, &done), ==, 0);
	g_assert_cmpint(p9c_clunk(f.c, 1), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "ufile", NULL), ==, 0);
	g_assert_cmpint(p9c_stat(f.c, 2, &st), ==, 0);
	g_assert_cmpuint(st->length, ==, 4);
	g_assert_cmphex(st->mode & 0777, ==, 0644);
	g_free(st);
	g_assert_cmpint(p9c_open(f.c, 2, P9_OREAD, &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_read(f.c, 2, 0, sizeof(buf), buf, &done), ==, 0);
	g_assert_cmpmem(buf, done, "dotu", 4);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 3, "", NULL), ==, 0);
	g_assert_cmpint(p9c_create(f.c, 3, "udir", P9_DMDIR | 0755, P9_OREAD, "", &q, &iounit), ==, 0);
	g_assert_cmpuint(q.type, ==, P9_QTDIR);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 4, "", NULL), ==, 0);
	g_assert_cmpint(p9c_create(f.c, 4, "ulink", P9_DMSYMLINK | 0777, P9_OREAD, "ufile", &q,
				   &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 5, "ulink", NULL), ==, 0);
	g_assert_cmpint(p9c_stat(f.c, 5, &st), ==, 0);
	g_assert_cmpmem(st->extension.s, st->extension.len, "ufile", 5);
	g_free(st);
out:
	stop(&f);
}

static void test_readonly(gconstpointer data)
{
	enum x9p_secmodel m = (enum x9p_secmodel)GPOINTER_TO_INT(data);
	struct p9_qid q;
	struct fx f = { 0 };
	uint32_t iounit;

	start(&f, m, true, "9P2000.L");
	if (!f.up)
		goto out;
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(f.c, 1, "file", P9L_RDWR, 0640, 1000, &q, &iounit), ==, -EROFS);
	g_assert_cmpint(p9c_mkdir(f.c, 0, "dir", 0750, 1000, &q), ==, -EROFS);
out:
	stop(&f);
}

/* A connected client, version negotiated and attached as fid 0. */
static struct p9c *client(struct fx *f)
{
	struct p9_qid root;
	uint32_t msize;
	char ver[32];
	int err = 0;
	struct p9c *c = p9c_connect(f->be.addr, &err);

	g_assert_nonnull(c);
	p9c_set_timeout(c, 60000);
	g_assert_cmpint(p9c_version(c, 65536, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(c, 0, P9_NOFID, "user", "", 1000, &root), ==, 0);
	return c;
}

/* Walks to "file" on new fids from first on until the walk fails; returns
 * the failure and the fids that worked in *n. */
static int walk_until_refused(struct p9c *c, uint32_t first, unsigned *n)
{
	int e;

	*n = 0;
	while ((e = p9c_walk_path(c, 0, first + *n, "file", NULL)) == 0) {
		(*n)++;
		g_assert_cmpuint(*n, <, 1000);
	}
	return e;
}

/*
 * One client cannot take the export's whole helper node table.  With
 * --max-nodes 64 a client alone gets 7/8 of it (56 nodes, its root
 * included) and then EMFILE; in the last eighth each newcomer takes nodes
 * while it holds less than half of those free: 3, then 2, then 1 (roots
 * included), and each attaches.  Once the first lets its nodes go, the
 * others get more.  (Before, the first took all 64 and no newcomer could
 * even attach.)
 */
static void test_node_fairness(void)
{
	const char *args[] = { "--export", NULL, "--security-model", "passthrough",
			       "--max-nodes", "64", NULL };
	static const unsigned newcomer_nodes[] = { 3, 2, 1 };
	struct p9c *late[G_N_ELEMENTS(newcomer_nodes)];
	struct fx f = { 0 };
	unsigned na, nb;
	char *path;

	pt_tree(&f.t, X9P_SM_PASSTHROUGH);
	if (pt_skip_unprivileged(&f.t))
		goto out;
	path = g_build_filename(f.t.export, "file", NULL);
	g_assert_true(g_file_set_contents(path, "x", 1, NULL));
	g_free(path);
	args[1] = f.t.export;
	g_assert_true(x9p_backend_start(&f.be, args));
	f.up = true;
	f.c = client(&f);
	g_assert_cmpint(walk_until_refused(f.c, 1, &na), ==, -EMFILE);
	g_assert_cmpuint(na + 1, ==, 56);
	for (size_t i = 0; i < G_N_ELEMENTS(late); i++) {
		late[i] = client(&f);
		g_assert_cmpint(walk_until_refused(late[i], 1, &nb), ==, -EMFILE);
		g_assert_cmpuint(nb + 1, ==, newcomer_nodes[i]);
	}
	for (uint32_t fid = 1; fid <= na; fid++)
		g_assert_cmpint(p9c_clunk(f.c, fid), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(late); i++) {
		g_assert_cmpint(p9c_walk_path(late[i], 0, 100, "file", NULL), ==, 0);
		p9c_free(late[i]);
	}
out:
	stop(&f);
}

/*
 * Reads of 64 KiB and more that the connection's thread answers itself go
 * from the file into the socket without a copy (splice): whole, short at
 * the end of the file, empty past it, and interleaved with small ones; the
 * bytes must be the file's every time.
 */
static void test_big_reads(void)
{
	/* Without the journal: the zero-copy path (a journaled connection's
	 * replies are copied through its pipe, msize within it). */
	const char *args[] = { "--export", NULL, "--security-model", "passthrough", "--no-journal",
			       NULL };
	const size_t size = (1u << 20) + 12345;
	static const uint64_t offs[] = { 0, 12345, 100000, 1000, (1u << 20) + 10000, 1u << 21, 0 };
	uint8_t *data = g_malloc(size), *buf = g_malloc(1u << 20);
	struct fx f = { 0 };
	uint32_t msize, done;
	char *path;
	int err = 0;

	pt_tree(&f.t, X9P_SM_PASSTHROUGH);
	if (pt_skip_unprivileged(&f.t))
		goto out;
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	path = g_build_filename(f.t.export, "big", NULL);
	g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)size, NULL));
	g_free(path);
	args[1] = f.t.export;
	g_assert_true(x9p_backend_start(&f.be, args));
	f.up = true;
	f.c = p9c_connect(f.be.addr, &err);
	g_assert_nonnull(f.c);
	p9c_set_timeout(f.c, 60000);
	g_assert_cmpint(p9c_version(f.c, (1u << 20) + 4096, "9P2000.L", &msize, NULL, 0), ==, 0);
	g_assert_cmpuint(msize, >=, (1u << 20) + P9_IOHDR_SIZE);
	g_assert_cmpint(p9c_attach(f.c, 0, P9_NOFID, "user", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "big", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDONLY, NULL, NULL), ==, 0);
	/* 1 MiB, 1 MiB and 4 KiB in turn, 64 KiB (a pipe page more than an
	 * unaligned 64 KiB read spans is what the default pipe lacks) */
	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < G_N_ELEMENTS(offs); i++) {
			uint32_t count = round == 1 && i % 2 ? 4096 : round == 3 ? 65536 : 1u << 20;
			size_t want = offs[i] >= size ? 0 : MIN(count, size - offs[i]);

			memset(buf, 0xee, 1u << 20);
			g_assert_cmpint(p9c_read(f.c, 1, offs[i], count, buf, &done), ==, 0);
			g_assert_cmpuint(done, ==, want);
			if (want)
				g_assert_cmpmem(buf, want, data + offs[i], want);
		}
	}
	g_assert_cmpint(p9c_clunk(f.c, 1), ==, 0);
out:
	g_free(data);
	g_free(buf);
	stop(&f);
}

int main(int argc, char **argv)
{
	pt_init();
	g_test_init(&argc, &argv, NULL);
	for (size_t m = 0; m < G_N_ELEMENTS(pt_models); m++) {
		gconstpointer d = GINT_TO_POINTER(pt_models[m]);
		const char *mn = x9p_secmodel_name(pt_models[m]);
		char *p;

		p = g_strdup_printf("/helper/backend/%s/9p2000.L", mn);
		g_test_add_data_func(p, d, test_dotl);
		g_free(p);
		p = g_strdup_printf("/helper/backend/%s/9p2000.u", mn);
		g_test_add_data_func(p, d, test_dotu);
		g_free(p);
		p = g_strdup_printf("/helper/backend/%s/readonly", mn);
		g_test_add_data_func(p, d, test_readonly);
		g_free(p);
	}
	g_test_add_func("/helper/backend/node-fairness", test_node_fairness);
	g_test_add_func("/helper/backend/big-reads", test_big_reads);
	return g_test_run();
}
