// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device life cycle of the real x9p-backend on the simulated Xen: close
 * and reconnect, libxl's removal, a guest that dies, a daemon restart
 * while guests run (crash and clean stop), invalid devices, several
 * devices side by side, and a backend in a driver domain.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sim.h"

static const char *const synth_args[] = { "--synthetic", NULL };

/* Nothing of domain dom is mapped or bound by the backend any more. */
struct released {
	unsigned dom;
};

static bool dom_released(struct hv *hv, void *arg)
{
	struct released *r = arg;

	return hv_mapped_pages(hv, r->dom) == 0 && hv_bound_channels(hv, r->dom) == 0;
}

static bool wait_released(struct sim *s, unsigned dom)
{
	struct released r = { dom };

	return hv_wait(s->hv, dom_released, &r, SIM_HANG_MS);
}

static void test_close_reconnect(void)
{
	struct sim *s = sim_new();
	struct fe *fe;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_cmpuint(hv_mapped_pages(s->hv, 5), >, 0);
	g_assert_cmpuint(hv_bound_channels(s->hv, 5), ==, 2);
	g_assert_true(sim_9p_works(fe));

	/* Frontend Closing -> backend Closing -> frontend Closed -> backend Closed. */
	fe_close(fe);
	g_assert_true(fe_wait_state(fe, 6, SIM_HANG_MS));
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 0, 6));
	g_assert_true(wait_released(s, 5));

	/* Initialising again -> InitWait -> connected again, 9P works. */
	fe_reconnect(fe);
	g_assert_true(fe_wait_state(fe, 4, SIM_HANG_MS));
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 0, 4));
	g_assert_true(sim_9p_works(fe));
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	fe_free(fe);
	sim_free(s);
}

static void test_libxl_remove(void)
{
	struct sim *s = sim_new();
	struct fe *fe, *fe2;
	char *be;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	/* libxl waits 10 s for Closed after online=0 + Closing. */
	g_assert_true(sim_remove_device(s, "9pfs", 5, 0));
	g_assert_true(wait_released(s, 5));
	fe_free(fe);
	be = sim_be_path(s, "9pfs", 5, 0);
	g_assert_false(hv_exists(s->hv, be));

	/* The same device number can be used again. */
	{
		struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .path = "/srv/x",
				     .secmodel = "none" };

		sim_add_device(s, &d);
	}
	fe2 = sim_frontend(s, FE_LINUX, 5, 0);
	g_assert_nonnull(fe2);
	g_assert_true(sim_9p_works(fe2));
	fe_free(fe2);
	g_free(be);
	sim_free(s);
}

struct gone {
	struct sim *s;
	const char *path;
};

static void test_guest_dies(void)
{
	struct sim *s = sim_new();
	struct fe *a, *b;
	char *be;

	g_assert_true(sim_backend_start(s, synth_args));
	a = sim_guest(s, FE_LINUX, 5);
	b = sim_guest(s, FE_LINUX, 6);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_true(sim_9p_works(a));

	/* Domain 5 dies without closing anything. */
	hv_domain_destroy(s->hv, 5);
	be = sim_be_path(s, "9pfs", 5, 0);
	g_assert_true(hv_wait_value(s->hv, be, NULL, SIM_HANG_MS));
	g_assert_true(wait_released(s, 5));
	fe_free(a);

	/* Nothing else was disturbed. */
	g_assert_true(sim_backend_alive(s));
	g_assert_true(sim_9p_works(b));
	g_assert_cmpuint(fe_violations(b), ==, 0);
	fe_free(b);
	g_free(be);
	sim_free(s);
}

/* The x9p-session key, once the daemon's main loop has written it. */
static char *wait_session_key(struct sim *s)
{
	for (int i = 0; i < SIM_HANG_MS / 10; i++) {
		char *v = sim_be_read(s, "9pfs", 5, 0, "x9p-session");

		if (v)
			return v;
		g_usleep(10000);
	}
	return NULL;
}

static bool dom_mapped(struct hv *hv, void *arg)
{
	return hv_mapped_pages(hv, *(unsigned *)arg) > 0;
}

/*
 * A daemon restart while a guest is connected: the device stays Connected
 * throughout, the new daemon takes the same rings over, the guest's old
 * fids get ESTALE (never a hang), and a new mount on the same rings works.
 * A clean stop first answers what is in flight: a request blocked in the
 * filesystem is interrupted (EINTR), not dropped.
 */
