/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared support of the helper tests (tests/helper/test-*.c): a temporary
 * tree with an export and a directory outside it, the real x9p-helper
 * started through the proxy driver (fs/proxy.h), and short wrappers
 * around the driver operations.  Header-only: each test program includes
 * it once.
 */
#ifndef X9P_TESTS_PROXY_TEST_H
#define X9P_TESTS_PROXY_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/proxy.h"
#include "helper/proxy.h"

static const enum x9p_secmodel pt_models[] = {
	X9P_SM_PASSTHROUGH, X9P_SM_MAPPED_XATTR, X9P_SM_MAPPED_FILE, X9P_SM_NONE,
};

/*
 * Call first in main(), before any thread: in sanitizer builds the helpers
 * this test starts run without the leak checker, which cannot work inside
 * their sandbox (this process keeps its own: the option is read at start).
 */
static inline void pt_init(void)
{
#ifdef __SANITIZE_ADDRESS__
	g_setenv("ASAN_OPTIONS", "detect_leaks=0", TRUE);
#endif
}

/* The x9p-helper built next to this test: BUILD/tests/helper/test-x -> BUILD/x9p-helper. */
static inline char *pt_helper_path(void)
{
	char *self = g_file_read_link("/proc/self/exe", NULL), *p = NULL;

	if (self) {
		char *d = g_path_get_dirname(self);

		p = g_build_filename(d, "..", "..", "x9p-helper", NULL);
		g_free(d);
		g_free(self);
		if (g_file_test(p, G_FILE_TEST_IS_EXECUTABLE))
			return p;
		g_free(p);
	}
	if (g_getenv("X9P_BUILD"))
		return g_build_filename(g_getenv("X9P_BUILD"), "x9p-helper", NULL);
	return g_strdup("build/x9p-helper");
}

