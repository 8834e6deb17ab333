// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 9P through the rings of the real x9p-backend on the simulated Xen:
 * the InitWait keys, a Linux-like frontend (9P2000.L over two rings,
 * replies on the request's ring, many requests in flight on one ring
 * answered out of order, Tflush, large zero-copy reads and writes across
 * ring and 32-bit index wrap-around) and a Mini-OS-like one (9P2000.u on
 * one ring, a repeated Tversion keeps fids, replies as large as the ring).
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "sim.h"

static const char *const synth_args[] = { "--synthetic", NULL };

static void test_initwait_keys(void)
{
	struct sim *s = sim_new();
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .path = "/srv/share",
			     .secmodel = "none", .tag = "share" };
	char *v;

	hv_domain_create(s->hv, 5, "guest5");
	g_assert_true(sim_backend_start(s, synth_args));
	sim_add_device(s, &d);
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 0, 2));
	v = sim_be_read(s, "9pfs", 5, 0, "versions");
	g_assert_cmpstr(v, ==, "1");
	g_free(v);
	v = sim_be_read(s, "9pfs", 5, 0, "max-rings");
	g_assert_cmpint(atoi(v), >=, 2);
	g_free(v);
	v = sim_be_read(s, "9pfs", 5, 0, "max-ring-page-order");
	g_assert_cmpstr(v, ==, "9");
	g_free(v);
	sim_free(s);
}

static void test_linux_rings(void)
{
	struct sim *s = sim_new();
	struct fe *fe;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_cmpuint(fe_nrings(fe), ==, 2);
	g_assert_cmpuint(fe_ring(fe, 0)->order, ==, 9);
	g_assert_true(sim_9p_works(fe));
	/* Tversion (NOTAG) went on ring 1, the rest on 0 and 1 by tag; the
	 * pump counts a reply on any other ring as a violation. */
	g_assert_cmpuint(fe_replies_on(fe, 1), >, 0);
	g_assert_cmpuint(fe_replies_on(fe, 0), >, 0);
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	fe_free(fe);
	sim_free(s);
}

/*
 * The device's rings are mapped and served by a worker of its own, named
 * after the device and confined (tests/lib/proctree.sh says what that
 * means).
 */
static void test_worker_confined(void)
{
	struct sim *s = sim_new();
	struct fe *fe;
	char *cmd, *out = NULL, *err = NULL;
	int status = -1;

	if (geteuid() != 0) {
		g_test_skip("needs root: workers run as another user");
		sim_free(s);
		return;
	}
	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	cmd = g_strdup_printf(". tests/lib/proctree.sh && proctree_print %d && "
			      "proctree_check_workers %d && pgrep -P %d -f '^x9p-backend: worker dom5/9pfs/'",
			      (int)s->be_pid, (int)s->be_pid, (int)s->be_pid);
	g_assert_true(g_spawn_sync(NULL, (char *[]){ "sh", "-c", cmd, NULL }, NULL,
				   G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, NULL));
	if (g_test_verbose() || status != 0)
		g_printerr("%s%s", out, err);
	g_assert_cmpint(status, ==, 0);
	g_free(cmd);
	g_free(out);
	g_free(err);
	fe_free(fe);
	sim_free(s);
}

static void recv_tag(struct p9c *c, uint16_t tag, uint8_t type)
{
	struct p9c_reply r = { 0 };

	g_assert_cmpint(p9c_recv(c, &r, SIM_HANG_MS), ==, 0);
	g_assert_cmpuint(r.m.tag, ==, tag);
	g_assert_cmpuint(r.m.type, ==, type);
	p9c_reply_clear(&r);
}