static void restart(int sig)
{
	struct sim *s = sim_new();
	struct p9_msg t = { .type = P9_TLOPEN };
	struct p9c_reply rep = { 0 };
	struct p9_getattr ga;
	unsigned dom = 5;
	struct fe *fe;
	struct p9c *c;
	char *v, *want;
	int status, tag = -1;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	g_assert_cmpint(p9c_walk_path(c, 1, 2, "file", NULL), ==, 0);
	v = wait_session_key(s);
	want = g_strdup_printf("9P2000.L %u", p9c_msize(c));
	g_assert_cmpstr(v, ==, want);
	g_free(v);
	g_free(want);

	if (sig == SIGTERM) {
		g_assert_cmpint(p9c_walk_path(c, 1, 3, "blocker", NULL), ==, 0);
		t.u.tlopen.fid = 3;
		tag = p9c_send(c, &t, P9C_AUTOTAG);
		g_assert_cmpint(tag, >=, 0);
		g_usleep(200000);
	}
	status = sim_backend_stop(s, sig);
	g_assert_cmpint(status, ==, sig == SIGTERM ? 0 : 128 + SIGKILL);
	if (sig == SIGTERM) {
		g_assert_cmpint(p9c_recv(c, &rep, 5000), ==, 0);
		g_assert_cmpint(rep.m.tag, ==, tag);
		g_assert_cmpint(p9c_reply_errno(c, &rep), ==, -EINTR);
		p9c_reply_clear(&rep);
	}
	/* The dead process's mappings are gone, as the kernel would drop them;
	 * the device was left Connected on both sides. */
	g_assert_true(wait_released(s, 5));
	g_assert_cmpint(fe_state(fe), ==, 4);
	v = sim_be_read(s, "9pfs", 5, 0, "state");
	g_assert_cmpstr(v, ==, "4");
	g_free(v);

	/* A new daemon takes the same rings over. */
	g_assert_true(sim_backend_start(s, synth_args));
	g_assert_true(hv_wait(s->hv, dom_mapped, &dom, SIM_HANG_MS));
	g_assert_cmpint(p9c_getattr(c, 2, P9_GETATTR_BASIC, &ga), ==, -ESTALE);
	g_assert_cmpint(p9c_walk_path(c, 1, 4, "file", NULL), ==, -ESTALE);
	p9c_free(c);
	g_assert_true(sim_9p_works(fe));
	g_assert_cmpint(fe_state(fe), ==, 4);
	v = sim_be_read(s, "9pfs", 5, 0, "state");
	g_assert_cmpstr(v, ==, "4");
	g_free(v);
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	fe_free(fe);
	sim_free(s);
}

static void test_restart_crash(void)
{
	restart(SIGKILL);
}

static void test_restart_clean(void)
{
	restart(SIGTERM);
}

static void test_restart_initwait(void)
{
	struct sim *s = sim_new();
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .path = "/srv/share",
			     .secmodel = "none" };
	struct fe *fe;

	hv_domain_create(s->hv, 5, "guest5");
	g_assert_true(sim_backend_start(s, synth_args));
	sim_add_device(s, &d);
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 0, 2));
	g_assert_cmpint(sim_backend_stop(s, SIGTERM), ==, 0);
	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_frontend(s, FE_LINUX, 5, 0);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	fe_free(fe);
	sim_free(s);
}

static void expect_invalid(struct sim *s, unsigned devid, const char *what)
{
	char *err;

	g_assert_true(sim_wait_be_state(s, "9pfs", 5, devid, 6));
	err = sim_be_read(s, "9pfs", 5, devid, "error");
	g_assert_nonnull(err);
	if (!strstr(err, what))
		g_error("error node '%s' does not mention '%s'", err, what);
	g_free(err);
}

