// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost against a frontend that behaves: the vhost-user handshake QEMU
 * performs, the device configuration, 9P requests in every descriptor
 * layout Linux uses (single buffers, header and payload split for
 * zero-copy, indirect tables, payloads in page-sized pieces spanning
 * memory regions), out-of-order completion, Tflush, interrupt suppression
 * (EVENT_IDX and NO_INTERRUPT), and a frontend reconnecting.
 */
#include "vuf.h"

static const char *const synth[] = { "--synthetic=bigdir=300", "--tag=mytag", NULL };

static void t_capabilities(void)
{
	char *prog = x9p_build_path("x9p-vhost");
	char *argv[] = { prog, (char *)"--print-capabilities", NULL };
	char *out = NULL;
	int st;

	g_assert_true(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out, NULL, &st, NULL));
	g_assert_cmpint(st, ==, 0);
	g_assert_nonnull(strstr(out, "\"type\": \"9p\""));
	g_free(out);
	g_free(prog);
}

static void t_handshake(void)
{
	struct vuf f;
	uint64_t feat, pf;
	uint8_t cfg[64];
	uint32_t req[4] = { 0, 7, 0, 0 };

	memset(&f, 0, sizeof(f));
	f.kick = f.call = f.err = -1;
	f.num = 64;
	f.heap = VUF_R1;
	vuf_new_memory(&f);
	vuf_spawn(&f, synth);
	vuf_connect(&f);
	feat = vuf_get_u64(&f, VUF_GET_FEATURES);
	g_assert_true(feat & VUF_F_MOUNT_TAG);
	g_assert_true(feat & VUF_F_INDIRECT);
	g_assert_true(feat & VUF_F_EVENT_IDX);
	g_assert_true(feat & VUF_F_VERSION_1);
	g_assert_true(feat & VUF_F_PROTOCOL);
	pf = vuf_get_u64(&f, VUF_GET_PROTOCOL_FEATURES);
	g_assert_true(pf & VUF_PF_REPLY_ACK);
	g_assert_true(pf & VUF_PF_CONFIG);
	vuf_send(&f, VUF_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
	g_assert_cmpuint(vuf_get_u64(&f, VUF_GET_QUEUE_NUM), ==, 1);
	/* The virtio-9p configuration: le16 tag length, then the tag; a larger
	 * config_size reads zeros past it. */
	vuf_send(&f, VUF_GET_CONFIG, 0, req, sizeof(req), NULL, 0);
	g_assert_cmpint(vuf_recv(&f, VUF_GET_CONFIG, cfg, sizeof(cfg)), ==, 12 + 7);
	g_assert_cmpmem(cfg + 12, 7, "\x05\x00mytag", 7);
	/* The configuration is read-only. */
	req[1] = 2;
	g_assert_cmpuint(vuf_acked(&f, VUF_SET_CONFIG, req, 14, NULL, 0), !=, 0);
	/* Features never offered are refused. */
	feat = 1ull << 40;
	g_assert_cmpuint(vuf_acked(&f, VUF_SET_FEATURES, &feat, 8, NULL, 0), !=, 0);
	vuf_stop(&f);
}

static void t_read_layouts(void)
{
	static const enum vuf_layout layouts[] = { VUF_SINGLE, VUF_SPLIT, VUF_INDIRECT, VUF_PAGES };
	struct vuf f;
	struct p9_msg m, r;
	uint8_t *buf;

	vuf_start(&f, synth, 64, ~0ull);
	vuf_mount(&f, 512000);
	g_assert_cmpuint(f.msize, ==, 512000);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	for (unsigned i = 0; i < G_N_ELEMENTS(layouts); i++) {
		m = (struct p9_msg){ .type = P9_TREAD };
		m.u.tread.fid = 1;
		m.u.tread.count = 65536;
		g_assert_cmpint(vuf_rpc(&f, layouts[i], &m, &r, &buf), ==, P9_RREAD);
		g_assert_cmpuint(r.u.rread.count, ==, 13);
		g_assert_cmpmem(r.u.rread.data, 13, "hello, world\n", 13);
		g_free(buf);
	}
	vuf_stop(&f);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

/* Large Twrite (payload left in guest memory) and Tread (read straight into
 * the guest's buffers) in every layout, crossing region boundaries. */
static void t_write_read_layouts(void)
{
	static const enum vuf_layout layouts[] = { VUF_SINGLE, VUF_SPLIT, VUF_INDIRECT, VUF_PAGES };
	const uint32_t n = 300000;
	uint8_t *data = g_malloc(n);
	struct vuf f;
	struct p9_msg m, r;
	uint8_t *buf;

	vuf_start(&f, synth, 64, ~0ull);
	vuf_mount(&f, 512000);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDWR), ==, P9_RLOPEN);
	for (unsigned w = 0; w < G_N_ELEMENTS(layouts); w++) {
		fill_pattern(data, n, w);
		m = (struct p9_msg){ .type = P9_TWRITE };
		m.u.twrite.fid = 1;
		m.u.twrite.offset = 4096;
		m.u.twrite.count = n;
		m.u.twrite.data = data;
		g_assert_cmpint(vuf_rpc(&f, layouts[w], &m, &r, &buf), ==, P9_RWRITE);
		g_assert_cmpuint(r.u.rwrite.count, ==, n);
		g_free(buf);
		for (unsigned rd = 0; rd < G_N_ELEMENTS(layouts); rd++) {
			m = (struct p9_msg){ .type = P9_TREAD };
			m.u.tread.fid = 1;
			m.u.tread.offset = 4096;
			m.u.tread.count = n;
			g_assert_cmpint(vuf_rpc(&f, layouts[rd], &m, &r, &buf), ==, P9_RREAD);
			g_assert_cmpuint(r.u.rread.count, ==, n);
			g_assert_true(memcmp(r.u.rread.data, data, n) == 0);
			g_free(buf);
		}
	}
	g_free(data);
	vuf_stop(&f);
}

