/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every filesystem operation through the proxy driver and the real
 * x9p-helper on a real temporary directory, for every security model:
 * QEMU's local-driver qtest list first, then each fs.h member.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "proxy-test.h"

struct fx {
	struct pt t;
	bool skip;
};

static void setup(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
	f->skip = pt_skip_unprivileged(&f->t);
	if (!f->skip)
		pt_start(&f->t);
}

static void setup_ro(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
	f->skip = pt_skip_unprivileged(&f->t);
	f->t.readonly = true;
	/* Content made on the host before the read-only helper starts. */
	pt_write_file(pt_rel(&f->t, "file"), "data\n", 0644);
	g_assert_cmpint(mkdir(pt_rel(&f->t, "dir"), 0755), ==, 0);
	g_assert_cmpint(symlink("file", pt_rel(&f->t, "link")), ==, 0);
	if (!f->skip)
		pt_start(&f->t);
}

static void setup_no_setid(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
	f->skip = pt_skip_unprivileged(&f->t);
	f->t.no_setid = true;
	if (!f->skip)
		pt_start(&f->t);
}

static void teardown(struct fx *f, gconstpointer data)
{
	pt_free(&f->t);
}

#define SKIP_IF_NEEDED(f) do { if ((f)->skip) return; } while (0)

static struct stat host_lstat(struct pt *t, const char *rel)
{
	struct stat st;
	char *p = pt_path(t, rel);

	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_free(p);
	return st;
}

static bool host_exists(struct pt *t, const char *rel)
{
	struct stat st;
	char *p = pt_path(t, rel);
	bool r = lstat(p, &st) == 0;

	g_free(p);
	return r;
}

/* What the guest must see as owner of something it created. */
static void check_owner(struct pt *t, const struct x9p_attr *a, const char *rel)
{
	struct stat st = host_lstat(t, rel);

	if (t->model == X9P_SM_NONE) {
		/* no privilege to chown: the host owner shows through */
		g_assert_cmpuint(a->uid, ==, st.st_uid);
		g_assert_cmpuint(a->gid, ==, st.st_gid);
		return;
	}
	g_assert_cmpuint(a->uid, ==, t->c.uid);
	g_assert_cmpuint(a->gid, ==, t->c.gid);
	if (t->model == X9P_SM_PASSTHROUGH) {
		g_assert_cmpuint(st.st_uid, ==, t->c.uid);
		g_assert_cmpuint(st.st_gid, ==, t->c.gid);
	}
}

/* ---- QEMU's local qtest list ---- */

static void test_create_dir(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_mkdir(t, t->root, "01", 0750), ==, 0);
	st = host_lstat(t, "01");
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpint(pt_walk(t, t->root, "01", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFDIR | 0750);
	g_assert_cmpint(a.qid.type, ==, P9_QTDIR);
	check_owner(t, &a, "01");
	if (pt_mapped(t))
		g_assert_cmphex(st.st_mode & 07777, ==, 0700);
	else
		g_assert_cmphex(st.st_mode & 07777, ==, 0750);
	/* a second mkdir of the same name fails */
	g_assert_cmpint(pt_mkdir(t, t->root, "01", 0750), ==, -EEXIST);
	pt_put(t, n);
}

static void test_unlinkat_dir(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *d;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_mkdir(t, t->root, "02", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "02", &d, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, d, "inner", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "02", AT_REMOVEDIR), ==,
			-ENOTEMPTY);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, d, "inner", 0), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "02", 0), ==, -EISDIR);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "02", AT_REMOVEDIR), ==, 0);
	g_assert_false(host_exists(t, "02"));
	if (t->model == X9P_SM_MAPPED_FILE)
		g_assert_false(host_exists(t, ".virtfs_metadata/02"));
	pt_put(t, d);
}

static void test_create_file(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;
	char *p, *s;
	int fd;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "03", O_RDWR, 0640, &n, &fd), ==, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "hello\n", 6), ==, 6);
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	close(fd);
	p = pt_path(t, "03");
	s = pt_read_file(p);
	g_assert_cmpstr(s, ==, "hello\n");
	g_free(s);
	g_free(p);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0640);
	g_assert_cmpuint(a.size, ==, 6);
	check_owner(t, &a, "03");
	st = host_lstat(t, "03");
	g_assert_cmphex(st.st_mode & 07777, ==, pt_mapped(t) ? 0600 : 0640);
	/* exclusive: creating it again fails */
	g_assert_cmpint(pt_create(t, t->root, "03", O_RDWR, 0640, NULL, NULL), ==, -EEXIST);
	pt_put(t, n);
}

static void test_unlinkat_file(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "04", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_true(host_exists(t, "04"));
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "04", 0), ==, 0);
	g_assert_false(host_exists(t, "04"));
	if (t->model == X9P_SM_MAPPED_FILE)
		g_assert_false(host_exists(t, ".virtfs_metadata/04"));
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "04", 0), ==, -ENOENT);
}

