// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hostile frontends against the real x9p-backend on the simulated Xen:
 * bad ring indices, request sizes below a header, above the ring or above
 * msize, a ring_order above 9, a grant never given, too many rings, a
 * reply consumer index ahead of the producer.  Each time only that device
 * fails (error node, Closing, then Closed once the frontend let go, and
 * its memory released); the daemon and another guest's device go on.
 * The same when the device's worker is killed.  Also: a request published
 * in pieces is waited for, not misread.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

#include "sim.h"

static const char *const synth_args[] = { "--synthetic", NULL };

struct bed {
	struct sim *s;
	struct fe *good;             /* domain 6, Linux-like, must keep working */
	struct fe *bad;              /* domain 5 */
};

static void bed_start(struct bed *b, const struct fe_opts *bad, bool wait_connected)
{
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .path = "/srv/share",
			     .secmodel = "none" };
	struct fe_opts o = *bad;

	b->s = sim_new();
	g_assert_true(sim_backend_start(b->s, synth_args));
	b->good = sim_guest(b->s, FE_LINUX, 6);
	g_assert_nonnull(b->good);
	hv_domain_create(b->s->hv, 5, "hostile");
	sim_add_device(b->s, &d);
	o.domid = 5;
	o.devid = 0;
	if (wait_connected) {
		b->bad = sim_frontend_with(b->s, &o);
		g_assert_nonnull(b->bad);
	} else {
		o.backend_domid = 0;
		b->bad = fe_new(b->s->hv, &o);
	}
}

struct released {
	unsigned dom;
};

static bool dom_released(struct hv *hv, void *arg)
{
	struct released *r = arg;

	return hv_mapped_pages(hv, r->dom) == 0 && hv_bound_channels(hv, r->dom) == 0;
}

/* The hostile device failed alone, with an error naming `what`. */
static void bed_expect_fault(struct bed *b, const char *what)
{
	struct released r = { 5 };
	char *err;

	g_assert_true(sim_wait_be_closing(b->s, "9pfs", 5, 0));
	err = sim_be_read(b->s, "9pfs", 5, 0, "error");
	g_assert_nonnull(err);
	if (!strstr(err, what))
		g_error("error node '%s' does not mention '%s'", err, what);
	g_free(err);
	/* The frontend lets go on Closing; then the backend is Closed. */
	g_assert_true(fe_wait_state(b->bad, 6, SIM_HANG_MS));
	g_assert_true(sim_wait_be_state(b->s, "9pfs", 5, 0, 6));
	g_assert_true(hv_wait(b->s->hv, dom_released, &r, SIM_HANG_MS));

	g_assert_true(sim_backend_alive(b->s));
	g_assert_true(sim_wait_be_state(b->s, "9pfs", 6, 0, 4));
	g_assert_true(sim_9p_works(b->good));
	g_assert_cmpuint(fe_violations(b->good), ==, 0);
}

static void bed_end(struct bed *b)
{
	fe_free(b->bad);
	fe_free(b->good);
	sim_free(b->s);
}

/* Raw request bytes at the producer index of ring i, then a kick. */
static void raw_put(struct fe *fe, unsigned i, const void *buf, uint32_t len, uint32_t publish)
{
	struct fe_ring *r = fe_ring(fe, i);
	uint32_t prod = fe_load(r->intf, FE_OUT_PROD);
	uint8_t *out = r->data + r->size;
	uint32_t off = prod & (r->size - 1);
	uint32_t first = MIN(len, r->size - off);

	memcpy(out + off, buf, first);
	memcpy(out, (const uint8_t *)buf + first, len - first);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	fe_store(r->intf, FE_OUT_PROD, prod + publish);
	fe_kick(fe, i);
}

static uint32_t tversion(uint8_t *buf, size_t len, uint32_t msize)
{
	struct p9_msg m = { .type = P9_TVERSION, .tag = P9_NOTAG };

	m.u.version.msize = msize;
	m.u.version.version = p9_str_c("9P2000.L");
	return (uint32_t)p9_encode(buf, len, P9_DIALECT_2000L, &m);
}

