/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Escape attempts against the real x9p-helper, for every security model.
 * Each must fail safely: an error for the guest, and nothing outside the
 * export read, written or created (the tests check the outside tree on the
 * host afterwards).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/socket.h>

#include "proxy-test.h"

#define SECRET "top secret\n"

struct fx {
	struct pt t;
	bool skip;
	char *secret;               /* outside/secret */
	char *odir;                 /* outside/dir */
};

static void setup(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
	f->secret = pt_out(&f->t, "secret");
	f->odir = pt_out(&f->t, "dir");
	pt_write_file(f->secret, SECRET, 0640);
	g_assert_cmpint(mkdir(f->odir, 0755), ==, 0);
	f->skip = pt_skip_unprivileged(&f->t);
	if (!f->skip)
		pt_start(&f->t);
}

static void teardown(struct fx *f, gconstpointer data)
{
	pt_free(&f->t);
	g_free(f->secret);
	g_free(f->odir);
}

#define SKIP_IF_NEEDED(f) do { if ((f)->skip) return; } while (0)

/* The outside tree is exactly as the setup left it. */
static void check_outside_untouched(struct fx *f)
{
	struct stat st;
	char *s = pt_read_file(f->secret);
	GDir *d;

	g_assert_cmpstr(s, ==, SECRET);
	g_free(s);
	g_assert_cmpint(lstat(f->secret, &st), ==, 0);
	g_assert_cmphex(st.st_mode, ==, S_IFREG | 0640);
	g_assert_cmpuint(st.st_uid, ==, geteuid());
	g_assert_cmpuint(st.st_nlink, ==, 1);
	g_assert_cmpint(lgetxattr(f->secret, "user.x9p", NULL, 0), <, 0);
	d = g_dir_open(f->odir, 0, NULL);
	g_assert_nonnull(d);
	g_assert_null(g_dir_read_name(d));
	g_dir_close(d);
	d = g_dir_open(f->t.outside, 0, NULL);
	for (const char *n; (n = g_dir_read_name(d));)
		g_assert_true(!strcmp(n, "secret") || !strcmp(n, "dir") || !strcmp(n, "moved"));
	g_dir_close(d);
}

/* Everything a guest might try through a node that is a planted symlink. */
static void poke_symlink(struct fx *f, const char *name)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { 0 };
	struct x9p_node *n, *m;
	struct x9p_attr a;
	int fd = -1;

	g_assert_cmpint(pt_walk(t, t->root, name, &n, &a), ==, 0);
	/* it is seen as what it is: a symlink, never its target */
	g_assert_cmphex(a.mode & S_IFMT, ==, S_IFLNK);
	g_assert_cmpint(a.qid.type, ==, P9_QTSYMLINK);
	g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ELOOP);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(pt_open(t, n, O_WRONLY | O_TRUNC, &fd), ==, -ELOOP);
	g_assert_cmpint(pt_walk(t, n, "x", &m, NULL), ==, -ENOTDIR);
	g_assert_cmpint(pt_walk(t, n, "..", &m, NULL), ==, -ENOTDIR);
	g_assert_cmpint(pt_create(t, n, "planted", O_RDWR, 0644, NULL, NULL), ==, -ENOTDIR);
	g_assert_cmpint(pt_mkdir(t, n, "planted", 0755), ==, -ENOTDIR);
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, n, "planted", "x", &a), ==, -ENOTDIR);
	sa.valid = P9_SETATTR_SIZE;
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), <, 0);
	if (!pt_mapped(t)) {
		/* a symlink has no mode of its own */
		sa.valid = P9_SETATTR_MODE;
		sa.mode = 0777;
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, -EOPNOTSUPP);
	}
	/* chown and times apply to the link itself, if at all */
	sa.valid = P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	PT_OPS(t)->setattr(t->fs, &t->c, n, &sa);
	sa.valid = P9_SETATTR_UID;
	sa.uid = 4242;
	PT_OPS(t)->setattr(t->fs, &t->c, n, &sa);
	PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.x9p", "1", 1, 0);
	{
		struct pt_dirlist l;
		unsigned calls;

		g_assert_cmpint(pt_readdir_all(t, n, 4096, true, &l, &calls), ==, -ENOTDIR);
		pt_dirlist_free(&l);
	}
	/* a hard link made through it is a link to the symlink, not its target */
	{
		char *hl = g_strdup_printf("hl-%s", name);
		struct stat st;
		char *p = pt_path(t, hl);

		g_assert_cmpint(PT_OPS(t)->link(t->fs, &t->c, t->root, n, hl), ==, 0);
		g_free(hl);

		g_assert_cmpint(lstat(p, &st), ==, 0);
		g_assert_true(S_ISLNK(st.st_mode));
		g_free(p);
	}
	pt_put(t, n);
	check_outside_untouched(f);
}