static void test_symlink_file(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;
	char buf[64];
	int len;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "real_file", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "symlink_file", "real_file", &a),
			==, 0);
	g_assert_cmphex(a.mode & S_IFMT, ==, S_IFLNK);
	g_assert_cmpint(a.qid.type, ==, P9_QTSYMLINK);
	st = host_lstat(t, "symlink_file");
	if (pt_mapped(t)) {
		char *p = pt_path(t, "symlink_file"), *s = pt_read_file(p);

		/* a regular file holding the target */
		g_assert_true(S_ISREG(st.st_mode));
		g_assert_cmpstr(s, ==, "real_file");
		g_free(s);
		g_free(p);
	} else {
		g_assert_true(S_ISLNK(st.st_mode));
	}
	g_assert_cmpint(pt_walk(t, t->root, "symlink_file", &n, &a), ==, 0);
	len = PT_OPS(t)->readlink(t->fs, &t->c, n, buf, sizeof(buf));
	g_assert_cmpint(len, ==, 9);
	g_assert_cmpmem(buf, 9, "real_file", 9);
	/* a buffer too small is refused, never overrun */
	g_assert_cmpint(PT_OPS(t)->readlink(t->fs, &t->c, n, buf, 4), ==, -ENAMETOOLONG);
	/* readlink of a non-link */
	pt_put(t, n);
	g_assert_cmpint(pt_walk(t, t->root, "real_file", &n, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->readlink(t->fs, &t->c, n, buf, sizeof(buf)), ==, -EINVAL);
	pt_put(t, n);
}

static void test_unlinkat_symlink(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_attr a;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "sl", "nowhere", &a), ==, 0);
	g_assert_true(host_exists(t, "sl"));
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "sl", 0), ==, 0);
	g_assert_false(host_exists(t, "sl"));
}

static void test_hardlink_file(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *real, *hl;
	struct x9p_attr a1, a2;
	struct stat s1, s2;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "real_file", O_RDWR, 0644, &real, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, t->root, real, "hardlink_file"), ==, 0);
	s1 = host_lstat(t, "real_file");
	s2 = host_lstat(t, "hardlink_file");
	g_assert_cmpuint(s1.st_ino, ==, s2.st_ino);
	g_assert_cmpuint(s1.st_nlink, ==, 2);
	g_assert_cmpint(pt_getattr(t, real, &a1), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "hardlink_file", &hl, &a2), ==, 0);
	g_assert_cmpuint(a1.qid.path, ==, a2.qid.path);
	g_assert_cmpuint(a2.nlink, ==, 2);
	/* the guest's view of the owner is shared too (mapped-file links it) */
	g_assert_cmpuint(a1.uid, ==, a2.uid);
	g_assert_cmphex(a1.mode, ==, a2.mode);
	/* no hard links to directories */
	g_assert_cmpint(pt_mkdir(t, t->root, "d", 0755), ==, 0);
	{
		struct x9p_node *d;

		g_assert_cmpint(pt_walk(t, t->root, "d", &d, NULL), ==, 0);
		g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, t->root, d, "dlink"), ==, -EPERM);
		pt_put(t, d);
	}
	pt_put(t, hl);
	pt_put(t, real);
}

static void test_unlinkat_hardlink(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *real;
	struct x9p_attr a;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "real_file", O_RDWR, 0644, &real, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, t->root, real, "hardlink_file"), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "hardlink_file", 0), ==, 0);
	g_assert_false(host_exists(t, "hardlink_file"));
	g_assert_true(host_exists(t, "real_file"));
	g_assert_cmpint(pt_getattr(t, real, &a), ==, 0);
	g_assert_cmpuint(a.nlink, ==, 1);
	pt_put(t, real);
}

/* ---- every operation ---- */

static void test_walk_getattr(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };
	struct x9p_node *n, *d, *l, *n2;
	struct x9p_attr a, ad, al, a2;
	struct stat st;
	char *p;

	SKIP_IF_NEEDED(f);
	p = pt_path(t, "sub");
	g_assert_cmpint(mkdir(p, 0711), ==, 0);
	g_free(p);
	p = pt_path(t, "sub/file");
	pt_write_file(p, "0123456789abcdef", 0604);
	g_assert_cmpint(utimensat(AT_FDCWD, p, ts, 0), ==, 0);
	g_free(p);
	p = pt_path(t, "sub/link");
	g_assert_cmpint(symlink("file", p), ==, 0);
	g_free(p);

	g_assert_cmpint(pt_lookup(t, "sub/file", &n, &a), ==, 0);
	st = host_lstat(t, "sub/file");
	/* no metadata stored for it: every model shows the host's values */
	g_assert_cmphex(a.mode, ==, st.st_mode);
	g_assert_cmpuint(a.uid, ==, st.st_uid);
	g_assert_cmpuint(a.gid, ==, st.st_gid);
	g_assert_cmpuint(a.size, ==, 16);
	g_assert_cmpuint(a.nlink, ==, 1);
	g_assert_cmpuint(a.blocks, ==, st.st_blocks);
	g_assert_cmpuint(a.blksize, ==, st.st_blksize);
	g_assert_cmpint(a.atime.tv_sec, ==, ts[0].tv_sec);
	g_assert_cmpint(a.atime.tv_nsec, ==, ts[0].tv_nsec);
	g_assert_cmpint(a.mtime.tv_sec, ==, ts[1].tv_sec);
	g_assert_cmpint(a.mtime.tv_nsec, ==, ts[1].tv_nsec);
	g_assert_cmpint(a.ctime.tv_sec, ==, st.st_ctim.tv_sec);
	g_assert_cmpint(a.ctime.tv_nsec, ==, st.st_ctim.tv_nsec);
	g_assert_cmpint(a.qid.type, ==, P9_QTFILE);
	g_assert_cmpuint(a.qid.path & 0xffffffffffffULL, ==, st.st_ino);

	g_assert_cmpint(pt_lookup(t, "sub", &d, &ad), ==, 0);
	g_assert_cmpint(ad.qid.type, ==, P9_QTDIR);
	g_assert_cmphex(ad.mode, ==, S_IFDIR | 0711);
	g_assert_cmpint(pt_walk(t, d, "link", &l, &al), ==, 0);
	g_assert_cmpint(al.qid.type, ==, P9_QTSYMLINK);
	g_assert_cmpuint(al.size, ==, 4);

	/* getattr agrees with walk; a second walk gives the same qid */
	g_assert_cmpint(pt_getattr(t, n, &a2), ==, 0);
	g_assert_cmpuint(a2.qid.path, ==, a.qid.path);
	g_assert_cmpint(pt_walk(t, d, "file", &n2, &a2), ==, 0);
	g_assert_cmpuint(a2.qid.path, ==, a.qid.path);
	g_assert_cmpuint(a2.qid.path, !=, ad.qid.path);
	g_assert_cmpuint(al.qid.path, !=, a.qid.path);
	pt_put(t, n2);

	g_assert_cmpint(pt_walk(t, d, "missing", &n2, NULL), ==, -ENOENT);
	g_assert_null(n2);
	g_assert_cmpint(pt_walk(t, n, "x", &n2, NULL), ==, -ENOTDIR);
	pt_put(t, n);
	pt_put(t, d);
	pt_put(t, l);
}

