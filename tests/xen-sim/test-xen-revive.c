// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A Xen device's worker that dies is replaced without the guest noticing:
 * the real x9p-backend on the simulated Xen, a real export, and a client
 * on the rings that keeps its session across the kill.
 *
 *  - session: fids walked, opened for reading and writing, a directory
 *    opened, all usable on the new worker as they were (reads, writes,
 *    getattr, readdir, clunk), no ESTALE; open files unlinked or replaced
 *    by a rename too, through two deaths;
 *  - in flight: the helper is frozen so that a request sits in the worker,
 *    the worker is killed, and the request is answered by the next one:
 *    once when it had not taken effect, once when it had (done on the
 *    host behind the helper's back), never executed twice;
 *  - crash points of the test build of the worker (worker/attack.h): a
 *    worker dying right after publishing a reply does not get the request
 *    answered twice; one dying after making a fid but before publishing
 *    the Rwalk has the fid undone, and the walk runs again cleanly; a
 *    request that kills every worker is answered EIO after four runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

static const char *const no_args[] = { NULL };

struct fx {
	struct sim *s;
	char *dir;
	struct fe *fe;
	struct p9c *c;
};

/* attack: 0, or a crash point of the test build's worker. */
static void fx_start_attack(struct fx *x, unsigned attack)
{
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .secmodel = "none" };

	x->s = sim_new();
	x->dir = g_dir_make_tmp("x9p-revive-XXXXXX", NULL);
	g_assert_nonnull(x->dir);
	d.path = x->dir;
	if (attack) {
		const char *b = g_getenv("X9P_BUILD");
		char *w = g_build_filename(b && *b ? b : "build", "tests", "x9p-worker-attack", NULL);
		char *a = g_strdup_printf("%u", attack);

		setenv("X9P_WORKER", w, 1);
		setenv("X9P_WORKER_ATTACK", a, 1);
		g_free(w);
		g_free(a);
	}
	g_assert_true(sim_backend_start(x->s, no_args));
	/* Only the daemon started here has them. */
	unsetenv("X9P_WORKER");
	unsetenv("X9P_WORKER_ATTACK");
	hv_domain_create(x->s->hv, 5, "guest");
	sim_add_device(x->s, &d);
	x->fe = sim_frontend(x->s, FE_LINUX, 5, 0);
	g_assert_nonnull(x->fe);
	x->c = sim_client(x->fe, "9P2000.L", 1);
	g_assert_nonnull(x->c);
	p9c_set_timeout(x->c, SIM_HANG_MS);
}

static void fx_start(struct fx *x)
{
	fx_start_attack(x, 0);
}

static void fx_stop(struct fx *x)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", x->dir);

	p9c_free(x->c);
	fe_free(x->fe);
	sim_free(x->s);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(x->dir);
}

static pid_t worker(struct fx *x)
{
	return sim_worker_pid(x->s, "dom5/9pfs/0");
}

static pid_t parent_of(pid_t p)
{
	char *path = g_strdup_printf("/proc/%d/stat", (int)p), *text = NULL, *end;
	int ppid = 0;

	/* "pid (comm) state ppid ...": comm may hold anything but ends at the last ')'. */
	if (g_file_get_contents(path, &text, NULL, NULL) && (end = strrchr(text, ')')))
		sscanf(end + 1, " %*c %d", &ppid);
	g_free(path);
	g_free(text);
	return ppid;
}

/* Every x9p-helper below the daemon (the helper and the processes of its
 * sandbox) gets sig and is appended to pids (or NULL). */
static unsigned signal_helpers(struct fx *x, int sig, GArray *pids)
{
	GDir *d = g_dir_open("/proc", 0, NULL);
	const char *e;
	unsigned n = 0;

	while ((e = g_dir_read_name(d))) {
		pid_t p = (pid_t)atoi(e), a;
		char *path = g_strdup_printf("/proc/%s/comm", e), *comm = NULL;

		if (p > 0 && g_file_get_contents(path, &comm, NULL, NULL) &&
		    strcmp(g_strchomp(comm), "x9p-helper") == 0) {
			for (a = parent_of(p); a > 1 && a != x->s->be_pid; a = parent_of(a))
				;
			if (a == x->s->be_pid && kill(p, sig) == 0) {
				n++;
				if (pids)
					g_array_append_val(pids, p);
			}
		}
		g_free(comm);
		g_free(path);
	}
	g_dir_close(d);
	return n;
}