static int count_entry(const uint8_t *p, uint32_t len, uint64_t *last)
{
	struct p9_rd rd;
	int n = 0;

	p9_rd_init(&rd, p, len);
	while (p9_rd_left(&rd) > 0) {
		struct p9_dirent de = p9_getdirent(&rd);

		g_assert_false(rd.err);
		if (de.name.len == 11 && memcmp(de.name.s, "entry-", 6) == 0)
			n++;
		*last = de.offset;
	}
	return n;
}

static void t_readdir(void)
{
	struct vuf f;
	struct p9_msg m, r;
	uint8_t *buf;
	uint64_t off = 0;
	int total = 0;

	vuf_start(&f, synth, 64, ~0ull);
	vuf_mount(&f, 512000);
	g_assert_cmpint(vuf_walk(&f, 1, "big"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY | P9L_DIRECTORY), ==, P9_RLOPEN);
	for (;;) {
		m = (struct p9_msg){ .type = P9_TREADDIR };
		m.u.tread.fid = 1;
		m.u.tread.offset = off;
		m.u.tread.count = 2048;
		g_assert_cmpint(vuf_rpc(&f, VUF_INDIRECT, &m, &r, &buf), ==, P9_RREADDIR);
		g_assert_cmpuint(r.u.rread.count, <=, 2048);
		if (!r.u.rread.count) {
			g_free(buf);
			break;
		}
		total += count_entry(r.u.rread.data, r.u.rread.count, &off);
		g_free(buf);
	}
	g_assert_cmpint(total, ==, 300);
	vuf_stop(&f);
}

static struct p9_msg getattr_msg(uint32_t fid, uint16_t tag)
{
	struct p9_msg m = { .type = P9_TGETATTR, .tag = tag };

	m.u.tgetattr.fid = fid;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	return m;
}

