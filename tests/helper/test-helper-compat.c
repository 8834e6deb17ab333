/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * On-disk compatibility of the mapped security models with QEMU's local
 * driver.  Trees written through x9p are checked by reading the host's
 * xattrs and metadata files directly, using only the documented format
 * (docs/security-models.md); trees written on the host in that format, as
 * QEMU would have left them, must read back through x9p.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "proxy-test.h"

struct fx {
	struct pt t;
};

static void setup(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
}

static void teardown(struct fx *f, gconstpointer data)
{
	pt_free(&f->t);
}

/* What the mapped-file model keeps about one name, as a string. */
static char *meta_file(struct pt *t, const char *dir, const char *name)
{
	char *p = name ? g_build_filename(t->export, dir, ".virtfs_metadata", name, NULL)
		       : g_build_filename(t->export, ".virtfs_metadata_root", NULL);
	char *s = pt_read_file(p);

	g_free(p);
	return s;
}

/* The guest-visible owner/mode/rdev as stored by a mapped model. */
struct stored {
	int64_t uid, gid, mode, rdev;
};

static struct stored stored_of(struct pt *t, const char *rel)
{
	struct stored s = { -1, -1, -1, -1 };

	if (t->model == X9P_SM_MAPPED_XATTR) {
		char *p = pt_path(t, rel);

		s.uid = pt_xattr_le(p, "user.virtfs.uid", 4);
		s.gid = pt_xattr_le(p, "user.virtfs.gid", 4);
		s.mode = pt_xattr_le(p, "user.virtfs.mode", 4);
		s.rdev = pt_xattr_le(p, "user.virtfs.rdev", 8);
		g_free(p);
	} else {
		char *dir = g_path_get_dirname(rel), *base = g_path_get_basename(rel);
		char *text = meta_file(t, dir, base);
		char **lines = text ? g_strsplit(text, "\n", -1) : NULL;

		for (char **l = lines; l && *l; l++) {
			if (g_str_has_prefix(*l, "virtfs.uid="))
				s.uid = g_ascii_strtoll(*l + 11, NULL, 10);
			else if (g_str_has_prefix(*l, "virtfs.gid="))
				s.gid = g_ascii_strtoll(*l + 11, NULL, 10);
			else if (g_str_has_prefix(*l, "virtfs.mode="))
				s.mode = g_ascii_strtoll(*l + 12, NULL, 10);
			else if (g_str_has_prefix(*l, "virtfs.rdev="))
				s.rdev = g_ascii_strtoll(*l + 12, NULL, 10);
			else
				g_assert_cmpstr(*l, ==, "");   /* nothing else in the file */
		}
		g_strfreev(lines);
		g_free(text);
		g_free(dir);
		g_free(base);
	}
	return s;
}

static void check_host_mode(struct pt *t, const char *rel, mode_t want)
{
	struct stat st;
	char *p = pt_path(t, rel);

	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_cmphex(st.st_mode, ==, want);
	g_free(p);
}

