// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost against a hostile guest driver and a misbehaving frontend:
 * bad ring indexes, buffers outside guest memory, huge lengths, descriptor
 * loops, broken indirect tables, malformed 9P framing, replies that do not
 * fit, duplicate tags, a frontend that vanishes mid-request, a queue reset
 * while requests are in flight, and malformed control messages.
 *
 * A guest fault must break only that queue: the device signals the
 * queue's error eventfd, keeps running, and serves again once the driver
 * resets the queue (same 9P session, fid 0 still attached).
 */
#include "vuf.h"

static const char *const synth[] = { "--synthetic", "--stop-grace=200", NULL };

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

/* One Tgetattr on fid 0 gets its Rgetattr. */
static void check_serving(struct vuf *f)
{
	struct p9_msg m = getattr_msg(0, 0), r;
	uint8_t *buf;

	g_assert_cmpint(vuf_rpc(f, VUF_SINGLE, &m, &r, &buf), ==, P9_RGETATTR);
	g_free(buf);
}

/* The fault was reported on the error eventfd; the process lives; a reset
 * queue serves the same session again. */
static void check_fault_and_recover(struct vuf *f)
{
	g_assert_true(vuf_wait_err(f));
	g_assert_true(vuf_alive(f));
	vuf_stop_queue(f);
	vuf_reset_ring(f);
	check_serving(f);
}

static void start(struct vuf *f)
{
	vuf_start(f, synth, 16, ~0ull);
	vuf_mount(f, 65536);
}

/* A chain of raw descriptors written by the test; publishes head, kicks. */
static void raw_chain(struct vuf *f, uint16_t head)
{
	vuf_publish(f, head);
	vuf_kick(f);
}