/* Tlopen of the synthetic /blocker waits until it is flushed. */
static struct p9_msg lopen_msg(uint32_t fid, uint16_t tag)
{
	struct p9_msg m = { .type = P9_TLOPEN, .tag = tag };

	m.u.tlopen.fid = fid;
	m.u.tlopen.flags = P9L_RDONLY;
	return m;
}

/* A blocked request does not hold up later ones; Tflush ends it and the
 * guest gets both chains back. */
static void t_out_of_order_flush(void)
{
	struct vuf f;
	struct p9_msg m, r;
	uint64_t in_b, in_f, in_x;
	uint16_t hb, hf, hx;
	uint32_t id, len;
	uint8_t *buf;
	bool got_b = false, got_x = false;

	vuf_start(&f, synth, 64, ~0ull);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "blocker"), ==, P9_RWALK);
	g_assert_cmpint(vuf_walk(&f, 2, "file"), ==, P9_RWALK);
	m = lopen_msg(1, 100);
	hb = vuf_post(&f, &m, &in_b);
	m = getattr_msg(2, 101);
	hf = vuf_post(&f, &m, &in_f);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, hf);
	g_assert_cmpint(vuf_decode(&f, in_f, len, &r, &buf), ==, P9_RGETATTR);
	g_assert_cmpuint(r.tag, ==, 101);
	g_free(buf);

	m = (struct p9_msg){ .type = P9_TFLUSH, .tag = 102 };
	m.u.tflush.oldtag = 100;
	hx = vuf_post(&f, &m, &in_x);
	for (int i = 0; i < 2; i++) {
		g_assert_true(vuf_wait_used(&f, &id, &len));
		if (id == hb) {
			/* Flushed: the chain comes back, with or without a reply. */
			got_b = true;
		} else {
			g_assert_cmpuint(id, ==, hx);
			g_assert_cmpint(vuf_decode(&f, in_x, len, &r, &buf), ==, P9_RFLUSH);
			g_assert_cmpuint(r.tag, ==, 102);
			g_free(buf);
			got_x = true;
		}
	}
	g_assert_true(got_b && got_x);
	vuf_stop(&f);
}

static void t_event_idx(void)
{
	struct vuf f;
	struct p9_msg m, r;
	uint64_t in;
	uint32_t id, len;
	uint16_t u, h;
	struct pollfd p;
	uint8_t *buf;

	vuf_start(&f, synth, 64, ~0ull);
	g_assert_true(f.features & VUF_F_EVENT_IDX);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	vuf_calls(&f);
	/* Ask for an interrupt only when the second of two replies is used. */
	u = f.used_seen;
	vuf_set_used_event(&f, (uint16_t)(u + 1));
	m = getattr_msg(1, 200);
	h = vuf_post(&f, &m, &in);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, h);
	m = getattr_msg(1, 201);
	h = vuf_post(&f, &m, &in);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, h);
	g_assert_cmpint(vuf_decode(&f, in, len, &r, &buf), ==, P9_RGETATTR);
	g_free(buf);
	p = (struct pollfd){ f.call, POLLIN, 0 };
	g_assert_cmpint(poll(&p, 1, VUF_WAIT_MS), ==, 1);
	/* One interrupt in all: none for the first reply. */
	g_assert_cmpuint(vuf_calls(&f), ==, 1);
	/* The device asks to be kicked for the next entry it has not seen. */
	g_assert_cmpuint(vuf_stop_queue(&f), ==, f.avail_idx);
	g_assert_cmpuint(vuf_avail_event(&f), ==, f.avail_idx);
	vuf_stop(&f);
}