static void plant(struct fx *f, const char *name, const char *target)
{
	char *p = pt_path(&f->t, name);

	g_assert_cmpint(symlink(target, p), ==, 0);
	g_free(p);
}

static void test_symlink_absolute(struct fx *f, gconstpointer data)
{
	SKIP_IF_NEEDED(f);
	plant(f, "abs", f->secret);
	poke_symlink(f, "abs");
}

static void test_symlink_absolute_dir(struct fx *f, gconstpointer data)
{
	SKIP_IF_NEEDED(f);
	plant(f, "absdir", f->odir);
	poke_symlink(f, "absdir");
}

static void test_symlink_relative(struct fx *f, gconstpointer data)
{
	SKIP_IF_NEEDED(f);
	plant(f, "rel", "../outside/secret");
	poke_symlink(f, "rel");
	plant(f, "reldir", "../outside/dir");
	poke_symlink(f, "reldir");
}

static void test_symlink_proc(struct fx *f, gconstpointer data)
{
	char *via_root, *via_cwd;

	SKIP_IF_NEEDED(f);
	via_root = g_strdup_printf("/proc/self/root%s", f->odir);
	plant(f, "procroot", via_root);
	poke_symlink(f, "procroot");
	via_cwd = g_strdup_printf("/proc/self/fd/%d", 0);
	plant(f, "procfd", via_cwd);
	poke_symlink(f, "procfd");
	g_free(via_root);
	g_free(via_cwd);
}

/* A symlink in the middle of a path: walking stops at it. */
static void test_symlink_in_path(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;

	SKIP_IF_NEEDED(f);
	plant(f, "mid", f->t.outside);
	g_assert_cmpint(pt_lookup(t, "mid/secret", &n, NULL), ==, -ENOTDIR);
	g_assert_null(n);
	check_outside_untouched(f);
}