static void test_invalid_devices(void)
{
	struct sim *s = sim_new();
	struct sim_dev rel = { .kind = "9pfs", .domid = 5, .devid = 1, .path = "srv/share",
			       .secmodel = "none" };
	struct sim_dev dots = { .kind = "9pfs", .domid = 5, .devid = 2, .path = "/srv/../etc",
				.secmodel = "none" };
	struct sim_dev model = { .kind = "9pfs", .domid = 5, .devid = 3, .path = "/srv/share",
				 .secmodel = "bogus" };
	struct sim_dev nopath = { .kind = "9pfs", .domid = 5, .devid = 4, .secmodel = "none" };
	const char *const badlimit[] = { "max-files", "lots", NULL };
	struct sim_dev limit = { .kind = "9pfs", .domid = 5, .devid = 5, .path = "/srv/share",
				 .secmodel = "none", .extra = badlimit };
	struct fe *fe;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	sim_add_device(s, &rel);
	sim_add_device(s, &dots);
	sim_add_device(s, &model);
	sim_add_device(s, &nopath);
	sim_add_device(s, &limit);
	expect_invalid(s, 1, "absolute");
	expect_invalid(s, 2, "..");
	expect_invalid(s, 3, "security_model");
	expect_invalid(s, 4, "path");
	expect_invalid(s, 5, "max-files");

	/* A frontend-id that does not match the directory it sits in. */
	{
		const char *const wrong[] = { "frontend-id", "7", NULL };
		struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 6, .path = "/srv/share",
				     .secmodel = "none", .extra = wrong };

		sim_add_device(s, &d);
		expect_invalid(s, 6, "frontend-id");
	}
	/* None of this disturbed the working device or the daemon. */
	g_assert_true(sim_backend_alive(s));
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 0, 4));
	g_assert_true(sim_9p_works(fe));
	fe_free(fe);
	sim_free(s);
}

static void test_many_devices(void)
{
	struct sim *s = sim_new();
	struct sim_dev d1 = { .kind = "9pfs", .domid = 5, .devid = 1, .path = "/srv/b",
			      .secmodel = "none" };
	struct fe *a, *b, *c;
	struct p9c *ca, *cb;
	struct p9_qid qid;
	uint16_t nw = 0;
	const char *name[] = { "only-in-a" };

	g_assert_true(sim_backend_start(s, synth_args));
	a = sim_guest(s, FE_LINUX, 5);
	sim_add_device(s, &d1);
	b = sim_frontend(s, FE_LINUX, 5, 1);
	c = sim_guest(s, FE_MINIOS, 6);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_nonnull(c);

	/* Each device has its own filesystem. */
	ca = sim_client(a, "9P2000.L", 1);
	cb = sim_client(b, "9P2000.L", 1);
	g_assert_nonnull(ca);
	g_assert_nonnull(cb);
	g_assert_cmpint(p9c_mkdir(ca, 1, "only-in-a", 0755, 0, &qid), ==, 0);
	g_assert_cmpint(p9c_walk(ca, 1, 2, 1, name, &nw, NULL), ==, 0);
	g_assert_cmpuint(nw, ==, 1);
	nw = 0;
	p9c_walk(cb, 1, 2, 1, name, &nw, NULL);
	g_assert_cmpuint(nw, ==, 0);
	p9c_free(ca);
	p9c_free(cb);
	g_assert_true(sim_9p_works(c));
	g_assert_cmpuint(fe_violations(a) + fe_violations(b) + fe_violations(c), ==, 0);
	fe_free(a);
	fe_free(b);
	fe_free(c);
	sim_free(s);
}

static void test_driver_domain(void)
{
	struct sim *s = sim_new();
	struct fe *fe;

	/* The backend runs unprivileged in domain 3 and serves its own tree. */
	s->be_dom = 3;
	hv_domain_create(s->hv, 3, "driver");
	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	g_assert_true(hv_exists(s->hv, "/local/domain/3/backend/9pfs/5/0/state"));
	g_assert_true(sim_remove_device(s, "9pfs", 5, 0));
	fe_free(fe);
	sim_free(s);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/xen/lifecycle/close-reconnect", test_close_reconnect);
	g_test_add_func("/xen/lifecycle/libxl-remove", test_libxl_remove);
	g_test_add_func("/xen/lifecycle/guest-dies", test_guest_dies);
	g_test_add_func("/xen/lifecycle/restart-crash", test_restart_crash);
	g_test_add_func("/xen/lifecycle/restart-clean", test_restart_clean);
	g_test_add_func("/xen/lifecycle/restart-initwait", test_restart_initwait);
	g_test_add_func("/xen/lifecycle/invalid-devices", test_invalid_devices);
	g_test_add_func("/xen/lifecycle/many-devices", test_many_devices);
	g_test_add_func("/xen/lifecycle/driver-domain", test_driver_domain);
	return g_test_run();
}
