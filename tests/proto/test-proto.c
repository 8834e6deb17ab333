// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Protocol behaviour of the real x9p-backend beyond QEMU's qtest list:
 * version renegotiation, msize clamping, fid limit, duplicate tags,
 * out-of-order completion, many clients at once, and hostile frames that
 * must be answered with an error (or cost the sender its connection)
 * while every other client keeps being served; idle connections parked.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinfo.h"
#include "proto-fixture.h"
#include "socket/socket.h"

static const char *const synth_args[] = { "--synthetic=bigdir=50", NULL };

static void t_renegotiate(void)
{
	struct pfx f;
	struct p9_getattr a;
	uint32_t msize;
	char ver[32];

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	/* A second Tversion resets the session: fids are gone. */
	g_assert_cmpint(p9c_version(f.c, 16384, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpuint(msize, ==, 16384);
	g_assert_cmpint(p9c_getattr(f.c, 1, P9_GETATTR_BASIC, &a), ==, -ENOENT);
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, -ENOENT);
	/* ... and works again after attaching. */
	g_assert_cmpint(p9c_attach(f.c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	/* Switching dialect. */
	g_assert_cmpint(p9c_version(f.c, 16384, "9P2000.u", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "9P2000.u");
	g_assert_cmpint(p9c_version(f.c, 16384, "9P2001", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "unknown");
	pfx_stop(&f);
}

static void t_msize_clamp(void)
{
	struct pfx f;
	uint32_t msize;
	char ver[32];
	static uint8_t big[X9P_SOCK_MAX_MSIZE];
	uint32_t n;

	pfx_start(&f, synth_args, true);
	g_assert_cmpint(p9c_version(f.c, 64u << 20, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpuint(msize, ==, X9P_SOCK_MAX_MSIZE);
	g_assert_cmpint(p9c_attach(f.c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	/* A read asking for more than msize allows is cut to fit. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, big, msize - P9_IOHDR_SIZE, &n), ==, 0);
	g_assert_cmpint(p9c_read(f.c, 1, 0, 0xFFFFFFFFu, big, &n), ==, 0);
	g_assert_cmpuint(n, ==, msize - P9_IOHDR_SIZE);
	pfx_stop(&f);
}

static void t_fid_limit(void)
{
	static const char *const args[] = { "--synthetic", "--max-fids=8", NULL };
	struct pfx f;

	pfx_start(&f, args, false);
	for (uint32_t i = 1; i < 8; i++)
		g_assert_cmpint(p9c_walk_path(f.c, 0, i, "", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 8, "", NULL), ==, -EMFILE);
	g_assert_cmpint(p9c_clunk(f.c, 3), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 8, "", NULL), ==, 0);
	pfx_stop(&f);
}

static int send_blocked(struct pfx *f, uint32_t fid, int tag)
{
	struct p9_msg m = { 0 };

	g_assert_cmpint(p9c_walk_path(f->c, 0, fid, "blocker", NULL), ==, 0);
	m.type = P9_TLOPEN;
	m.u.tlopen.fid = fid;
	m.u.tlopen.flags = P9L_RDONLY;
	tag = p9c_send(f->c, &m, tag);
	g_assert_cmpint(tag, >=, 0);
	g_usleep(50 * 1000);
	return tag;
}

/* Releases blocked operations from a second connection (it is a control
 * of the synthetic filesystem, shared by every client). */
static void release(struct pfx *f)
{
	struct p9c *c = pfx_connect(f);
	char ver[16];
	uint32_t msize;

	g_assert_cmpint(p9c_version(c, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, 0, 1, "ctl", NULL), ==, 0);
	g_assert_cmpint(p9c_mkdir(c, 1, "release", 0755, 0, NULL), ==, 0);
	p9c_free(c);
}

static void t_duplicate_tag(void)
{
	struct pfx f;
	struct p9c_reply r = { 0 };
	struct p9_msg m = { 0 };

	pfx_start(&f, synth_args, false);
	send_blocked(&f, 1, 77);
	m.type = P9_TGETATTR;
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	g_assert_cmpint(p9c_send(f.c, &m, 77), ==, 77);
	g_assert_cmpint(p9c_recv(f.c, &r, 5000), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 77);
	g_assert_cmpint(r.m.type, ==, P9_RLERROR);
	g_assert_cmpuint(r.m.u.rlerror.ecode, ==, EBUSY);
	p9c_reply_clear(&r);
	release(&f);
	/* The client library cannot tell which of the two requests on tag 77
	 * this answers, so it may flag the pairing; the frame is what counts. */
	int rc = p9c_recv(f.c, &r, 5000);
	g_assert_true(rc == 0 || rc == -EPROTO);
	g_assert_nonnull(r.frame);
	g_assert_cmpint(r.m.type, ==, P9_RLOPEN);
	g_assert_cmpuint(r.m.tag, ==, 77);
	p9c_reply_clear(&r);
	pfx_stop(&f);
}

static void t_out_of_order(void)
{
	struct pfx f;
	struct p9c_reply r = { 0 };
	struct p9_getattr a;
	int tag;

	pfx_start(&f, synth_args, false);
	tag = send_blocked(&f, 1, P9C_AUTOTAG);
	/* Later requests complete while the first is still blocked. */
	for (int i = 0; i < 5; i++)
		g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	release(&f);
	g_assert_cmpint(p9c_recv(f.c, &r, 5000), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, (unsigned)tag);
	g_assert_cmpint(r.m.type, ==, P9_RLOPEN);
	p9c_reply_clear(&r);
	pfx_stop(&f);
}

struct client_job {
	const char *addr;
	int id;
	int failures;
};

static void *client_thread(void *arg)
{
	struct client_job *j = arg;
	char name[32], ver[16];
	uint8_t data[4096], back[4096];
	uint32_t n, msize;
	int err = 0;
	struct p9c *c = p9c_connect(j->addr, &err);

	if (!c) {
		j->failures++;
		return NULL;
	}
	p9c_set_timeout(c, 20000);
	memset(data, j->id, sizeof(data));
	snprintf(name, sizeof(name), "client-%d", j->id);
	if (p9c_version(c, 65536, "9P2000.L", &msize, ver, sizeof(ver)) ||
	    p9c_attach(c, 0, P9_NOFID, "", "", 0, NULL) ||
	    p9c_walk_path(c, 0, 1, "dir", NULL) ||
	    p9c_lcreate(c, 1, name, P9L_RDWR, 0644, 0, NULL, NULL)) {
		j->failures++;
		goto out;
	}
	for (int i = 0; i < 50; i++) {
		if (p9c_write(c, 1, (uint64_t)i * sizeof(data), data, sizeof(data), &n) || n != sizeof(data))
			j->failures++;
		if (p9c_read(c, 1, (uint64_t)i * sizeof(data), sizeof(back), back, &n) ||
		    n != sizeof(back) || memcmp(back, data, n))
			j->failures++;
	}
out:
	p9c_free(c);
	return NULL;
}

static void t_many_clients(void)
{
	enum { N = 24 };
	struct pfx f;
	pthread_t th[N];
	struct client_job jobs[N];

	pfx_start(&f, synth_args, false);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct client_job){ f.be.addr, i + 1, 0 };
		pthread_create(&th[i], NULL, client_thread, &jobs[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		g_assert_cmpint(jobs[i].failures, ==, 0);
	}
	pfx_stop(&f);
}

/* ---- POSIX locks: owned by (proc_id, client_id), not by fids ---- */

static uint8_t lock_as(struct p9c *c, uint32_t fid, uint8_t type, uint64_t start,
		       uint64_t len, uint32_t pid)
{
	struct p9_lock lk = { .type = type, .start = start, .length = len, .proc_id = pid,
			      .client_id = p9_str_c("guest") };
	uint8_t st = 0xff;

	g_assert_cmpint(p9c_lock(c, fid, &lk, &st), ==, 0);
	return st;
}

static struct p9_lock getlock_as(struct p9c *c, uint32_t fid, uint8_t type, uint64_t start,
				 uint64_t len, uint32_t pid)
{
	struct p9_lock lk = { .type = type, .start = start, .length = len, .proc_id = pid,
			      .client_id = p9_str_c("guest") }, out;
	static char cid[64];

	g_assert_cmpint(p9c_getlock(c, fid, &lk, &out, cid, sizeof(cid)), ==, 0);
	return out;
}

static uint32_t mode_of(struct p9c *c, uint32_t fid)
{
	struct p9_getattr ga;

	g_assert_cmpint(p9c_getattr(c, fid, P9_GETATTR_BASIC, &ga), ==, 0);
	return ga.mode & 07777;
}

static void set_mode(struct p9c *c, uint32_t fid, uint32_t mode)
{
	struct p9_setattr sa = { .valid = P9_SETATTR_MODE, .mode = mode };

	g_assert_cmpint(p9c_setattr(c, fid, &sa), ==, 0);
}

static void write_one(struct p9c *c, uint32_t fid)
{
	uint32_t n = 0;

	g_assert_cmpint(p9c_write(c, fid, 0, "x", 1, &n), ==, 0);
	g_assert_cmpuint(n, ==, 1);
}

/* A write by a guest user other than root clears set-user-ID, and
 * set-group-ID when group-execute is set, as the kernel does; root's keep them. */
static void t_kill_privs(void)
{
	struct pfx f;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(f.c, 1, "sx", P9L_RDWR, 0644, 0, NULL, NULL), ==, 0);
	set_mode(f.c, 1, 06755);
	write_one(f.c, 1);
	g_assert_cmpuint(mode_of(f.c, 1), ==, 06755);

	g_assert_cmpint(p9c_attach(f.c, 10, P9_NOFID, "", "", 1000, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 10, 11, "sx", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 11, P9L_WRONLY, NULL, NULL), ==, 0);
	write_one(f.c, 11);
	g_assert_cmpuint(mode_of(f.c, 1), ==, 0755);
	/* Set again through another fid: the next write notices. */
	set_mode(f.c, 1, 06755);
	write_one(f.c, 11);
	g_assert_cmpuint(mode_of(f.c, 1), ==, 0755);
	/* Set-group-ID without group-execute is mandatory locking: kept. */
	set_mode(f.c, 1, 06745);
	write_one(f.c, 11);
	g_assert_cmpuint(mode_of(f.c, 1), ==, 02745);
	pfx_stop(&f);
}

static int last_offset_cb(const struct p9_dirent *de, void *opaque)
{
	*(uint64_t *)opaque = de->offset;
	return 0;
}

/*
 * A batch that met the directory's end makes the read that follows it
 * at the same offset empty without asking the filesystem (an entry
 * created in between is not listed: the synthetic driver would list it),
 * once only: the next read there lists afresh and finds it.
 */
static void t_readdir_end(void)
{
	struct pfx f;
	uint8_t buf[8192];
	uint64_t end = 0, off;
	uint32_t n;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDONLY | P9L_DIRECTORY, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_readdir(f.c, 1, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpuint(n, >, 0);
	g_assert_cmpint(p9c_parse_dirents(buf, n, last_offset_cb, &end), ==, 0);
	g_assert_cmpint(p9c_lcreate(f.c, 2, "late", P9L_RDWR, 0644, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_readdir(f.c, 1, end, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpint(p9c_readdir(f.c, 1, end, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpuint(n, >, 0);
	off = end;
	g_assert_cmpint(p9c_parse_dirents(buf, n, last_offset_cb, &off), ==, 0);
	g_assert_cmpuint(off, !=, end);
	/* A batch cut short by count says nothing about the end. */
	g_assert_cmpint(p9c_readdir(f.c, 1, 0, 64, buf, &n), ==, 0);
	g_assert_cmpuint(n, >, 0);
	g_assert_cmpint(p9c_parse_dirents(buf, n, last_offset_cb, &off), ==, 0);
	g_assert_cmpint(p9c_readdir(f.c, 1, off, 64, buf, &n), ==, 0);
	g_assert_cmpuint(n, >, 0);
	pfx_stop(&f);
}

/* The worker: the backend's child. */
static pid_t worker_of(pid_t monitor)
{
	pid_t w = 0;

	for (int i = 0; i < 100 && (w = x9p_proc_child(monitor)) <= 0; i++)
		g_usleep(50000);
	g_assert_cmpint(w, >, 0);
	return w;
}

/* Threads of pid named after a unix-socket connection ("unix:N"). */
static int conn_threads(pid_t pid)
{
	char *dir = g_strdup_printf("/proc/%d/task", (int)pid);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *tid;
	int n = 0;

	g_assert_nonnull(d);
	while ((tid = g_dir_read_name(d))) {
		char *path = g_strdup_printf("%s/%s/comm", dir, tid), *comm = NULL;

		if (g_file_get_contents(path, &comm, NULL, NULL) && g_str_has_prefix(comm, "unix:"))
			n++;
		g_free(comm);
		g_free(path);
	}
	g_dir_close(d);
	g_free(dir);
	return n;
}

/* Waits up to 10 s for count(pid) == want. */
static bool settles(int (*count)(pid_t), pid_t pid, int want)
{
	for (int i = 0; i < 200; i++) {
		if (count(pid) == want)
			return true;
		g_usleep(50000);
	}
	g_printerr("count %d, wanted %d\n", count(pid), want);
	return false;
}

static bool process_gone(pid_t pid)
{
	char *path = g_strdup_printf("/proc/%d", (int)pid);
	bool gone = !g_file_test(path, G_FILE_TEST_EXISTS);

	g_free(path);
	return gone;
}

/*
 * An idle connection gives up its thread (and comes back when the client
 * sends again), also when its last request ran on a pool thread; a client
 * that leaves while parked is noticed and its descriptor released; the
 * daemon stops cleanly and at once with a parked connection.
 */
static void t_idle_park(void)
{
	struct pfx f;
	struct p9_getattr a;
	struct p9c *c2;
	char ver[32];
	uint32_t msize;
	int fds;
	gint64 t0;
	pid_t w;
	int status = -1;

	pfx_start(&f, synth_args, false);
	w = worker_of(f.be.pid);
	g_assert_true(settles(conn_threads, w, 0));
	/* Woken by the request; answered as before. */
	t0 = g_get_monotonic_time();
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	g_assert_cmpuint(a.qid.path, ==, f.root.path);
	/* Back to sleep only after a second of silence. */
	if (g_get_monotonic_time() - t0 < X9P_SOCK_PARK_MS * 1000 / 2)
		g_assert_cmpint(conn_threads(w), ==, 1);
	g_assert_true(settles(conn_threads, w, 0));
	for (int i = 0; i < 3; i++)
		g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	/* Tfsync always runs on a pool thread, whose reply wakes nobody. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 7, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 7, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_fsync(f.c, 7, 0), ==, 0);
	g_assert_true(settles(conn_threads, w, 0));

	fds = x9p_proc_fds(w);
	c2 = pfx_connect(&f);
	g_assert_cmpint(p9c_version(c2, 65536, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_true(settles(conn_threads, w, 0));
	g_assert_cmpint(x9p_proc_fds(w), >, fds);
	p9c_free(c2);
	g_assert_true(settles(x9p_proc_fds, w, fds));
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);

	/* SIGTERM with the connection parked: the worker ends within 3 s
	 * (the monitor would kill it after 10), and the daemon exits 0 (not
	 * if the worker crashed). */
	g_assert_true(settles(conn_threads, w, 0));
	kill(f.be.pid, SIGTERM);
	for (int i = 0; i < 60 && !process_gone(w); i++)
		g_usleep(50000);
	g_assert_true(process_gone(w));
	for (int i = 0; i < 200 && waitpid(f.be.pid, &status, WNOHANG) == 0; i++)
		g_usleep(50000);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	f.be.pid = 0;
	p9c_free(f.c);
	f.c = NULL;
	x9p_backend_stop(&f.be);
}

static void t_locks(void)
{
	struct pfx f;
	struct p9_lock g;

	pfx_start(&f, synth_args, false);
	/* Two fids (two guest descriptors) on one file. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 2, P9L_RDONLY, NULL, NULL), ==, 0);

	g_assert_cmpuint(lock_as(f.c, 1, P9_LOCK_TYPE_WRLCK, 0, 100, 10), ==, P9_LOCK_SUCCESS);
	/* The same owner through another fid: no conflict, it replaces. */
	g_assert_cmpuint(lock_as(f.c, 2, P9_LOCK_TYPE_RDLCK, 50, 10, 10), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(getlock_as(f.c, 2, P9_LOCK_TYPE_WRLCK, 0, 10, 10).type, ==,
			 P9_LOCK_TYPE_UNLCK);
	/* Another owner conflicts, and sees who holds it. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 3, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 3, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 5, 1, 20), ==, P9_LOCK_BLOCKED);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_RDLCK, 55, 1, 20), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 55, 1, 20), ==, P9_LOCK_BLOCKED);
	/* ... but not through the fid the lock was taken with (a shared open file). */
	g_assert_cmpuint(lock_as(f.c, 1, P9_LOCK_TYPE_WRLCK, 5, 1, 30), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(lock_as(f.c, 1, P9_LOCK_TYPE_UNLCK, 5, 1, 30), ==, P9_LOCK_SUCCESS);
	g = getlock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 0, 10, 20);
	g_assert_cmpuint(g.type, ==, P9_LOCK_TYPE_WRLCK);
	g_assert_cmpuint(g.start, ==, 0);
	g_assert_cmpuint(g.length, ==, 50);
	g_assert_cmpuint(g.proc_id, ==, 10);
	/* The Linux client asks with UNLCK: others' write locks are reported... */
	g = getlock_as(f.c, 3, P9_LOCK_TYPE_UNLCK, 0, 10, 20);
	g_assert_cmpuint(g.type, ==, P9_LOCK_TYPE_WRLCK);
	/* ... their read locks are not. */
	g = getlock_as(f.c, 3, P9_LOCK_TYPE_UNLCK, 50, 10, 20);
	g_assert_cmpuint(g.type, ==, P9_LOCK_TYPE_UNLCK);
	/* Unlocking the middle splits the lock: [0,20) and [30,50) remain. */
	g_assert_cmpuint(lock_as(f.c, 1, P9_LOCK_TYPE_UNLCK, 20, 10, 10), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 20, 10, 20), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 19, 1, 20), ==, P9_LOCK_BLOCKED);
	g_assert_cmpuint(lock_as(f.c, 3, P9_LOCK_TYPE_WRLCK, 30, 1, 20), ==, P9_LOCK_BLOCKED);
	/* Owners of another connection conflict too, until it goes away. */
	struct p9c *c2 = pfx_connect(&f);
	char ver[16];
	uint32_t msize;
	g_assert_cmpint(p9c_version(c2, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(c2, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(c2, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(c2, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpuint(lock_as(c2, 1, P9_LOCK_TYPE_WRLCK, 10, 1, 10), ==, P9_LOCK_BLOCKED);
	g_assert_cmpuint(lock_as(c2, 1, P9_LOCK_TYPE_WRLCK, 1000, 0, 10), ==, P9_LOCK_SUCCESS);
	g_assert_cmpuint(lock_as(f.c, 1, P9_LOCK_TYPE_RDLCK, 5000, 1, 10), ==, P9_LOCK_BLOCKED);
	p9c_free(c2);
	/* Once the server has noticed the disconnect, the range is free. */
	uint8_t st = P9_LOCK_BLOCKED;
	for (int i = 0; i < 100 && st == P9_LOCK_BLOCKED; i++) {
		g_usleep(50 * 1000);
		st = lock_as(f.c, 1, P9_LOCK_TYPE_RDLCK, 5000, 1, 10);
	}
	g_assert_cmpuint(st, ==, P9_LOCK_SUCCESS);
	pfx_stop(&f);
}

/* ---- hostile frames ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Builds a frame: header with the true size, then body bytes. */
static size_t frame(uint8_t *buf, uint8_t type, uint16_t tag, const uint8_t *body, size_t len)
{
	put32(buf, (uint32_t)(7 + len));
	buf[4] = type;
	buf[5] = tag & 0xff;
	buf[6] = tag >> 8;
	if (len)
		memcpy(buf + 7, body, len);
	return 7 + len;
}

/* A well-formed client that must keep working while another misbehaves. */
static void check_other_client(struct pfx *f)
{
	struct p9c *c = pfx_connect(f);
	struct p9_getattr a;
	char ver[16];
	uint32_t msize;

	g_assert_cmpint(p9c_version(c, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_getattr(c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	p9c_free(c);
}

/* Sends a body-malformed frame; expects an error reply on its tag. */
static void expect_error(struct pfx *f, uint8_t type, const uint8_t *body, size_t len, uint32_t want)
{
	uint8_t buf[256];
	struct p9c_reply r = { 0 };
	size_t n = frame(buf, type, 500, body, len);

	g_assert_cmpint(p9c_send_raw(f->c, buf, n), ==, 0);
	g_assert_cmpint(p9c_recv(f->c, &r, 5000), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, 500);
	g_assert_cmpint(r.m.type, ==, P9_RLERROR);
	if (want)
		g_assert_cmpuint(r.m.u.rlerror.ecode, ==, want);
	p9c_reply_clear(&r);
}

static void t_malformed_bodies(void)
{
	struct pfx f;
	/* Twalk fid 0 newfid 1 nwname 17 */
	uint8_t walk17[10] = { 0, 0, 0, 0, 1, 0, 0, 0, 17, 0 };
	/* Twalk with one name whose length runs past the frame */
	uint8_t walklong[14] = { 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 200, 0, 'a', 'b' };
	/* Twalk with a name containing NUL */
	uint8_t walknul[15] = { 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 3, 0, 'a', 0, 'b' };
	/* Twalk with a name containing '/' */
	uint8_t walkslash[15] = { 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 3, 0, 'a', '/', 'b' };
	/* Twrite fid 1 offset 0 count 0x7fffffff with 4 bytes of data */
	uint8_t writehuge[20] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4 };
	/* Tgetattr truncated: fid only, no mask */
	uint8_t getattr_short[4] = { 0, 0, 0, 0 };
	/* Tclunk with trailing garbage */
	uint8_t clunk_trailing[6] = { 0, 0, 0, 0, 9, 9 };
	/* Tmkdir name "." */
	uint8_t mkdir_dot[15] = { 0, 0, 0, 0, 1, 0, '.', 0xed, 1, 0, 0, 0, 0, 0, 0 };

	pfx_start(&f, synth_args, false);
	expect_error(&f, P9_TWALK, walk17, sizeof(walk17), EINVAL);
	expect_error(&f, P9_TWALK, walklong, sizeof(walklong), 0);
	expect_error(&f, P9_TWALK, walknul, sizeof(walknul), 0);
	expect_error(&f, P9_TWALK, walkslash, sizeof(walkslash), ENOENT);
	expect_error(&f, P9_TWRITE, writehuge, sizeof(writehuge), 0);
	expect_error(&f, P9_TGETATTR, getattr_short, sizeof(getattr_short), 0);
	expect_error(&f, P9_TCLUNK, clunk_trailing, sizeof(clunk_trailing), 0);
	expect_error(&f, P9_TMKDIR, mkdir_dot, sizeof(mkdir_dot), EINVAL);
	expect_error(&f, 250, NULL, 0, EOPNOTSUPP);
	expect_error(&f, P9_RREAD, NULL, 0, EOPNOTSUPP);
	/* The same connection still works, and so does a fresh one. */
	struct p9_getattr a;
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	check_other_client(&f);
	pfx_stop(&f);
}

/* One request whose handler answers it early (unknown fid, bad name); the
 * reply must be the error and the daemon must live on.  Such handlers used
 * to read their request after answering it, a use after free. */
static void rpc_err(struct pfx *f, struct p9_msg *m, int want)
{
	struct p9c_reply r = { 0 };

	g_assert_cmpint(p9c_rpc(f->c, m, &r), ==, -want);
	p9c_reply_clear(&r);
}

static void t_early_replies(void)
{
	struct pfx f;
	struct p9_getattr a;
	uint32_t msize;
	char ver[32];

	pfx_start(&f, synth_args, false);
	for (int round = 0; round < 40; round++) {
		struct p9_msg m = { 0 };

		m.type = P9_TREAD;
		m.u.tread.fid = 77;
		m.u.tread.count = 100;
		rpc_err(&f, &m, ENOENT);
		m.type = P9_TREADDIR;
		rpc_err(&f, &m, ENOENT);
		memset(&m, 0, sizeof(m));
		m.type = P9_TLOCK;
		m.u.tlock.fid = 77;
		m.u.tlock.lock.client_id = p9_str_c("c");
		rpc_err(&f, &m, ENOENT);
		m.type = P9_TGETLOCK;
		rpc_err(&f, &m, ENOENT);
		memset(&m, 0, sizeof(m));
		m.type = P9_TRENAME;
		m.u.trename.fid = 0;
		m.u.trename.dfid = 0;
		m.u.trename.name = p9_str_c("..");
		rpc_err(&f, &m, EINVAL);
		m.u.trename.dfid = 77;
		m.u.trename.name = p9_str_c("x");
		rpc_err(&f, &m, ENOENT);
	}
	g_assert_cmpint(p9c_getattr(f.c, 0, P9_GETATTR_BASIC, &a), ==, 0);
	/* 9P2000.u: Twstat of an unknown fid. */
	g_assert_cmpint(p9c_version(f.c, 65536, "9P2000.u", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(f.c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	for (int round = 0; round < 40; round++) {
		struct p9_msg m = { 0 };

		m.type = P9_TWSTAT;
		m.u.twstat.fid = 77;
		memset(&m.u.twstat.stat, 0xff, sizeof(m.u.twstat.stat));
		m.u.twstat.stat.name = m.u.twstat.stat.uid = m.u.twstat.stat.gid = p9_str_c("");
		m.u.twstat.stat.muid = m.u.twstat.stat.extension = p9_str_c("");
		rpc_err(&f, &m, ENOENT);
	}
	check_other_client(&f);
	pfx_stop(&f);
}

/*
 * A client that pipelines big reads and never reads its replies holds up
 * only itself: another client is served at once, and the non-reader is
 * disconnected once its replies have waited --reply-timeout seconds.
 * (Workers used to block in sendmsg() on its full socket, all of them.)
 */
static void t_nonreader(void)
{
	static const char *const args[] = { "--synthetic", "--workers=4", "--reply-timeout=3", NULL };
	static uint8_t data[60000];
	struct pfx f;
	struct p9c *other;
	struct p9_getattr a;
	struct p9c_reply r = { 0 };
	uint32_t msize, n;
	char ver[16];
	gint64 t0;
	int rc, got;

	pfx_start(&f, args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, data, sizeof(data), &n), ==, 0);
	/* 200 reads of 60000 bytes: far more than a socket buffer takes. */
	for (int tag = 1; tag <= 200; tag++) {
		struct p9_msg m = { .type = P9_TREAD };

		m.u.tread.fid = 1;
		m.u.tread.count = sizeof(data);
		g_assert_cmpint(p9c_send(f.c, &m, tag), ==, tag);
	}
	g_usleep(300 * 1000);

	other = pfx_connect(&f);
	p9c_set_timeout(other, 2000);
	t0 = g_get_monotonic_time();
	g_assert_cmpint(p9c_version(other, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(other, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	for (int i = 0; i < 20; i++)
		g_assert_cmpint(p9c_getattr(other, 0, P9_GETATTR_BASIC, &a), ==, 0);
	g_test_message("other client served in %" G_GINT64_FORMAT " ms",
		       (g_get_monotonic_time() - t0) / 1000);

	/* Past the timeout the non-reader's connection is closed: its stream
	 * ends after the replies that made it out, well short of 200. */
	g_usleep(5 * G_USEC_PER_SEC);
	got = 0;
	while ((rc = p9c_recv(f.c, &r, 5000)) == 0) {
		got++;
		p9c_reply_clear(&r);
	}
	p9c_reply_clear(&r);
	g_test_message("%d replies before the end of the stream (%s)", got, g_strerror(-rc));
	g_assert_cmpint(rc, !=, -ETIMEDOUT);
	g_assert_cmpint(got, <, 200);
	g_assert_cmpint(p9c_getattr(other, 0, P9_GETATTR_BASIC, &a), ==, 0);
	p9c_free(other);
	pfx_stop(&f);
}

/*
 * A client that pipelines more big reads than the reply queue may hold
 * (X9P_SOCK_MAX_QUEUED) and reads them late still gets every reply: its
 * requests are not read while the replies of those in flight could pass
 * half the limit, so the queue never reaches it.  (Without that budget the
 * connection was closed for queueing too much.)
 */
static void t_slow_reader(void)
{
	static const char *const args[] = { "--synthetic", "--workers=4", NULL };
	static uint8_t big[X9P_SOCK_MAX_MSIZE];
	const unsigned nreads = 2 * (X9P_SOCK_MAX_QUEUED >> 20);
	struct p9c_reply r = { 0 };
	uint32_t msize, n, count;
	unsigned got = 0;
	char ver[32];
	struct pfx f;
	int rc = 0;

	pfx_start(&f, args, true);
	g_assert_cmpint(p9c_version(f.c, X9P_SOCK_MAX_MSIZE, "9P2000.L", &msize, ver, sizeof(ver)),
			==, 0);
	count = msize - P9_IOHDR_SIZE;
	g_assert_cmpint(p9c_attach(f.c, 0, P9_NOFID, "", "", 0, NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_write(f.c, 1, 0, big, count, &n), ==, 0);
	for (unsigned tag = 1; tag <= nreads; tag++) {
		struct p9_msg m = { .type = P9_TREAD };

		m.u.tread.fid = 1;
		m.u.tread.count = count;
		g_assert_cmpint(p9c_send(f.c, &m, (int)tag), ==, (int)tag);
	}
	g_usleep(2 * G_USEC_PER_SEC);   /* the server queues what it will */
	while (got < nreads && (rc = p9c_recv(f.c, &r, 10000)) == 0) {
		g_assert_cmpint(r.m.type, ==, P9_RREAD);
		g_assert_cmpuint(r.m.u.rread.count, ==, count);
		got++;
		p9c_reply_clear(&r);
	}
	p9c_reply_clear(&r);
	g_test_message("%u of %u reads of %u bytes answered (%s)", got, nreads, count,
		       rc ? g_strerror(-rc) : "ok");
	g_assert_cmpuint(got, ==, nreads);
	pfx_stop(&f);
}

/* Tlock: its status, or -errno for an error reply. */
static int lock_rpc(struct pfx *f, uint8_t type, uint64_t start, uint64_t len, const char *cid)
{
	struct p9_msg m = { .type = P9_TLOCK };
	struct p9c_reply r = { 0 };
	int rc;

	m.u.tlock.fid = 1;
	m.u.tlock.lock.type = type;
	m.u.tlock.lock.start = start;
	m.u.tlock.lock.length = len;
	m.u.tlock.lock.proc_id = 7;
	m.u.tlock.lock.client_id = p9_str_c(cid);
	rc = p9c_rpc(f->c, &m, &r);
	if (rc == 0)
		rc = r.m.u.rlock.status;
	p9c_reply_clear(&r);
	return rc;
}

/* Per-session bounds on lock records and pending xattr values. */
static void t_session_limits(void)
{
	static const char *const args[] = { "--synthetic", "--max-locks=8", "--max-xattr-bytes=1000",
					    NULL };
	char longid[300];
	struct pfx f;

	pfx_start(&f, args, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, NULL, NULL), ==, 0);
	for (uint64_t i = 0; i < 8; i++)
		g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_WRLCK, i * 10, 5, "c"), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_WRLCK, 200, 5, "c"), ==, -ENOLCK);
	/* at the limit an unlock that would split a lock in two is refused... */
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_UNLCK, 11, 1, "c"), ==, -ENOLCK);
	/* ... one that removes or trims is not, and frees room */
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_UNLCK, 10, 5, "c"), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_UNLCK, 20, 1, "c"), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_WRLCK, 200, 5, "c"), ==, P9_LOCK_SUCCESS);
	/* a lock over one's own locks replaces them */
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_RDLCK, 0, 0, "c"), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_WRLCK, 1000, 5, "c"), ==, P9_LOCK_SUCCESS);
	/* a client_id longer than any node name is refused */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	g_assert_cmpint(lock_rpc(&f, P9_LOCK_TYPE_WRLCK, 5000, 5, longid), ==, P9_LOCK_ERROR);

	/* xattr values waiting for their Twrite/Tclunk */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 3, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_xattrcreate(f.c, 2, "user.a", 600, 0), ==, 0);
	g_assert_cmpint(p9c_xattrcreate(f.c, 3, "user.b", 600, 0), ==, -ENOSPC);
	/* the value was never written: the clunk reports it, and frees the fid */
	g_assert_cmpint(p9c_clunk(f.c, 2), ==, -EINVAL);
	g_assert_cmpint(p9c_xattrcreate(f.c, 3, "user.b", 600, 0), ==, 0);
	check_other_client(&f);
	pfx_stop(&f);
}

static int version_of(struct p9c *c)
{
	uint32_t msize;
	char ver[16];

	return p9c_version(c, 8192, "9P2000.L", &msize, ver, sizeof(ver));
}

/*
 * Idle connections cannot lock others out.  When all --max-connections are
 * taken, the oldest connection that has sent no Tversion for
 * --version-timeout seconds is closed to admit a newcomer (one that is
 * merely slow while there is room keeps its connection); and one peer (here:
 * our uid) holds at most --max-connections-per-peer of them.
 */
static void t_connection_fairness(void)
{
	static const char *const evict_args[] = { "--synthetic", "--version-timeout=1",
						  "--max-connections=3",
						  "--max-connections-per-peer=8", NULL };
	static const char *const peer_args[] = { "--synthetic", "--max-connections=8",
						 "--max-connections-per-peer=3", NULL };
	struct p9c *c[4];
	struct pfx f;
	int rc;

	pfx_start(&f, evict_args, true);   /* f.c: connected, silent */
	g_usleep(1500 * 1000);
	for (int i = 0; i < 4; i++) {
		c[i] = pfx_connect(&f);
		p9c_set_timeout(c[i], 3000);
		if (i < 2)   /* room: the silent one stays */
			g_assert_cmpint(version_of(c[i]), ==, 0);
	}
	/* c[2] came when all three were taken: the silent one made room */
	g_assert_cmpint(version_of(c[2]), ==, 0);
	rc = version_of(f.c);
	g_test_message("the silent connection's Tversion: %s", g_strerror(-rc));
	g_assert_cmpint(rc, <, 0);
	/* all three negotiated: a fourth is refused */
	g_assert_cmpint(version_of(c[3]), <, 0);
	for (int i = 0; i < 4; i++)
		p9c_free(c[i]);
	pfx_stop(&f);

	pfx_start(&f, peer_args, false);
	for (int i = 0; i < 4; i++) {
		c[i] = pfx_connect(&f);
		p9c_set_timeout(c[i], 3000);
	}
	/* f.c and two more of ours are served, a fourth is refused */
	for (int i = 0; i < 2; i++)
		g_assert_cmpint(version_of(c[i]), ==, 0);
	g_assert_cmpint(version_of(c[2]), <, 0);
	/* closing one makes room (once the server has reaped it) */
	p9c_free(c[0]);
	p9c_free(c[2]);
	rc = -1;
	for (int tries = 0; tries < 50 && rc != 0; tries++) {
		g_usleep(100 * 1000);
		c[0] = pfx_connect(&f);
		p9c_set_timeout(c[0], 3000);
		rc = version_of(c[0]);
		if (rc != 0)
			p9c_free(c[0]);
	}
	g_assert_cmpint(rc, ==, 0);
	p9c_free(c[0]);
	p9c_free(c[1]);
	p9c_free(c[3]);
	pfx_stop(&f);
}

/* Frame-level faults cost the sender its connection, nothing more. */
static void bad_frame(const uint8_t *bytes, size_t len)
{
	struct pfx f;
	struct p9c_reply r = { 0 };
	int rc;

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_send_raw(f.c, bytes, len), ==, 0);
	rc = p9c_recv(f.c, &r, 5000);
	g_assert_true(rc == -ECONNRESET || rc == -EPROTO);
	p9c_reply_clear(&r);
	check_other_client(&f);
	pfx_stop(&f);
}

static void t_frame_too_small(void)
{
	uint8_t b[7] = { 6, 0, 0, 0, P9_TCLUNK, 1, 0 };
	bad_frame(b, sizeof(b));
}

static void t_frame_over_msize(void)
{
	uint8_t b[7] = { 0, 0, 0, 0x10, P9_TWRITE, 1, 0 }; /* 256 MiB */
	bad_frame(b, sizeof(b));
}

static void t_truncated_then_close(void)
{
	struct pfx f;
	uint8_t b[9] = { 100, 0, 0, 0, P9_TWRITE, 1, 0, 1, 2 };

	pfx_start(&f, synth_args, false);
	g_assert_cmpint(p9c_send_raw(f.c, b, sizeof(b)), ==, 0);
	shutdown(p9c_fd(f.c), SHUT_WR); /* the frame never completes */
	check_other_client(&f);
	pfx_stop(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proto/version/renegotiate", t_renegotiate);
	g_test_add_func("/proto/version/msize-clamp", t_msize_clamp);
	g_test_add_func("/proto/fid-limit", t_fid_limit);
	g_test_add_func("/proto/duplicate-tag", t_duplicate_tag);
	g_test_add_func("/proto/out-of-order", t_out_of_order);
	g_test_add_func("/proto/many-clients", t_many_clients);
	g_test_add_func("/proto/locks", t_locks);
	g_test_add_func("/proto/readdir-end", t_readdir_end);
	g_test_add_func("/proto/idle-park", t_idle_park);
	g_test_add_func("/proto/kill-privs", t_kill_privs);
	g_test_add_func("/proto/malformed/bodies", t_malformed_bodies);
	g_test_add_func("/proto/malformed/early-replies", t_early_replies);
	g_test_add_func("/proto/nonreader", t_nonreader);
	g_test_add_func("/proto/slow-reader", t_slow_reader);
	g_test_add_func("/proto/session-limits", t_session_limits);
	g_test_add_func("/proto/connection-fairness", t_connection_fairness);
	g_test_add_func("/proto/malformed/frame-too-small", t_frame_too_small);
	g_test_add_func("/proto/malformed/frame-over-msize", t_frame_over_msize);
	g_test_add_func("/proto/malformed/truncated-then-close", t_truncated_then_close);
	return g_test_run();
}