static void test_dotdot_chain(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *cur, *next, *n;
	struct x9p_attr ra, a;
	int i;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_getattr(t, t->root, &ra), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "a", 0755), ==, 0);
	g_assert_cmpint(pt_lookup(t, "a", &cur, NULL), ==, 0);
	for (i = 0; i < 8; i++) {
		g_assert_cmpint(pt_walk(t, cur, "..", &next, &a), ==, 0);
		pt_put(t, cur);
		cur = next;
		g_assert_cmpuint(a.qid.path, ==, ra.qid.path);
	}
	/* creating through a node that climbed "too far" lands in the export */
	g_assert_cmpint(pt_create(t, cur, "secret", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(pt_readdir_all(t, cur, 4096, false, &(struct pt_dirlist){ 0 },
				       &(unsigned){ 0 }), ==, 0);
	pt_put(t, cur);
	/* names that are paths are refused outright */
	g_assert_cmpint(pt_walk(t, t->root, "../outside", &n, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_walk(t, t->root, "a/..", &n, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_walk(t, t->root, "/", &n, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_walk(t, t->root, ".", &n, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_walk(t, t->root, "", &n, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_create(t, t->root, "..", O_RDWR, 0644, NULL, NULL), ==, -EINVAL);
	g_assert_cmpint(pt_mkdir(t, t->root, "../outside/x", 0755), ==, -EINVAL);
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "a", t->root, "../moved"), ==,
			-EINVAL);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "../outside/secret", 0), ==,
			-EINVAL);
	check_outside_untouched(f);
}

/* A directory the guest holds is moved out of the export on the host. */
static void test_dir_renamed_out(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *d, *deep, *n;
	struct x9p_attr a;
	char *from, *to, *p;
	int fd;

	SKIP_IF_NEEDED(f);
	from = pt_path(t, "d");
	g_assert_cmpint(mkdir(from, 0755), ==, 0);
	p = pt_path(t, "d/sub");
	g_assert_cmpint(mkdir(p, 0755), ==, 0);
	g_free(p);
	p = pt_path(t, "d/inside");
	pt_write_file(p, "x", 0644);
	g_free(p);
	g_assert_cmpint(pt_lookup(t, "d", &d, NULL), ==, 0);
	g_assert_cmpint(pt_lookup(t, "d/sub", &deep, NULL), ==, 0);

	to = pt_out(t, "moved");
	g_assert_cmpint(rename(from, to), ==, 0);

	for (int i = 0; i < 2; i++) {
		struct x9p_node *h = i ? deep : d;

		g_assert_cmpint(pt_walk(t, h, "inside", &n, NULL), ==, -ESTALE);
		g_assert_cmpint(pt_walk(t, h, "..", &n, NULL), ==, -ESTALE);
		g_assert_cmpint(pt_create(t, h, "new", O_RDWR, 0644, NULL, NULL), ==, -ESTALE);
		g_assert_cmpint(pt_mkdir(t, h, "newdir", 0755), ==, -ESTALE);
		g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, h, "fifo", S_IFIFO | 0600, 0, &a),
				==, -ESTALE);
		g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, h, "sl", "x", &a), ==, -ESTALE);
		g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, h, "inside", 0), ==, -ESTALE);
		g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, h, "inside", t->root, "stolen"), ==,
				-ESTALE);
		g_assert_cmpint(pt_open(t, h, O_RDONLY, &fd), ==, -ESTALE);
		{
			struct pt_dirlist l;
			unsigned calls;

			g_assert_cmpint(pt_readdir_all(t, h, 4096, false, &l, &calls), ==, -ESTALE);
			pt_dirlist_free(&l);
		}
	}
	/* nothing was created or removed in the moved tree */
	p = g_build_filename(to, "inside", NULL);
	g_assert_true(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	{
		GDir *dir = g_dir_open(to, 0, NULL);
		unsigned count = 0;

		while (g_dir_read_name(dir))
			count++;
		g_dir_close(dir);
		g_assert_cmpuint(count, ==, 2);
	}
	g_assert_false(g_file_test(pt_rel(t, "stolen"), G_FILE_TEST_EXISTS));
	/* moved back, it works again */
	g_assert_cmpint(rename(to, from), ==, 0);
	g_assert_cmpint(pt_walk(t, d, "inside", &n, NULL), ==, 0);
	pt_put(t, n);
	pt_put(t, d);
	pt_put(t, deep);
	g_free(from);
	g_free(to);
}

struct mover {
	char *in, *out;
	gint stop;
	unsigned moves;
};

static gpointer mover_thread(gpointer p)
{
	struct mover *m = p;

	while (!g_atomic_int_get(&m->stop)) {
		if (rename(m->in, m->out) == 0) {
			g_usleep(200);
			g_assert_cmpint(rename(m->out, m->in), ==, 0);
			m->moves++;
		}
		g_usleep(300);
	}
	return NULL;
}

/*
 * Known and documented (docs/helper.md, "Still inside the export"): a host
 * process that moves a held directory out of the export and back while the
 * guest creates in it can make an entry land in that directory while it is
 * outside, between the helper's check and the system call.  A guest alone
 * cannot move it; and what lands goes into that directory, nowhere else:
 * every create either failed with ESTALE or made exactly its own file in
 * the directory, and nothing else outside changed.
 */