/* Waits until the device's worker is another than w. */
static pid_t await_new_worker(struct fx *x, pid_t w)
{
	pid_t next = 0;

	for (int t = 0; t < SIM_HANG_MS / 10; t++) {
		next = worker(x);
		if (next > 0 && next != w)
			break;
		g_usleep(10000);
	}
	g_assert_cmpint(next, >, 0);
	g_assert_cmpint(next, !=, w);
	return next;
}

/* Kills the worker; returns once a new one serves the device. */
static void kill_worker(struct fx *x)
{
	pid_t w = worker(x), next = 0;
	char *v;

	g_assert_cmpint(w, >, 0);
	g_assert_cmpint(kill(w, SIGKILL), ==, 0);
	next = await_new_worker(x, w);
	g_assert_cmpint(next, >, 0);
	v = sim_be_read(x->s, "9pfs", 5, 0, "state");
	g_assert_cmpstr(v, ==, "4");
	g_free(v);
}

static void host_write(const char *dir, const char *name, const char *text)
{
	char *p = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	g_free(p);
}

static char *host_read(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL), *text = NULL;

	if (!g_file_get_contents(p, &text, NULL, NULL))
		text = NULL;
	g_free(p);
	return text;
}

static int count_entry(const struct p9_dirent *de, void *opaque)
{
	(*(unsigned *)opaque)++;
	return 0;
}