/* Written through x9p, read on the host. */
static void test_write(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *d;
	struct x9p_attr a;
	struct stored s;
	char *p, *text;

	pt_start(t);
	t->c.uid = 1234;
	t->c.gid = 5678;
	g_assert_cmpint(pt_create(t, t->root, "file", O_RDWR, 0640, NULL, NULL), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "dir", 0750), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "dir", &d, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, d, "link", "../file", &a), ==, 0);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, d, "chr", S_IFCHR | 0620, makedev(4, 5), &a),
			==, 0);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, d, "blk", S_IFBLK | 0600, makedev(259, 3), &a),
			==, 0);
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, d, "fifo", S_IFIFO | 0604, 0, &a), ==, 0);

	s = stored_of(t, "file");
	g_assert_cmpint(s.uid, ==, 1234);
	g_assert_cmpint(s.gid, ==, 5678);
	g_assert_cmpint(s.mode, ==, S_IFREG | 0640);
	g_assert_cmpint(s.rdev, ==, -1);
	check_host_mode(t, "file", S_IFREG | 0600);

	s = stored_of(t, "dir");
	g_assert_cmpint(s.mode, ==, S_IFDIR | 0750);
	g_assert_cmpint(s.uid, ==, 1234);
	check_host_mode(t, "dir", S_IFDIR | 0700);

	s = stored_of(t, "dir/link");
	g_assert_cmpint(s.mode, ==, S_IFLNK | 0777);
	check_host_mode(t, "dir/link", S_IFREG | 0600);
	p = pt_path(t, "dir/link");
	text = pt_read_file(p);
	g_assert_cmpstr(text, ==, "../file");
	g_free(text);
	g_free(p);

	s = stored_of(t, "dir/chr");
	g_assert_cmpint(s.mode, ==, S_IFCHR | 0620);
	g_assert_cmpint(s.rdev, ==, (int64_t)makedev(4, 5));
	check_host_mode(t, "dir/chr", S_IFREG | 0600);
	s = stored_of(t, "dir/blk");
	g_assert_cmpint(s.mode, ==, S_IFBLK | 0600);
	g_assert_cmpint(s.rdev, ==, (int64_t)makedev(259, 3));
	s = stored_of(t, "dir/fifo");
	g_assert_cmpint(s.mode, ==, S_IFIFO | 0604);
	check_host_mode(t, "dir/fifo", S_IFREG | 0600);

	/* changes: chmod keeps the type, chown only what is given */
	{
		struct x9p_setattr sa = { .valid = P9_SETATTR_MODE, .mode = 0604 };
		struct x9p_node *n;

		g_assert_cmpint(pt_walk(t, d, "chr", &n, NULL), ==, 0);
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
		sa.valid = P9_SETATTR_UID;
		sa.uid = 77;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, 0);
		s = stored_of(t, "dir/chr");
		g_assert_cmpint(s.mode, ==, S_IFCHR | 0604);
		g_assert_cmpint(s.uid, ==, 77);
		g_assert_cmpint(s.gid, ==, 5678);
		g_assert_cmpint(s.rdev, ==, (int64_t)makedev(4, 5));
		pt_put(t, n);
		/* the export root */
		sa.valid = P9_SETATTR_MODE | P9_SETATTR_GID;
		sa.mode = 0711;
		sa.gid = 99;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, t->root, &sa), ==, 0);
		if (t->model == X9P_SM_MAPPED_FILE) {
			text = meta_file(t, ".", NULL);
			g_assert_cmpstr(text, ==, "virtfs.gid=99\nvirtfs.mode=16841\n");
			g_free(text);
		} else {
			g_assert_cmpint(pt_xattr_le(t->export, "user.virtfs.mode", 4), ==,
					S_IFDIR | 0711);
			g_assert_cmpint(pt_xattr_le(t->export, "user.virtfs.gid", 4), ==, 99);
		}
	}
	if (t->model == X9P_SM_MAPPED_FILE) {
		/* exactly QEMU's text, field order included */
		text = meta_file(t, ".", "file");
		g_assert_cmpstr(text, ==, "virtfs.uid=1234\nvirtfs.gid=5678\nvirtfs.mode=33184\n");
		g_free(text);
		text = meta_file(t, "dir", "blk");
		g_assert_cmpstr(text, ==, "virtfs.uid=1234\nvirtfs.gid=5678\nvirtfs.mode=24960\n"
					  "virtfs.rdev=66307\n");
		g_free(text);
		p = g_build_filename(t->export, "dir", ".virtfs_metadata", NULL);
		{
			struct stat st;

			g_assert_cmpint(lstat(p, &st), ==, 0);
			g_assert_cmphex(st.st_mode, ==, S_IFDIR | 0700);
		}
		g_free(p);
		check_host_mode(t, "dir/.virtfs_metadata/blk", S_IFREG | 0600);
	}
	pt_put(t, d);
}