static void test_out_of_order(void)
{
	struct sim *s = sim_new();
	struct fe *fe;
	struct p9c *c;
	struct p9_msg m = { 0 };
	struct p9c_reply r1 = { 0 }, r2 = { 0 };

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	g_assert_cmpint(p9c_walk_path(c, 1, 3, "blocker", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, 1, 4, "ctl", NULL), ==, 0);

	/* Even tags: all on ring 0.  Tlopen of /blocker stays in flight ... */
	m.type = P9_TLOPEN;
	m.u.tlopen.fid = 3;
	m.u.tlopen.flags = O_RDONLY;
	g_assert_cmpint(p9c_send(c, &m, 2), ==, 2);
	/* ... while a later request on the same ring is answered first. */
	memset(&m, 0, sizeof(m));
	m.type = P9_TGETATTR;
	m.u.tgetattr.fid = 1;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	g_assert_cmpint(p9c_send(c, &m, 4), ==, 4);
	recv_tag(c, 4, P9_RGETATTR);
	/* Releasing the blocker answers the first one. */
	memset(&m, 0, sizeof(m));
	m.type = P9_TMKDIR;
	m.u.tmkdir.dfid = 4;
	m.u.tmkdir.name = p9_str_c("release");
	m.u.tmkdir.mode = 0755;
	g_assert_cmpint(p9c_send(c, &m, 6), ==, 6);
	g_assert_cmpint(p9c_recv(c, &r1, SIM_HANG_MS), ==, 0);
	g_assert_cmpint(p9c_recv(c, &r2, SIM_HANG_MS), ==, 0);
	g_assert_cmpuint(r1.m.tag + r2.m.tag, ==, 8);
	p9c_reply_clear(&r1);
	p9c_reply_clear(&r2);
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	p9c_free(c);
	fe_free(fe);
	sim_free(s);
}

static void test_flush(void)
{
	struct sim *s = sim_new();
	struct fe *fe;
	struct p9c *c;
	struct p9_msg m = { 0 };

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_LINUX, 5);
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	g_assert_cmpint(p9c_walk_path(c, 1, 3, "blocker", NULL), ==, 0);
	m.type = P9_TLOPEN;
	m.u.tlopen.fid = 3;
	m.u.tlopen.flags = O_RDONLY;
	g_assert_cmpint(p9c_send(c, &m, 7), ==, 7);
	g_assert_cmpint(p9c_flush(c, 7), ==, 0);
	p9c_free(c);
	g_assert_true(sim_9p_works(fe));
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	fe_free(fe);
	sim_free(s);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 9));
}

static void test_large_io_wrap(void)
{
	struct sim *s = sim_new();
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .path = "/srv/share",
			     .secmodel = "none" };
	/* Indices start just below 2^32: they wrap during the test. */
	struct fe_opts o = { .kind = FE_LINUX, .domid = 5, .devid = 0,
			     .start_index = 0xfffe0000u };
	const uint32_t chunk = 120000, rounds = 24;
	uint8_t *w = g_malloc(chunk), *rd = g_malloc(chunk);
	struct p9_qid qid;
	struct fe *fe;
	struct p9c *c;
	uint32_t iounit = 0, n;

	g_assert_true(sim_backend_start(s, synth_args));
	hv_domain_create(s->hv, 5, "guest5");
	sim_add_device(s, &d);
	fe = sim_frontend_with(s, &o);
	g_assert_nonnull(fe);
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	g_assert_cmpint(p9c_walk_path(c, 1, 2, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(c, 2, "large", O_RDWR | O_CREAT, 0644, 0, &qid, &iounit), ==, 0);
	for (uint32_t i = 0; i < rounds; i++) {
		fill(w, chunk, i);
		g_assert_cmpint(p9c_write(c, 2, (uint64_t)i * chunk, w, chunk, &n), ==, 0);
		g_assert_cmpuint(n, ==, chunk);
	}
	for (uint32_t i = 0; i < rounds; i++) {
		fill(w, chunk, i);
		g_assert_cmpint(p9c_read(c, 2, (uint64_t)i * chunk, chunk, rd, &n), ==, 0);
		g_assert_cmpuint(n, ==, chunk);
		g_assert_cmpmem(rd, chunk, w, chunk);
	}
	/* More than 2^32 - start bytes went through ring 0 and ring 1 both ways. */
	g_assert_cmpuint(fe_load(fe_ring(fe, 0)->intf, FE_OUT_PROD), <, 0xfffe0000u);
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	p9c_free(c);
	fe_free(fe);
	g_free(w);
	g_free(rd);
	sim_free(s);
}