static void test_dir_moved_race(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct mover m = { 0 };
	struct x9p_node *d;
	unsigned made = 0, stale = 0, n = 0;
	GThread *th;
	gint64 end;
	GDir *dir;

	SKIP_IF_NEEDED(f);
	m.in = pt_path(t, "d");
	m.out = pt_out(t, "moved");
	g_assert_cmpint(mkdir(m.in, 0755), ==, 0);
	g_assert_cmpint(pt_lookup(t, "d", &d, NULL), ==, 0);
	th = g_thread_new("mover", mover_thread, &m);
	end = g_get_monotonic_time() + G_USEC_PER_SEC;
	for (; g_get_monotonic_time() < end; n++) {
		char name[32];
		int e;

		g_snprintf(name, sizeof(name), "f-%u", n);
		e = pt_create(t, d, name, O_RDWR, 0644, NULL, NULL);
		if (e == 0)
			made++;
		else if (e == -ESTALE)
			stale++;
		else
			g_error("create %s: %s", name, g_strerror(-e));
	}
	g_atomic_int_set(&m.stop, 1);
	g_thread_join(th);
	g_test_message("%u creates: %u made, %u ESTALE; %u moves out and back", n, made, stale,
		       m.moves);
	/* back inside: exactly the files that were made, all in the directory */
	dir = g_dir_open(m.in, 0, NULL);
	g_assert_nonnull(dir);
	{
		unsigned count = 0;

		for (const char *e; (e = g_dir_read_name(dir));) {
			g_assert_true(g_str_has_prefix(e, "f-") || g_str_has_prefix(e, ".virtfs"));
			count += g_str_has_prefix(e, "f-");
		}
		g_assert_cmpuint(count, ==, made);
	}
	g_dir_close(dir);
	g_assert_false(g_file_test(m.out, G_FILE_TEST_EXISTS));
	check_outside_untouched(f);
	pt_put(t, d);
	g_free(m.in);
	g_free(m.out);
}

/* A hard link the host made to a file outside, and links the guest makes. */
static void test_hardlinks(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	char *p = pt_path(t, "hl");

	SKIP_IF_NEEDED(f);
	/* The host's own decision: the inode is shared, but no path leads out. */
	g_assert_cmpint(link(f->secret, p), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "hl", &n, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, n, "..", &(struct x9p_node *){ NULL }, NULL), ==, -ENOTDIR);
	/* unlinking or renaming it only ever affects names in the export */
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "hl", t->root, "hl2"), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "hl2", 0), ==, 0);
	pt_put(t, n);
	g_free(p);
	check_outside_untouched(f);
}

static void test_devices_guest(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *n;
	struct x9p_attr a;
	int fd = -1, e;

	SKIP_IF_NEEDED(f);
	/* a FIFO must neither block nor be handed out */
	g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, t->root, "fifo", S_IFIFO | 0666, 0, &a), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "fifo", &n, NULL), ==, 0);
	g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ENXIO);
	g_assert_cmpint(pt_open(t, n, O_WRONLY, &fd), ==, -ENXIO);
	g_assert_cmpint(fd, ==, -1);
	pt_put(t, n);
	/* /dev/null's numbers, and a disk's */
	e = PT_OPS(t)->mknod(t->fs, &t->c, t->root, "null", S_IFCHR | 0666, makedev(1, 3), &a);
	if (e == 0) {
		g_assert_cmpint(pt_walk(t, t->root, "null", &n, NULL), ==, 0);
		g_assert_cmpint(pt_open(t, n, O_RDWR, &fd), ==, -ENXIO);
		pt_put(t, n);
	} else {
		g_assert_cmpint(e, ==, -EPERM);
	}
	e = PT_OPS(t)->mknod(t->fs, &t->c, t->root, "disk", S_IFBLK | 0600, makedev(8, 0), &a);
	if (e == 0) {
		g_assert_cmpint(pt_walk(t, t->root, "disk", &n, NULL), ==, 0);
		g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ENXIO);
		pt_put(t, n);
	} else {
		g_assert_cmpint(e, ==, -EPERM);
	}
	g_assert_cmpint(fd, ==, -1);
}