static void t_no_interrupt(void)
{
	struct vuf f;
	struct p9_msg m;
	uint64_t in;
	uint32_t id, len;
	struct pollfd p;

	vuf_start(&f, synth, 64, VUF_F_INDIRECT);
	g_assert_false(f.features & VUF_F_EVENT_IDX);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	/* An interrupt follows its used entry, from whichever thread sent
	 * the reply: let every late one arrive (100 ms of quiet) before
	 * counting from zero, or it lands in the count below. */
	p = (struct pollfd){ f.call, POLLIN, 0 };
	do
		vuf_calls(&f);
	while (poll(&p, 1, 100) == 1);
	vuf_set_avail_flags(&f, 1);
	m = getattr_msg(1, 300);
	vuf_post(&f, &m, &in);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	vuf_set_avail_flags(&f, 0);
	m = getattr_msg(1, 301);
	vuf_post(&f, &m, &in);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	p = (struct pollfd){ f.call, POLLIN, 0 };
	g_assert_cmpint(poll(&p, 1, VUF_WAIT_MS), ==, 1);
	g_assert_cmpuint(vuf_calls(&f), ==, 1);
	vuf_stop(&f);
}

/* The VMM restarts: the same process accepts it and serves a new session. */
static void t_reconnect(void)
{
	struct vuf f;
	pid_t pid;

	vuf_start(&f, synth, 64, ~0ull);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	pid = f.pid;
	for (int i = 0; i < 3; i++) {
		vuf_disconnect(&f);
		vuf_connect(&f);
		vuf_handshake(&f, ~0ull);
		f.next_desc = 0;
		vuf_mount(&f, 65536);
		/* A new session: fid 1 of the old one is gone. */
		g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLERROR);
		g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
		g_assert_cmpint(vuf_lopen(&f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	}
	g_assert_cmpint(f.pid, ==, pid);
	g_assert_true(vuf_alive(&f));
	vuf_stop(&f);
}

/* --fd with one connected socket: served, and the program ends with it. */
static void t_inherited_fd(void)
{
	char *prog = x9p_build_path("x9p-vhost");
	struct vuf f;
	int sv[2], st = -1;

	memset(&f, 0, sizeof(f));
	f.kick = f.call = f.err = -1;
	f.num = 32;
	f.heap = VUF_R1;
	vuf_new_memory(&f);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	f.pid = fork();
	g_assert_cmpint(f.pid, >=, 0);
	if (f.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(sv[1], 3);
		execl(prog, prog, "--fd=3", "--synthetic", "--log-level=error", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	f.sock = sv[0];
	vuf_handshake(&f, ~0ull);
	vuf_mount(&f, 65536);
	g_assert_cmpint(vuf_walk(&f, 1, "file"), ==, P9_RWALK);
	vuf_disconnect(&f);
	g_assert_cmpint(waitpid(f.pid, &st, 0), ==, f.pid);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	f.pid = 0;
	vuf_stop(&f);
	g_free(prog);
}

/* Queue sizes from 2 entries (every request reuses both descriptors) to 256. */
static void t_queue_sizes(void)
{
	static const unsigned sizes[] = { 2, 8, 256 };

	for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
		struct vuf f;

		vuf_start(&f, synth, sizes[i], ~0ull);
		vuf_mount(&f, 65536);
		for (int k = 0; k < 40; k++)
			g_assert_cmpint(vuf_walk(&f, 10 + (uint32_t)k, k % 2 ? "file" : "dir"), ==, P9_RWALK);
		vuf_stop(&f);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vhost/capabilities", t_capabilities);
	g_test_add_func("/vhost/handshake", t_handshake);
	g_test_add_func("/vhost/read-layouts", t_read_layouts);
	g_test_add_func("/vhost/write-read-layouts", t_write_read_layouts);
	g_test_add_func("/vhost/readdir", t_readdir);
	g_test_add_func("/vhost/out-of-order-flush", t_out_of_order_flush);
	g_test_add_func("/vhost/event-idx", t_event_idx);
	g_test_add_func("/vhost/no-interrupt", t_no_interrupt);
	g_test_add_func("/vhost/reconnect", t_reconnect);
	g_test_add_func("/vhost/queue-sizes", t_queue_sizes);
	g_test_add_func("/vhost/inherited-fd", t_inherited_fd);
	return g_test_run();
}