static void test_session(void)
{
	struct fx x;
	struct p9_qid qid;
	struct p9_getattr ga;
	uint32_t iounit, n;
	char buf[64];
	unsigned entries = 0;
	char *text, *sub;

	fx_start(&x);
	sub = g_build_filename(x.dir, "sub", NULL);
	g_assert_cmpint(mkdir(sub, 0755), ==, 0);
	g_free(sub);
	host_write(x.dir, "sub/old", "old content");
	/* fid 10: a file opened for reading; 11: created, open for writing;
	 * 12: a directory, open; 13: walked only. */
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "sub/old", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 10, O_RDONLY, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 11, "sub", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(x.c, 11, "new", O_WRONLY | O_CREAT, 0644, 0, &qid, &iounit),
			==, 0);
	g_assert_cmpint(p9c_write(x.c, 11, 0, "first ", 6, &n), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 12, "sub", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 12, O_RDONLY | O_DIRECTORY, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 13, "sub", NULL), ==, 0);
	/* A rename through another fid: the new worker walks the new name. */
	g_assert_cmpint(p9c_renameat(x.c, 1, "sub", 1, "moved"), ==, 0);

	kill_worker(&x);

	g_assert_cmpint(p9c_read(x.c, 10, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpuint(n, ==, 11);
	g_assert_cmpmem(buf, n, "old content", 11);
	g_assert_cmpint(p9c_write(x.c, 11, 6, "second", 6, &n), ==, 0);
	g_assert_cmpuint(n, ==, 6);
	g_assert_cmpint(p9c_readdir_all(x.c, 12, 4096, count_entry, &entries), ==, 0);
	g_assert_cmpuint(entries, ==, 4);      /* . .. old new */
	g_assert_cmpint(p9c_getattr(x.c, 13, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_true(S_ISDIR(ga.mode));
	g_assert_cmpint(p9c_walk_path(x.c, 13, 14, "old", NULL), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 14), ==, 0);
	for (uint32_t f = 10; f <= 13; f++)
		g_assert_cmpint(p9c_clunk(x.c, f), ==, 0);
	text = host_read(x.dir, "moved/new");
	g_assert_cmpstr(text, ==, "first second");
	g_free(text);
	/* A fid the old worker never had is still unknown. */
	g_assert_cmpint(p9c_clunk(x.c, 99), <, 0);
	fx_stop(&x);
}

/*
 * Open files no name leads to any more (unlinked, replaced by a rename)
 * cannot be walked again by a new worker: the monitor keeps them for it.
 */
/* The worker replaced: killed, or with the whole daemon reloaded (SIGHUP). */
static void replace_worker(struct fx *x, bool reload)
{
	pid_t before = worker(x);

	if (!reload) {
		kill_worker(x);
		return;
	}
	g_assert_cmpint(kill(x->s->be_pid, SIGHUP), ==, 0);
	g_assert_cmpint(await_new_worker(x, before), >, 0);
}

static void nameless_open(bool reload)
{
	struct fx x;
	struct p9_qid qid;
	struct p9_getattr ga;
	uint32_t iounit, n;
	char buf[64];

	fx_start(&x);
	host_write(x.dir, "gone", "unlinked but open");
	host_write(x.dir, "old", "replaced but open");
	host_write(x.dir, "new", "the new one");
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "gone", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 10, O_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 11, "old", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 11, O_RDONLY, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_unlinkat(x.c, 1, "gone", 0), ==, 0);
	g_assert_cmpint(p9c_renameat(x.c, 1, "new", 1, "old"), ==, 0);

	replace_worker(&x, reload);

	g_assert_cmpint(p9c_read(x.c, 10, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "unlinked but open", 17);
	g_assert_cmpint(p9c_write(x.c, 10, 17, " and written", 12, &n), ==, 0);
	g_assert_cmpint(p9c_getattr(x.c, 10, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_cmpuint(ga.nlink, ==, 0);
	g_assert_cmpuint(ga.size, ==, 29);
	g_assert_cmpint(p9c_read(x.c, 11, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "replaced but open", 17);
	g_assert_cmpint(p9c_getattr(x.c, 11, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_cmpuint(ga.nlink, ==, 0);
	/* And once more: the new worker handed them on. */
	replace_worker(&x, reload);
	g_assert_cmpint(p9c_getattr(x.c, 10, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_cmpuint(ga.size, ==, 29);
	g_assert_cmpint(p9c_clunk(x.c, 10), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 11), ==, 0);
	fx_stop(&x);
}

static void test_nameless_open(void)
{
	nameless_open(false);
}

/* The same across daemon reloads: the old program hands the files the
 * monitor kept to the new one. */
static void test_nameless_open_reload(void)
{
	nameless_open(true);
}

/* A lock of owner proc (client "guest") over [start, start+len-1]. */
static int lock_as(struct p9c *c, uint32_t fid, uint8_t type, uint32_t proc, uint64_t start,
		   uint64_t len)
{
	struct p9_lock lk = { .type = type, .start = start, .length = len, .proc_id = proc,
			      .client_id = p9_str_c("guest") };
	uint8_t status = 0xff;
	int e = p9c_lock(c, fid, &lk, &status);

	return e ? e : status;
}

/*
 * POSIX locks the guest holds survive the worker: another owner is still
 * refused them, and their owner can release them.
 */
static void test_locks(void)
{
	struct fx x;
	struct p9_qid qid;
	uint32_t iounit;

	fx_start(&x);
	host_write(x.dir, "f", "locked");
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "f", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 10, O_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 11, "f", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 11, O_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpint(lock_as(x.c, 10, P9_LOCK_TYPE_WRLCK, 1, 0, 100), ==, P9_LOCK_SUCCESS);
	/* Split in two by an unlock of its middle. */
	g_assert_cmpint(lock_as(x.c, 10, P9_LOCK_TYPE_UNLCK, 1, 40, 20), ==, P9_LOCK_SUCCESS);

	kill_worker(&x);

	g_assert_cmpint(lock_as(x.c, 11, P9_LOCK_TYPE_WRLCK, 2, 10, 5), ==, P9_LOCK_BLOCKED);
	g_assert_cmpint(lock_as(x.c, 11, P9_LOCK_TYPE_WRLCK, 2, 70, 5), ==, P9_LOCK_BLOCKED);
	g_assert_cmpint(lock_as(x.c, 11, P9_LOCK_TYPE_WRLCK, 2, 45, 5), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_as(x.c, 10, P9_LOCK_TYPE_UNLCK, 1, 0, 0), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_as(x.c, 11, P9_LOCK_TYPE_WRLCK, 2, 0, 100), ==, P9_LOCK_SUCCESS);
	/* And once more, with the second owner's lock. */
	kill_worker(&x);
	g_assert_cmpint(lock_as(x.c, 10, P9_LOCK_TYPE_RDLCK, 1, 0, 1), ==, P9_LOCK_BLOCKED);
	fx_stop(&x);
}

enum fate { NOT_DONE, DONE, PREDATES };

/*
 * A Tmkdir in the worker when it dies (its helper frozen), answered by the
 * next worker.  NOT_DONE: it runs there.  DONE: the directory appears on
 * the host meanwhile, as if the first run had taken effect: success, not
 * EEXIST.  PREDATES: the directory was there before the request: EEXIST,
 * as it would have been.
 */
static void in_flight(enum fate fate)
{
	struct fx x;
	struct p9_msg m = { .type = P9_TMKDIR };
	struct p9c_reply r = { 0 };
	GArray *stopped = g_array_new(FALSE, FALSE, sizeof(pid_t));
	int tag;
	struct stat st;
	char *p;

	fx_start(&x);
	p = g_build_filename(x.dir, "d", NULL);
	if (fate == PREDATES) {
		g_assert_cmpint(mkdir(p, 0750), ==, 0);
		g_usleep(1100 * 1000);  /* older than the coarse clock's grain */
	}
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "", NULL), ==, 0);
	g_assert_cmpuint(signal_helpers(&x, SIGSTOP, stopped), >, 0);
	m.u.tmkdir.dfid = 10;
	m.u.tmkdir.name = p9_str_c("d");
	m.u.tmkdir.mode = 0750;
	m.u.tmkdir.gid = 0;
	tag = p9c_send(x.c, &m, P9C_AUTOTAG);
	g_assert_cmpint(tag, >=, 0);
	if (p9c_recv(x.c, &r, 300) != -ETIMEDOUT)
		g_error("answered with the helper stopped: type %u", r.m.type);
	if (fate == DONE)
		g_assert_cmpint(mkdir(p, 0750), ==, 0);
	kill_worker(&x);
	/* The old helpers only: the new worker's may be starting. */
	for (guint i = 0; i < stopped->len; i++)
		kill(g_array_index(stopped, pid_t, i), SIGKILL);
	g_array_free(stopped, TRUE);
	g_assert_cmpint(p9c_recv(x.c, &r, SIM_HANG_MS), ==, 0);
	g_assert_cmpint(r.m.tag, ==, tag);
	if (fate == PREDATES) {
		g_assert_cmpint(r.m.type, ==, P9_RLERROR);
		g_assert_cmpint(r.m.u.rlerror.ecode, ==, EEXIST);
	} else {
		g_assert_cmpint(r.m.type, ==, P9_RMKDIR);
	}
	p9c_reply_clear(&r);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	/* Exactly one answer, and the session goes on. */
	g_assert_cmpint(p9c_recv(x.c, &r, 200), ==, -ETIMEDOUT);
	g_assert_cmpint(p9c_walk_path(x.c, 10, 11, "d", NULL), ==, 0);
	g_free(p);
	fx_stop(&x);
}

static void test_in_flight_not_done(void)
{
	in_flight(NOT_DONE);
}

static void test_in_flight_done(void)
{
	in_flight(DONE);
}

static void test_in_flight_predates(void)
{
	in_flight(PREDATES);
}

/*
 * The worker dies right after the Rmkdir went out: the next one finds the
 * request recorded as being answered, the reply producer index past it,
 * and does not run it or answer it again.
 */
static void test_reply_published(void)
{
	struct fx x;
	struct p9c_reply r = { 0 };
	pid_t w;

	fx_start_attack(&x, 9);
	w = worker(&x);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "", NULL), ==, 0);
	g_assert_cmpint(p9c_mkdir(x.c, 10, "d", 0750, 0, NULL), ==, 0);
	await_new_worker(&x, w);
	g_assert_cmpint(p9c_walk_path(x.c, 10, 11, "d", NULL), ==, 0);
	/* Nothing more: no second Rmkdir. */
	g_assert_cmpint(p9c_recv(x.c, &r, 500), ==, -ETIMEDOUT);
	fx_stop(&x);
}

/*
 * The worker dies after making the Twalk's new fid, before its Rwalk went
 * out: the next one undoes the fid and runs the walk again, which
 * succeeds (had the fid stayed, the new fid would be "in use").
 */
static void test_fid_undone(void)
{
	struct fx x;
	struct p9_qid qid;
	pid_t w;

	fx_start_attack(&x, 10);
	w = worker(&x);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "", &qid), ==, 0);
	await_new_worker(&x, w);
	g_assert_cmpint(p9c_clunk(x.c, 10), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 10), <, 0);
	fx_stop(&x);
}

/*
 * The worker dies after removing the fid of a Tclunk, before its Rclunk
 * went out: the fid comes back, the clunk runs again and succeeds.
 */
static void test_clunk_undone(void)
{
	struct fx x;
	struct p9_qid qid;
	uint32_t iounit;
	pid_t w;

	fx_start_attack(&x, 12);
	w = worker(&x);
	host_write(x.dir, "f", "x");
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "f", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 10, O_RDONLY, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 10), ==, 0);
	await_new_worker(&x, w);
	g_assert_cmpint(p9c_clunk(x.c, 10), ==, -ENOENT);
	fx_stop(&x);
}