static void test_devices_host(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { .valid = P9_SETATTR_SIZE };
	const char *names[] = { "hfifo", "hnull", "hsock" };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pt_dirlist l;
	unsigned calls;
	char *p;
	int s;

	SKIP_IF_NEEDED(f);
	p = pt_path(t, "hfifo");
	g_assert_cmpint(mkfifo(p, 0666), ==, 0);
	g_free(p);
	p = pt_path(t, "hnull");
	if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) < 0)
		names[1] = "hfifo";
	g_free(p);
	p = pt_path(t, "hsock");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	g_strlcpy(sun.sun_path, p, sizeof(sun.sun_path));
	g_assert_cmpint(bind(s, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	g_free(p);
	/* listing with attributes opens none of them */
	g_assert_cmpint(pt_readdir_all(t, t->root, 4096, true, &l, &calls), ==, 0);
	g_assert_true(pt_dirlist_has(&l, "hfifo"));
	pt_dirlist_free(&l);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		struct x9p_node *n;
		struct x9p_attr a;
		int fd = -1;

		g_assert_cmpint(pt_walk(t, t->root, names[i], &n, &a), ==, 0);
		g_assert_false(S_ISREG(a.mode) || S_ISDIR(a.mode));
		g_assert_cmpint(pt_open(t, n, O_RDONLY, &fd), ==, -ENXIO);
		g_assert_cmpint(pt_open(t, n, O_RDWR | O_TRUNC, &fd), ==, -ENXIO);
		g_assert_cmpint(fd, ==, -1);
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), ==, -EINVAL);
		g_assert_cmpint(PT_OPS(t)->fsync(t->fs, &t->c, n, false), ==, -ENXIO);
		pt_put(t, n);
	}
	close(s);
}

static void test_overlong(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	char name[300], *target, *value;
	struct x9p_node *n;
	struct x9p_attr a;

	SKIP_IF_NEEDED(f);
	memset(name, 'a', 256);
	name[256] = 0;
	g_assert_cmpint(pt_walk(t, t->root, name, &n, NULL), ==, -ENAMETOOLONG);
	g_assert_cmpint(pt_create(t, t->root, name, O_RDWR, 0644, NULL, NULL), ==, -ENAMETOOLONG);
	g_assert_cmpint(pt_mkdir(t, t->root, name, 0755), ==, -ENAMETOOLONG);
	name[255] = 0;
	g_assert_cmpint(pt_create(t, t->root, name, O_RDWR, 0644, &n, NULL), ==, 0);
	target = g_malloc(5000);
	memset(target, 'x', 4999);
	target[4999] = 0;
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "sl", target, &a), ==,
			-ENAMETOOLONG);
	target[4096] = 0;
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "sl", target, &a), ==,
			-ENAMETOOLONG);
	target[4095] = 0;       /* the longest target there is */
	g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, t->root, "sl", target, &a), ==, 0);
	{
		char xname[300] = "user.";

		memset(xname + 5, 'x', 260);
		xname[265] = 0;
		g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, xname, "v", 1, 0), ==, -ERANGE);
		g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, xname, NULL, 0), ==, -ERANGE);
	}
	value = g_malloc0(70000);
	g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, "user.big", value, 65537, 0), ==,
			-E2BIG);
	g_free(value);
	g_free(target);
	pt_put(t, n);
}

