/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Supervision of x9p-helper by the proxy driver: the helper is killed
 * while requests are in flight.  Those are sent again to the restarted
 * helper and succeed; one that changes a name and had taken effect before
 * the helper went is answered as done, never executed twice, and one that
 * had not is executed.  The nodes the caller holds stay valid (walked
 * again from their remembered names) unless what they named is gone, and
 * descriptors already handed out keep working.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "procinfo.h"
#include "fs/helper-launch.h"
#include "fs/helper-spawn.h"
#include "proxy-test.h"

struct fx {
	struct pt t;
};

static void setup(struct fx *f, gconstpointer data)
{
	pt_tree(&f->t, (enum x9p_secmodel)GPOINTER_TO_INT(data));
	if (pt_skip_unprivileged(&f->t))
		return;
	pt_start(&f->t);
}

static void teardown(struct fx *f, gconstpointer data)
{
	pt_free(&f->t);
}

/*
 * The process doing the work: in a pid namespace the helper runs as the
 * child of a small supervisor, which is the process the driver started.
 */
static pid_t worker_of(pid_t pid)
{
	pid_t child = x9p_proc_child(pid);

	return child > 0 ? child : pid;
}

/*
 * Stops a process and waits until every thread of it has stopped: kill()
 * returns before they do, and a request that reaches a thread still
 * running would be answered.
 */
static void stop_process(pid_t pid)
{
	char *dir = g_strdup_printf("/proc/%d/task", (int)pid);

	g_assert_cmpint(kill(pid, SIGSTOP), ==, 0);
	for (int tries = 0;; tries++) {
		GDir *d = g_dir_open(dir, 0, NULL);
		const char *tid;
		bool all = d != NULL;

		while (d && (tid = g_dir_read_name(d))) {
			char *path = g_strdup_printf("%s/%s/stat", dir, tid), *st = NULL, *p;

			/* "pid (comm) S ...": the state follows the last ')' */
			if (g_file_get_contents(path, &st, NULL, NULL) && (p = strrchr(st, ')')) &&
			    p[1] == ' ' && p[2] != 'T' && p[2] != 't')
				all = false;
			g_free(st);
			g_free(path);
		}
		if (d)
			g_dir_close(d);
		if (all)
			break;
		g_assert_cmpint(tries, <, 10000);
		g_usleep(1000);
	}
	g_free(dir);
}

/*
 * Kills the helper (both processes: killing only the supervisor lets the
 * worker finish a few requests first) and waits until the driver noticed.
 */
static void signal_helper(struct pt *t, int sig)
{
	unsigned before = x9p_proxy_restarts(t->fs);
	pid_t pid = x9p_proxy_helper_pid(t->fs), worker;

	g_assert_cmpint(pid, >, 0);
	worker = worker_of(pid);
	if (worker != pid)
		kill(worker, sig);
	g_assert_cmpint(kill(pid, sig), ==, 0);
	while (x9p_proxy_restarts(t->fs) == before)
		g_usleep(1000);
	while (x9p_proxy_helper_pid(t->fs) <= 0)
		g_usleep(1000);
}

static void kill_helper(struct pt *t)
{
	signal_helper(t, SIGKILL);
}

struct call {
	struct pt *t;
	struct x9p_node *n;
	int result;
};

static gpointer getattr_thread(gpointer data)
{
	struct call *c = data;
	struct x9p_attr a;

	c->result = pt_getattr(c->t, c->n, &a);
	return NULL;
}