static void test_walk_dotdot(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *a, *b, *up, *up2, *up3;
	struct x9p_attr ra, aa, x;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_getattr(t, t->root, &ra), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "a", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "a", &a, &aa), ==, 0);
	g_assert_cmpint(pt_mkdir(t, a, "b", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, a, "b", &b, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, b, "..", &up, &x), ==, 0);
	g_assert_cmpuint(x.qid.path, ==, aa.qid.path);
	g_assert_cmpint(pt_walk(t, up, "..", &up2, &x), ==, 0);
	g_assert_cmpuint(x.qid.path, ==, ra.qid.path);
	/* ".." of the export root stays at the root */
	g_assert_cmpint(pt_walk(t, up2, "..", &up3, &x), ==, 0);
	g_assert_cmpuint(x.qid.path, ==, ra.qid.path);
	/* a node found through ".." works like any other */
	g_assert_cmpint(pt_create(t, up, "viaup", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_true(host_exists(t, "a/viaup"));
	pt_put(t, a);
	pt_put(t, b);
	pt_put(t, up);
	pt_put(t, up2);
	pt_put(t, up3);
}

static void test_setattr(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { 0 };
	struct x9p_node *n;
	struct x9p_attr a, b;
	struct stat st;
	struct timespec before;
	int e;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "f", O_RDWR, 0644, &n, NULL), ==, 0);

	sa.valid = P9_SETATTR_MODE;
	sa.mode = 0751;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0751);
	st = host_lstat(t, "f");
	g_assert_cmphex(st.st_mode & 07777, ==, pt_mapped(t) ? 0600 : 0751);

	sa.valid = P9_SETATTR_UID | P9_SETATTR_GID;
	sa.uid = 2001;
	sa.gid = 3002;
	e = PT_OPS(t)->setattr(t->fs, &t->c, n, &sa);
	if (t->model == X9P_SM_NONE) {
		/* unprivileged: a chown the host refuses is reported */
		g_assert_cmpint(e, <, 0);
	} else {
		g_assert_cmpint(e, ==, 0);
		g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
		g_assert_cmpuint(a.uid, ==, 2001);
		g_assert_cmpuint(a.gid, ==, 3002);
		st = host_lstat(t, "f");
		if (t->model == X9P_SM_PASSTHROUGH)
			g_assert_cmpuint(st.st_uid, ==, 2001);
		else
			g_assert_cmpuint(st.st_uid, !=, 2001);
		/* only the gid */
		sa.valid = P9_SETATTR_GID;
		sa.gid = 3003;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
		g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
		g_assert_cmpuint(a.uid, ==, 2001);
		g_assert_cmpuint(a.gid, ==, 3003);
	}

	sa.valid = P9_SETATTR_SIZE;
	sa.size = 12345;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, 12345);
	g_assert_cmpuint(host_lstat(t, "f").st_size, ==, 12345);

	/* explicit times with nanoseconds */
	sa.valid = P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	sa.atime = (struct timespec){ 1234567890, 111222333 };
	sa.mtime = (struct timespec){ 1234567899, 999888777 };
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmpint(a.atime.tv_sec, ==, 1234567890);
	g_assert_cmpint(a.atime.tv_nsec, ==, 111222333);
	g_assert_cmpint(a.mtime.tv_sec, ==, 1234567899);
	g_assert_cmpint(a.mtime.tv_nsec, ==, 999888777);

	/* mtime only: atime is omitted, untouched */
	sa.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	sa.mtime = (struct timespec){ 1300000000, 5 };
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &b), ==, 0);
	g_assert_cmpint(b.atime.tv_sec, ==, 1234567890);
	g_assert_cmpint(b.atime.tv_nsec, ==, 111222333);
	g_assert_cmpint(b.mtime.tv_sec, ==, 1300000000);
	g_assert_cmpint(b.mtime.tv_nsec, ==, 5);

	/* without _SET: the current time (UTIME_NOW), also when given as such */
	clock_gettime(CLOCK_REALTIME, &before);
	sa.valid = P9_SETATTR_ATIME;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	sa.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	sa.mtime = (struct timespec){ 0, UTIME_NOW };
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &b), ==, 0);
	g_assert_cmpint(b.atime.tv_sec, >=, before.tv_sec - 1);
	g_assert_cmpint(b.mtime.tv_sec, >=, before.tv_sec - 1);

	/* truncating a directory */
	{
		struct x9p_node *d;

		g_assert_cmpint(pt_mkdir(t, t->root, "d", 0755), ==, 0);
		g_assert_cmpint(pt_walk(t, t->root, "d", &d, NULL), ==, 0);
		sa.valid = P9_SETATTR_SIZE;
		sa.size = 0;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, d, &sa), ==, -EISDIR);
		sa.valid = P9_SETATTR_MODE;
		sa.mode = 0700;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, d, &sa), ==, 0);
		g_assert_cmpint(pt_getattr(t, d, &a), ==, 0);
		g_assert_cmphex(a.mode, ==, S_IFDIR | 0700);
		pt_put(t, d);
	}
	pt_put(t, n);
}

