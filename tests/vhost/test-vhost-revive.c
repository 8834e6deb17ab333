// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost's worker killed under a frontend that goes on as if nothing
 * happened (as QEMU does: the monitor holds the connection, so it sees
 * none end): the next worker takes over the connection with its set-up
 * and the session from the journal.  On the real x9p-vhost, its worker and
 * helper, and a real export.
 *   session    fids and an open file go on after two kills, without a new
 *              Tversion, on the same connection, rings and eventfds;
 *   in-flight  a Tmkdir the dead worker had taken (its helper stopped, so
 *              it never ran) runs in the next worker and is answered;
 *   reset      a frontend that went away for good ended the session: a
 *              new one, after a kill too, gets none of its fids;
 *   reload     SIGHUP: x9p-vhost executes itself again in the same process
 *              and its new worker goes on with the connection and session,
 *              three times, a request in flight during the last.
 */
#include <sys/stat.h>

#include "procinfo.h"
#include "vuf.h"

static char *export_dir;

static void start(struct vuf *f)
{
	const char *args[] = { "--export", export_dir, "--security-model=passthrough",
			       "--tag=mytag", NULL };

	vuf_start(f, args, 64, ~0ull);
}

/* Kills the worker (and with helpers its helper, frozen or not). */
static pid_t kill_worker(struct vuf *f, bool helpers)
{
	pid_t w = x9p_proc_find(f->pid, "x9p-worker");

	g_assert_cmpint(w, >, 0);
	g_assert_cmpint(kill(w, SIGKILL), ==, 0);
	if (helpers)
		x9p_proc_signal(f->pid, "x9p-helper", SIGKILL);
	/* The monitor starts the next one at once. */
	g_assert_cmpint(x9p_proc_await(f->pid, "x9p-worker", w), >, 0);
	return w;
}

static void t_session(void)
{
	struct vuf f;
	char got[64];

	start(&f);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	for (int i = 0; i < 2; i++) {
		kill_worker(&f, false);
		/* No Tversion: the fids are the old session's. */
		g_assert_cmpint(vuf_read_text(&f, 1, got, sizeof(got)), ==, P9_RREAD);
		g_assert_cmpstr(got, ==, "hello\n");
		g_assert_cmpint(vuf_walk(&f, 2 + i, "file"), ==, P9_RWALK);
	}
	g_assert_true(vuf_alive(&f));
	vuf_stop(&f);
}

static void t_in_flight(void)
{
	struct p9_msg m = { .type = P9_TMKDIR }, r;
	char *dir = g_build_filename(export_dir, "made-in-flight", NULL);
	struct stat st;
	struct vuf f;
	uint64_t in;
	uint16_t head;
	uint32_t id, len;
	uint8_t *buf;

	rmdir(dir);
	start(&f);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, NULL), ==, P9_RWALK);
	/* The helper frozen: the worker takes the request and waits. */
	g_assert_cmpuint(x9p_proc_signal(f.pid, "x9p-helper", SIGSTOP), >, 0);
	m.tag = 77;
	m.u.tmkdir.dfid = 1;
	m.u.tmkdir.name = p9_str_c("made-in-flight");
	m.u.tmkdir.mode = 0755;
	head = vuf_post(&f, &m, &in);
	vuf_kick(&f);
	g_usleep(300000);
	g_assert_cmpint(stat(dir, &st), !=, 0);
	kill_worker(&f, true);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, head);
	g_assert_cmpint(vuf_decode(&f, in, len, &r, &buf), ==, P9_RMKDIR);
	g_assert_cmpuint(r.tag, ==, 77);
	g_free(buf);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	/* The session goes on. */
	g_assert_cmpint(vuf_walk(&f, 2, "made-in-flight"), ==, P9_RWALK);
	vuf_stop(&f);
	rmdir(dir);
	g_free(dir);
}

static void t_reset(void)
{
	struct vuf f;

	start(&f);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	/* The VMM goes away for good; a new one starts its own driver. */
	vuf_disconnect(&f);
	vuf_connect(&f);
	vuf_handshake(&f, ~0ull);
	f.next_desc = 0;
	kill_worker(&f, false);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLERROR);
	vuf_stop(&f);
}

static void t_reload(void)
{
	struct p9_msg m = { .type = P9_TREAD }, r;
	struct vuf f;
	char got[64];
	uint64_t in = 0;
	uint16_t head = 0;
	uint32_t id, len;
	uint8_t *buf;

	start(&f);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	for (int i = 0; i < 3; i++) {
		pid_t w = x9p_proc_find(f.pid, "x9p-worker");

		g_assert_cmpint(w, >, 0);
		if (i == 2) {
			/* Posted just before: answered by one worker or the other. */
			m.tag = 91;
			m.u.tread.fid = 1;
			m.u.tread.count = 64;
			head = vuf_post(&f, &m, &in);
			vuf_kick(&f);
		}
		g_assert_cmpint(kill(f.pid, SIGHUP), ==, 0);
		g_assert_cmpint(x9p_proc_await(f.pid, "x9p-worker", w), >, 0);
		if (i == 2) {
			g_assert_true(vuf_wait_used(&f, &id, &len));
			g_assert_cmpuint(id, ==, head);
			g_assert_cmpint(vuf_decode(&f, in, len, &r, &buf), ==, P9_RREAD);
			g_assert_cmpuint(r.tag, ==, 91);
			g_free(buf);
		}
		g_assert_cmpint(vuf_read_text(&f, 1, got, sizeof(got)), ==, P9_RREAD);
		g_assert_cmpstr(got, ==, "hello\n");
	}
	/* The same process all along. */
	g_assert_true(vuf_alive(&f));
	vuf_stop(&f);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	export_dir = vuf_export_new();
	if (!export_dir)
		return 0;
	g_test_add_func("/vhost-revive/session", t_session);
	g_test_add_func("/vhost-revive/in-flight", t_in_flight);
	g_test_add_func("/vhost-revive/reset", t_reset);
	g_test_add_func("/vhost-revive/reload", t_reload);
	rc = g_test_run();
	vuf_export_free(export_dir);
	return rc;
}