/*
 * The worker dies right after answering a Tflush (of a tag not in flight),
 * which the ring's own thread answers at once: the next worker must not
 * read it from the ring again, so there is one Rflush.
 */
static void test_answered_at_once(void)
{
	struct fx x;
	struct p9_msg m = { .type = P9_TFLUSH };
	struct p9c_reply r = { 0 };
	pid_t w;
	int tag;

	fx_start_attack(&x, 13);
	w = worker(&x);
	m.u.tflush.oldtag = 4321;
	tag = p9c_send(x.c, &m, P9C_AUTOTAG);
	g_assert_cmpint(tag, >=, 0);
	g_assert_cmpint(p9c_recv(x.c, &r, SIM_HANG_MS), ==, 0);
	g_assert_cmpint(r.m.type, ==, P9_RFLUSH);
	p9c_reply_clear(&r);
	await_new_worker(&x, w);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "", NULL), ==, 0);
	g_assert_cmpint(p9c_recv(x.c, &r, 500), ==, -ETIMEDOUT);
	fx_stop(&x);
}

/*
 * A request under which every worker dies (killed before its reply goes
 * out, each time): it runs four times, then the next worker answers it
 * EIO, and the device goes on with its session.
 */
static void test_poison(void)
{
	struct fx x;
	pid_t w;

	fx_start_attack(&x, 11);
	w = worker(&x);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "", NULL), ==, 0);
	g_assert_cmpint(p9c_mkdir(x.c, 10, "d", 0750, 0, NULL), ==, -EIO);
	g_assert_cmpint(worker(&x), !=, w);
	g_assert_cmpint(p9c_walk_path(x.c, 10, 11, "d", NULL), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 11), ==, 0);
	fx_stop(&x);
}

