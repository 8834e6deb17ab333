// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-backend's socket worker killed under clients that go on as if
 * nothing happened: the monitor holds each connection with its two pipes,
 * and the next worker takes the connections and their sessions over
 * (socket/stream.h).  The real x9p-backend, its worker and helper, a real
 * export, real unix-socket connections.
 *   session    fids and an open file go on after two kills, on the same
 *              connection, without a new Tversion, for two clients;
 *   in-flight  a Tmkdir the dead worker had taken (its helper stopped, so
 *              it never ran) runs in the next worker and is answered once;
 *   partial    a request half sent when the worker dies, the rest after:
 *              answered as one;
 *   pipelined  Twrites of 256 KiB sent in a burst, the worker killed under
 *              them: every one answered, the file as written;
 *   closed     a connection closed by its client is let go: after a kill
 *              the backend holds no more descriptors than before it;
 *   fd         an inherited connection (a virtconsole's socket pair) across
 *              kills and a reload; the daemon ends when its client goes;
 *   fd-unkept  one that cannot be journaled (a pseudo-terminal) ends the
 *              daemon when its worker dies, rather than being served again
 *              from the middle of its stream;
 *   reload     SIGHUP: x9p-backend executes itself again in the same
 *              process and the new program's worker goes on with the
 *              connection and session, three times, a request in flight
 *              during the last; the listener is there again;
 *   loop       for 4 s the worker killed every 30 to 120 ms (once it has
 *              served) under a client walking, creating, writing, reading
 *              and removing: every call answered, every byte read back as
 *              written.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "backend-proc.h"
#include "p9client.h"
#include "procinfo.h"

static char *export_dir;

struct fx {
	struct x9p_backend_proc be;
	struct p9c *c;
};

static struct p9c *client(struct fx *f, uint32_t root_fid)
{
	struct p9_qid qid;
	char ver[32];
	uint32_t msize;
	int err = 0;
	struct p9c *c = p9c_connect(f->be.addr, &err);

	g_assert_nonnull(c);
	p9c_set_timeout(c, 30000);
	g_assert_cmpint(p9c_version(c, 1 << 20, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(c, root_fid, P9_NOFID, "root", "", 0, &qid), ==, 0);
	return c;
}

static void start(struct fx *f)
{
	const char *args[] = { "--export", export_dir, "--security-model", "passthrough", NULL };

	g_assert_true(x9p_backend_start(&f->be, args));
	f->c = client(f, 0);
}

static void stop(struct fx *f)
{
	p9c_free(f->c);
	g_assert_true(x9p_backend_alive(&f->be));
	x9p_backend_stop(&f->be);
}

/* Kills the worker (and with helpers its helper); returns once the
 * monitor has started the next one. */
static void kill_worker(struct fx *f, bool helpers)
{
	pid_t w = x9p_proc_find(f->be.pid, "x9p-worker");

	g_assert_cmpint(w, >, 0);
	g_assert_cmpint(kill(w, SIGKILL), ==, 0);
	if (helpers)
		x9p_proc_signal(f->be.pid, "x9p-helper", SIGKILL);
	g_assert_cmpint(x9p_proc_await(f->be.pid, "x9p-worker", w), >, 0);
}

static void read_text(struct p9c *c, uint32_t fid, const char *want)
{
	char buf[256];
	uint32_t got = 0;

	g_assert_cmpint(p9c_read(c, fid, 0, sizeof(buf) - 1, buf, &got), ==, 0);
	buf[got] = 0;
	g_assert_cmpstr(buf, ==, want);
}

static void write_file(const char *name, const char *text)
{
	char *p = g_build_filename(export_dir, name, NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	g_free(p);
}

static void t_session(void)
{
	struct fx f;
	struct p9c *c2;
	struct p9_qid qid;
	uint32_t iounit, n;

	write_file("file", "hello\n");
	start(&f);
	c2 = client(&f, 0);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDWR, &qid, &iounit), ==, 0);
	g_assert_cmpint(p9c_walk_path(c2, 0, 1, "file", NULL), ==, 0);
	for (int i = 0; i < 2; i++) {
		kill_worker(&f, false);
		/* The same connections, no Tversion: the old sessions' fids. */
		read_text(f.c, 1, "hello\n");
		g_assert_cmpint(p9c_walk_path(f.c, 0, 2 + i, "file", NULL), ==, 0);
		g_assert_cmpint(p9c_walk_path(c2, 1, 2 + i, NULL, NULL), ==, 0);
	}
	g_assert_cmpint(p9c_write(f.c, 1, 0, "HE", 2, &n), ==, 0);
	kill_worker(&f, true);
	read_text(f.c, 1, "HEllo\n");
	p9c_free(c2);
	stop(&f);
}

static void t_in_flight(void)
{
	struct p9_msg m = { .type = P9_TMKDIR };
	struct p9c_reply r = { 0 };
	char *dir = g_build_filename(export_dir, "made-in-flight", NULL);
	struct stat st;
	struct fx f;

	rmdir(dir);
	start(&f);
	/* The helper frozen: the worker takes the request and waits. */
	g_assert_cmpuint(x9p_proc_signal(f.be.pid, "x9p-helper", SIGSTOP), >, 0);
	m.u.tmkdir.dfid = 0;
	m.u.tmkdir.name = p9_str_c("made-in-flight");
	m.u.tmkdir.mode = 0755;
	g_assert_cmpint(p9c_send(f.c, &m, 77), ==, 77);
	g_usleep(300000);
	g_assert_cmpint(stat(dir, &st), !=, 0);
	kill_worker(&f, true);
	g_assert_cmpint(p9c_recv(f.c, &r, 20000), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RMKDIR);
	g_assert_cmpuint(r.m.tag, ==, 77);
	p9c_reply_clear(&r);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	/* Answered once: nothing more comes. */
	g_assert_cmpint(p9c_recv(f.c, &r, 300), ==, -ETIMEDOUT);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 5, "made-in-flight", NULL), ==, 0);
	stop(&f);
	rmdir(dir);
	g_free(dir);
}