static void test_producer_index(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true };
	struct bed b;
	struct fe_ring *r;

	bed_start(&b, &o, true);
	r = fe_ring(b.bad, 0);
	fe_store(r->intf, FE_OUT_PROD, fe_load(r->intf, FE_OUT_CONS) + r->size + 16);
	fe_kick(b.bad, 0);
	bed_expect_fault(&b, "producer index");
	bed_end(&b);
}

/* The pid of dom5's device worker, or 0. */
static pid_t device_worker(struct bed *b)
{
	return sim_worker_pid(b->s, "dom5/9pfs/0");
}

/*
 * A device's worker that dies (a bug, an operator's kill) costs the device
 * nothing: it stays Connected, a new worker takes its rings over as after
 * a daemon restart, and the guest goes on (test-xen-revive.c: with its
 * session).  Killed from outside (SIGKILL), any number of times; crashed,
 * three times a minute: the fourth crash is a fault of that device alone
 * (as is a compromise its filter ended, by the privsep attack tests): the
 * error node says so, the frontend closes, the guest's memory is let go,
 * and the daemon and the other guest's device go on.
 */
static void test_worker_killed(void)
{
	struct fe_opts o = { .kind = FE_LINUX };
	struct bed b;
	pid_t w, next = 0;
	char *v;

	bed_start(&b, &o, true);
	w = device_worker(&b);
	g_assert_cmpint(w, >, 0);
	for (int i = 0; i < 8; i++) {
		g_assert_cmpint(kill(w, i < 5 ? SIGKILL : SIGABRT), ==, 0);
		for (int t = 0; t < SIM_HANG_MS / 10; t++) {
			next = device_worker(&b);
			if (next > 0 && next != w)
				break;
			g_usleep(10000);
		}
		g_assert_cmpint(next, >, 0);
		g_assert_cmpint(next, !=, w);
		g_assert_true(sim_9p_works(b.bad));
		v = sim_be_read(b.s, "9pfs", 5, 0, "state");
		g_assert_cmpstr(v, ==, "4");
		g_free(v);
		g_assert_cmpint(fe_state(b.bad), ==, 4);
		g_assert_true(sim_9p_works(b.good));
		w = next;
	}
	/* SIGABRT, which sanitizer builds do not catch, as a crash. */
	g_assert_cmpint(kill(w, SIGABRT), ==, 0);
	bed_expect_fault(&b, "x9p-worker died (killed by signal 6)");
	bed_end(&b);
}

/*
 * A worker ended by SIGSYS (its seccomp filter's answer to a forbidden
 * call: a compromise) is not replaced: a fault of its device at once.
 */
static void test_worker_sigsys(void)
{
	struct fe_opts o = { .kind = FE_LINUX };
	struct bed b;
	pid_t w;

	bed_start(&b, &o, true);
	w = device_worker(&b);
	g_assert_cmpint(w, >, 0);
	g_assert_cmpint(kill(w, SIGSYS), ==, 0);
	bed_expect_fault(&b, "x9p-worker died (killed by signal 31)");
	bed_end(&b);
}

static void test_size_below_header(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true };
	uint8_t hdr[7] = { 3, 0, 0, 0, P9_TVERSION, 0xff, 0xff };
	struct bed b;

	bed_start(&b, &o, true);
	raw_put(b.bad, 1, hdr, sizeof(hdr), sizeof(hdr));
	bed_expect_fault(&b, "smaller than a 9P header");
	bed_end(&b);
}

static void test_size_above_ring(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true };
	uint8_t hdr[7] = { 0, 0, 0, 0, P9_TVERSION, 0xff, 0xff };
	struct bed b;
	uint32_t sz;

	bed_start(&b, &o, true);
	sz = fe_ring(b.bad, 0)->size + 1;
	memcpy(hdr, &sz, 4);
	raw_put(b.bad, 0, hdr, sizeof(hdr), sizeof(hdr));
	bed_expect_fault(&b, "larger than the ring");
	bed_end(&b);
}

