// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost --vfio-user: its worker killed, and the program reloaded
 * (SIGHUP), under a client that goes on as QEMU's vfio-user-pci does (it
 * never reconnects): the monitor holds the connection with the function's
 * set-up and the session's journal, and the next worker goes on presenting
 * the same function.  On the real x9p-vhost, worker and helper, a real
 * export, the client of tests/vhost/vfuc.h (QEMU and the guest driver).
 *   session  fids and an open file go on after two kills, without a new
 *            Tversion; the interrupts still arrive (the vector eventfds
 *            were handed over) and the configuration space reads as the
 *            client left it;
 *   reload   SIGHUP three times: the same process, the same session.
 */
#include "vfuc.h"

static char *export_dir;

static void start(struct vfuc *c)
{
	const char *args[] = { "--export", export_dir, "--security-model=passthrough",
			       "--tag=mytag", "--stop-grace=2000", NULL };

	vfuc_spawn(c, args);
	vfuc_up(c);
}

/* Replaced `times` times: SIGKILL to the worker, or SIGHUP to x9p-vhost. */
static void replaced(bool reload, int times)
{
	struct vfuc c;
	char got[64];
	uint64_t irqs;

	start(&c);
	g_assert_cmpint(vuf_walk(&c.f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&c.f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	for (int i = 0; i < times; i++) {
		pid_t w = x9p_proc_find(c.f.pid, "x9p-worker");

		g_assert_cmpint(w, >, 0);
		g_assert_cmpint(kill(reload ? c.f.pid : w, reload ? SIGHUP : SIGKILL), ==, 0);
		c.worker = x9p_proc_await(c.f.pid, "x9p-worker", w);
		g_assert_cmpint(c.worker, >, 0);
		irqs = vfuc_irqs(&c, 1);
		/* No Tversion: the fids are the old session's. */
		g_assert_cmpint(vuf_read_text(&c.f, 1, got, sizeof(got)), ==, P9_RREAD);
		g_assert_cmpstr(got, ==, "hello\n");
		g_assert_cmpint(vuf_walk(&c.f, 2 + i, "file"), ==, P9_RWALK);
		/* The queue's vector still reaches the client. */
		g_assert_cmpuint(irqs + vfuc_irqs(&c, 1), >, 0);
		/* The driver's settings, as it left them. */
		g_assert_cmphex(vfuc_rd(&c, 0, 0x14, 1), ==, 0x0f);
	}
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

static void t_session(void)
{
	replaced(false, 2);
}

static void t_reload(void)
{
	replaced(true, 3);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	export_dir = vuf_export_new();
	if (!export_dir)
		return 0;
	g_test_add_func("/vfu-revive/session", t_session);
	g_test_add_func("/vfu-revive/reload", t_reload);
	rc = g_test_run();
	vuf_export_free(export_dir);
	return rc;
}