static void test_open(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n, *d;
	char buf[16];
	int fd;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "f", O_WRONLY, 0644, &n, &fd), ==, 0);
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_ACCMODE, ==, O_WRONLY);
	g_assert_cmpint(write(fd, "abcdef", 6), ==, 6);
	close(fd);

	g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, 0);
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_ACCMODE, ==, O_RDONLY);
	g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 6);
	g_assert_cmpint(write(fd, "x", 1), ==, -1);
	close(fd);

	g_assert_cmpint(pt_open(t, n, O_RDWR | O_APPEND, &fd), ==, 0);
	g_assert_true(fcntl(fd, F_GETFL) & O_APPEND);
	close(fd);

	g_assert_cmpint(pt_open(t, n, O_WRONLY | O_TRUNC, &fd), ==, 0);
	close(fd);
	g_assert_cmpuint(host_lstat(t, "f").st_size, ==, 0);

	/* a directory opens without a descriptor, and only for reading */
	g_assert_cmpint(pt_mkdir(t, t->root, "d", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "d", &d, NULL), ==, 0);
	g_assert_cmpint(pt_open(t, d, O_RDONLY | O_DIRECTORY, &fd), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(pt_open(t, d, O_WRONLY, &fd), ==, -EISDIR);
	g_assert_cmpint(pt_open(t, n, O_RDONLY | O_DIRECTORY, &fd), ==, -ENOTDIR);
	pt_put(t, d);
	pt_put(t, n);
}

static void test_mknod(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;
	int e, fd;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, t->root, "fifo", S_IFIFO | 0620, 0, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFIFO | 0620);
	st = host_lstat(t, "fifo");
	g_assert_true(pt_mapped(t) ? S_ISREG(st.st_mode) : S_ISFIFO(st.st_mode));
	check_owner(t, &a, "fifo");

	e = PT_OPS(t)->mknod(t->fs, &t->c, t->root, "chr", S_IFCHR | 0640, makedev(4, 66), &a);
	if (t->model == X9P_SM_NONE) {
		g_assert_cmpint(e, ==, -EPERM);   /* no CAP_MKNOD without privilege */
	} else {
		g_assert_cmpint(e, ==, 0);
		g_assert_cmphex(a.mode, ==, S_IFCHR | 0640);
		g_assert_cmpuint(a.rdev, ==, makedev(4, 66));
		g_assert_cmpint(pt_walk(t, t->root, "chr", &n, &a), ==, 0);
		g_assert_cmpuint(a.rdev, ==, makedev(4, 66));
		/* never opened by the helper, whatever the model */
		g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ENXIO);
		pt_put(t, n);
		st = host_lstat(t, "chr");
		g_assert_true(pt_mapped(t) ? S_ISREG(st.st_mode) : S_ISCHR(st.st_mode));
	}
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, t->root, "sock", S_IFSOCK | 0600, 0, &a), ==, 0);
	g_assert_cmphex(a.mode & S_IFMT, ==, S_IFSOCK);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, t->root, "dir", S_IFDIR | 0600, 0, &a), ==,
			-EINVAL);
}