static void t_head_out_of_range(void)
{
	struct vuf f;

	start(&f);
	raw_chain(&f, 16 + 3);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_buffer_in_hole(void)
{
	struct vuf f;
	struct vuf_seg s[2] = { { VUF_HOLE, 64, false }, { VUF_R1, 4096, true } };

	start(&f);
	vuf_chain(&f, s, 2, false);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_huge_length(void)
{
	struct vuf f;
	struct vuf_seg s[2] = { { VUF_R1, 64, false }, { VUF_R1 + 8192, 0xFFFFFFF0u, true } };

	start(&f);
	vuf_chain(&f, s, 2, true);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_buffer_past_end(void)
{
	struct vuf f;
	/* Starts inside R2, ends one byte past it. */
	struct vuf_seg s[2] = { { VUF_R1, 64, false }, { VUF_R2 + VUF_B_SIZE - 100, 101, true } };

	start(&f);
	vuf_chain(&f, s, 2, false);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_desc_loop(void)
{
	struct vuf f;

	start(&f);
	/* 5 -> 6 -> 5 -> ... */
	vuf_desc(&f, VUF_DESC, 5, VUF_R1, 64, VUF_D_NEXT, 6);
	vuf_desc(&f, VUF_DESC, 6, VUF_R1 + 64, 64, VUF_D_NEXT, 5);
	raw_chain(&f, 5);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_next_out_of_range(void)
{
	struct vuf f;

	start(&f);
	vuf_desc(&f, VUF_DESC, 2, VUF_R1, 64, VUF_D_NEXT, 999);
	raw_chain(&f, 2);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_indirect_loop(void)
{
	struct vuf f;
	uint64_t t = VUF_R1 + 0x10000;

	start(&f);
	for (unsigned i = 0; i < 4; i++)
		vuf_desc(&f, t, i, VUF_R1, 16, VUF_D_NEXT, (i + 1) % 4);
	vuf_desc(&f, VUF_DESC, 0, t, 64, VUF_D_INDIRECT, 0);
	raw_chain(&f, 0);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_indirect_nested(void)
{
	struct vuf f;
	uint64_t t = VUF_R1 + 0x10000;

	start(&f);
	vuf_desc(&f, t, 0, t, 32, VUF_D_INDIRECT, 0);
	vuf_desc(&f, VUF_DESC, 0, t, 32, VUF_D_INDIRECT, 0);
	raw_chain(&f, 0);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_indirect_bad_size(void)
{
	struct vuf f;

	start(&f);
	vuf_desc(&f, VUF_DESC, 0, VUF_R1, 17, VUF_D_INDIRECT, 0);
	raw_chain(&f, 0);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_indirect_in_hole(void)
{
	struct vuf f;

	start(&f);
	vuf_desc(&f, VUF_DESC, 0, VUF_HOLE, 64, VUF_D_INDIRECT, 0);
	raw_chain(&f, 0);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_indirect_without_feature(void)
{
	struct vuf f;
	struct vuf_seg s[2] = { { VUF_R1, 64, false }, { VUF_R1 + 4096, 4096, true } };

	vuf_start(&f, synth, 16, VUF_F_EVENT_IDX);
	g_assert_false(f.features & VUF_F_INDIRECT);
	vuf_mount(&f, 65536);
	vuf_chain(&f, s, 2, true);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_avail_jump(void)
{
	struct vuf f;

	start(&f);
	f.avail_idx += 40;
	__atomic_store_n((uint16_t *)(f.a + VUF_AVAIL + 2), f.avail_idx, __ATOMIC_RELEASE);
	vuf_kick(&f);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

static void t_readable_after_writable(void)
{
	struct vuf f;
	struct vuf_seg s[3] = { { VUF_R1, 64, false }, { VUF_R1 + 4096, 64, true }, { VUF_R1 + 8192, 64, false } };

	start(&f);
	vuf_chain(&f, s, 3, false);
	check_fault_and_recover(&f);
	vuf_stop(&f);
}

/* 9P framing: a size field that lies, or no room for a header at all. */
static void t_bad_frames(void)
{
	static const struct {
		uint32_t size;
		uint32_t readable;
	} cases[] = {
		{ 200, 100 },       /* claims more than the buffers hold */
		{ 3, 16 },          /* below a header */
		{ 0x7fffffff, 64 }, /* huge */
		{ 7, 5 },           /* not even a header readable */
		{ 70000, 70000 },   /* over the negotiated msize (65536) */
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct vuf f;
		uint64_t in;
		struct vuf_seg s[2];
		uint8_t hdr[7] = { 0, 0, 0, 0, P9_TGETATTR, 1, 0 };

		start(&f);
		memcpy(hdr, &cases[i].size, 4);
		s[0] = (struct vuf_seg){ vuf_alloc(&f, cases[i].readable), cases[i].readable, false };
		in = vuf_alloc(&f, 4096);
		s[1] = (struct vuf_seg){ in, 4096, true };
		vuf_write_mem(&f, s[0].gpa, hdr, MIN(7u, cases[i].readable));
		vuf_chain(&f, s, 2, false);
		check_fault_and_recover(&f);
		vuf_stop(&f);
	}
}

/* Not faults: the guest gets its chain back and the queue keeps going. */
static void t_reply_does_not_fit(void)
{
	struct vuf f;
	struct p9_msg m = getattr_msg(0, 7);
	uint8_t t[64];
	struct vuf_seg s[2];
	uint32_t id, len;
	uint16_t head;
	int n;
	uint64_t v;

	start(&f);
	n = p9_encode(t, sizeof(t), P9_DIALECT_2000L, &m);
	s[0] = (struct vuf_seg){ vuf_alloc(&f, (uint32_t)n), (uint32_t)n, false };
	s[1] = (struct vuf_seg){ vuf_alloc(&f, 4), 4, true };
	vuf_write_mem(&f, s[0].gpa, t, (size_t)n);
	head = vuf_chain(&f, s, 2, false);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, head);
	g_assert_cmpuint(len, ==, 0);
	/* No reset needed, and no fault was signalled. */
	check_serving(&f);
	g_assert_cmpint(read(f.err, &v, 8), <, 0);
	vuf_stop(&f);
}

static void t_duplicate_tag(void)
{
	struct vuf f;
	struct p9_msg m, r;
	uint64_t in_b, in_d, in_x;
	uint16_t hb, hd, hx;
	uint32_t id, len;
	uint8_t *buf;
	int seen = 0;

	start(&f);
	g_assert_cmpint(vuf_walk(&f, 1, "blocker"), ==, P9_RWALK);
	m = lopen_msg(1, 5);
	hb = vuf_post(&f, &m, &in_b);
	/* The same tag again while the first is in flight: refused, chain back. */
	m = getattr_msg(0, 5);
	hd = vuf_post(&f, &m, &in_d);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, hd);
	g_assert_cmpuint(len, ==, 0);
	m = (struct p9_msg){ .type = P9_TFLUSH, .tag = 6 };
	m.u.tflush.oldtag = 5;
	hx = vuf_post(&f, &m, &in_x);
	while (seen != 3) {
		g_assert_true(vuf_wait_used(&f, &id, &len));
		if (id == hx) {
			g_assert_cmpint(vuf_decode(&f, in_x, len, &r, &buf), ==, P9_RFLUSH);
			g_free(buf);
			seen |= 1;
		} else {
			g_assert_cmpuint(id, ==, hb);
			seen |= 2;
		}
	}
	check_serving(&f);
	vuf_stop(&f);
}

/* The VMM dies with a request blocked in the server: the next one is
 * served by the same process with a fresh session. */
static void t_frontend_vanishes(void)
{
	struct vuf f;
	struct p9_msg m;
	uint64_t in;

	start(&f);
	g_assert_cmpint(vuf_walk(&f, 1, "blocker"), ==, P9_RWALK);
	m = lopen_msg(1, 9);
	vuf_post(&f, &m, &in);
	m = getattr_msg(0, 10);
	vuf_post(&f, &m, &in);
	vuf_disconnect(&f);
	vuf_connect(&f);
	vuf_handshake(&f, ~0ull);
	f.next_desc = 0;
	vuf_mount(&f, 65536);
	check_serving(&f);
	g_assert_true(vuf_alive(&f));
	vuf_stop(&f);
}

/* GET_VRING_BASE with a request that never finishes: the answer comes
 * (after the grace period), counts the request as consumed, and the old
 * chain is never written to the ring afterwards. */
static void t_queue_reset_in_flight(void)
{
	struct vuf f;
	struct p9_msg m, r;
	uint64_t in_b, in_x;
	uint16_t hx, used_before;
	uint32_t id, len;
	uint8_t *buf;

	start(&f);
	g_assert_cmpint(vuf_walk(&f, 1, "blocker"), ==, P9_RWALK);
	m = lopen_msg(1, 20);
	vuf_post(&f, &m, &in_b);
	m = getattr_msg(0, 21);
	vuf_post(&f, &m, &in_x);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	used_before = vuf_used_idx(&f);
	g_assert_cmpuint(vuf_stop_queue(&f), ==, f.avail_idx);
	g_assert_cmpuint(vuf_used_idx(&f), ==, used_before);
	/* Restarted where it stopped; the flush ends the blocked open, whose
	 * chain belongs to the stopped ring: only the Rflush is used. */
	vuf_start_queue(&f, f.avail_idx);
	m = (struct p9_msg){ .type = P9_TFLUSH, .tag = 22 };
	m.u.tflush.oldtag = 20;
	hx = vuf_post(&f, &m, &in_x);
	g_assert_true(vuf_wait_used(&f, &id, &len));
	g_assert_cmpuint(id, ==, hx);
	g_assert_cmpint(vuf_decode(&f, in_x, len, &r, &buf), ==, P9_RFLUSH);
	g_free(buf);
	check_serving(&f);
	g_assert_cmpuint(vuf_used_idx(&f), ==, (uint16_t)(used_before + 2));
	vuf_stop(&f);
}

/* Malformed control messages. */
static void t_control_abuse(void)
{
	struct vuf f;
	uint64_t m[2 + 4 * 2] = { 0 };
	int fds[2];
	uint32_t cfg[3] = { 300, 8, 0 };
	uint8_t out[64];
	uint8_t hdr[12];
	uint32_t req = 1, fl = 1, size = 100000;

	start(&f);
	/* Overlapping regions, and a region larger than its descriptor. */
	fds[0] = fds[1] = f.memfd_b;
	m[0] = 2;
	m[1] = 0x10000000; m[2] = 0x10000; m[3] = 0x7000000000; m[4] = 0;
	m[5] = 0x10008000; m[6] = 0x10000; m[7] = 0x7100000000; m[8] = 0;
	g_assert_cmpuint(vuf_acked(&f, VUF_SET_MEM_TABLE, m, 8 + 64, fds, 2), ==, 1);
	m[0] = 1;
	m[2] = VUF_B_SIZE * 2ull;
	g_assert_cmpuint(vuf_acked(&f, VUF_SET_MEM_TABLE, m, 8 + 32, fds, 1), ==, 1);
	/* Regions without their descriptors. */
	g_assert_cmpuint(vuf_acked(&f, VUF_SET_MEM_TABLE, m, 8 + 32, NULL, 0), ==, 1);
	/* A queue that does not exist. */
	{
		uint32_t st[2] = { 5, 16 };
		g_assert_cmpuint(vuf_acked(&f, VUF_SET_VRING_NUM, st, 8, NULL, 0), ==, 1);
		st[0] = 0;
		st[1] = 100;   /* not a power of two (and the queue runs) */
		g_assert_cmpuint(vuf_acked(&f, VUF_SET_VRING_NUM, st, 8, NULL, 0), ==, 1);
	}
	/* Configuration out of range: an empty answer. */
	vuf_send(&f, VUF_GET_CONFIG, 0, cfg, sizeof(cfg), NULL, 0);
	g_assert_cmpint(vuf_recv(&f, VUF_GET_CONFIG, out, sizeof(out)), ==, 12);
	/* The earlier failures left the device working. */
	check_serving(&f);
	/* A header announcing a payload beyond any message: the connection
	 * ends, the process keeps listening. */
	memcpy(hdr, &req, 4);
	memcpy(hdr + 4, &fl, 4);
	memcpy(hdr + 8, &size, 4);
	g_assert_cmpint(send(f.sock, hdr, 12, MSG_NOSIGNAL), ==, 12);
	g_assert_cmpint(recv(f.sock, out, 1, 0), ==, 0);
	vuf_disconnect(&f);
	vuf_connect(&f);
	vuf_handshake(&f, ~0ull);
	f.next_desc = 0;
	vuf_mount(&f, 65536);
	check_serving(&f);
	vuf_stop(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vhost-hostile/head-out-of-range", t_head_out_of_range);
	g_test_add_func("/vhost-hostile/buffer-in-hole", t_buffer_in_hole);
	g_test_add_func("/vhost-hostile/huge-length", t_huge_length);
	g_test_add_func("/vhost-hostile/buffer-past-end", t_buffer_past_end);
	g_test_add_func("/vhost-hostile/desc-loop", t_desc_loop);
	g_test_add_func("/vhost-hostile/next-out-of-range", t_next_out_of_range);
	g_test_add_func("/vhost-hostile/indirect-loop", t_indirect_loop);
	g_test_add_func("/vhost-hostile/indirect-nested", t_indirect_nested);
	g_test_add_func("/vhost-hostile/indirect-bad-size", t_indirect_bad_size);
	g_test_add_func("/vhost-hostile/indirect-in-hole", t_indirect_in_hole);
	g_test_add_func("/vhost-hostile/indirect-without-feature", t_indirect_without_feature);
	g_test_add_func("/vhost-hostile/avail-jump", t_avail_jump);
	g_test_add_func("/vhost-hostile/readable-after-writable", t_readable_after_writable);
	g_test_add_func("/vhost-hostile/bad-frames", t_bad_frames);
	g_test_add_func("/vhost-hostile/reply-does-not-fit", t_reply_does_not_fit);
	g_test_add_func("/vhost-hostile/duplicate-tag", t_duplicate_tag);
	g_test_add_func("/vhost-hostile/frontend-vanishes", t_frontend_vanishes);
	g_test_add_func("/vhost-hostile/queue-reset-in-flight", t_queue_reset_in_flight);
	g_test_add_func("/vhost-hostile/control-abuse", t_control_abuse);
	return g_test_run();
}