/* Written on the host as QEMU would have, read through x9p. */
static void plant(struct pt *t, const char *rel, mode_t host_mode, const char *content,
		  int64_t uid, int64_t gid, int64_t mode, int64_t rdev)
{
	char *p = pt_path(t, rel);

	if (S_ISDIR(host_mode))
		g_assert_cmpint(mkdir(p, host_mode & 07777), ==, 0);
	else
		pt_write_file(p, content, host_mode & 07777);
	if (t->model == X9P_SM_MAPPED_XATTR) {
		if (uid >= 0)
			pt_set_xattr_le(p, "user.virtfs.uid", (uint64_t)uid, 4);
		if (gid >= 0)
			pt_set_xattr_le(p, "user.virtfs.gid", (uint64_t)gid, 4);
		if (mode >= 0)
			pt_set_xattr_le(p, "user.virtfs.mode", (uint64_t)mode, 4);
		if (rdev >= 0)
			pt_set_xattr_le(p, "user.virtfs.rdev", (uint64_t)rdev, 8);
	} else {
		char *dir = g_path_get_dirname(p), *base = g_path_get_basename(p);
		char *mdir = g_build_filename(dir, ".virtfs_metadata", NULL);
		char *mfile = g_build_filename(mdir, base, NULL);
		GString *s = g_string_new(NULL);

		if (mkdir(mdir, 0700) < 0)
			g_assert_cmpint(errno, ==, EEXIST);
		if (uid >= 0)
			g_string_append_printf(s, "virtfs.uid=%d\n", (int)uid);
		if (gid >= 0)
			g_string_append_printf(s, "virtfs.gid=%d\n", (int)gid);
		if (mode >= 0)
			g_string_append_printf(s, "virtfs.mode=%d\n", (int)mode);
		if (rdev >= 0)
			g_string_append_printf(s, "virtfs.rdev=%d\n", (int)rdev);
		pt_write_file(mfile, s->str, 0600);
		g_string_free(s, TRUE);
		g_free(dir);
		g_free(base);
		g_free(mdir);
		g_free(mfile);
	}
	g_free(p);
}