static void test_rename(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n, *d1, *d2, *victim;
	struct x9p_attr a, b;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_mkdir(t, t->root, "d1", 0755), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "d2", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "d1", &d1, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "d2", &d2, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, d1, "f", O_RDWR, 0640, &n, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);

	/* within a directory */
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, d1, "f", d1, "g"), ==, 0);
	g_assert_false(host_exists(t, "d1/f"));
	g_assert_true(host_exists(t, "d1/g"));
	/* across directories, over an existing file */
	g_assert_cmpint(pt_create(t, d2, "h", O_RDWR, 0600, &victim, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, d1, "g", d2, "h"), ==, 0);
	g_assert_false(host_exists(t, "d1/g"));
	g_assert_cmpuint(host_lstat(t, "d2/h").st_ino, ==, a.qid.path & 0xffffffffffffULL);
	if (t->model == X9P_SM_MAPPED_FILE) {
		g_assert_false(host_exists(t, "d1/.virtfs_metadata/g"));
		g_assert_true(host_exists(t, "d2/.virtfs_metadata/h"));
	}
	/* the guest's view moved along; the held node still works */
	g_assert_cmpint(pt_getattr(t, n, &b), ==, 0);
	g_assert_cmpuint(b.qid.path, ==, a.qid.path);
	g_assert_cmphex(b.mode, ==, S_IFREG | 0640);
	g_assert_cmpuint(b.uid, ==, a.uid);
	pt_put(t, n);
	g_assert_cmpint(pt_lookup(t, "d2/h", &n, &b), ==, 0);
	g_assert_cmphex(b.mode, ==, S_IFREG | 0640);
	/* a directory into itself and from a missing name */
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "d1", d1, "x"), ==, -EINVAL);
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, d1, "missing", d2, "x"), ==, -ENOENT);
	/* renaming a directory */
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "d1", d2, "d1moved"), ==, 0);
	g_assert_true(host_exists(t, "d2/d1moved"));
	g_assert_cmpint(pt_create(t, d1, "stillworks", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_true(host_exists(t, "d2/d1moved/stillworks"));
	pt_put(t, victim);
	pt_put(t, n);
	pt_put(t, d1);
	pt_put(t, d2);
}

static void test_readdir(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct pt_dirlist l;
	struct x9p_node *d;
	unsigned calls, i;
	const unsigned count = 300;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_mkdir(t, t->root, "big", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "big", &d, NULL), ==, 0);
	for (i = 0; i < count; i++) {
		char name[64];

		g_snprintf(name, sizeof(name), "entry-with-a-longish-name-%05u", i);
		if (i % 3 == 0)
			g_assert_cmpint(pt_mkdir(t, d, name, 0700 + (i % 8)), ==, 0);
		else
			g_assert_cmpint(pt_create(t, d, name, O_RDWR, 0600 + (i % 8), NULL, NULL), ==, 0);
	}
	/* special files: the mapped models keep them as regular files */
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, d, "z-link", "somewhere", NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, d, "z-fifo", S_IFIFO | 0644, 0, NULL), ==, 0);
	/* small batches resume exactly at the cookie: every name exactly once */
	g_assert_cmpint(pt_readdir_all(t, d, 512, false, &l, &calls), ==, 0);
	g_assert_cmpuint(l.names->len, ==, count + 4);
	/* a listing without attributes still gives each entry the type and the
	 * qid path that a walk gives it */
	for (i = 0; i < l.names->len; i++) {
		const char *name = l.names->pdata[i];
		struct x9p_node *n;
		struct x9p_attr a;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		g_assert_cmpint(pt_walk(t, d, name, &n, &a), ==, 0);
		g_assert_cmpuint(g_array_index(l.paths, uint64_t, i), ==, a.qid.path);
		g_assert_cmpuint(g_array_index(l.dtypes, uint8_t, i), ==,
				 S_ISDIR(a.mode) ? DT_DIR : S_ISLNK(a.mode) ? DT_LNK :
				 S_ISFIFO(a.mode) ? DT_FIFO : DT_REG);
		pt_put(t, n);
	}
	g_assert_cmpuint(calls, >, 10);
	g_assert_true(pt_dirlist_has(&l, "."));
	g_assert_true(pt_dirlist_has(&l, ".."));
	if (t->model == X9P_SM_MAPPED_FILE)
		g_assert_false(pt_dirlist_has(&l, ".virtfs_metadata"));
	{
		GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

		for (i = 0; i < l.names->len; i++)
			g_assert_true(g_hash_table_add(seen, l.names->pdata[i]));
		g_hash_table_destroy(seen);
	}
	pt_dirlist_free(&l);

	/* one big batch, with attributes that agree with getattr */
	g_assert_cmpint(pt_readdir_all(t, d, 1 << 20, true, &l, &calls), ==, 0);
	g_assert_cmpuint(l.names->len, ==, count + 4);
	g_assert_cmpuint(l.attrs->len, ==, l.names->len);
	g_assert_cmpuint(calls, <=, 3);
	for (i = 0; i < l.names->len; i++) {
		const char *name = l.names->pdata[i];
		const struct x9p_attr *da = l.attrs->pdata[i];
		struct x9p_node *n;
		struct x9p_attr a;
		unsigned k;

		if (!strcmp(name, ".") || !strcmp(name, "..") || name[0] == 'z')
			continue;
		g_assert_cmpint(pt_walk(t, d, name, &n, &a), ==, 0);
		g_assert_cmpuint(da->qid.path, ==, a.qid.path);
		g_assert_cmphex(da->mode, ==, a.mode);
		g_assert_cmpuint(da->uid, ==, a.uid);
		k = (unsigned)atoi(name + strlen("entry-with-a-longish-name-"));
		g_assert_cmphex(a.mode & 07777, ==, (k % 3 == 0 ? 0700u : 0600u) + (k % 8));
		pt_put(t, n);
	}
	pt_dirlist_free(&l);

	/* the root's ".." is the root itself */
	{
		struct x9p_attr ra;

		g_assert_cmpint(pt_getattr(t, t->root, &ra), ==, 0);
		g_assert_cmpint(pt_readdir_all(t, t->root, 1 << 16, true, &l, &calls), ==, 0);
		for (i = 0; i < l.names->len; i++) {
			if (!strcmp(l.names->pdata[i], ".."))
				g_assert_cmpuint(((struct x9p_attr *)l.attrs->pdata[i])->qid.path, ==,
						 ra.qid.path);
		}
		pt_dirlist_free(&l);
	}
	/* readdir of a file */
	{
		struct x9p_node *n;

		g_assert_cmpint(pt_walk(t, d, "entry-with-a-longish-name-00001", &n, NULL), ==, 0);
		g_assert_cmpint(pt_readdir_all(t, n, 4096, false, &l, &calls), ==, -ENOTDIR);
		pt_dirlist_free(&l);
		pt_put(t, n);
	}
	pt_put(t, d);
}