/* mapped-xattr: user.virtfs.* belongs to the model, never to the guest. */
static void test_virtfs_xattrs(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	static const char *names[] = {
		"user.virtfs.uid", "user.virtfs.gid", "user.virtfs.mode", "user.virtfs.rdev",
		"user.virtfs.anything", "user.virtfs.system.posix_acl_access",
	};
	struct x9p_node *n;
	struct x9p_attr a;
	char buf[512];
	ssize_t len;
	char *p;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "f", O_RDWR, 0644, &n, NULL), ==, 0);
	p = pt_path(t, "f");
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_assert_cmpint(PT_OPS(t)->setxattr(t->fs, &t->c, n, names[i], "\0\0\0\0", 4, 0), ==,
				-EACCES);
		g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, names[i], buf, sizeof(buf)), ==,
				-ENODATA);
		g_assert_cmpint(PT_OPS(t)->getxattr(t->fs, &t->c, n, names[i], NULL, 0), ==,
				-ENODATA);
		g_assert_cmpint(PT_OPS(t)->removexattr(t->fs, &t->c, n, names[i]), ==, -EACCES);
	}
	len = PT_OPS(t)->listxattr(t->fs, &t->c, n, buf, sizeof(buf));
	g_assert_cmpint(len, >=, 0);
	g_assert_null(memmem(buf, (size_t)len, "virtfs", 6));
	/* the model's values are intact: still the creator's */
	g_assert_cmpint(pt_xattr_le(p, "user.virtfs.uid", 4), ==, 1000);
	g_assert_cmpint(pt_getattr(t, n, &a), ==, 0);
	g_assert_cmpuint(a.uid, ==, 1000);
	g_free(p);
	pt_put(t, n);
}

/* mapped-file: the metadata names are invisible and unusable. */
static void test_metadata_names(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	static const char *names[] = { ".virtfs_metadata", ".virtfs_metadata_root" };
	struct x9p_node *n, *d;
	struct x9p_attr a;
	struct pt_dirlist l;
	unsigned calls;

	SKIP_IF_NEEDED(f);
	g_assert_cmpint(pt_create(t, t->root, "f", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "d", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "d", &d, NULL), ==, 0);
	{
		struct x9p_setattr sa = { .valid = P9_SETATTR_MODE, .mode = 0700 };

		/* writes .virtfs_metadata_root */
		g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, t->root, &sa), ==, 0);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_assert_cmpint(pt_walk(t, t->root, names[i], &n, NULL), ==, -ENOENT);
		g_assert_cmpint(pt_create(t, d, names[i], O_RDWR, 0644, NULL, NULL), ==, -EINVAL);
		g_assert_cmpint(pt_mkdir(t, d, names[i], 0755), ==, -EINVAL);
		g_assert_cmpint(PT_OPS(t)->symlink(t->fs, &t->c, d, names[i], "x", &a), ==, -EINVAL);
		g_assert_cmpint(PT_OPS(t)->mknod(t->fs, &t->c, d, names[i], S_IFIFO | 0600, 0, &a),
				==, -EINVAL);
		g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, "f", t->root, names[i]),
				==, -EINVAL);
		g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, t->root, names[i], d, "x"), ==,
				-EINVAL);
		g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, names[i], AT_REMOVEDIR), ==,
				-EINVAL);
		g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, names[i], 0), ==, -EINVAL);
	}
	g_assert_cmpint(pt_readdir_all(t, t->root, 4096, true, &l, &calls), ==, 0);
	g_assert_false(pt_dirlist_has(&l, ".virtfs_metadata"));
	g_assert_false(pt_dirlist_has(&l, ".virtfs_metadata_root"));
	g_assert_true(pt_dirlist_has(&l, "f"));
	pt_dirlist_free(&l);
	pt_put(t, d);
}