static void test_inflight_rerun(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *d, *e, *file, *up;
	struct x9p_attr ae, af, a;
	struct call c;
	GThread *th;
	pid_t pid, worker;
	char buf[8];
	int fd;

	if (!t->fs)
		return;
	g_assert_cmpint(pt_mkdir(t, t->root, "d", 0755), ==, 0);
	g_assert_cmpint(pt_lookup(t, "d", &d, NULL), ==, 0);
	g_assert_cmpint(pt_mkdir(t, d, "e", 0700), ==, 0);
	g_assert_cmpint(pt_walk(t, d, "e", &e, &ae), ==, 0);
	g_assert_cmpint(pt_create(t, e, "file", O_RDWR, 0640, &file, &fd), ==, 0);
	g_assert_cmpint(pt_getattr(t, file, &af), ==, 0);

	/* Freeze the helper so that a request is certainly in flight. */
	pid = x9p_proxy_helper_pid(t->fs);
	worker = worker_of(pid);
	stop_process(worker);
	c = (struct call){ t, file, 1 };
	th = g_thread_new("getattr", getattr_thread, &c);
	while (x9p_proxy_inflight(t->fs) < 1)
		g_usleep(1000);
	g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
	if (worker != pid)
		kill(worker, SIGKILL);
	g_thread_join(th);
	/* sent again to the next helper */
	g_assert_cmpint(c.result, ==, 0);

	/* afterwards: success, on a new helper, with the same nodes */
	g_assert_cmpint(pt_getattr(t, file, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, af.qid.path);
	g_assert_cmphex(a.mode, ==, S_IFREG | 0640);
	g_assert_cmpint(x9p_proxy_helper_pid(t->fs), !=, pid);
	g_assert_cmpuint(x9p_proxy_restarts(t->fs), >=, 1);
	g_assert_cmpint(pt_getattr(t, e, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, ae.qid.path);
	g_assert_cmpint(pt_walk(t, e, "..", &up, &a), ==, 0);
	g_assert_cmpint(pt_create(t, e, "after", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_true(g_file_test(pt_rel(t, "d/e/after"), G_FILE_TEST_EXISTS));
	/* the descriptor from before the crash never depended on the helper */
	g_assert_cmpint(pwrite(fd, "still", 5, 0), ==, 5);
	g_assert_cmpint(pread(fd, buf, 5, 0), ==, 5);
	close(fd);
	pt_put(t, up);
	pt_put(t, file);
	pt_put(t, e);
	pt_put(t, d);
}

/* ---- requests that change names, lost with the helper ---- */

enum rop { R_MKDIR, R_CREATE, R_SYMLINK, R_LINK, R_RENAME, R_UNLINK, R_RMDIR };

struct rcall {
	struct pt *t;
	enum rop op;
	struct x9p_node *dir, *node;   /* node: LINK's target */
	const char *name, *name2;
	int result, fd;
	struct x9p_node *made;
	struct x9p_attr attr;
};

static gpointer rcall_thread(gpointer data)
{
	struct rcall *r = data;
	struct pt *t = r->t;
	const struct x9p_fs_ops *ops = PT_OPS(t);

	switch (r->op) {
	case R_MKDIR:
		r->result = ops->mkdir(t->fs, &t->c, r->dir, r->name, 0750, &r->attr);
		break;
	case R_CREATE:
		r->result = ops->create(t->fs, &t->c, r->dir, r->name, O_RDWR | O_CREAT | O_EXCL,
					0640, &r->made, &r->attr, &r->fd);
		break;
	case R_SYMLINK:
		r->result = ops->symlink(t->fs, &t->c, r->dir, r->name, "target", &r->attr);
		break;
	case R_LINK:
		r->result = ops->link(t->fs, &t->c, r->dir, r->node, r->name);
		break;
	case R_RENAME:
		r->result = ops->rename(t->fs, &t->c, r->dir, r->name, r->dir, r->name2);
		break;
	case R_UNLINK:
		r->result = ops->unlink(t->fs, &t->c, r->dir, r->name, 0);
		break;
	case R_RMDIR:
		r->result = ops->unlink(t->fs, &t->c, r->dir, r->name, AT_REMOVEDIR);
		break;
	}
	return NULL;
}

/* What the helper would have done, done behind the driver's back. */
static void host_effect(struct pt *t, const struct rcall *r)
{
	const char *p = pt_rel(t, r->name), *p2 = r->name2 ? pt_rel(t, r->name2) : NULL;
	int fd;

	switch (r->op) {
	case R_MKDIR:
		g_assert_cmpint(mkdir(p, 0700), ==, 0);
		break;
	case R_CREATE:
		fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
		g_assert_cmpint(fd, >=, 0);
		close(fd);
		break;
	case R_SYMLINK:
		g_assert_cmpint(symlink("target", p), ==, 0);
		break;
	case R_LINK:
		g_assert_cmpint(link(pt_rel(t, "linked"), p), ==, 0);
		break;
	case R_RENAME:
		g_assert_cmpint(rename(p, p2), ==, 0);
		break;
	case R_UNLINK:
		g_assert_cmpint(unlink(p), ==, 0);
		break;
	case R_RMDIR:
		g_assert_cmpint(rmdir(p), ==, 0);
		break;
	}
}

/*
 * Runs r with the helper frozen, so that it is certainly in flight; then
 * does its effect on the host (as if the helper had done it and died before
 * answering) when done is set, kills the helper and returns r's result.
 */
static int lost_call(struct pt *t, struct rcall *r, bool done)
{
	unsigned before = x9p_proxy_restarts(t->fs);
	pid_t pid = x9p_proxy_helper_pid(t->fs), worker = worker_of(pid);
	GThread *th;

	r->t = t;
	r->fd = -1;
	stop_process(worker);
	th = g_thread_new("lost", rcall_thread, r);
	while (x9p_proxy_inflight(t->fs) < 1)
		g_usleep(1000);
	if (done)
		host_effect(t, r);
	g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
	if (worker != pid)
		kill(worker, SIGKILL);
	g_thread_join(th);
	g_assert_cmpuint(x9p_proxy_restarts(t->fs), >, before);
	return r->result;
}

static void prepare(struct pt *t, struct x9p_node **link_target)
{
	struct x9p_node *n;

	g_assert_cmpint(pt_create(t, t->root, "linked", O_RDWR, 0644, link_target, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "from", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "victim", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "vdir", 0755), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "old", 0755), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "taken", O_RDWR, 0644, &n, NULL), ==, 0);
	pt_put(t, n);
	/* "old" and "taken" must predate the requests below by a clock tick */
	g_usleep(50000);
}

/* Each took effect before its helper went: all answered as done. */
static void test_rerun_done(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *target;
	struct x9p_attr a;
	struct stat st;
	struct rcall r;

	if (!t->fs)
		return;
	prepare(t, &target);

	r = (struct rcall){ .op = R_MKDIR, .dir = t->root, .name = "m" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	/* mode and owner set again, as the helper would have */
	g_assert_cmphex(r.attr.mode, ==, S_IFDIR | 0750);
	g_assert_cmpuint(r.attr.uid, ==, 1000);

	r = (struct rcall){ .op = R_CREATE, .dir = t->root, .name = "c" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	g_assert_cmphex(r.attr.mode, ==, S_IFREG | 0640);
	g_assert_nonnull(r.made);
	g_assert_cmpint(r.fd, >=, 0);
	g_assert_cmpint(pwrite(r.fd, "x", 1, 0), ==, 1);
	close(r.fd);
	g_assert_cmpint(pt_getattr(t, r.made, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, 1);
	pt_put(t, r.made);

	r = (struct rcall){ .op = R_SYMLINK, .dir = t->root, .name = "s" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	g_assert_true(S_ISLNK(r.attr.mode));

	r = (struct rcall){ .op = R_LINK, .dir = t->root, .node = target, .name = "l" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	g_assert_cmpint(stat(pt_rel(t, "linked"), &st), ==, 0);
	g_assert_cmpuint(st.st_nlink, ==, 2);

	r = (struct rcall){ .op = R_RENAME, .dir = t->root, .name = "from", .name2 = "to" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	g_assert_true(g_file_test(pt_rel(t, "to"), G_FILE_TEST_EXISTS));

	r = (struct rcall){ .op = R_UNLINK, .dir = t->root, .name = "victim" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	r = (struct rcall){ .op = R_RMDIR, .dir = t->root, .name = "vdir" };
	g_assert_cmpint(lost_call(t, &r, true), ==, 0);
	pt_put(t, target);
}

/* None took effect before its helper went: each is executed, once. */
static void test_rerun_not_done(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *target;
	struct stat st;
	struct rcall r;

	if (!t->fs)
		return;
	prepare(t, &target);
	r = (struct rcall){ .op = R_MKDIR, .dir = t->root, .name = "m" };
	g_assert_cmpint(lost_call(t, &r, false), ==, 0);
	g_assert_cmpint(stat(pt_rel(t, "m"), &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	r = (struct rcall){ .op = R_CREATE, .dir = t->root, .name = "c" };
	g_assert_cmpint(lost_call(t, &r, false), ==, 0);
	g_assert_cmpint(r.fd, >=, 0);
	close(r.fd);
	pt_put(t, r.made);
	r = (struct rcall){ .op = R_LINK, .dir = t->root, .node = target, .name = "l" };
	g_assert_cmpint(lost_call(t, &r, false), ==, 0);
	r = (struct rcall){ .op = R_RENAME, .dir = t->root, .name = "from", .name2 = "to" };
	g_assert_cmpint(lost_call(t, &r, false), ==, 0);
	g_assert_false(g_file_test(pt_rel(t, "from"), G_FILE_TEST_EXISTS));
	r = (struct rcall){ .op = R_UNLINK, .dir = t->root, .name = "victim" };
	g_assert_cmpint(lost_call(t, &r, false), ==, 0);
	g_assert_false(g_file_test(pt_rel(t, "victim"), G_FILE_TEST_EXISTS));
	g_assert_cmpint(stat(pt_rel(t, "linked"), &st), ==, 0);
	g_assert_cmpuint(st.st_nlink, ==, 2);
	pt_put(t, target);
}

/*
 * What was there before the request is not taken for its effect: the
 * answer is the refusal the request would have got anyway.
 */
static void test_rerun_refused(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *target;
	struct rcall r;

	if (!t->fs)
		return;
	prepare(t, &target);
	r = (struct rcall){ .op = R_MKDIR, .dir = t->root, .name = "old" };
	g_assert_cmpint(lost_call(t, &r, false), ==, -EEXIST);
	r = (struct rcall){ .op = R_CREATE, .dir = t->root, .name = "taken" };
	g_assert_cmpint(lost_call(t, &r, false), ==, -EEXIST);
	g_assert_null(r.made);
	g_assert_cmpint(r.fd, ==, -1);
	/* another inode under the name */
	r = (struct rcall){ .op = R_LINK, .dir = t->root, .node = target, .name = "taken" };
	g_assert_cmpint(lost_call(t, &r, false), ==, -EEXIST);
	/* no source; the target predates the request */
	r = (struct rcall){ .op = R_RENAME, .dir = t->root, .name = "nosuch", .name2 = "old" };
	g_assert_cmpint(lost_call(t, &r, false), ==, -ENOENT);
	pt_put(t, target);
}

/* A flushed request: the helper skips it if it has not started (EINTR). */
struct cancelled_call {
	struct pt *t;
	volatile int flag;
	int result;
};

static gpointer cancelled_thread(gpointer data)
{
	struct cancelled_call *cc = data;
	struct x9p_ctx c = { cc->t->c.uid, cc->t->c.gid, &cc->flag, NULL, NULL, NULL };
	struct x9p_attr a;

	cc->result = PT_OPS(cc->t)->getattr(cc->t->fs, &c, cc->t->root, &a);
	return NULL;
}

static void test_cancel(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct cancelled_call cc = { .t = t, .flag = 1, .result = 1 };
	unsigned restarts;
	struct x9p_attr a;
	GThread *th;
	pid_t worker;

	if (!t->fs)
		return;
	restarts = x9p_proxy_restarts(t->fs);
	worker = worker_of(x9p_proxy_helper_pid(t->fs));
	stop_process(worker);
	th = g_thread_new("cancelled", cancelled_thread, &cc);
	while (x9p_proxy_inflight(t->fs) < 1)
		g_usleep(1000);
	g_assert_cmpint(kill(worker, SIGCONT), ==, 0);
	g_thread_join(th);
	/* skipped, or done before the cancel arrived; the reply is awaited either way */
	g_assert_true(cc.result == 0 || cc.result == -EINTR);
	g_assert_cmpint(pt_getattr(t, t->root, &a), ==, 0);
	g_assert_cmpuint(x9p_proxy_restarts(t->fs), ==, restarts);
}

/* ---- a stream of operations from several threads across a crash ---- */

struct stream {
	struct pt *t;
	struct x9p_node *dir, *file;
	volatile gint stop;
	gint ops, ok, eio, other, ok_after_kill;
	volatile gint killed;
	int id;
};

static void count(struct stream *s, int e)
{
	g_atomic_int_inc(&s->ops);
	if (e >= 0) {
		g_atomic_int_inc(&s->ok);
		if (g_atomic_int_get(&s->killed))
			g_atomic_int_inc(&s->ok_after_kill);
	} else if (e == -EIO) {
		g_atomic_int_inc(&s->eio);
	} else {
		g_atomic_int_inc(&s->other);
		g_printerr("unexpected error %d in the stream\n", e);
	}
}

static gpointer stream_thread(gpointer data)
{
	struct stream *s = data;
	struct pt *t = s->t;
	unsigned i = 0;

	while (!g_atomic_int_get(&s->stop)) {
		struct x9p_node *n = NULL;
		struct x9p_attr a;
		char name[64];
		int fd = -1, e;

		switch (i++ % 5) {
		case 0:
			e = pt_getattr(t, s->file, &a);
			break;
		case 1:
			e = pt_walk(t, s->dir, "file", &n, &a);
			pt_put(t, n);
			break;
		case 2: {
			struct pt_dirlist l;
			unsigned calls;

			e = pt_readdir_all(t, s->dir, 4096, (i & 1) != 0, &l, &calls);
			pt_dirlist_free(&l);
			break;
		}
		case 3:
			e = pt_open(t, s->file, O_RDONLY, &fd);
			if (fd >= 0)
				close(fd);
			break;
		default:
			/* unique names: a create whose reply was lost cannot collide */
			g_snprintf(name, sizeof(name), "t%d-%u", s->id, i);
			e = pt_create(t, s->dir, name, O_RDWR, 0600, NULL, NULL);
			break;
		}
		count(s, e);
	}
	return NULL;
}

static void test_stream(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct stream s[4];
	GThread *th[4];
	struct x9p_node *dir, *file;
	struct x9p_attr a0, a;
	int total, after, i;

	if (!t->fs)
		return;
	g_assert_cmpint(pt_mkdir(t, t->root, "dir", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "dir", &dir, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, dir, "file", O_RDWR, 0644, &file, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, file, &a0), ==, 0);
	for (i = 0; i < 4; i++) {
		s[i] = (struct stream){ .t = t, .dir = dir, .file = file, .id = i };
		th[i] = g_thread_new("stream", stream_thread, &s[i]);
	}
	do {
		g_usleep(1000);
		for (total = 0, i = 0; i < 4; i++)
			total += g_atomic_int_get(&s[i].ok);
	} while (total < 200);
	for (i = 0; i < 4; i++)
		g_atomic_int_set(&s[i].killed, 1);
	kill_helper(t);
	/* until every thread has done real work on the new helper */
	do {
		g_usleep(1000);
		for (after = INT_MAX, i = 0; i < 4; i++)
			after = MIN(after, g_atomic_int_get(&s[i].ok_after_kill));
	} while (after < 50);
	for (i = 0; i < 4; i++) {
		g_atomic_int_set(&s[i].stop, 1);
		g_thread_join(th[i]);
		g_assert_cmpint(s[i].other, ==, 0);
		/* what the dead helper had in hand went to the next one */
		g_assert_cmpint(s[i].eio, ==, 0);
	}
	g_assert_cmpuint(x9p_proxy_restarts(t->fs), >=, 1);
	g_assert_cmpint(pt_getattr(t, file, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, a0.qid.path);
	pt_put(t, file);
	pt_put(t, dir);
}

/* Names changed through the driver before the crash are followed. */
static void test_renamed_nodes(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *a, *b, *file, *sub, *deep;
	struct x9p_attr af, ad, x;

	if (!t->fs)
		return;
	g_assert_cmpint(pt_mkdir(t, t->root, "a", 0755), ==, 0);
	g_assert_cmpint(pt_mkdir(t, t->root, "b", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "a", &a, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "b", &b, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, a, "f", O_RDWR, 0644, &file, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, file, &af), ==, 0);
	g_assert_cmpint(pt_mkdir(t, a, "sub", 0755), ==, 0);
	g_assert_cmpint(pt_walk(t, a, "sub", &sub, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, sub, "deep", O_RDWR, 0644, &deep, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, deep, &ad), ==, 0);

	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, a, "f", b, "g"), ==, 0);
	/* the parent of "deep" moves, with a different name */
	g_assert_cmpint(PT_OPS(t)->rename(t->fs, &t->c, a, "sub", t->root, "sub2"), ==, 0);
	kill_helper(t);
	g_assert_cmpint(pt_getattr(t, file, &x), ==, 0);
	g_assert_cmpuint(x.qid.path, ==, af.qid.path);
	g_assert_cmpint(pt_getattr(t, deep, &x), ==, 0);
	g_assert_cmpuint(x.qid.path, ==, ad.qid.path);
	g_assert_cmpint(pt_create(t, sub, "more", O_RDWR, 0644, NULL, NULL), ==, 0);
	g_assert_true(g_file_test(pt_rel(t, "sub2/more"), G_FILE_TEST_EXISTS));
	pt_put(t, deep);
	pt_put(t, sub);
	pt_put(t, file);
	pt_put(t, a);
	pt_put(t, b);
}

/*
 * Nodes whose object is gone or replaced cannot come back: ESTALE.  Those
 * of files that were opened through the driver can, as open files do: the
 * driver kept a descriptor, and the new helper adopts the file.
 */
static void test_stale_nodes(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_node *gone, *replaced, *unlinked, *kept, *ogone, *oreplaced, *ounlinked;
	struct x9p_attr a, before;
	char *p;

	if (!t->fs)
		return;
	pt_write_file(pt_rel(t, "gone"), "x", 0644);
	pt_write_file(pt_rel(t, "replaced"), "x", 0644);
	pt_write_file(pt_rel(t, "unlinked"), "x", 0644);
	g_assert_cmpint(pt_walk(t, t->root, "gone", &gone, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "replaced", &replaced, NULL), ==, 0);
	g_assert_cmpint(pt_walk(t, t->root, "unlinked", &unlinked, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "kept", O_RDWR, 0644, &kept, NULL), ==, 0);
	/* created, so opened once */
	g_assert_cmpint(pt_create(t, t->root, "ogone", O_RDWR, 0644, &ogone, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "oreplaced", O_RDWR, 0640, &oreplaced, NULL), ==, 0);
	g_assert_cmpint(pt_create(t, t->root, "ounlinked", O_RDWR, 0644, &ounlinked, NULL), ==, 0);
	g_assert_cmpint(pt_getattr(t, oreplaced, &before), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "unlinked", 0), ==, 0);
	g_assert_cmpint(PT_OPS(t)->unlink(t->fs, &t->c, t->root, "ounlinked", 0), ==, 0);
	/* still usable while this helper lives */
	g_assert_cmpint(pt_getattr(t, unlinked, &a), ==, 0);
	kill_helper(t);
	for (const char *const *n = (const char *const[]){ "gone", "replaced", "ogone",
							    "oreplaced", NULL }; *n; n++) {
		p = pt_path(t, *n);
		g_assert_cmpint(unlink(p), ==, 0);
		if (strstr(*n, "replaced"))
			pt_write_file(p, "another file", 0644);
		g_free(p);
	}

	g_assert_cmpint(pt_getattr(t, kept, &a), ==, 0);
	g_assert_cmpint(pt_getattr(t, gone, &a), ==, -ESTALE);
	g_assert_cmpint(pt_getattr(t, replaced, &a), ==, -ESTALE);
	g_assert_cmpint(pt_getattr(t, unlinked, &a), ==, -ESTALE);
	/* and stays so */
	g_assert_cmpint(pt_getattr(t, replaced, &a), ==, -ESTALE);
	/* the opened ones: their own file, unlinked */
	g_assert_cmpint(pt_getattr(t, ogone, &a), ==, 0);
	g_assert_cmpuint(a.nlink, ==, 0);
	g_assert_cmpint(pt_getattr(t, ounlinked, &a), ==, 0);
	g_assert_cmpint(pt_getattr(t, oreplaced, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, before.qid.path);
	/* mapped-file keeps metadata by name: an unlinked file has none */
	if (t->model != X9P_SM_MAPPED_FILE)
		g_assert_cmphex(a.mode, ==, before.mode);
	g_assert_cmpuint(a.nlink, ==, 0);
	/* setattr reaches it too, and it survives one more restart */
	g_assert_cmpint(PT_OPS(t)->setattr(t->fs, &t->c, oreplaced,
					   &(struct x9p_setattr){ .valid = P9_SETATTR_SIZE,
								  .size = 7 }), ==, 0);
	kill_helper(t);
	g_assert_cmpint(pt_getattr(t, oreplaced, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, 7);
	g_assert_cmpuint(a.qid.path, ==, before.qid.path);
	pt_put(t, gone);
	pt_put(t, replaced);
	pt_put(t, unlinked);
	pt_put(t, kept);
	pt_put(t, ogone);
	pt_put(t, oreplaced);
	pt_put(t, ounlinked);
}

/*
 * A helper SIGKILLed from outside comes back at once, however often; one
 * that dies young of anything else without answering anything comes back
 * after 100 ms, doubling.
 */
static void test_backoff(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_attr a;
	gint64 t0;

	if (!t->fs)
		return;
	t0 = g_get_monotonic_time();
	for (int i = 0; i < 6; i++)
		kill_helper(t);
	/* backing off, these would take 6.3 s */
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	t0 = g_get_monotonic_time();
	for (int i = 0; i < 4; i++)
		signal_helper(t, SIGTERM);
	/* 100 + 200 + 400 + 800 ms */
	g_assert_cmpint(g_get_monotonic_time() - t0, >=, 1400 * G_TIME_SPAN_MILLISECOND);
	/* after real work, at once again */
	g_assert_cmpint(pt_getattr(t, t->root, &a), ==, 0);
	t0 = g_get_monotonic_time();
	signal_helper(t, SIGTERM);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 700 * G_TIME_SPAN_MILLISECOND);
}

/* Creates (so opens) PREFIX0.. and unlinks them on the host: nodes in n[]. */
static void create_unlinked(struct pt *t, const char *prefix, struct x9p_node **n,
			    unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		char name[16];

		g_snprintf(name, sizeof(name), "%s%u", prefix, i);
		g_assert_cmpint(pt_create(t, t->root, name, O_RDWR, 0644, &n[i], NULL), ==, 0);
		g_assert_cmpint(unlink(pt_rel(t, name)), ==, 0);
	}
}

/*
 * Nodes keep descriptors for ADOPT up to a quarter of RLIMIT_NOFILE (read
 * when the driver starts): past that, an opened file whose name goes is
 * ESTALE after a restart, as one never opened.
 */
static void test_kept_fds_cap(void)
{
	struct rlimit old, low;
	struct x9p_node *n[24];
	struct x9p_attr a;
	struct pt t;
	int ok = 0, stale = 0;

	pt_tree(&t, X9P_SM_MAPPED_XATTR);
	g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old), ==, 0);
	low = old;
	low.rlim_cur = 64;              /* 16 kept at most */
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &low), ==, 0);
	pt_start(&t);
	g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old), ==, 0);
	create_unlinked(&t, "f", n, G_N_ELEMENTS(n));
	kill_helper(&t);
	for (unsigned i = 0; i < G_N_ELEMENTS(n); i++) {
		int e = pt_getattr(&t, n[i], &a);

		if (e == 0)
			ok++;
		else if (e == -ESTALE)
			stale++;
		pt_put(&t, n[i]);
	}
	g_assert_cmpint(ok, ==, 16);
	g_assert_cmpint(stale, ==, 8);
	/* released nodes give their places back */
	create_unlinked(&t, "g", n, 16);
	kill_helper(&t);
	for (unsigned i = 0; i < 16; i++) {
		g_assert_cmpint(pt_getattr(&t, n[i], &a), ==, 0);
		pt_put(&t, n[i]);
	}
	pt_free(&t);
}

/* Restarts back off but never give up; an orderly destroy stops the helper. */
static void test_repeated_kills(struct fx *f, gconstpointer data)
{
	struct pt *t = &f->t;
	struct x9p_attr a;
	pid_t last = -1;

	if (!t->fs)
		return;
	for (int i = 0; i < 4; i++) {
		pid_t pid;

		g_assert_cmpint(pt_getattr(t, t->root, &a), ==, 0);
		pid = x9p_proxy_helper_pid(t->fs);
		g_assert_cmpint(pid, !=, last);
		last = pid;
		kill_helper(t);
	}
	g_assert_cmpint(pt_getattr(t, t->root, &a), ==, 0);
	g_assert_cmpuint(x9p_proxy_restarts(t->fs), ==, 4);
	last = x9p_proxy_helper_pid(t->fs);
	pt_stop(t);
	/* reaped by the driver: no such process any more */
	g_assert_cmpint(kill(last, 0), ==, -1);
	g_assert_cmpint(errno, ==, ESRCH);
}

static char *fd_target(pid_t pid, int fd)
{
	char *link = g_strdup_printf("/proc/%d/fd/%d", (int)pid, fd);
	char *target = g_file_read_link(link, NULL);

	g_free(link);
	return target ? target : g_strdup("?");
}

/*
 * The helper writes only to its own log channel: stdin is /dev/null,
 * stdout and stderr a pipe the driver reads, and its lines reach our
 * stderr whole, under the helper's host pid, control bytes replaced.
 */
static void test_log_channel(void)
{
	char *tmp = g_build_filename(g_get_tmp_dir(), "x9p-helper-log-XXXXXX", NULL);
	int logfd = g_mkstemp(tmp), saved = dup(STDERR_FILENO);
	char *text = NULL, *want, *t0, *t1, *t2, *mine;
	struct pt t;
	pid_t pid;

	g_assert_cmpint(logfd, >=, 0);
	g_setenv("X9P_HELPER_LOG", "info", TRUE);
	pt_tree(&t, X9P_SM_MAPPED_FILE);
	g_assert_cmpint(dup2(logfd, STDERR_FILENO), ==, STDERR_FILENO);
	pt_start(&t);
	pid = x9p_proxy_helper_pid(t.fs);
	g_assert_cmpint(pid, >, 0);
	/* The worker: a pid-namespace supervisor keeps no descriptor of these. */
	t0 = fd_target(worker_of(pid), 0);
	t1 = fd_target(worker_of(pid), 1);
	t2 = fd_target(worker_of(pid), 2);
	mine = fd_target(getpid(), STDERR_FILENO);
	want = g_strdup_printf("x9p-helper[%d]: info: serving mapped-file export", (int)pid);
	for (int i = 0; i < 200; i++) {
		g_free(text);
		g_assert_true(g_file_get_contents(tmp, &text, NULL, NULL));
		if (strstr(text, want))
			break;
		g_usleep(10 * 1000);
	}
	pt_free(&t);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);
	g_unsetenv("X9P_HELPER_LOG");
	g_test_message("helper fds: 0 %s, 1 %s, 2 %s; ours: 2 %s", t0, t1, t2, mine);
	g_assert_cmpstr(t0, ==, "/dev/null");
	g_assert_true(g_str_has_prefix(t1, "pipe:"));
	g_assert_cmpstr(t1, ==, t2);
	g_assert_cmpstr(t2, !=, mine);
	g_assert_nonnull(strstr(text, want));
	unlink(tmp);
	g_free(tmp);
	g_free(text);
	g_free(want);
	g_free(t0);
	g_free(t1);
	g_free(t2);
	g_free(mine);
}

/*
 * A helper killed with SIGKILL while it starts (the OOM killer, an
 * operator, the crash tier's kill loop) is started again, even the
 * first: the driver comes up after two such kills, and gives up with an
 * error naming the kill when every start is killed.  The launcher is the
 * real one, wrapped: it kills its first KILLS helpers as soon as they
 * are started, before their HELLO.
 */
struct killing_launcher {
	struct x9p_helper_launcher l;
	struct x9p_helper_launcher *real;
	unsigned kills, starts;
};

static int kl_start(struct x9p_helper_launcher *l, struct x9p_helper_proc *out, char **why)
{
	struct killing_launcher *k = (struct killing_launcher *)l;
	int e = k->real->start(k->real, out, why);

	if (e == 0 && k->starts++ < k->kills)
		k->real->kill(k->real);
	return e;
}

static void kl_kill(struct x9p_helper_launcher *l)
{
	struct killing_launcher *k = (struct killing_launcher *)l;

	k->real->kill(k->real);
}

static char *kl_reap(struct x9p_helper_launcher *l, int grace_ms)
{
	struct killing_launcher *k = (struct killing_launcher *)l;

	return k->real->reap(k->real, grace_ms);
}

static void kl_destroy(struct x9p_helper_launcher *l)
{
	struct killing_launcher *k = (struct killing_launcher *)l;

	k->real->destroy(k->real);
}

static struct x9p_fs *start_killed(struct pt *t, struct killing_launcher *k, GError **err)
{
	char *real = pt_helper_path();
	struct x9p_proxy_cfg cfg = { .export_path = t->export, .export_fd = -1,
				     .helper_path = real, .model = t->model };
	struct x9p_fs *fs;

	k->l = (struct x9p_helper_launcher){ kl_start, kl_kill, kl_reap, kl_destroy };
	k->real = x9p_helper_spawner_new(&cfg, err);
	g_assert_nonnull(k->real);
	fs = x9p_proxy_new_with(&cfg, &k->l, err);
	g_free(real);
	return fs;
}

static void test_first_start_killed(void)
{
	struct killing_launcher two = { .kills = 2 }, all = { .kills = 1000 };
	GError *err = NULL;
	struct x9p_attr a;
	struct pt t;

	pt_tree(&t, X9P_SM_MAPPED_FILE);
	/* Two starts killed: the third serves. */
	t.fs = start_killed(&t, &two, &err);
	g_assert_no_error(err);
	g_assert_nonnull(t.fs);
	g_assert_cmpuint(two.starts, ==, 3);
	g_assert_cmpint(t.fs->ops->attach(t.fs, &t.c, "", &t.root, &a), ==, 0);
	pt_stop(&t);
	/* Every start killed: an error, in bounded time, that says so. */
	g_assert_null(start_killed(&t, &all, &err));
	g_assert_nonnull(err);
	g_test_message("%s after %u starts", err->message, all.starts);
	g_assert_nonnull(strstr(err->message, "killed by signal 9"));
	g_assert_cmpuint(all.starts, >=, 3);
	g_assert_cmpuint(all.starts, <=, 10);
	g_clear_error(&err);
	pt_free(&t);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct fx *, gconstpointer);
	} tests[] = {
		{ "inflight_rerun", test_inflight_rerun },
		{ "rerun_done", test_rerun_done },
		{ "rerun_not_done", test_rerun_not_done },
		{ "rerun_refused", test_rerun_refused },
		{ "cancel", test_cancel },
		{ "stream", test_stream },
		{ "renamed_nodes", test_renamed_nodes },
		{ "stale_nodes", test_stale_nodes },
		{ "repeated_kills", test_repeated_kills },
		{ "backoff", test_backoff },
	};
	static const enum x9p_secmodel models[] = { X9P_SM_MAPPED_FILE, X9P_SM_MAPPED_XATTR,
						     X9P_SM_PASSTHROUGH };

	pt_init();
	g_test_init(&argc, &argv, NULL);
	/* The driver warns about every helper death: here they are the point. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	for (size_t m = 0; m < G_N_ELEMENTS(models); m++) {
		for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
			char *path = g_strdup_printf("/helper/supervise/%s/%s",
						     x9p_secmodel_name(models[m]), tests[i].name);

			g_test_add(path, struct fx, GINT_TO_POINTER(models[m]), setup, tests[i].fn,
				   teardown);
			g_free(path);
		}
	}
	g_test_add_func("/helper/supervise/log-channel", test_log_channel);
	g_test_add_func("/helper/supervise/kept-fds-cap", test_kept_fds_cap);
	g_test_add_func("/helper/supervise/first-start-killed", test_first_start_killed);
	return g_test_run();
}