static void test_statfs_fsync(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct p9_statfs st;
	struct statvfs sv;
	struct x9p_node *n;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(PT_OPS(t)->statfs(t->fs, &t->c, t->root, &st), ==, 0);
	g_assert_cmpint(statvfs(t->export, &sv), ==, 0);
	g_assert_cmpuint(st.bsize, ==, sv.f_bsize);
	g_assert_cmpuint(st.blocks, ==, sv.f_blocks);
	g_assert_cmpuint(st.files, ==, sv.f_files);
	g_assert_cmpuint(st.namelen, ==, sv.f_namemax);
	g_assert_cmpint(PT_OPS(t)->fsync(t->fs, &t->c, t->root, false), ==, 0);
	g_assert_cmpint(PT_OPS(t)->fsync(t->fs, &t->c, t->root, true), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "f", O_RDWR, 0644, &n, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->fsync(t->fs, &t->c, n, false), ==, 0);
	pt_put(t, n);
}

static void test_xattr(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	char buf[256];
	ssize_t len;
	char *p;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "f", O_RDWR, 0644, &n, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.test", "value!", 6, 0), ==, 0);
	g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "user.test", NULL, 0), ==, 6);
	len = PT_OPS(t)->getxattr(t->fs, &t->c, n, "user.test", buf, sizeof(buf));
	g_assert_cmpint(len, ==, 6);
	g_assert_cmpmem(buf, 6, "value!", 6);
	g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "user.test", buf, 3), ==, -ERANGE);
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.test", "x", 1, XATTR_CREATE),
			==, -EEXIST);
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.other", "x", 1, XATTR_REPLACE),
			==, -ENODATA);
	/* the host sees it under the same name */
	p = pt_path(t, "f");
	g_assert_cmpint(lgetxattr(p, "user.test", buf, sizeof(buf)), ==, 6);

	len = PT_OPS(t)->listxattr(t->fs, &t->c, n, NULL, 0);
	g_assert_cmpint(len, ==, (ssize_t)sizeof("user.test"));
	len = PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, sizeof(buf));
	g_assert_cmpint(len, ==, (ssize_t)sizeof("user.test"));
	g_assert_cmpstr(buf, ==, "user.test");
	g_assert_cmpint(PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, 4), ==, -ERANGE);

	g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, "user.test"), ==, 0);
	g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "user.test", buf, sizeof(buf)), ==,
			-ENODATA);
	g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, "user.test"), ==, -ENODATA);
	/* namespaces outside the model's set */
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "trusted.x", "x", 1, 0), ==,
			-EOPNOTSUPP);
	g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "security.x", buf, 10), ==,
			-EOPNOTSUPP);
	g_assert_cmpint(lsetxattr(p, "trusted.hostonly", "h", 1, 0), ==, 0);
	len = PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, sizeof(buf));
	g_assert_cmpint(len, >=, 0);
	g_assert_null(memmem(buf, (size_t)len, "trusted", 7));

	if (t->model == X9P_SM_MAPPED_XATTR) {
		/* POSIX ACLs are kept as user.virtfs.system.posix_acl_* */
		static const char acl[] = "\x02\x00\x00\x00\x01\x00\x06\x00\xff\xff\xff\xff";

		g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "system.posix_acl_access",
						    acl, sizeof(acl) - 1, 0), ==, 0);
		g_assert_cmpint(lgetxattr(p, "user.virtfs.system.posix_acl_access", buf,
					  sizeof(buf)), ==, (ssize_t)sizeof(acl) - 1);
		g_assert_cmpint(lgetxattr(p, "system.posix_acl_access", buf, sizeof(buf)), <, 0);
		g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "system.posix_acl_access",
						    buf, sizeof(buf)), ==, (ssize_t)sizeof(acl) - 1);
		len = PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, sizeof(buf));
		g_assert_cmpint(len, ==, (ssize_t)sizeof("system.posix_acl_access"));
		g_assert_cmpstr(buf, ==, "system.posix_acl_access");
		g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, "system.posix_acl_access"),
				==, 0);
		/* removing an absent mapped ACL is no error */
		g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, "system.posix_acl_access"),
				==, 0);
	}
	if (t->model == X9P_SM_NONE)
		g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "system.posix_acl_access", "x", 1,
						    0), ==, -EOPNOTSUPP);
	g_free(p);
	pt_put(t, n);
}

/* Operations on a file that is open but no longer has a name. */
static void test_unlinked(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { 0 };
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;
	int fd, e;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "tmp", O_RDWR, 0644, &n, &fd), ==, 0);
	g_assert_cmpint(write(fd, "0123456789", 10), ==, 10);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "tmp", 0), ==, 0);
	g_assert_false(host_exists(t, "tmp"));

	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmpuint(a.nlink, ==, 0);
	g_assert_cmpuint(a.size, ==, 10);

	sa.valid = P9_SETATTR_SIZE;
	sa.size = 4;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 4);

	sa.valid = P9_SETATTR_MODE;
	sa.mode = 0600;
	e = PT_OPS(t)->setattr(t->fs, &t->c, n, &sa);
	if (t->model == X9P_SM_MAPPED_FILE) {
		/* its metadata lived next to the name, which is gone (as in QEMU) */
		g_assert_cmpint(e, ==, -ESTALE);
	} else {
		g_assert_cmpint(e, ==, 0);
		g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
		g_assert_cmphex(a.mode, ==, S_IFREG | 0600);
		if (!pt_mapped(t)) {
			g_assert_cmpint(fstat(fd, &st), ==, 0);
			g_assert_cmphex(st.st_mode & 07777, ==, 0600);
		}
	}
	/* re-opening through the node still works */
	{
		int fd2;

		g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd2), ==, 0);
		g_assert_cmpint(fstat(fd2, &st), ==, 0);
		g_assert_cmpint(st.st_size, ==, 4);
		close(fd2);
	}
	close(fd);
	pt_put(t, n);
}