/* Kills each new worker of the device 20 to 200 ms after it appears:
 * while it serves, and (in slower builds) while it starts. */
struct killer {
	struct fx *x;
	bool reload;                /* SIGHUP to the daemon, not SIGKILL to the worker */
	gint stop;
	unsigned kills;
};

static gpointer kill_loop(gpointer data)
{
	struct killer *k = data;
	pid_t last = 0;

	while (!g_atomic_int_get(&k->stop)) {
		pid_t w = worker(k->x);

		if (w > 0 && w != last) {
			g_usleep(g_random_int_range(20, 200) * 1000);
			if (kill(k->reload ? k->x->s->be_pid : w, k->reload ? SIGHUP : SIGKILL) == 0)
				k->kills++;
			last = w;
		}
		g_usleep(10000);
	}
	return NULL;
}

/*
 * The worker killed over and over (each new one after 20 to 200 ms), or
 * the daemon upgraded in place over and over (SIGHUP 20 to 200 ms after
 * each new worker appears), while the client, in a directory it holds a
 * fid on, creates, writes, reads back, renames, links, unlinks, walks from
 * the root and opens again, and makes and removes directories, one request
 * at a time: no call fails, and the export ends as the calls say.
 */
static void loop_under(bool reload)
{
	struct killer k = { .reload = reload };
	struct fx x;
	struct p9_qid qid;
	uint32_t iounit, n;
	GThread *t;
	char name[32], other[32], text[64], buf[64], *sub;
	unsigned rounds = 0;
	gint64 end;

	fx_start(&x);
	/* As the Linux client does: a fid kept on the working directory, the
	 * files reached by walks of several names from the root. */
	sub = g_build_filename(x.dir, "work", NULL);
	g_assert_cmpint(mkdir(sub, 0755), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 2, "work", NULL), ==, 0);
	k.x = &x;
	t = g_thread_new("killer", kill_loop, &k);
	end = g_get_monotonic_time() + 8 * G_USEC_PER_SEC;
	for (unsigned i = 0; g_get_monotonic_time() < end || k.kills < 5; i++) {
		char path[64];

		g_snprintf(name, sizeof(name), "f%u", i);
		g_snprintf(other, sizeof(other), "g%u", i);
		g_snprintf(text, sizeof(text), "content of file %u", i);
		g_assert_cmpint(p9c_walk_path(x.c, 2, 10, "", NULL), ==, 0);
		g_assert_cmpint(p9c_lcreate(x.c, 10, name, O_RDWR | O_CREAT, 0640, 0, &qid,
					    &iounit), ==, 0);
		g_assert_cmpint(p9c_write(x.c, 10, 0, text, (uint32_t)strlen(text), &n), ==, 0);
		g_assert_cmpuint(n, ==, strlen(text));
		g_assert_cmpint(p9c_fsync(x.c, 10, 0), ==, 0);
		g_assert_cmpint(p9c_read(x.c, 10, 0, sizeof(buf), buf, &n), ==, 0);
		g_assert_cmpmem(buf, n, text, strlen(text));
		g_assert_cmpint(p9c_renameat(x.c, 2, name, 2, other), ==, 0);
		g_assert_cmpint(p9c_link(x.c, 2, 10, name), ==, 0);
		g_assert_cmpint(p9c_unlinkat(x.c, 2, other, 0), ==, 0);
		g_assert_cmpint(p9c_clunk(x.c, 10), ==, 0);
		/* The new name, walked from the root and opened again. */
		g_snprintf(path, sizeof(path), "work/%s", name);
		g_assert_cmpint(p9c_walk_path(x.c, 1, 11, path, NULL), ==, 0);
		g_assert_cmpint(p9c_lopen(x.c, 11, O_RDONLY, &qid, &iounit), ==, 0);
		g_assert_cmpint(p9c_read(x.c, 11, 0, sizeof(buf), buf, &n), ==, 0);
		g_assert_cmpmem(buf, n, text, strlen(text));
		g_assert_cmpint(p9c_clunk(x.c, 11), ==, 0);
		g_assert_cmpint(p9c_mkdir(x.c, 2, "dir", 0750, 0, NULL), ==, 0);
		g_assert_cmpint(p9c_unlinkat(x.c, 2, "dir", AT_REMOVEDIR), ==, 0);
		if (i > 0) {
			g_snprintf(other, sizeof(other), "f%u", i - 1);
			g_assert_cmpint(p9c_unlinkat(x.c, 2, other, 0), ==, 0);
		}
		rounds = i + 1;
	}
	g_atomic_int_set(&k.stop, 1);
	g_thread_join(t);
	/* Served again: a reload sent last is over. */
	g_assert_cmpint(p9c_walk_path(x.c, 2, 12, "", NULL), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 12), ==, 0);
	g_test_message("%u rounds, %u %s", rounds, k.kills,
		       reload ? "reloads" : "workers killed");
	g_assert_cmpuint(k.kills, >=, 5);
	/* Only the last file is left, with its content. */
	{
		GDir *d = g_dir_open(sub, 0, NULL);
		unsigned entries = 0;
		char *last, *want;

		while (g_dir_read_name(d))
			entries++;
		g_dir_close(d);
		g_assert_cmpuint(entries, ==, 1);
		g_snprintf(name, sizeof(name), "work/f%u", rounds - 1);
		last = host_read(x.dir, name);
		want = g_strdup_printf("content of file %u", rounds - 1);
		g_assert_cmpstr(last, ==, want);
		g_free(last);
		g_free(want);
	}
	g_free(sub);
	fx_stop(&x);
}