/* mapped-file: planted metadata that is a FIFO, a symlink, or garbage. */
static void test_metadata_planted(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { .valid = P9_SETATTR_MODE, .mode = 0700 };
	struct x9p_node *n;
	struct x9p_attr a;
	struct stat st;
	char *p;

	SKIP_IF_NEEDED(f);
	p = pt_path(t, ".virtfs_metadata");
	g_assert_cmpint(mkdir(p, 0700), ==, 0);
	g_free(p);
	pt_write_file(pt_rel(t, "fifo-meta"), "", 0644);
	pt_write_file(pt_rel(t, "link-meta"), "", 0644);
	pt_write_file(pt_rel(t, "junk-meta"), "", 0644);
	p = pt_path(t, ".virtfs_metadata/fifo-meta");
	g_assert_cmpint(mkfifo(p, 0600), ==, 0);
	g_free(p);
	p = pt_path(t, ".virtfs_metadata/link-meta");
	g_assert_cmpint(symlink(f->secret, p), ==, 0);
	g_free(p);
	pt_write_file(pt_rel(t, ".virtfs_metadata/junk-meta"),
		      "virtfs.uid=-7x\nvirtfs.mode=99999999999999\nvirtfs.gid=\ngarbage\n", 0600);

	g_assert_cmpint(lstat(pt_rel(t, "fifo-meta"), &st), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "fifo-meta", &n, &a), ==, 0);
	g_assert_cmpuint(a.uid, ==, st.st_uid);   /* host values: the FIFO is ignored */
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), <, 0);
	pt_put(t, n);

	g_assert_cmpint(pt_walk(t, t->root, "link-meta", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0644);
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), <, 0);
	pt_put(t, n);

	g_assert_cmpint(pt_walk(t, t->root, "junk-meta", &n, &a), ==, 0);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0644);
	g_assert_cmpuint(a.uid, ==, st.st_uid);
	pt_put(t, n);
	check_outside_untouched(f);
}

/* A hostile metadata directory: a symlink pointing outside. */
static void test_metadata_dir_symlink(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_setattr sa = { .valid = P9_SETATTR_MODE, .mode = 0700 };
	struct x9p_node *n;

	SKIP_IF_NEEDED(f);
	plant(f, ".virtfs_metadata", f->odir);
	pt_write_file(pt_rel(t, "victim"), "", 0644);
	g_assert_cmpint(pt_walk(t, t->root, "victim", &n, NULL), ==, 0);
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, n, &sa), <, 0);
	g_assert_cmpint(pt_create(t, t->root, "new", O_RDWR, 0644, NULL, NULL), <, 0);
	pt_put(t, n);
	check_outside_untouched(f);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct fx *, gconstpointer);
		int only;               /* -1: every model */
	} tests[] = {
		{ "symlink_absolute", test_symlink_absolute, -1 },
		{ "symlink_absolute_dir", test_symlink_absolute_dir, -1 },
		{ "symlink_relative", test_symlink_relative, -1 },
		{ "symlink_proc", test_symlink_proc, -1 },
		{ "symlink_in_path", test_symlink_in_path, -1 },
		{ "dotdot_chain", test_dotdot_chain, -1 },
		{ "dir_renamed_out", test_dir_renamed_out, -1 },
		{ "dir_moved_race", test_dir_moved_race, -1 },
		{ "hardlinks", test_hardlinks, -1 },
		{ "devices_guest", test_devices_guest, -1 },
		{ "devices_host", test_devices_host, -1 },
		{ "overlong", test_overlong, -1 },
		{ "virtfs_xattrs", test_virtfs_xattrs, X9P_SM_MAPPED_XATTR },
		{ "metadata_names", test_metadata_names, X9P_SM_MAPPED_FILE },
		{ "metadata_planted", test_metadata_planted, X9P_SM_MAPPED_FILE },
		{ "metadata_dir_symlink", test_metadata_dir_symlink, X9P_SM_MAPPED_FILE },
	};

	pt_init();
	g_test_init(&argc, &argv, NULL);
	for (size_t m = 0; m < G_N_ELEMENTS(pt_models); m++) {
		for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
			char *path;

			if (tests[i].only >= 0 && tests[i].only != (int)pt_models[m])
				continue;
			path = g_strdup_printf("/helper/escape/%s/%s", x9p_secmodel_name(pt_models[m]),
					       tests[i].name);
			g_test_add(path, struct fx, GINT_TO_POINTER(pt_models[m]), setup, tests[i].fn,
				   teardown);
			g_free(path);
		}
	}
	return g_test_run();
}