static void test_size_above_msize(void)
{
	struct fe_opts o = { .kind = FE_LINUX };
	struct bed b;
	struct p9c *c;
	uint32_t msize = 0;
	char ver[16];
	uint8_t *big = g_malloc0(9000);
	uint32_t sz = 9000;

	bed_start(&b, &o, true);
	c = p9c_new_fd(fe_socket(b.bad));
	g_assert_cmpint(p9c_version(c, 8192, "9P2000.L", &msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpuint(msize, ==, 8192);
	/* A Twrite one byte short of 9000 bytes: well-formed, but over msize. */
	memcpy(big, &sz, 4);
	big[4] = P9_TWRITE;
	big[5] = 1;
	g_assert_cmpint(p9c_send_raw(c, big, sz), ==, 0);
	bed_expect_fault(&b, "msize");
	p9c_free(c);
	g_free(big);
	bed_end(&b);
}

static void test_ring_order(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true, .force_order = 10 };
	struct bed b;

	bed_start(&b, &o, false);
	bed_expect_fault(&b, "ring_order");
	bed_end(&b);
}

static void test_bad_grant(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true, .bad_ref = true };
	struct bed b;

	bed_start(&b, &o, false);
	bed_expect_fault(&b, "grant");
	bed_end(&b);
}

static void test_too_many_rings(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true, .force_rings = 9 };
	struct bed b;

	bed_start(&b, &o, false);
	bed_expect_fault(&b, "num-rings");
	bed_end(&b);
}

static void test_consumer_index(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true };
	struct bed b;
	struct fe_ring *r;
	uint8_t buf[64];
	uint32_t len;

	bed_start(&b, &o, true);
	r = fe_ring(b.bad, 1);
	/* The reply consumer claims to be ahead of what was ever produced. */
	fe_store(r->intf, FE_IN_CONS, fe_load(r->intf, FE_IN_PROD) + 4096);
	len = tversion(buf, sizeof(buf), 8192);
	raw_put(b.bad, 1, buf, len, len);
	bed_expect_fault(&b, "consumer index");
	bed_end(&b);
}

static void test_partial_request(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true };
	struct bed b;
	struct fe_ring *r;
	uint8_t buf[64];
	uint32_t len, prod0, q;

	bed_start(&b, &o, true);
	r = fe_ring(b.bad, 1);
	prod0 = fe_load(r->intf, FE_OUT_PROD);
	len = tversion(buf, sizeof(buf), 8192);
	/* Only the first 9 bytes are published: nothing may happen yet. */
	raw_put(b.bad, 1, buf, len, 9);
	g_assert_true(sim_9p_works(b.good));    /* the daemon did look at its rings */
	g_assert_cmpuint(fe_load(r->intf, FE_IN_PROD), ==, fe_load(r->intf, FE_IN_CONS));
	g_assert_cmpuint(fe_load(r->intf, FE_OUT_CONS), ==, prod0);
	/* The rest arrives: one whole Rversion, on the ring of the request. */
	fe_store(r->intf, FE_OUT_PROD, prod0 + len);
	fe_kick(b.bad, 1);
	for (;;) {
		q = fe_load(r->intf, FE_IN_PROD) - fe_load(r->intf, FE_IN_CONS);
		if (q)
			break;
		g_assert_true(fe_wait_event(b.bad, 1, SIM_HANG_MS));
	}
	g_assert_cmpuint(q, >=, 7);
	memcpy(&len, r->data + (fe_load(r->intf, FE_IN_CONS) & (r->size - 1)), 4);
	g_assert_cmpuint(q, ==, len);
	g_assert_cmpuint(r->data[(fe_load(r->intf, FE_IN_CONS) + 4) & (r->size - 1)], ==,
			 P9_RVERSION);
	g_assert_cmpuint(fe_load(fe_ring(b.bad, 0)->intf, FE_IN_PROD), ==,
			 fe_load(fe_ring(b.bad, 0)->intf, FE_IN_CONS));
	g_assert_true(sim_wait_be_state(b.s, "9pfs", 5, 0, 4));
	fe_free(b.bad);
	b.bad = NULL;
	fe_free(b.good);
	sim_free(b.s);
}

/* Waits (hang guard) until ring i of fe has room for len request bytes. */
static bool out_room(struct fe *fe, unsigned i, uint32_t len, int timeout_ms)
{
	struct fe_ring *r = fe_ring(fe, i);
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (r->size - (fe_load(r->intf, FE_OUT_PROD) - fe_load(r->intf, FE_OUT_CONS)) < len) {
		if (g_get_monotonic_time() > end)
			return false;
		g_usleep(1000);
	}
	return true;
}