static void test_read(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	struct pt_dirlist l;
	unsigned calls;
	char buf[64];
	int fd;

	plant(t, "dir", S_IFDIR | 0700, NULL, 11, 22, S_IFDIR | 0751, -1);
	plant(t, "dir/file", S_IFREG | 0600, "content", 33, 44, S_IFREG | 0444, -1);
	plant(t, "dir/link", S_IFREG | 0600, "file", 55, 66, S_IFLNK | 0777, -1);
	plant(t, "dir/tty", S_IFREG | 0600, "", 0, 5, S_IFCHR | 0620, makedev(136, 2));
	plant(t, "dir/pipe", S_IFREG | 0600, "", 1, 2, S_IFIFO | 0644, -1);
	plant(t, "dir/partial", S_IFREG | 0600, "", 777, -1, -1, -1);
	pt_start(t);

	g_assert_cmpint(pt_lookup(t, "dir", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFDIR | 0751);
	g_assert_cmpuint(a.uid, ==, 11);
	g_assert_cmpuint(a.gid, ==, 22);
	pt_put(t, n);
	g_assert_cmpint(pt_lookup(t, "dir/file", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0444);
	g_assert_cmpuint(a.uid, ==, 33);
	g_assert_cmpuint(a.gid, ==, 44);
	g_assert_cmpuint(a.size, ==, 7);
	g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, 0);
	g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 7);
	close(fd);
	pt_put(t, n);
	g_assert_cmpint(pt_lookup(t, "dir/link", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFLNK | 0777);
	g_assert_cmpint(a.qid.type, ==, P9_QTSYMLINK);
	g_assert_cmpint(PT_OPS(t)->readlink(t->fs, &t->c, n, buf, sizeof(buf)), ==, 4);
	g_assert_cmpmem(buf, 4, "file", 4);
	/* a mapped symlink is never opened as a file */
	g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ELOOP);
	pt_put(t, n);
	g_assert_cmpint(pt_lookup(t, "dir/tty", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFCHR | 0620);
	g_assert_cmpuint(a.rdev, ==, makedev(136, 2));
	g_assert_cmpint(pt_open(t, n, O_RDWR, &fd), ==, -ENXIO);
	pt_put(t, n);
	g_assert_cmpint(pt_lookup(t, "dir/pipe", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFIFO | 0644);
	pt_put(t, n);
	/* what is not stored shows the host's value */
	g_assert_cmpint(pt_lookup(t, "dir/partial", &n, &a), ==, 0);
	g_assert_cmpuint(a.uid, ==, 777);
	g_assert_cmpuint(a.gid, ==, getegid());
	g_assert_cmphex(a.mode, ==, S_IFREG | 0600);
	pt_put(t, n);

	/* directory listings carry the mapped types and attributes */
	g_assert_cmpint(pt_lookup(t, "dir", &n, NULL), ==, 0);
	g_assert_cmpint(pt_readdir_all(t, n, 4096, true, &l, &calls), ==, 0);
	for (guint i = 0; i < l.names->len; i++) {
		const struct x9p_attr *da = l.attrs->pdata[i];
		const char *name = l.names->pdata[i];

		if (!strcmp(name, "link"))
			g_assert_cmphex(da->mode, ==, S_IFLNK | 0777);
		else if (!strcmp(name, "tty"))
			g_assert_cmpuint(da->rdev, ==, makedev(136, 2));
		else if (!strcmp(name, "."))
			g_assert_cmphex(da->mode, ==, S_IFDIR | 0751);
		else if (!strcmp(name, "file"))
			g_assert_cmpuint(da->uid, ==, 33);
	}
	g_assert_cmpuint(l.names->len, ==, 7);   /* . .. and five entries */
	pt_dirlist_free(&l);
	pt_put(t, n);
}

/* mapped-file: renames, links and removals keep metadata with its name. */
static void test_mapped_file_namespace(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *a, *b, *file;
	struct stored s;
	char *p;

	pt_start(t);
	g_assert_cmpint(pt_mkdir(t, t->root, "a", 0755), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "b", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "a", &a, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "b", &b, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, a, "f", O_RDWR, 0604, &file, NULL), ==, 0);

	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, a, "f", b, "g"), ==, 0);
	s = stored_of(t, "b/g");
	g_assert_cmpint(s.mode, ==, S_IFREG | 0604);
	p = pt_path(t, "a/.virtfs_metadata/f");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);

	g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, a, file, "h"), ==, 0);
	s = stored_of(t, "a/h");
	g_assert_cmpint(s.mode, ==, S_IFREG | 0604);
	{
		struct stat s1, s2;
		char *p1 = pt_path(t, "a/.virtfs_metadata/h"), *p2 = pt_path(t, "b/.virtfs_metadata/g");

		/* linked like the file itself, so a chmod shows under both names */
		g_assert_cmpint(stat(p1, &s1), ==, 0);
		g_assert_cmpint(stat(p2, &s2), ==, 0);
		g_assert_cmpuint(s1.st_ino, ==, s2.st_ino);
		g_free(p1);
		g_free(p2);
	}
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, a, "h", 0), ==, 0);
	p = pt_path(t, "a/.virtfs_metadata/h");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	/* a rename over a name without metadata leaves none behind */
	pt_write_file(pt_rel(t, "a/plain"), "", 0644);
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, a, "plain", b, "g"), ==, 0);
	s = stored_of(t, "b/g");
	g_assert_cmpint(s.mode, ==, -1);
	/* a directory whose metadata directory is all that is left can go */
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, b, "g", 0), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "b", AT_REMOVEDIR), ==, 0);
	p = pt_path(t, "b");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	p = pt_path(t, ".virtfs_metadata/b");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	pt_put(t, file);
	pt_put(t, a);
	pt_put(t, b);
}

int main(int argc, char **argv)
{
	static const enum x9p_secmodel mapped[] = { X9P_SM_MAPPED_XATTR, X9P_SM_MAPPED_FILE };

	pt_init();
	g_test_init(&argc, &argv, NULL);
	for (size_t m = 0; m < G_N_ELEMENTS(mapped); m++) {
		gconstpointer d = GINT_TO_POINTER(mapped[m]);
		char *w = g_strdup_printf("/helper/compat/%s/write", x9p_secmodel_name(mapped[m]));
		char *r = g_strdup_printf("/helper/compat/%s/read", x9p_secmodel_name(mapped[m]));

		g_test_add(w, struct fx, d, setup, test_write, teardown);
		g_test_add(r, struct fx, d, setup, test_read, teardown);
		g_free(w);
		g_free(r);
	}
	g_test_add("/helper/compat/mapped-file/namespace", struct fx,
		   GINT_TO_POINTER(X9P_SM_MAPPED_FILE), setup, test_mapped_file_namespace, teardown);
	return g_test_run();
}