static void t_partial(void)
{
	struct p9_msg m = { .type = P9_TWALK, .tag = 9 };
	struct p9c_reply r = { 0 };
	uint8_t buf[256];
	struct fx f;
	int len;

	write_file("file", "hello\n");
	start(&f);
	m.u.twalk.fid = 0;
	m.u.twalk.newfid = 7;
	m.u.twalk.nwname = 1;
	m.u.twalk.wname[0] = p9_str_c("file");
	len = p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m);
	g_assert_cmpint(len, >, 10);
	g_assert_cmpint(p9c_send_raw(f.c, buf, 6), ==, 0);
	/* The first bytes reach the worker (and its inbox) before it dies. */
	g_usleep(200000);
	kill_worker(&f, false);
	g_assert_cmpint(p9c_send_raw(f.c, buf + 6, (size_t)len - 6), ==, 0);
	g_assert_cmpint(p9c_recv(f.c, &r, 20000), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RWALK);
	g_assert_cmpuint(r.m.tag, ==, 9);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_lopen(f.c, 7, P9L_RDONLY, NULL, NULL), ==, 0);
	read_text(f.c, 7, "hello\n");
	stop(&f);
}

#define CHUNK (256u * 1024)
#define NCHUNK 8

static void t_pipelined(void)
{
	struct fx f;
	uint8_t *data = g_malloc(CHUNK * NCHUNK);
	char *path = g_build_filename(export_dir, "big", NULL), *got;
	gsize glen;
	struct p9_qid qid;
	uint32_t iounit;
	bool seen[NCHUNK] = { false };

	for (size_t i = 0; i < CHUNK * NCHUNK; i++)
		data[i] = (uint8_t)(i * 7 + i / 4093);
	unlink(path);
	start(&f);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 3, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(f.c, 3, "big", P9L_RDWR, 0644, 0, &qid, &iounit), ==, 0);
	for (unsigned i = 0; i < NCHUNK; i++) {
		struct p9_msg m = { .type = P9_TWRITE };

		m.u.twrite.fid = 3;
		m.u.twrite.offset = (uint64_t)i * CHUNK;
		m.u.twrite.count = CHUNK;
		m.u.twrite.data = data + (size_t)i * CHUNK;
		g_assert_cmpint(p9c_send(f.c, &m, 100 + (int)i), ==, 100 + (int)i);
		if (i == NCHUNK / 2)
			kill_worker(&f, false);
	}
	for (unsigned i = 0; i < NCHUNK; i++) {
		struct p9c_reply r = { 0 };

		g_assert_cmpint(p9c_recv(f.c, &r, 30000), ==, 0);
		g_assert_cmpuint(r.m.type, ==, P9_RWRITE);
		g_assert_cmpuint(r.m.tag, >=, 100);
		g_assert_cmpuint(r.m.tag, <, 100 + NCHUNK);
		g_assert_false(seen[r.m.tag - 100]);
		seen[r.m.tag - 100] = true;
		g_assert_cmpuint(r.m.u.rwrite.count, ==, CHUNK);
		p9c_reply_clear(&r);
	}
	g_assert_cmpint(p9c_fsync(f.c, 3, 0), ==, 0);
	g_assert_true(g_file_get_contents(path, &got, &glen, NULL));
	g_assert_cmpuint(glen, ==, CHUNK * NCHUNK);
	g_assert_true(memcmp(got, data, glen) == 0);
	g_free(got);
	stop(&f);
	unlink(path);
	g_free(path);
	g_free(data);
}