/*
 * A guest that stops taking its replies cannot hold up the daemon's
 * shutdown: its reply ring full, its ring thread itself waiting to send an
 * Rflush, SIGTERM still ends the daemon within the hand-over deadlines
 * (that guest's in-flight replies are lost, the log says so), and the
 * other guest was served until then.
 */
static void test_full_reply_ring_at_shutdown(void)
{
	struct fe_opts o = { .kind = FE_LINUX, .raw = true, .max_order = 1 };
	struct fe_ring *r;
	struct bed b;
	uint8_t f[P9_HDR_SIZE + 4];
	uint32_t n = 0, need;
	gint64 t0;
	int st = -1;

	bed_start(&b, &o, true);
	r = fe_ring(b.bad, 0);
	/* Unversioned Tclunks: each answered by an 11-byte error, never read. */
	need = r->size / 11 + 64;
	while (n < need) {
		uint16_t tag = (uint16_t)(n % 60000);

		f[0] = sizeof(f);
		f[1] = f[2] = f[3] = 0;
		f[4] = P9_TCLUNK;
		f[5] = (uint8_t)tag;
		f[6] = (uint8_t)(tag >> 8);
		memset(f + 7, 0, 4);
		if (!out_room(b.bad, 0, sizeof(f), 5000))
			break;
		raw_put(b.bad, 0, f, sizeof(f), sizeof(f));
		n++;
	}
	g_test_message("%u requests placed, reply ring %u of %u bytes used", n,
		       fe_load(r->intf, FE_IN_PROD) - fe_load(r->intf, FE_IN_CONS), r->size);
	g_assert_cmpuint(n, ==, need);
	/* A Tflush for no request: its Rflush is sent by the ring's own thread. */
	f[4] = P9_TFLUSH;
	f[0] = P9_HDR_SIZE + 2;
	f[5] = 0xAA;
	f[6] = 0xEE;
	f[7] = 0x34;
	f[8] = 0x12;
	g_assert_true(out_room(b.bad, 0, P9_HDR_SIZE + 2, 5000));
	raw_put(b.bad, 0, f, P9_HDR_SIZE + 2, P9_HDR_SIZE + 2);
	g_usleep(300 * 1000);
	g_assert_true(sim_9p_works(b.good));

	t0 = g_get_monotonic_time();
	kill(b.s->be_pid, SIGTERM);
	while (g_get_monotonic_time() - t0 < 40 * G_USEC_PER_SEC) {
		pid_t w = waitpid(b.s->be_pid, &st, WNOHANG);

		if (w == b.s->be_pid)
			break;
		st = -1;
		g_usleep(50 * 1000);
	}
	if (st == -1) {
		kill(b.s->be_pid, SIGKILL);
		waitpid(b.s->be_pid, NULL, 0);
	}
	b.s->be_pid = 0;
	g_test_message("SIGTERM to exit: %" G_GINT64_FORMAT " ms",
		       (g_get_monotonic_time() - t0) / 1000);
	g_assert_cmpint(st, !=, -1);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	bed_end(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/xen/ring/producer-index", test_producer_index);
	g_test_add_func("/xen/ring/worker-killed", test_worker_killed);
	g_test_add_func("/xen/ring/worker-sigsys", test_worker_sigsys);
	g_test_add_func("/xen/ring/size-below-header", test_size_below_header);
	g_test_add_func("/xen/ring/size-above-ring", test_size_above_ring);
	g_test_add_func("/xen/ring/size-above-msize", test_size_above_msize);
	g_test_add_func("/xen/ring/ring-order", test_ring_order);
	g_test_add_func("/xen/ring/bad-grant", test_bad_grant);
	g_test_add_func("/xen/ring/too-many-rings", test_too_many_rings);
	g_test_add_func("/xen/ring/consumer-index", test_consumer_index);
	g_test_add_func("/xen/ring/partial-request", test_partial_request);
	g_test_add_func("/xen/ring/full-reply-ring-at-shutdown", test_full_reply_ring_at_shutdown);
	return g_test_run();
}