static void test_readonly(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { .valid = P9_SETATTR_MODE, .mode = 0600 };
	struct x9p_node *file, *dir, *link, *n;
	struct x9p_attr a;
	char buf[64];
	int fd;

	SKIP_IF_NEEDED(f);
	g_assert_true(t->fs->readonly);
	g_assert_cmpint(pt_walk(t, t->root, "file", &file, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "dir", &dir, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "link", &link, NULL), ==, 0);

	g_assert_cmpint(pt_create(t, t->root, "new", O_RDWR, 0644, &n, &fd), ==, -EROFS);
	g_assert_cmpint(pt_mkdir(t, t->root, "new", 0755), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, t->root, "new", S_IFIFO | 0644, 0, &a), ==,
			-EROFS);
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "new", "file", &a), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, t->root, file, "new"), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "file", dir, "x"), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "file", 0), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "dir", AT_REMOVEDIR), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, file, &sa), ==, -EROFS);
	sa.valid = P9_SETATTR_SIZE;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, file, &sa), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, file, "user.x", "1", 1, 0), ==, -EROFS);
	g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, file, "user.x"), ==, -EROFS);
	g_assert_cmpint(pt_open(t, file, O_WRONLY, &fd), ==, -EROFS);
	g_assert_cmpint(pt_open(t, file, O_RDWR, &fd), ==, -EROFS);
	g_assert_cmpint(pt_open(t, file, O_RDONLY | O_TRUNC, &fd), ==, -EROFS);

	/* reading works */
	g_assert_cmpint(pt_open(t, file, O_RDONLY, &fd), ==, 0);
	g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 5);
	close(fd);
	g_assert_cmpint(PT_OPS(t)->readlink(t->fs, &t->c, link, buf, sizeof(buf)), ==, 4);
	g_assert_cmpint(pt_getattr(t, dir, &a), ==, 0);
	{
		struct pt_dirlist l;
		unsigned calls;

		g_assert_cmpint(pt_readdir_all(t, t->root, 4096, true, &l, &calls), ==, 0);
		g_assert_true(pt_dirlist_has(&l, "file"));
		pt_dirlist_free(&l);
	}
	g_assert_true(host_exists(t, "file"));
	g_assert_false(host_exists(t, "new"));
	pt_put(t, file);
	pt_put(t, dir);
	pt_put(t, link);
}

/* ---- several filesystems below the export (multidevs) ---- */

struct mdfx {
	struct pt t;
	char *mnt;
	bool mounted;
};

static void md_setup(struct mdfx *f, gconstpointer data)
{
	GError *err = NULL;
	struct x9p_attr a;

	pt_tree(&f->t, X9P_SM_MAPPED_XATTR);
	f->mnt = pt_path(&f->t, "mnt");
	g_assert_cmpint(mkdir(f->mnt, 0755), ==, 0);
	pt_write_file(pt_rel(&f->t, "here"), "x", 0644);
	if (geteuid() != 0 || mount("x9p-test", f->mnt, "tmpfs", 0, "size=1m") < 0) {
		g_test_skip("cannot mount a tmpfs below the export");
		return;
	}
	f->mounted = true;
	pt_write_file(pt_rel(&f->t, "mnt/there"), "y", 0644);
	f->t.fs = pt_new_fs(&f->t, (enum x9p_multidevs)GPOINTER_TO_INT(data), &err);
	g_assert_nonnull(f->t.fs);
	g_assert_cmpint(f->t.fs->ops->attach(f->t.fs, &f->t.c, "", &f->t.root, &a), ==, 0);
}

static void md_teardown(struct mdfx *f, gconstpointer data)
{
	pt_stop(&f->t);
	if (f->mounted)
		g_assert_cmpint(umount2(f->mnt, MNT_DETACH), ==, 0);
	g_free(f->mnt);
	pt_free(&f->t);
}

static void test_multidevs(struct mdfx *f, gconstpointer data)
{
	enum x9p_multidevs md = (enum x9p_multidevs)GPOINTER_TO_INT(data);
	struct pt *t = &f->t;
	struct x9p_node *n, *m;
	struct x9p_attr here, mnt, there;
	struct stat st;
	struct pt_dirlist l;
	unsigned calls;

	if (!f->mounted)
		return;
	g_assert_cmpint(pt_walk(t, t->root, "here", &n, &here), ==, 0);
	pt_put(t, n);
	g_assert_cmpint(pt_readdir_all(t, t->root, 4096, true, &l, &calls), ==, 0);
	g_assert_true(pt_dirlist_has(&l, "mnt"));
	pt_dirlist_free(&l);
	if (md == X9P_MULTIDEVS_FORBID) {
		g_assert_cmpint(pt_walk(t, t->root, "mnt", &m, &mnt), ==, -ENODEV);
		return;
	}
	g_assert_cmpint(pt_walk(t, t->root, "mnt", &m, &mnt), ==, 0);
	g_assert_cmpint(pt_walk(t, m, "there", &n, &there), ==, 0);
	g_assert_cmpint(stat(pt_rel(t, "mnt/there"), &st), ==, 0);
	if (md == X9P_MULTIDEVS_REMAP) {
		/* the export's own device keeps plain inode numbers, the other one not */
		g_assert_cmpuint(here.qid.path >> 48, ==, 0);
		g_assert_cmpuint(there.qid.path >> 48, !=, 0);
		g_assert_cmpuint(there.qid.path & 0xffffffffffffULL, ==, st.st_ino);
		g_assert_cmpuint(mnt.qid.path >> 48, ==, there.qid.path >> 48);
	} else {
		g_assert_cmpuint(there.qid.path, ==, st.st_ino);
	}
	pt_put(t, n);
	g_assert_cmpint(pt_walk(t, m, "..", &n, &there), ==, 0);
	pt_put(t, n);
	pt_put(t, m);
}