/*
 * The daemon replaced with guests connected: stopped (SIGTERM: handover),
 * killed (SIGKILL), or reloaded (SIGHUP: the program executed again in the
 * same process).  The next one takes the session over from the journal in
 * --xen-state-dir: the guest's fids and open files go on.
 */
static void replaced(int sig)
{
	struct fx x;
	struct p9_qid qid;
	struct p9_getattr ga;
	uint32_t iounit, n;
	char buf[64];
	pid_t before;

	fx_start(&x);
	host_write(x.dir, "f", "kept across");
	g_assert_cmpint(p9c_walk_path(x.c, 1, 10, "f", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, 10, O_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(x.c, 1, 11, "", NULL), ==, 0);
	before = worker(&x);
	if (sig == SIGHUP) {
		g_assert_cmpint(kill(x.s->be_pid, SIGHUP), ==, 0);
		await_new_worker(&x, before);
	} else {
		g_assert_cmpint(sim_backend_stop(x.s, sig), ==, sig == SIGTERM ? 0 : 128 + SIGKILL);
		g_assert_true(sim_backend_start(x.s, no_args));
	}
	/* Requests wait in the ring until the new daemon's worker serves it. */
	g_assert_cmpint(p9c_read(x.c, 10, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "kept across", 11);
	g_assert_cmpint(p9c_write(x.c, 10, 11, "!", 1, &n), ==, 0);
	g_assert_cmpint(p9c_getattr(x.c, 11, P9_GETATTR_BASIC, &ga), ==, 0);
	g_assert_true(S_ISDIR(ga.mode));
	g_assert_cmpint(p9c_walk_path(x.c, 11, 12, "f", NULL), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 12), ==, 0);
	g_assert_cmpint(p9c_clunk(x.c, 10), ==, 0);
	fx_stop(&x);
}

static void test_kill_loop(void)
{
	loop_under(false);
}

static void test_reload_loop(void)
{
	loop_under(true);
}

static void test_restart(void)
{
	replaced(SIGTERM);
}

static void test_restart_crash(void)
{
	replaced(SIGKILL);
}

static void test_reload(void)
{
	replaced(SIGHUP);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/xen/revive/session", test_session);
	g_test_add_func("/xen/revive/nameless-open", test_nameless_open);
	g_test_add_func("/xen/revive/nameless-open-reload", test_nameless_open_reload);
	g_test_add_func("/xen/revive/locks", test_locks);
	g_test_add_func("/xen/revive/in-flight-not-done", test_in_flight_not_done);
	g_test_add_func("/xen/revive/in-flight-done", test_in_flight_done);
	g_test_add_func("/xen/revive/in-flight-predates", test_in_flight_predates);
	g_test_add_func("/xen/revive/reply-published", test_reply_published);
	g_test_add_func("/xen/revive/fid-undone", test_fid_undone);
	g_test_add_func("/xen/revive/clunk-undone", test_clunk_undone);
	g_test_add_func("/xen/revive/answered-at-once", test_answered_at_once);
	g_test_add_func("/xen/revive/poison", test_poison);
	g_test_add_func("/xen/revive/kill-loop", test_kill_loop);
	g_test_add_func("/xen/revive/restart", test_restart);
	g_test_add_func("/xen/revive/restart-crash", test_restart_crash);
	g_test_add_func("/xen/revive/reload", test_reload);
	g_test_add_func("/xen/revive/reload-loop", test_reload_loop);
	return g_test_run();
}