static void t_closed(void)
{
	struct fx f;
	struct p9c *c2;
	int before;

	start(&f);
	/* Settled: the first client's connection is kept. */
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, NULL, NULL), ==, 0);
	before = x9p_proc_fds(f.be.pid);
	c2 = client(&f, 0);
	g_assert_cmpint(p9c_walk_path(c2, 0, 1, NULL, NULL), ==, 0);
	g_assert_cmpint(x9p_proc_fds(f.be.pid), >, before);
	p9c_free(c2);
	/* The worker lets the monitor know; the monitor closes its copies. */
	for (int i = 0; i < 100 && x9p_proc_fds(f.be.pid) > before; i++)
		g_usleep(20000);
	g_assert_cmpint(x9p_proc_fds(f.be.pid), ==, before);
	kill_worker(&f, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 2, NULL, NULL), ==, 0);
	g_assert_cmpint(x9p_proc_fds(f.be.pid), ==, before);
	stop(&f);
}

static void t_reload(void)
{
	struct p9_msg m = { .type = P9_TWALK };
	struct p9c_reply r = { 0 };
	struct fx f;
	struct p9_qid qid;
	struct p9c *c2;
	uint32_t iounit;

	write_file("file", "hello\n");
	start(&f);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDONLY, &qid, &iounit), ==, 0);
	for (int i = 0; i < 3; i++) {
		pid_t w = x9p_proc_find(f.be.pid, "x9p-worker");

		g_assert_cmpint(w, >, 0);
		if (i == 2) {
			/* In flight while the program is replaced. */
			m.u.twalk.fid = 0;
			m.u.twalk.newfid = 20;
			m.u.twalk.nwname = 1;
			m.u.twalk.wname[0] = p9_str_c("file");
			g_assert_cmpint(p9c_send(f.c, &m, 55), ==, 55);
		}
		g_assert_cmpint(kill(f.be.pid, SIGHUP), ==, 0);
		/* The same process, a new program and its new worker. */
		g_assert_cmpint(x9p_proc_await(f.be.pid, "x9p-worker", w), >, 0);
		g_assert_true(x9p_backend_alive(&f.be));
		read_text(f.c, 1, "hello\n");
		g_assert_cmpint(p9c_walk_path(f.c, 0, 2 + i, "file", NULL), ==, 0);
	}
	g_assert_cmpint(p9c_recv(f.c, &r, 20000), ==, 0);
	g_assert_cmpuint(r.m.type, ==, P9_RWALK);
	g_assert_cmpuint(r.m.tag, ==, 55);
	p9c_reply_clear(&r);
	g_assert_cmpint(p9c_clunk(f.c, 20), ==, 0);
	/* The listener is there again for new clients. */
	c2 = client(&f, 0);
	g_assert_cmpint(p9c_walk_path(c2, 0, 1, "file", NULL), ==, 0);
	p9c_free(c2);
	stop(&f);
}