/*
 * A guest never plants host privileges: set-user-ID and set-group-ID bits
 * reach host files only in passthrough without --no-setid (mapped models
 * keep them in metadata), and user.virtfs.*, where mapped-xattr keeps
 * ownership and mode, is reserved in every model.
 */
static void test_setid(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	bool host_gets = t->model == X9P_SM_PASSTHROUGH && !t->no_setid;
	struct x9p_setattr sa = { 0 };
	struct x9p_node *n;
	struct x9p_attr a;
	char buf[64];
	char *p;

	SKIP_IF_NEEDED(f);
	/* created set-ID */
	g_assert_cmpint(pt_create(t, t->root, "s", O_RDWR, 06755, &n, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmphex(host_lstat(t, "s").st_mode & 07777, ==,
			pt_mapped(t) ? 0600 : host_gets ? 06755 : 0755);
	g_assert_cmphex(a.mode & 07777, ==, pt_mapped(t) || host_gets ? 06755 : 0755);
	pt_put(t, n);
	/* a file the host put there, made set-ID by the guest */
	pt_write_file(pt_rel(t, "hostfile"), "#!/bin/sh\n", 0755);
	g_assert_cmpint(pt_lookup(t, "hostfile", &n, NULL), ==, 0);
	sa.valid = P9_SETATTR_MODE;
	sa.mode = 06755;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
	g_assert_cmphex(host_lstat(t, "hostfile").st_mode & 07777, ==,
			pt_mapped(t) ? 0755 : host_gets ? 06755 : 0755);
	/* user.virtfs.* is nobody's to write, read or list */
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.virtfs.uid", "\0\0\0\0", 4, 0),
			==, -EACCES);
	g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, "user.virtfs.mode"), ==, -EACCES);
	p = pt_path(t, "hostfile");
	g_assert_cmpint(lsetxattr(p, "user.virtfs.gid", "\1\0\0\0", 4, 0), ==, 0);
	g_assert_cmpint(lsetxattr(p, "user.seen", "1", 1, 0), ==, 0);
	g_free(p);
	g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, "user.virtfs.gid", buf, sizeof(buf)),
			==, -ENODATA);
	g_assert_cmpint(PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, sizeof(buf)), ==,
			(ssize_t)sizeof("user.seen"));
	g_assert_cmpstr(buf, ==, "user.seen");
	pt_put(t, n);
	/* a set-group-ID directory */
	g_assert_cmpint(pt_mkdir(t, t->root, "d", 02755), ==, 0);
	g_assert_cmphex(host_lstat(t, "d").st_mode & 07777, ==,
			pt_mapped(t) ? 0700 : host_gets ? 02755 : 0755);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct fx *, gconstpointer);
	} tests[] = {
		{ "create_dir", test_create_dir },
		{ "unlinkat_dir", test_unlinkat_dir },
		{ "create_file", test_create_file },
		{ "unlinkat_file", test_unlinkat_file },
		{ "symlink_file", test_symlink_file },
		{ "unlinkat_symlink", test_unlinkat_symlink },
		{ "hardlink_file", test_hardlink_file },
		{ "unlinkat_hardlink", test_unlinkat_hardlink },
		{ "walk_getattr", test_walk_getattr },
		{ "walk_dotdot", test_walk_dotdot },
		{ "setattr", test_setattr },
		{ "open", test_open },
		{ "mknod", test_mknod },
		{ "rename", test_rename },
		{ "readdir", test_readdir },
		{ "statfs_fsync", test_statfs_fsync },
		{ "xattr", test_xattr },
		{ "unlinked", test_unlinked },
		{ "setid", test_setid },
	};

	pt_init();
	g_test_init(&argc, &argv, NULL);
	for (size_t m = 0; m < G_N_ELEMENTS(pt_models); m++) {
		const char *mn = x9p_secmodel_name(pt_models[m]);
		gconstpointer data = GINT_TO_POINTER(pt_models[m]);

		for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
			char *path = g_strdup_printf("/helper/fsops/%s/%s", mn, tests[i].name);

			g_test_add(path, struct fx, data, setup, tests[i].fn, teardown);
			g_free(path);
		}
		{
			char *path = g_strdup_printf("/helper/fsops/%s/readonly", mn);

			g_test_add(path, struct fx, data, setup_ro, test_readonly, teardown);
			g_free(path);
		}
	}
	g_test_add("/helper/fsops/passthrough/no-setid", struct fx,
		   GINT_TO_POINTER(X9P_SM_PASSTHROUGH), setup_no_setid, test_setid, teardown);
	for (int md = X9P_MULTIDEVS_REMAP; md <= X9P_MULTIDEVS_WARN; md++) {
		char *path = g_strdup_printf("/helper/fsops/multidevs/%s",
					     x9p_multidevs_name((enum x9p_multidevs)md));

		g_test_add(path, struct mdfx, GINT_TO_POINTER(md), md_setup, test_multidevs,
			   md_teardown);
		g_free(path);
	}
	return g_test_run();
}