static int pt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static inline void pt_rm_rf(const char *path)
{
	nftw(path, pt_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

struct pt {
	char *top;                  /* temporary directory */
	char *export;               /* top/export: what the helper serves */
	char *outside;              /* top/outside: must stay untouched */
	enum x9p_secmodel model;
	bool readonly;
	bool no_setid;
	struct x9p_fs *fs;
	struct x9p_node *root;
	struct x9p_ctx c;
	GPtrArray *strings;         /* freed by pt_free() */
};

static inline char *pt_path(const struct pt *t, const char *rel)
{
	return g_build_filename(t->export, rel, NULL);
}

static inline char *pt_out(const struct pt *t, const char *rel)
{
	return g_build_filename(t->outside, rel, NULL);
}

/* Like pt_path(), but owned by t (for use inside expressions). */
static inline const char *pt_rel(struct pt *t, const char *rel)
{
	char *p = g_build_filename(t->export, rel, NULL);

	if (!t->strings)
		t->strings = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(t->strings, p);
	return p;
}

/* A fresh tree; the helper is started by pt_start(). */
static inline void pt_tree(struct pt *t, enum x9p_secmodel model)
{
	memset(t, 0, sizeof(*t));
	t->top = g_dir_make_tmp("x9p-helper-XXXXXX", NULL);
	g_assert_nonnull(t->top);
	t->export = g_build_filename(t->top, "export", NULL);
	t->outside = g_build_filename(t->top, "outside", NULL);
	g_assert_cmpint(mkdir(t->export, 0755), ==, 0);
	g_assert_cmpint(mkdir(t->outside, 0755), ==, 0);
	t->model = model;
	t->c.uid = 1000;
	t->c.gid = 1000;
}

static inline struct x9p_fs *pt_new_fs(const struct pt *t, enum x9p_multidevs md, GError **err)
{
	struct x9p_proxy_cfg cfg = { 0 };
	char *helper = pt_helper_path();
	struct x9p_fs *fs;

	cfg.export_path = t->export;
	cfg.export_fd = -1;
	cfg.helper_path = helper;
	cfg.model = t->model;
	cfg.multidevs = md;
	cfg.readonly = t->readonly;
	cfg.no_setid = t->no_setid;
	cfg.log_level = g_getenv("X9P_HELPER_LOG");
	fs = x9p_proxy_new(&cfg, err);
	g_free(helper);
	return fs;
}

static inline void pt_start(struct pt *t)
{
	GError *err = NULL;
	struct x9p_attr a;

	t->fs = pt_new_fs(t, X9P_MULTIDEVS_REMAP, &err);
	if (!t->fs)
		g_error("x9p_proxy_new: %s", err->message);
	g_assert_cmpint(t->fs->ops->attach(t->fs, &t->c, "", &t->root, &a), ==, 0);
	g_assert_true(S_ISDIR(a.mode));
}

static inline void pt_stop(struct pt *t)
{
	if (t->root)
		t->fs->ops->node_put(t->fs, t->root);
	if (t->fs)
		t->fs->ops->destroy(t->fs);
	t->root = NULL;
	t->fs = NULL;
}

static inline void pt_free(struct pt *t)
{
	pt_stop(t);
	if (t->top)
		pt_rm_rf(t->top);
	g_free(t->top);
	g_free(t->export);
	g_free(t->outside);
	if (t->strings)
		g_ptr_array_unref(t->strings);
	memset(t, 0, sizeof(*t));
}

static inline bool pt_mapped(const struct pt *t)
{
	return t->model == X9P_SM_MAPPED_XATTR || t->model == X9P_SM_MAPPED_FILE;
}

/* passthrough needs the host's root to switch identities and chown. */
static inline bool pt_skip_unprivileged(const struct pt *t)
{
	if (t->model == X9P_SM_PASSTHROUGH && geteuid() != 0) {
		g_test_skip("passthrough needs root");
		return true;
	}
	return false;
}

/* ---- driver shorthands (return 0 / -errno like the driver) ---- */

#define PT_OPS(t) ((t)->fs->ops)

static inline int pt_walk(struct pt *t, struct x9p_node *dir, const char *name,
			  struct x9p_node **out, struct x9p_attr *a)
{
	struct x9p_attr tmp;

	*out = NULL;
	return PT_OPS(t)->walk(t->fs, &t->c, dir, name, out, a ? a : &tmp);
}

/* Walks a '/'-separated relative path from the root. */
static inline int pt_lookup(struct pt *t, const char *path, struct x9p_node **out,
			    struct x9p_attr *a)
{
	char **parts = g_strsplit(path, "/", -1);
	struct x9p_node *cur = PT_OPS(t)->node_dup(t->fs, t->root), *next;
	struct x9p_attr tmp;
	int e = 0;

	for (char **p = parts; *p; p++) {
		if (!**p)
			continue;
		e = pt_walk(t, cur, *p, &next, a ? a : &tmp);
		PT_OPS(t)->node_put(t->fs, cur);
		cur = NULL;
		if (e)
			break;
		cur = next;
	}
	g_strfreev(parts);
	*out = cur;
	return e;
}

static inline void pt_put(struct pt *t, struct x9p_node *n)
{
	if (n)
		PT_OPS(t)->node_put(t->fs, n);
}

static inline int pt_getattr(struct pt *t, struct x9p_node *n, struct x9p_attr *a)
{
	return PT_OPS(t)->getattr(t->fs, &t->c, n, a);
}

static inline int pt_create(struct pt *t, struct x9p_node *dir, const char *name, int flags,
			    uint32_t mode, struct x9p_node **out, int *fd)
{
	struct x9p_attr a;
	struct x9p_node *n = NULL;
	int e, f = -1;

	e = PT_OPS(t)->create(t->fs, &t->c, dir, name, flags | O_CREAT | O_EXCL, mode, &n, &a, &f);
	if (out)
		*out = n;
	else
		pt_put(t, n);
	if (fd)
		*fd = f;
	else if (f >= 0)
		close(f);
	return e;
}

static inline int pt_mkdir(struct pt *t, struct x9p_node *dir, const char *name, uint32_t mode)
{
	struct x9p_attr a;

	return PT_OPS(t)->mkdir(t->fs, &t->c, dir, name, mode, &a);
}

static inline int pt_open(struct pt *t, struct x9p_node *n, int flags, int *fd)
{
	return PT_OPS(t)->open(t->fs, &t->c, n, flags, fd);
}

/* Every name readdir() reports for dir, read in batches of `budget` bytes. */
struct pt_dirlist {
	GPtrArray *names;
	GPtrArray *attrs;           /* struct x9p_attr copies when attributes were asked */
	GArray *dtypes;             /* uint8_t: each entry's type */
	GArray *paths;              /* uint64_t: each entry's qid path */
	uint64_t last;
	unsigned batch;
};

static int pt_dirlist_cb(void *opaque, const struct x9p_dirent *de)
{
	struct pt_dirlist *l = opaque;

	g_ptr_array_add(l->names, g_strdup(de->name));
	g_array_append_val(l->dtypes, de->dtype);
	g_array_append_val(l->paths, de->qid.path);
	if (de->attr)
		g_ptr_array_add(l->attrs, g_memdup2(de->attr, sizeof(*de->attr)));
	l->last = de->next;
	l->batch++;
	return 0;
}

static inline int pt_readdir_all(struct pt *t, struct x9p_node *dir, size_t budget, bool attrs,
				 struct pt_dirlist *l, unsigned *calls)
{
	l->names = g_ptr_array_new_with_free_func(g_free);
	l->attrs = g_ptr_array_new_with_free_func(g_free);
	l->dtypes = g_array_new(FALSE, FALSE, sizeof(uint8_t));
	l->paths = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	l->last = 0;
	*calls = 0;
	for (bool said_end = false;;) {
		bool at_end = true;
		int n;

		l->batch = 0;
		n = PT_OPS(t)->readdir(t->fs, &t->c, dir, l->last, budget, attrs, pt_dirlist_cb, l,
				       &at_end);
		(*calls)++;
		if (n < 0)
			return n;
		g_assert_cmpint(n, ==, (int)l->batch);
		/* A batch that claimed the end must be followed by nothing. */
		g_assert_true(!said_end || n == 0);
		said_end = n > 0 && at_end;
		if (n == 0)
			return 0;
		if (*calls > 100000)
			return -ELOOP;
	}
}

static inline void pt_dirlist_free(struct pt_dirlist *l)
{
	g_ptr_array_unref(l->names);
	g_ptr_array_unref(l->attrs);
	if (l->dtypes)
		g_array_unref(l->dtypes);
	if (l->paths)
		g_array_unref(l->paths);
}

static inline bool pt_dirlist_has(const struct pt_dirlist *l, const char *name)
{
	for (guint i = 0; i < l->names->len; i++) {
		if (strcmp(l->names->pdata[i], name) == 0)
			return true;
	}
	return false;
}

/* ---- host-side helpers ---- */

static inline void pt_write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, content, strlen(content)), ==, (ssize_t)strlen(content));
	g_assert_cmpint(fchmod(fd, mode), ==, 0);
	close(fd);
}

static inline char *pt_read_file(const char *path)
{
	char *s = NULL;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return NULL;
	return s;
}

/* A little-endian integer stored in a host xattr, or -1 when absent/odd. */
static inline int64_t pt_xattr_le(const char *path, const char *name, size_t want)
{
	uint8_t b[16];
	ssize_t n = lgetxattr(path, name, b, sizeof(b));
	uint64_t v = 0;

	if (n != (ssize_t)want)
		return -1;
	while (n--)
		v = v << 8 | b[n];
	return (int64_t)v;
}

static inline void pt_set_xattr_le(const char *path, const char *name, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	g_assert_cmpint(lsetxattr(path, name, b, n, 0), ==, 0);
}

#endif