static void test_minios(void)
{
	struct sim *s = sim_new();
	struct fe *fe;
	struct p9c *c;
	char buf[64];
	uint32_t n = 0, msize = 0;
	char ver[16];

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_MINIOS, 7);
	g_assert_nonnull(fe);
	g_assert_cmpuint(fe_nrings(fe), ==, 1);
	g_assert_cmpuint(fe_ring(fe, 0)->order, ==, 4);
	c = sim_client(fe, "9P2000.u", 0);
	g_assert_nonnull(c);
	g_assert_cmpuint(p9c_msize(c), ==, 16384);
	g_assert_cmpint(p9c_walk_path(c, 0, 1, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_open(c, 1, P9_OREAD, NULL, NULL), ==, 0);

	/* Live update: Tversion again, no Tattach; fid 0 and the open fid 1 stay. */
	g_assert_cmpint(p9c_version(c, 16384, "9P2000.u", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "9P2000.u");
	g_assert_cmpint(p9c_read(c, 1, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpmem(buf, n, "hello, world\n", 13);
	g_assert_cmpint(p9c_walk_path(c, 0, 2, "dir", NULL), ==, 0);
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	p9c_free(c);
	fe_free(fe);
	sim_free(s);
}

static void test_ring_sized_replies(void)
{
	struct sim *s = sim_new();
	struct fe *fe;
	struct p9c *c;
	uint32_t msize = 0, iounit = 0, n, ring, count;
	char ver[16];
	struct p9_qid qid;
	uint8_t *w, *rd;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = sim_guest(s, FE_MINIOS, 7);
	g_assert_nonnull(fe);
	ring = fe_ring(fe, 0)->size;
	c = p9c_new_fd(fe_socket(fe));
	p9c_set_timeout(c, SIM_HANG_MS);
	/* Like Unikraft: msize = the whole ring. */
	g_assert_cmpint(p9c_version(c, ring, "9P2000.u", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpuint(msize, ==, ring);
	g_assert_cmpint(p9c_attach(c, 0, P9_NOFID, "root", "", 0, &qid), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, 0, 1, "", NULL), ==, 0);
	g_assert_cmpint(p9c_create(c, 1, "f", 0644, P9_ORDWR, "", &qid, &iounit), ==, 0);
	count = ring - 23;
	w = g_malloc(count);
	rd = g_malloc(count);
	for (int i = 0; i < 8; i++) {
		fill(w, count, (unsigned)i);
		g_assert_cmpint(p9c_write(c, 1, 0, w, count, &n), ==, 0);
		g_assert_cmpuint(n, ==, count);
		/* An Rread of ring - 11 + 11 bytes: exactly the whole ring. */
		g_assert_cmpint(p9c_read(c, 1, 0, ring - 11, rd, &n), ==, 0);
		g_assert_cmpuint(n, ==, count);
		g_assert_cmpmem(rd, count, w, count);
	}
	g_assert_cmpuint(fe_violations(fe), ==, 0);
	g_free(w);
	g_free(rd);
	p9c_free(c);
	fe_free(fe);
	sim_free(s);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/xen/9p/initwait-keys", test_initwait_keys);
	g_test_add_func("/xen/9p/linux-rings", test_linux_rings);
	g_test_add_func("/xen/9p/worker-confined", test_worker_confined);
	g_test_add_func("/xen/9p/out-of-order", test_out_of_order);
	g_test_add_func("/xen/9p/flush", test_flush);
	g_test_add_func("/xen/9p/large-io-wrap", test_large_io_wrap);
	g_test_add_func("/xen/9p/minios", test_minios);
	g_test_add_func("/xen/9p/ring-sized-replies", test_ring_sized_replies);
	return g_test_run();
}