/* The daemon's exit status once it ends by itself (within 10 s), or -1. */
static int await_end(struct fx *f)
{
	int st;

	for (int i = 0; i < 500; i++) {
		if (waitpid(f->be.pid, &st, WNOHANG) == f->be.pid) {
			f->be.pid = 0;  /* reaped: nothing for x9p_backend_stop to do */
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		g_usleep(20000);
	}
	return -1;
}

/*
 * An inherited connection ("fd:N"): a socket pair, as a virtconsole's, or
 * with tty a pseudo-terminal in raw mode (a character device: its bytes
 * cannot pass through pipes, so it is served without a journal).
 */
static void start_fd(struct fx *f, bool tty)
{
	const char *args[] = { "--export", export_dir, "--security-model", "passthrough",
			       "--listen", NULL, NULL };
	struct p9_qid qid;
	char ver[32], fdarg[32];
	uint32_t msize;
	int sv[2];

	/* Only the backend's end is inherited: the client's closing must be
	 * an end of stream there. */
	if (tty) {
		struct termios t;

		sv[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		g_assert_cmpint(sv[0], >=, 0);
		g_assert_cmpint(grantpt(sv[0]), ==, 0);
		g_assert_cmpint(unlockpt(sv[0]), ==, 0);
		sv[1] = open(ptsname(sv[0]), O_RDWR | O_NOCTTY);
		g_assert_cmpint(sv[1], >=, 0);
		g_assert_cmpint(tcgetattr(sv[1], &t), ==, 0);
		cfmakeraw(&t);
		g_assert_cmpint(tcsetattr(sv[1], TCSANOW, &t), ==, 0);
	} else {
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
		g_assert_cmpint(fcntl(sv[1], F_SETFD, 0), ==, 0);
	}
	snprintf(fdarg, sizeof(fdarg), "fd:%d", sv[1]);
	args[5] = fdarg;
	g_assert_true(x9p_backend_start(&f->be, args));
	close(sv[1]);
	f->c = p9c_new_fd(sv[0]);
	p9c_set_timeout(f->c, 30000);
	g_assert_cmpint(p9c_version(f->c, 1 << 20, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpint(p9c_attach(f->c, 0, P9_NOFID, "root", "", 0, &qid), ==, 0);
}

static void t_fd(void)
{
	struct fx f;
	struct p9_qid qid;
	uint32_t iounit;

	write_file("file", "hello\n");
	start_fd(&f, false);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(f.c, 1, P9L_RDONLY, &qid, &iounit), ==, 0);
	kill_worker(&f, false);
	read_text(f.c, 1, "hello\n");
	/* Through the exec too: the connection is kept under its number. */
	{
		pid_t w = x9p_proc_find(f.be.pid, "x9p-worker");

		g_assert_cmpint(kill(f.be.pid, SIGHUP), ==, 0);
		g_assert_cmpint(x9p_proc_await(f.be.pid, "x9p-worker", w), >, 0);
	}
	read_text(f.c, 1, "hello\n");
	kill_worker(&f, false);
	read_text(f.c, 1, "hello\n");
	/* The client goes: so does the daemon, as before. */
	p9c_free(f.c);
	g_assert_cmpint(await_end(&f), ==, 0);
	x9p_backend_stop(&f.be);
}

static void t_fd_unkept(void)
{
	struct fx f;
	pid_t w;

	start_fd(&f, true);
	g_assert_cmpint(p9c_walk_path(f.c, 0, 1, NULL, NULL), ==, 0);
	w = x9p_proc_find(f.be.pid, "x9p-worker");
	g_assert_cmpint(w, >, 0);
	g_assert_cmpint(kill(w, SIGKILL), ==, 0);
	/* Not kept: serving it again would start in the middle of its
	 * stream; the daemon ends with it instead. */
	g_assert_cmpint(await_end(&f), ==, 1);
	p9c_free(f.c);
	x9p_backend_stop(&f.be);
}

struct killer {
	struct fx *f;
	gint stop;
	gint rounds;                /* the client's, so far */
	unsigned kills;
};

static gpointer killer_thread(gpointer data)
{
	struct killer *k = data;
	gint seen = -1;

	while (!g_atomic_int_get(&k->stop)) {
		pid_t w = x9p_proc_find(k->f->be.pid, "x9p-worker");

		g_usleep((gulong)g_random_int_range(30000, 120000));
		/* Each worker serves a round at least (however slow it starts). */
		if (g_atomic_int_get(&k->rounds) == seen)
			continue;
		seen = g_atomic_int_get(&k->rounds);
		if (w > 0 && kill(w, SIGKILL) == 0) {
			k->kills++;
			x9p_proc_await(k->f->be.pid, "x9p-worker", w);
		}
	}
	return NULL;
}

static void t_loop(void)
{
	struct fx f;
	struct killer k = { .f = &f };
	GThread *t;
	gint64 end;
	unsigned rounds = 0;

	start(&f);
	t = g_thread_new("killer", killer_thread, &k);
	end = g_get_monotonic_time() + 4 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < end) {
		char name[32], text[64], back[64];
		struct p9_qid qid;
		uint32_t iounit, n, got = 0;

		snprintf(name, sizeof(name), "loop-%u", rounds);
		snprintf(text, sizeof(text), "round %u of the loop", rounds);
		g_assert_cmpint(p9c_walk_path(f.c, 0, 10, NULL, NULL), ==, 0);
		g_assert_cmpint(p9c_lcreate(f.c, 10, name, P9L_RDWR | P9L_TRUNC, 0644, 0, &qid,
					    &iounit), ==, 0);
		g_assert_cmpint(p9c_write(f.c, 10, 0, text, strlen(text), &n), ==, 0);
		g_assert_cmpuint(n, ==, strlen(text));
		g_assert_cmpint(p9c_read(f.c, 10, 0, sizeof(back) - 1, back, &got), ==, 0);
		back[got] = 0;
		g_assert_cmpstr(back, ==, text);
		g_assert_cmpint(p9c_clunk(f.c, 10), ==, 0);
		g_assert_cmpint(p9c_unlinkat(f.c, 0, name, 0), ==, 0);
		rounds++;
		g_atomic_int_set(&k.rounds, (gint)rounds);
	}
	g_atomic_int_set(&k.stop, 1);
	g_thread_join(t);
	g_test_message("%u rounds, %u workers killed", rounds, k.kills);
	g_assert_cmpuint(k.kills, >=, 10);
	g_assert_cmpuint(rounds, >=, 20);
	stop(&f);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	export_dir = g_dir_make_tmp("x9p-sock-revive-XXXXXX", NULL);
	g_assert_nonnull(export_dir);
	g_test_add_func("/socket-revive/session", t_session);
	g_test_add_func("/socket-revive/in-flight", t_in_flight);
	g_test_add_func("/socket-revive/partial", t_partial);
	g_test_add_func("/socket-revive/pipelined", t_pipelined);
	g_test_add_func("/socket-revive/closed", t_closed);
	g_test_add_func("/socket-revive/reload", t_reload);
	g_test_add_func("/socket-revive/fd", t_fd);
	g_test_add_func("/socket-revive/fd-unkept", t_fd_unkept);
	g_test_add_func("/socket-revive/loop", t_loop);
	rc = g_test_run();
	{
		char *cmd = g_strdup_printf("rm -rf '%s'", export_dir);

		if (system(cmd) != 0)
			rc = rc ? rc : 1;
		g_free(cmd);
	}
	g_free(export_dir);
	return rc;
}
