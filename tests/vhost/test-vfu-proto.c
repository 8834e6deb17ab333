// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost --vfio-user against a client that plays QEMU's vfio-user-pci
 * and the guest's virtio-pci driver (tests/vhost/vfuc.h): the handshake,
 * configuration space and capabilities, Linux's bring-up sequence and 9P
 * round trips with MSI-X interrupts, posted and coalesced writes, device
 * resets, refused features, guest driver faults, refused and fatal
 * commands, reconnection, DMA unmaps under a running queue, SIGTERM.
 *
 * "Alive" means the monitor runs and its worker is the one it started:
 * the monitor restarts a crashed worker, which would hide a crash.
 */
#include "vfuc.h"

#define TAG "x9ptest"
#define OFFERED (VUF_F_MOUNT_TAG | VUF_F_INDIRECT | VUF_F_EVENT_IDX | VUF_F_VERSION_1)

static const char *const synth[] = { "--synthetic", "--tag=" TAG, "--stop-grace=200", NULL };

/* ---- 9P helpers ---- */

static struct p9_msg version_msg(uint32_t msize)
{
	struct p9_msg m = { .type = P9_TVERSION };

	m.u.version.msize = msize;
	m.u.version.version = p9_str_c("9P2000.L");
	return m;
}

static struct p9_msg attach_msg(uint32_t fid)
{
	struct p9_msg m = { .type = P9_TATTACH };

	m.u.tattach.fid = fid;
	m.u.tattach.afid = P9_NOFID;
	m.u.tattach.uname = p9_str_c("root");
	m.u.tattach.aname = p9_str_c("");
	m.u.tattach.n_uname = 0;
	return m;
}

static struct p9_msg getattr_msg(uint32_t fid)
{
	struct p9_msg m = { .type = P9_TGETATTR };

	m.u.tgetattr.fid = fid;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	return m;
}

/* One Tgetattr of fid 0 through the doorbell. */
static void check_serving(struct vfuc *c)
{
	struct p9_msg m = getattr_msg(0), r;
	uint8_t *buf;

	g_assert_cmpint(vuf_rpc(&c->f, VUF_SINGLE, &m, &r, &buf), ==, P9_RGETATTR);
	g_assert_cmpuint(r.u.rgetattr.qid.type & 0x80, ==, 0x80);     /* the root: a directory */
	g_free(buf);
}

enum notify_how { POSTED, ANSWERED, MULTI };

/* The notification inside a coalesced write, as QEMU packs posted writes:
 * with two common configuration writes that change nothing. */
static void notify_multi(struct vfuc *c)
{
	struct vfuc_wr1 w[3] = {
		{ CC_MSIX, VFUC_BAR0, 2, { 0 } },
		{ CC_QSELECT, VFUC_BAR0, 2, { 0 } },
		{ VFUC_NOTIFY, VFUC_BAR0, 2, { 0 } },
	};
	uint8_t p[8 + sizeof(w)];
	uint64_t n = 3;

	memcpy(p, &n, 8);
	memcpy(p + 8, w, sizeof(w));
	g_assert_cmpint(vfuc_send_cmd(c, VFUC_REGION_WRITE_MULTI, VFUC_F_NO_REPLY, p, sizeof(p),
				      NULL, 0), >=, 0);
}

/*
 * One request with the test as the doorbell: m posted in the ring with an
 * interrupt due (EVENT_IDX's used_event at the next entry, as Linux's
 * virtqueue_enable_cb sets it), the notification written as told, then
 * the interrupt on vector 1, the used entry (already there when the
 * interrupt comes), and the reply, decoded into *r (pointing into *buf).
 * The configuration vector stays quiet.  Returns the reply's type.
 */
static int rpc_irq(struct vfuc *c, struct p9_msg *m, struct p9_msg *r, uint8_t **buf,
		   enum notify_how how)
{
	struct vuf *f = &c->f;
	uint64_t in;
	uint16_t head, used;
	uint32_t id, len;

	g_assert_null(c->bell);
	m->tag = m->type == P9_TVERSION ? P9_NOTAG : f->tag++;
	vfuc_irqs(c, 0);
	vfuc_irqs(c, 1);
	vuf_set_used_event(f, f->used_seen);
	used = vuf_used_idx(f);
	head = vuf_post(f, m, &in);
	if (how == MULTI)
		notify_multi(c);
	else
		vfuc_notify(c, how == POSTED);
	/* An interrupt of an earlier request may come late (it follows its
	 * used entry, which the test may have seen first): the one that
	 * counts is the first after which the entry is there. */
	do
		g_assert_cmpuint(vfuc_wait_irq(c, 1, VUF_WAIT_MS), >=, 1);
	while (vuf_used_idx(f) == used);
	g_assert_cmpuint(vuf_used_idx(f), ==, (uint16_t)(used + 1));
	g_assert_true(vuf_wait_used(f, &id, &len));
	g_assert_cmpuint(id, ==, head);
	g_assert_cmpuint(vfuc_irqs(c, 0), ==, 0);
	vuf_decode(f, in, len, r, buf);
	g_assert_cmpuint(r->tag, ==, m->tag);
	return r->type;
}

/* Tversion and Tattach of fid 0 with rpc_irq(); the session is new. */
static void mount_irq(struct vfuc *c, enum notify_how how)
{
	struct p9_msg m = version_msg(65536), r;
	uint8_t *buf;

	g_assert_cmpint(rpc_irq(c, &m, &r, &buf, how), ==, P9_RVERSION);
	g_assert_cmpuint(r.u.version.msize, ==, 65536);
	g_assert_cmpmem(r.u.version.version.s, r.u.version.version.len, "9P2000.L", 8);
	g_free(buf);
	m = attach_msg(0);
	g_assert_cmpint(rpc_irq(c, &m, &r, &buf, how), ==, P9_RATTACH);
	g_assert_cmpuint(r.u.rattach.qid.type & 0x80, ==, 0x80);
	g_free(buf);
}

/* Waits up to ms for the device status to show bits; returns the status. */
static uint8_t wait_status(struct vfuc *c, uint8_t bits, int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000ll;
	uint8_t s;

	while ((s = cc_r8(c, CC_STATUS), (s & bits) != bits) && g_get_monotonic_time() < end)
		g_usleep(20000);
	return s;
}

/* Worker descriptors back at want (a few seconds at most); true if they
 * are, or if the worker's descriptors cannot be counted here. */
static bool fds_settle(struct vfuc *c, int want)
{
	int n = -1;

	if (want < 0)
		return true;
	for (int i = 0; i < 100; i++) {
		if ((n = x9p_proc_fds(c->worker)) == want)
			return true;
		g_usleep(50000);
	}
	g_printerr("# worker descriptors: %d, expected %d\n", n, want);
	return false;
}

/* ---- 1: handshake ---- */

static void t_handshake(void)
{
	static const uint64_t sizes[9] = { 0x4000, 0x1000, 0, 0, 0, 0, 0, 256, 0 };
	struct vfuc c;
	struct vfio_device_info di = { .argsz = 16 };
	struct vfio_region_info ri;
	struct vfio_irq_info ii;
	struct vfuc_reply r;
	uint32_t u[4];

	vfuc_spawn(&c, synth);
	vfuc_connect(&c);
	vfuc_version(&c);
	/* The server's limits, narrowed to what QEMU proposed; no migration,
	 * no twin socket. */
	g_assert_true(g_str_has_prefix(c.caps, "{"));
	g_assert_nonnull(strstr(c.caps, "\"capabilities\""));
	g_assert_cmpint(vfuc_json_int(c.caps, "max_msg_fds"), ==, 16);
	g_assert_cmpint(vfuc_json_int(c.caps, "max_data_xfer_size"), ==, 1048576);
	g_assert_cmpint(vfuc_json_int(c.caps, "pgsizes"), ==, 4096);
	/* vfu-dma.h's table: 64 maps, fewer than QEMU's 65535. */
	g_assert_cmpint(vfuc_json_int(c.caps, "max_dma_maps"), ==, 64);
	g_assert_true(vfuc_json_true(c.caps, "write_multiple"));
	g_assert_null(strstr(c.caps, "migration"));
	g_assert_null(strstr(c.caps, "twin_socket"));

	g_assert_cmpint(vfuc_call(&c, VFUC_GET_INFO, &di, 16, NULL, 0, &r), ==, 0);
	g_assert_cmpuint(r.len, ==, 16);
	memcpy(u, r.data, 16);
	vfuc_reply_free(&r);
	g_assert_cmpuint(u[0], >=, 16);
	g_assert_cmphex(u[1], ==, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	g_assert_cmpuint(u[2], ==, 9);
	g_assert_cmpuint(u[3], ==, 5);

	for (uint32_t i = 0; i <= 9; i++) {
		memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = i;
		if (i == 9) {
			g_assert_cmpint(vfuc_call(&c, VFUC_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, NULL),
					==, EINVAL);
			break;
		}
		g_assert_cmpint(vfuc_call(&c, VFUC_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), ==, 0);
		g_assert_cmpuint(r.len, ==, sizeof(ri));
		memcpy(&ri, r.data, sizeof(ri));
		vfuc_reply_free(&r);
		g_assert_cmpuint(ri.argsz, ==, sizeof(ri));
		g_assert_cmpuint(ri.index, ==, i);
		g_assert_cmphex(ri.size, ==, sizes[i]);
		/* Read/write through messages; nothing mappable, no capabilities. */
		g_assert_cmphex(ri.flags, ==, sizes[i] ? VFIO_REGION_INFO_FLAG_READ |
							 VFIO_REGION_INFO_FLAG_WRITE : 0);
		g_assert_cmpuint(ri.cap_offset, ==, 0);
	}

	for (uint32_t i = 0; i <= 5; i++) {
		ii = (struct vfio_irq_info){ .argsz = sizeof(ii), .index = i };
		if (i == 5) {
			g_assert_cmpint(vfuc_call(&c, VFUC_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, NULL),
					==, EINVAL);
			break;
		}
		g_assert_cmpint(vfuc_call(&c, VFUC_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, &r), ==, 0);
		g_assert_cmpuint(r.len, ==, sizeof(ii));
		memcpy(&ii, r.data, sizeof(ii));
		vfuc_reply_free(&r);
		g_assert_cmpuint(ii.argsz, ==, sizeof(ii));
		g_assert_cmpuint(ii.index, ==, i);
		if (i == VFIO_PCI_MSIX_IRQ_INDEX) {
			g_assert_cmpuint(ii.count, ==, 2);
			g_assert_true(ii.flags & VFIO_IRQ_INFO_EVENTFD);
			/* QEMU masks MSI-X itself unless the device says it can. */
			g_assert_false(ii.flags & VFIO_IRQ_INFO_MASKABLE);
		} else if (i == VFIO_PCI_ERR_IRQ_INDEX) {
			/* An error eventfd QEMU may give (and that is never signalled). */
			g_assert_cmpuint(ii.count, ==, 1);
			g_assert_true(ii.flags & VFIO_IRQ_INFO_EVENTFD);
		} else {
			/* No INTx pin, no MSI capability, no request IRQ. */
			g_assert_cmpuint(ii.count, ==, 0);
		}
	}
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* ---- 2: configuration space ---- */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void t_config_space(void)
{
	struct vfuc c;
	uint8_t cfg[256], seen[256] = { 0 };
	unsigned msix = 0, vtypes[256] = { 0 }, pcicfg = 0, guard = 0;
	uint8_t off;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	g_assert_cmpint(vfuc_read(&c, VFUC_CFG, 0, cfg, sizeof(cfg)), ==, 0);
	g_assert_cmphex(le16(cfg + 0x00), ==, 0x1af4);
	g_assert_cmphex(le16(cfg + 0x02), ==, 0x1040 + 9);
	g_assert_cmpuint(cfg[0x08], ==, 1);                   /* modern only */
	g_assert_true(le16(cfg + 0x06) & 0x10);               /* a capability list */
	g_assert_cmpuint(cfg[0x0e] & 0x7f, ==, 0);            /* header type 0 */
	g_assert_cmphex(le16(cfg + 0x2c), ==, 0x1af4);
	g_assert_cmphex(le16(cfg + 0x2e), ==, 0x1100);
	g_assert_cmpuint(le32(cfg + 0x10) & 0x7, ==, 0);       /* BAR 0: 32-bit memory */
	g_assert_cmpuint(le32(cfg + 0x14) & 0x7, ==, 0);
	g_assert_cmpuint(cfg[0x3d], ==, 0);                   /* no INTx pin */

	off = cfg[0x34] & 0xfc;
	g_assert_cmpuint(off, >=, 0x40);
	while (off) {
		uint8_t id = cfg[off], len = cfg[off + 2], type = cfg[off + 3], bar = cfg[off + 4];
		uint32_t o = le32(cfg + off + 8), l = le32(cfg + off + 12);

		g_assert_cmpuint(off, >=, 0x40);
		g_assert_cmpuint(seen[off]++, ==, 0);         /* no loop */
		g_assert_cmpuint(++guard, <, 48);
		if (id == 0x11) {
			uint16_t ctl = le16(cfg + off + 2);
			uint32_t table = le32(cfg + off + 4), pba = le32(cfg + off + 8);

			msix++;
			g_assert_cmpuint((ctl & 0x7ff) + 1, ==, VFUC_NVEC);
			g_assert_cmpuint(table & 7, ==, 1);
			g_assert_cmphex(table & ~7u, ==, 0);
			g_assert_cmpuint(pba & 7, ==, 1);
			g_assert_cmphex(pba & ~7u, ==, VFUC_PBA);
			g_assert_cmpuint(VFUC_NVEC * 16, <=, VFUC_PBA);
		} else if (id == 0x09) {
			g_assert_cmpuint(len, >=, 16);
			g_assert_cmpuint(type, >=, 1);
			g_assert_cmpuint(type, <=, 5);
			vtypes[type]++;
			if (type != 5) {
				g_assert_cmpuint(bar, ==, 0);
				g_assert_cmpuint((uint64_t)o + l, <=, VFUC_BAR0_SIZE);
			}
			switch (type) {
			case 1: /* common configuration: the whole virtio_pci_common_cfg */
				g_assert_cmphex(o, ==, 0);
				g_assert_cmpuint(l, >=, 0x38);
				break;
			case 2: /* notifications, 4 bytes per queue */
				g_assert_cmpuint(len, >=, 20);
				g_assert_cmphex(o, ==, VFUC_NOTIFY);
				g_assert_cmpuint(l, >=, 2);
				g_assert_cmpuint(le32(cfg + off + 16), ==, 4);
				break;
			case 3:
				g_assert_cmphex(o, ==, VFUC_ISR);
				g_assert_cmpuint(l, >=, 1);
				break;
			case 4: /* tag length and tag */
				g_assert_cmphex(o, ==, VFUC_DEVCFG);
				g_assert_cmpuint(l, >=, 2 + strlen(TAG));
				break;
			case 5:
				g_assert_cmpuint(len, >=, 20);
				pcicfg = off;
				break;
			}
		}
		off = cfg[off + 1] & 0xfc;
	}
	g_assert_cmpuint(msix, ==, 1);
	for (int t = 1; t <= 5; t++)
		g_assert_cmpuint(vtypes[t], ==, 1);

	/* The same bytes in every access width. */
	for (uint32_t o = 0; o < 256; o += 4)
		g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, o, 4), ==, le32(cfg + o));
	for (uint32_t o = 0; o < 256; o += 2)
		g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, o, 2), ==, le16(cfg + o));
	for (uint32_t o = 0; o < 256; o++)
		g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, o, 1), ==, cfg[o]);

	/* Queue 0 notifies at notify_off 0 * 4. */
	cc_w16(&c, CC_QSELECT, 0);
	g_assert_cmpuint(cc_r16(&c, CC_QNOTIFY), ==, 0);
	g_assert_cmpuint(cc_r16(&c, CC_NUMQ), ==, 1);
	/* The virtio_pci_cfg_cap window: 4 bytes of the device configuration. */
	vfuc_wr(&c, VFUC_CFG, pcicfg + 4, 0, 1);
	vfuc_wr(&c, VFUC_CFG, pcicfg + 8, VFUC_DEVCFG, 4);
	vfuc_wr(&c, VFUC_CFG, pcicfg + 12, 4, 4);
	g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, pcicfg + 16, 4), ==,
			(uint32_t)strlen(TAG) | (uint32_t)TAG[0] << 16 | (uint32_t)TAG[1] << 24);
	/* The MSI-X enable bit is the client's to set; the table size stays. */
	for (off = cfg[0x34] & 0xfc; cfg[off] != 0x11; off = cfg[off + 1] & 0xfc)
		;
	vfuc_wr(&c, VFUC_CFG, off + 2, 0x8000 | le16(cfg + off + 2), 2);
	g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, off + 2, 2), ==, 0x8000 | le16(cfg + off + 2));
	/* Read-only places ignore writes. */
	vfuc_wr(&c, VFUC_CFG, 0, 0x12345678, 4);
	g_assert_cmphex(vfuc_rd(&c, VFUC_CFG, 0, 4), ==, le32(cfg));
	/* Nothing pending; no interrupt status yet. */
	g_assert_cmphex(vfuc_rd(&c, VFUC_BAR1, VFUC_PBA, 8), ==, 0);
	g_assert_cmphex(vfuc_rd(&c, VFUC_BAR0, VFUC_ISR, 1), ==, 0);
	vfuc_stop(&c);
}

/* ---- 3: Linux's bring-up, requests, interrupts ---- */

static void t_bring_up(void)
{
	struct vfuc c;
	struct p9_msg m, r;
	uint8_t *buf, tag[64];
	uint16_t tlen;

	vfuc_spawn(&c, synth);
	vfuc_connect(&c);
	vfuc_version(&c);
	/* Three shared ranges (two memfds) and one the device cannot reach. */
	vfuc_map_guest(&c);

	cc_w8(&c, CC_STATUS, 0);
	g_assert_cmpuint(cc_r8(&c, CC_STATUS), ==, 0);
	cc_w8(&c, CC_STATUS, ST_ACK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER);
	cc_w32(&c, CC_DFSELECT, 0);
	g_assert_cmphex(cc_r32(&c, CC_DF), ==, (uint32_t)OFFERED);
	cc_w32(&c, CC_DFSELECT, 1);
	g_assert_cmphex(cc_r32(&c, CC_DF), ==, (uint32_t)(OFFERED >> 32));
	cc_w32(&c, CC_DFSELECT, 2);
	g_assert_cmphex(cc_r32(&c, CC_DF), ==, 0);
	vfuc_driver_features(&c, OFFERED);
	c.features = c.f.features = OFFERED;
	cc_w32(&c, CC_GFSELECT, 0);
	g_assert_cmphex(cc_r32(&c, CC_GF), ==, (uint32_t)OFFERED);
	cc_w32(&c, CC_GFSELECT, 1);
	g_assert_cmphex(cc_r32(&c, CC_GF), ==, (uint32_t)(OFFERED >> 32));
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK);

	cc_w16(&c, CC_MSIX, 0);
	g_assert_cmpuint(cc_r16(&c, CC_MSIX), ==, 0);
	g_assert_cmpuint(cc_r16(&c, CC_NUMQ), ==, 1);
	cc_w16(&c, CC_QSELECT, 0);
	g_assert_cmpuint(cc_r16(&c, CC_QSELECT), ==, 0);
	g_assert_cmpuint(cc_r16(&c, CC_QSIZE), ==, 256);
	g_assert_cmpuint(cc_r16(&c, CC_QENABLE), ==, 0);
	cc_w16(&c, CC_QSIZE, 128);
	g_assert_cmpuint(cc_r16(&c, CC_QSIZE), ==, 128);
	cc_w16(&c, CC_QMSIX, 1);
	g_assert_cmpuint(cc_r16(&c, CC_QMSIX), ==, 1);
	/* The guest enabled MSI-X: QEMU hands the vectors over. */
	vfuc_give_irqs(&c);
	vfuc_fresh_ring(&c, 128);
	vfuc_queue_addrs(&c, VUF_DESC, VUF_AVAIL, VUF_USED);
	for (unsigned i = 0; i < 6; i++)
		g_assert_cmphex(cc_r32(&c, CC_QDESC + 4 * i), ==,
				(uint32_t)((i < 2 ? VUF_DESC : i < 4 ? VUF_AVAIL : VUF_USED) >> (i % 2 * 32)));
	cc_w16(&c, CC_QENABLE, 1);
	g_assert_cmpuint(cc_r16(&c, CC_QENABLE), ==, 1);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);

	/* struct virtio_9p_config: le16 tag_len, then the tag. */
	tlen = (uint16_t)vfuc_rd(&c, VFUC_BAR0, VFUC_DEVCFG, 2);
	g_assert_cmpuint(tlen, ==, strlen(TAG));
	g_assert_cmpint(vfuc_read(&c, VFUC_BAR0, VFUC_DEVCFG + 2, tag, tlen), ==, 0);
	g_assert_cmpmem(tag, tlen, TAG, strlen(TAG));
	/* The configuration is read-only. */
	vfuc_wr(&c, VFUC_BAR0, VFUC_DEVCFG, 3, 2);
	g_assert_cmpuint(vfuc_rd(&c, VFUC_BAR0, VFUC_DEVCFG, 2), ==, strlen(TAG));

	/* Tversion kicked with a posted write, Tattach with an answered one. */
	m = version_msg(65536);
	g_assert_cmpint(rpc_irq(&c, &m, &r, &buf, POSTED), ==, P9_RVERSION);
	g_assert_cmpuint(r.tag, ==, P9_NOTAG);
	g_assert_cmpuint(r.u.version.msize, ==, 65536);
	g_assert_cmpmem(r.u.version.version.s, r.u.version.version.len, "9P2000.L", 8);
	g_free(buf);
	m = attach_msg(0);
	g_assert_cmpint(rpc_irq(&c, &m, &r, &buf, ANSWERED), ==, P9_RATTACH);
	g_free(buf);
	m = getattr_msg(0);
	g_assert_cmpint(rpc_irq(&c, &m, &r, &buf, POSTED), ==, P9_RGETATTR);
	g_assert_cmpuint(r.u.rgetattr.qid.type & 0x80, ==, 0x80);
	g_free(buf);
	/* The doorbell: vuf.h's helpers unchanged. */
	vfuc_bell_start(&c);
	g_assert_cmpint(vuf_walk(&c.f, 1, "file"), ==, P9_RWALK);
	m = getattr_msg(1);
	g_assert_cmpint(vuf_rpc(&c.f, VUF_INDIRECT, &m, &r, &buf), ==, P9_RGETATTR);
	g_assert_cmpuint(r.u.rgetattr.size, ==, 13);
	g_free(buf);
	g_assert_cmpint(vuf_lopen(&c.f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	m = (struct p9_msg){ .type = P9_TREAD };
	m.u.tread.fid = 1;
	m.u.tread.count = 4096;
	g_assert_cmpint(vuf_rpc(&c.f, VUF_PAGES, &m, &r, &buf), ==, P9_RREAD);
	g_assert_cmpmem(r.u.rread.data, r.u.rread.count, "hello, world\n", 13);
	g_free(buf);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* ---- 4: REGION_WRITE_MULTI ---- */

static void send_multi(struct vfuc *c, const struct vfuc_wr1 *w, uint64_t n)
{
	uint8_t *p = g_malloc(8 + n * sizeof(*w));

	memcpy(p, &n, 8);
	memcpy(p + 8, w, n * sizeof(*w));
	g_assert_cmpint(vfuc_send_cmd(c, VFUC_REGION_WRITE_MULTI, VFUC_F_NO_REPLY, p,
				      (uint32_t)(8 + n * sizeof(*w)), NULL, 0), >=, 0);
	g_free(p);
}

static struct vfuc_wr1 wr1(uint32_t region, uint64_t off, uint64_t v, uint32_t count)
{
	struct vfuc_wr1 w = { off, region, count, { 0 } };

	memcpy(w.data, &v, 8);
	return w;
}

static void t_write_multi(void)
{
	struct vfuc c;
	struct vfuc_wr1 w[16];
	struct p9_msg m, r;
	uint8_t *buf;
	unsigned n = 0;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	vfuc_negotiate(&c, ~0ull);
	vfuc_fresh_ring(&c, 64);
	/* The queue's whole setup in one coalesced write. */
	w[n++] = wr1(VFUC_BAR0, CC_MSIX, 0, 2);
	w[n++] = wr1(VFUC_BAR0, CC_QSELECT, 0, 2);
	w[n++] = wr1(VFUC_BAR0, CC_QSIZE, 64, 2);
	w[n++] = wr1(VFUC_BAR0, CC_QMSIX, 1, 2);
	w[n++] = wr1(VFUC_BAR0, CC_QDESC, VUF_DESC, 4);
	w[n++] = wr1(VFUC_BAR0, CC_QDESC + 4, 0, 4);
	w[n++] = wr1(VFUC_BAR0, CC_QDRIVER, VUF_AVAIL, 4);
	w[n++] = wr1(VFUC_BAR0, CC_QDRIVER + 4, 0, 4);
	w[n++] = wr1(VFUC_BAR0, CC_QDEVICE, VUF_USED, 8);      /* one 8-byte write */
	send_multi(&c, w, n);
	/* Handled in order: a read after it sees all of it. */
	g_assert_cmpuint(cc_r16(&c, CC_MSIX), ==, 0);
	g_assert_cmpuint(cc_r16(&c, CC_QSIZE), ==, 64);
	g_assert_cmpuint(cc_r16(&c, CC_QMSIX), ==, 1);
	g_assert_cmphex(vfuc_rd(&c, VFUC_BAR0, CC_QDESC, 8), ==, VUF_DESC);
	g_assert_cmphex(vfuc_rd(&c, VFUC_BAR0, CC_QDRIVER, 8), ==, VUF_AVAIL);
	g_assert_cmphex(vfuc_rd(&c, VFUC_BAR0, CC_QDEVICE, 8), ==, VUF_USED);
	n = 0;
	w[n++] = wr1(VFUC_BAR0, CC_QENABLE, 1, 2);
	w[n++] = wr1(VFUC_BAR0, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK, 1);
	send_multi(&c, w, n);
	g_assert_cmpuint(cc_r16(&c, CC_QENABLE), ==, 1);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	/* Requests notified inside coalesced writes. */
	mount_irq(&c, MULTI);
	m = getattr_msg(0);
	g_assert_cmpint(rpc_irq(&c, &m, &r, &buf, MULTI), ==, P9_RGETATTR);
	g_free(buf);
	/* 200 entries, the most QEMU packs: the last one notifies. */
	{
		struct vfuc_wr1 *big = g_new(struct vfuc_wr1, 200);
		uint64_t in;
		uint32_t id, len;
		uint16_t head;

		for (unsigned i = 0; i < 199; i++)
			big[i] = wr1(VFUC_BAR0, CC_QSELECT, 0, 2);
		big[199] = wr1(VFUC_BAR0, VFUC_NOTIFY, 0, 2);
		m = getattr_msg(0);
		m.tag = c.f.tag++;
		vfuc_irqs(&c, 1);
		vuf_set_used_event(&c.f, c.f.used_seen);
		head = vuf_post(&c.f, &m, &in);
		send_multi(&c, big, 200);
		g_assert_cmpuint(vfuc_wait_irq(&c, 1, VUF_WAIT_MS), >=, 1);
		g_assert_true(vuf_wait_used(&c.f, &id, &len));
		g_assert_cmpuint(id, ==, head);
		g_assert_cmpint(vuf_decode(&c.f, in, len, &r, &buf), ==, P9_RGETATTR);
		g_free(buf);
		g_free(big);
	}
	/* An entry outside every region: refused (answered), connection kept. */
	{
		uint8_t p[8 + 2 * sizeof(struct vfuc_wr1)];
		uint64_t two = 2;

		w[0] = wr1(VFUC_BAR0, CC_MSIX, 0, 2);
		w[1] = wr1(2, 0, 0, 4);
		memcpy(p, &two, 8);
		memcpy(p + 8, w, 2 * sizeof(w[0]));
		g_assert_cmpint(vfuc_call(&c, VFUC_REGION_WRITE_MULTI, p, sizeof(p), NULL, 0, NULL),
				==, EINVAL);
	}
	g_assert_cmpuint(cc_r16(&c, CC_MSIX), ==, 0);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* An answered REGION_WRITE_MULTI: the specification's reply carries
 * wr_cnt, the writes completed.  QEMU always posts these, so only a
 * client that asks notices. */
static void t_write_multi_reply(void)
{
	struct vfuc c;
	struct vfuc_wr1 w[2] = { wr1(VFUC_BAR0, CC_MSIX, 0, 2), wr1(VFUC_BAR0, CC_QSELECT, 0, 2) };
	uint8_t p[8 + sizeof(w)];
	uint64_t n = 2, done = 0;
	struct vfuc_reply r;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	vfuc_driver_up(&c, 64, ~0ull);
	memcpy(p, &n, 8);
	memcpy(p + 8, w, sizeof(w));
	g_assert_cmpint(vfuc_call(&c, VFUC_REGION_WRITE_MULTI, p, sizeof(p), NULL, 0, &r), ==, 0);
	g_assert_cmpuint(cc_r16(&c, CC_MSIX), ==, 0);
	/* The reply carries wr_cnt, the number of writes done. */
	g_assert_cmpuint(r.len, ==, 8);
	memcpy(&done, r.data, 8);
	g_assert_cmpuint(done, ==, 2);
	vfuc_reply_free(&r);
	vfuc_stop(&c);
}

/* ---- 5: device reset ---- */

static void check_reset_state(struct vfuc *c)
{
	g_assert_cmpuint(cc_r8(c, CC_STATUS), ==, 0);
	g_assert_cmpuint(cc_r16(c, CC_MSIX), ==, VFUC_NO_VECTOR);
	g_assert_cmpuint(cc_r16(c, CC_QSELECT), ==, 0);
	g_assert_cmpuint(cc_r16(c, CC_QENABLE), ==, 0);
	g_assert_cmpuint(cc_r16(c, CC_QSIZE), ==, VFUC_QMAX);
	g_assert_cmpuint(cc_r16(c, CC_QMSIX), ==, VFUC_NO_VECTOR);
	g_assert_cmphex(vfuc_rd(c, VFUC_BAR0, CC_QDESC, 8), ==, 0);
	cc_w32(c, CC_GFSELECT, 0);
	g_assert_cmphex(cc_r32(c, CC_GF), ==, 0);
	cc_w32(c, CC_GFSELECT, 1);
	g_assert_cmphex(cc_r32(c, CC_GF), ==, 0);
	/* What is offered does not change. */
	g_assert_cmphex(vfuc_device_features(c), ==, OFFERED);
}

static void reset_case(bool command)
{
	struct vfuc c;
	struct p9_msg m, r;
	uint64_t in;
	uint16_t used;
	uint8_t *buf;

	vfuc_spawn(&c, synth);
	vfuc_up(&c);
	check_serving(&c);
	/* A request blocked in the server when the reset comes. */
	g_assert_cmpint(vuf_walk(&c.f, 1, "blocker"), ==, P9_RWALK);
	m = (struct p9_msg){ .type = P9_TLOPEN, .tag = 500 };
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	vuf_post(&c.f, &m, &in);
	g_usleep(100000);
	used = vuf_used_idx(&c.f);
	vfuc_bell_stop(&c);
	if (command) {
		struct vfuc_reply rr;

		g_assert_cmpint(vfuc_call(&c, VFUC_DEVICE_RESET, NULL, 0, NULL, 0, &rr), ==, 0);
		g_assert_cmpuint(rr.len, ==, 0);
		vfuc_reply_free(&rr);
	} else {
		cc_w8(&c, CC_STATUS, 0);
	}
	check_reset_state(&c);
	/* The reset queue's ring is never written again. */
	g_usleep(200000);
	g_assert_cmpuint(vuf_used_idx(&c.f), ==, used);
	g_assert_true(vfuc_alive(&c));
	/* Up again on the same memory and vectors; a new 9P session. */
	vfuc_driver_up(&c, 128, ~0ull);
	mount_irq(&c, POSTED);
	m = getattr_msg(0);
	g_assert_cmpint(rpc_irq(&c, &m, &r, &buf, ANSWERED), ==, P9_RGETATTR);
	g_free(buf);
	vfuc_bell_start(&c);
	g_assert_cmpint(vuf_lopen(&c.f, 1, P9L_RDONLY), ==, P9_RLERROR);
	g_assert_cmpint(vuf_walk(&c.f, 1, "file"), ==, P9_RWALK);
	vfuc_stop(&c);
}

static void t_reset_status(void) { reset_case(false); }
static void t_reset_command(void) { reset_case(true); }

/* ---- 6: feature refusal ---- */

static void t_feature_refusal(void)
{
	struct vfuc c;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	/* A bit never offered. */
	cc_w8(&c, CC_STATUS, ST_ACK);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER);
	g_assert_cmphex(vfuc_device_features(&c), ==, OFFERED);
	vfuc_driver_features(&c, OFFERED | 1ull << 40);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER);
	/* A queue enabled anyway: the device needs a reset, and says so on
	 * the configuration vector. */
	cc_w16(&c, CC_MSIX, 0);
	cc_w16(&c, CC_QSELECT, 0);
	vfuc_queue_addrs(&c, VUF_DESC, VUF_AVAIL, VUF_USED);
	vfuc_irqs(&c, 0);
	cc_w16(&c, CC_QENABLE, 1);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_NEEDS_RESET);
	g_assert_cmpuint(vfuc_wait_irq(&c, 0, VUF_WAIT_MS), >=, 1);

	/* Without VERSION_1 (a legacy driver). */
	cc_w8(&c, CC_STATUS, 0);
	g_assert_cmpuint(cc_r8(&c, CC_STATUS), ==, 0);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER);
	vfuc_driver_features(&c, VUF_F_MOUNT_TAG | VUF_F_INDIRECT);
	cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER);

	/* VERSION_1 alone is enough; features are frozen once accepted. */
	vfuc_driver_up(&c, 64, 0);
	g_assert_cmphex(c.features, ==, VUF_F_VERSION_1);
	vfuc_driver_features(&c, OFFERED);
	cc_w32(&c, CC_GFSELECT, 0);
	g_assert_cmphex(cc_r32(&c, CC_GF), ==, 0);
	cc_w32(&c, CC_GFSELECT, 1);
	g_assert_cmphex(cc_r32(&c, CC_GF), ==, 1);
	vfuc_bell_start(&c);
	vuf_mount(&c.f, 65536);
	check_serving(&c);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* ---- 7: guest driver faults ---- */

/* Rings that the device cannot use: each enable sets DEVICE_NEEDS_RESET
 * with a configuration interrupt; a reset clears it. */
static void t_ring_outside_memory(void)
{
	static const uint64_t bad[][3] = {
		{ VUF_HOLE, VUF_AVAIL, VUF_USED },                    /* in no map */
		{ VUF_DESC, VUF_AVAIL, VFUC_NOFD + 0x1000 },          /* a map without descriptor */
		{ VUF_DESC, VUF_R2 + VUF_B_SIZE - 100, VUF_USED },    /* past the end of a map */
		{ VUF_DESC + 8, VUF_AVAIL, VUF_USED },                /* misaligned */
		{ 0xfffffffffffff000ull, VUF_AVAIL, VUF_USED },       /* wraps around */
	};
	struct vfuc c;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		vfuc_negotiate(&c, ~0ull);
		cc_w16(&c, CC_MSIX, 0);
		cc_w16(&c, CC_QSELECT, 0);
		cc_w16(&c, CC_QSIZE, 128);
		cc_w16(&c, CC_QMSIX, 1);
		vfuc_queue_addrs(&c, bad[i][0], bad[i][1], bad[i][2]);
		vfuc_irqs(&c, 0);
		cc_w16(&c, CC_QENABLE, 1);
		g_assert_cmphex(cc_r8(&c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_NEEDS_RESET);
		g_assert_cmpuint(vfuc_wait_irq(&c, 0, VUF_WAIT_MS), >=, 1);
		/* DRIVER_OK does not clear it. */
		cc_w8(&c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
		g_assert_true(cc_r8(&c, CC_STATUS) & ST_NEEDS_RESET);
		g_assert_true(vfuc_alive(&c));
		cc_w8(&c, CC_STATUS, 0);
		g_assert_cmpuint(cc_r8(&c, CC_STATUS), ==, 0);
	}
	vfuc_driver_up(&c, 128, ~0ull);
	vfuc_bell_start(&c);
	vuf_mount(&c.f, 65536);
	check_serving(&c);
	vfuc_stop(&c);
}

/* A chain the device cannot follow (a buffer outside guest memory) in a
 * running queue: the queue stops, and the virtio way to tell the driver is
 * DEVICE_NEEDS_RESET with a configuration interrupt. */
static void t_chain_fault(void)
{
	struct vfuc c;
	struct vuf_seg s[2] = { { VUF_HOLE, 64, false }, { VUF_R1, 4096, true } };
	struct p9_msg m = getattr_msg(0);
	uint64_t in;
	uint16_t used;
	uint8_t st;

	vfuc_spawn(&c, synth);
	vfuc_up(&c);
	vfuc_irqs(&c, 0);
	vuf_chain(&c.f, s, 2, false);
	st = wait_status(&c, ST_NEEDS_RESET, 3000);
	g_assert_cmpuint(st & ST_NEEDS_RESET, ==, ST_NEEDS_RESET);
	g_assert_cmpuint(vfuc_wait_irq(&c, 0, VUF_WAIT_MS), >=, 1);
	/* The queue does no more work, and the process lives. */
	used = vuf_used_idx(&c.f);
	m.tag = 77;
	vuf_post(&c.f, &m, &in);
	g_usleep(200000);
	g_assert_cmpuint(vuf_used_idx(&c.f), ==, used);
	g_assert_true(vfuc_alive(&c));
	/* A reset recovers. */
	vfuc_driver_up(&c, 128, ~0ull);
	vuf_mount(&c.f, 65536);
	check_serving(&c);
	vfuc_stop(&c);
}

/* ---- 8: refused commands, connection kept ---- */

struct bad_access { uint32_t region; uint64_t off; uint32_t count; };

static void t_refusals(void)
{
	static const struct bad_access bad[] = {
		{ 0, VFUC_BAR0_SIZE, 4 }, { 0, VFUC_BAR0_SIZE - 2, 4 }, { 0, 1ull << 40, 4 },
		{ 1, VFUC_BAR1_SIZE, 4 }, { 7, 256, 1 }, { 7, 255, 2 }, { 7, 0, 257 },
		{ 2, 0, 4 }, { 6, 0, 4 }, { 8, 0, 4 }, { 9, 0, 4 }, { 0xffffffff, 0, 4 },
	};
	struct vfuc c;
	uint8_t buf[512] = { 0 };
	int efd[3], fds_base;
	uint8_t bools[2] = { 0, 1 };

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	fds_base = x9p_proc_fds(c.worker);
	if (fds_base < 0)
		g_test_message("the worker's descriptors cannot be counted here");

	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(vfuc_read(&c, bad[i].region, bad[i].off, buf, bad[i].count), ==, EINVAL);
		g_assert_cmpint(vfuc_write(&c, bad[i].region, bad[i].off, buf, bad[i].count, false), ==,
				EINVAL);
		/* Posted: refused without a reply; the next answer is the next
		 * command's (vfuc_call checks the id). */
		g_assert_cmpint(vfuc_write(&c, bad[i].region, bad[i].off, buf, bad[i].count, true), ==, 0);
	}
	g_assert_cmpuint(cc_r16(&c, CC_NUMQ), ==, 1);

	/* DMA maps: overlapping, misaligned, larger than their memfd. */
	g_assert_cmpint(vfuc_dma_map(&c, VUF_R0, VUF_R1 - VUF_R0, c.f.memfd_a, 0), ==, EEXIST);
	g_assert_cmpint(vfuc_dma_map(&c, VUF_R1 - 0x1000, 0x2000, c.f.memfd_a, 0), ==, EEXIST);
	g_assert_cmpint(vfuc_dma_map(&c, VFUC_NOFD + VFUC_NOFD_SIZE - 0x1000, 0x2000, -1, 0), ==, EEXIST);
	g_assert_cmpint(vfuc_dma_map(&c, 0x10000800, 0x1000, c.f.memfd_b, 0), ==, EINVAL);
	g_assert_cmpint(vfuc_dma_map(&c, 0x10000000, 0x800, c.f.memfd_b, 0), ==, EINVAL);
	g_assert_cmpint(vfuc_dma_map(&c, 0x10000000, 0x1000, c.f.memfd_b, 0x800), ==, EINVAL);
	g_assert_cmpint(vfuc_dma_map(&c, 0x10000000, 2ull * VUF_B_SIZE, c.f.memfd_b, 0), ==, EINVAL);
	g_assert_cmpint(vfuc_dma_map(&c, 0x10000000, VUF_B_SIZE, c.f.memfd_b, 0x200000), ==, EINVAL);
	/* Unmaps that would split a map (inside one; across two). */
	g_assert_cmpint(vfuc_dma_unmap(&c, VUF_R1 + 0x1000, 0x1000, 0), ==, EINVAL);
	g_assert_cmpint(vfuc_dma_unmap(&c, VUF_R1 - 0x1000, 0x2000, 0), ==, EINVAL);

	/* Interrupts: only MSI-X exists, with two vectors, and is not maskable. */
	for (int i = 0; i < 3; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, efd, 1),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSI_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, efd, 1),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 2, efd, 2),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 3, efd, 3),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 1, efd, 1),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 0, 1, NULL, 0),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, 5, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0,
				      NULL, 0), ==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_ERR_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 2, efd, 2),
			==, EINVAL);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_REQ_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, efd, 1),
			==, EINVAL);
	for (int i = 0; i < 3; i++)
		close(efd[i]);
	/* What is allowed: the error eventfd (QEMU gives one) and taking it
	 * back, turning INTx off, and triggering a vector from the client (the
	 * vectors are still ours, not the refused ones). */
	efd[0] = eventfd(0, EFD_CLOEXEC);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_ERR_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, efd, 1),
			==, 0);
	close(efd[0]);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_ERR_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL, 0),
			==, 0);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_INTX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL, 0),
			==, 0);
	vfuc_irqs(&c, 0);
	vfuc_irqs(&c, 1);
	g_assert_cmpint(vfuc_set_irqs(&c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 1, NULL, 0),
			==, 0);
	g_assert_cmpuint(vfuc_wait_irq(&c, 1, VUF_WAIT_MS), ==, 1);
	{
		struct vfuc_irq_set s = { sizeof(s) + 2, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER,
					  VFIO_PCI_MSIX_IRQ_INDEX, 0, 2 };
		uint8_t p[sizeof(s) + 2];

		memcpy(p, &s, sizeof(s));
		memcpy(p + sizeof(s), bools, 2);
		g_assert_cmpint(vfuc_call(&c, VFUC_SET_IRQS, p, sizeof(p), NULL, 0, NULL), ==, 0);
		g_assert_cmpuint(vfuc_wait_irq(&c, 1, VUF_WAIT_MS), ==, 1);
		g_assert_cmpuint(vfuc_irqs(&c, 0), ==, 0);
	}

	/* A second VERSION; commands the device does not implement. */
	g_assert_cmpint(vfuc_version_json(&c, VFUC_QEMU_CAPS), ==, EINVAL);
	g_assert_cmpint(vfuc_call(&c, 99, NULL, 0, NULL, 0, NULL), ==, ENOSYS);
	g_assert_cmpint(vfuc_call(&c, 99, buf, 8, NULL, 0, NULL), ==, ENOSYS);
	g_assert_cmpint(vfuc_call(&c, VFUC_GET_REGION_IO_FDS, buf, 16, NULL, 0, NULL), ==, ENOSYS);
	g_assert_cmpint(vfuc_call(&c, VFUC_DEVICE_FEATURE, buf, 8, NULL, 0, NULL), ==, ENOSYS);
	g_assert_cmpint(vfuc_call(&c, VFUC_DIRTY_PAGES, buf, 8, NULL, 0, NULL), ==, ENOSYS);

	/* Every refused descriptor was closed; the connection still works. */
	g_assert_true(fds_settle(&c, fds_base));
	vfuc_driver_up(&c, 128, ~0ull);
	vfuc_bell_start(&c);
	vuf_mount(&c.f, 65536);
	check_serving(&c);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* DMA_UNMAP of a range no map has: the specification wants an exact
 * previous mapping, docs/vfio-user.md names ENOENT. */
static void t_unmap_unknown(void)
{
	struct vfuc c;
	int err;

	vfuc_spawn(&c, synth);
	vfuc_machine(&c);
	err = vfuc_dma_unmap(&c, 0x10000000, 0x1000, 0);
	g_assert_cmpint(err, ==, ENOENT);
	vfuc_driver_up(&c, 128, ~0ull);
	vfuc_bell_start(&c);
	vuf_mount(&c.f, 65536);
	vfuc_stop(&c);
}

/* ---- 9: fatal protocol faults end that connection only ---- */

enum fault {
	F_BEFORE_VERSION, F_SHORT_SIZE, F_TRUNCATED_CLOSE, F_ERROR_FLAG, F_TWO_FDS,
	F_REPLY_TYPE, F_WRITE_DATA_MISMATCH, F_HUGE_SIZE, F_FDS_WITH_READ, F_NFAULTS
};

static void send_hdr(int sock, uint16_t cmd, uint32_t size, uint32_t flags, const void *p,
		     size_t plen, const int *fds, int nfds)
{
	uint8_t buf[128];
	struct vfuc_hdr h = { 0x4242, cmd, size, flags, 0 };

	g_assert_cmpuint(plen, <=, sizeof(buf) - VFUC_HDR);
	memcpy(buf, &h, VFUC_HDR);
	if (plen)
		memcpy(buf + VFUC_HDR, p, plen);
	g_assert_cmpint(vfuc_send_raw(sock, buf, VFUC_HDR + plen, fds, nfds), ==, 0);
}

static void commit_fault(struct vfuc *c, enum fault f)
{
	struct vfuc_dma_map dm = { sizeof(dm), VFIO_DMA_MAP_FLAG_READ, 0, 0x10000000, 0x1000 };
	struct vfuc_rw rw = { CC_MSIX, VFUC_BAR0, 4 };
	uint8_t p[64] = { 0 };
	int s = c->f.sock, two[2] = { c->f.memfd_b, c->f.memfd_b };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };

	if (f != F_BEFORE_VERSION)
		vfuc_version(c);
	switch (f) {
	case F_BEFORE_VERSION:
		send_hdr(s, VFUC_GET_INFO, VFUC_HDR + 16, 0, (uint32_t[4]){ 16 }, 16, NULL, 0);
		break;
	case F_SHORT_SIZE:
		send_hdr(s, VFUC_GET_INFO, 8, 0, NULL, 0, NULL, 0);
		break;
	case F_TRUNCATED_CLOSE:
		/* A DMA_MAP cut after 10 of its 32 bytes, then the client is gone. */
		send_hdr(s, VFUC_DMA_MAP, VFUC_HDR + sizeof(dm), 0, &dm, 10, NULL, 0);
		break;
	case F_ERROR_FLAG:
		send_hdr(s, VFUC_GET_INFO, VFUC_HDR + 16, VFUC_F_ERROR, (uint32_t[4]){ 16 }, 16, NULL, 0);
		break;
	case F_TWO_FDS:
		send_hdr(s, VFUC_DMA_MAP, VFUC_HDR + sizeof(dm), 0, &dm, sizeof(dm), two, 2);
		break;
	case F_REPLY_TYPE:
		send_hdr(s, VFUC_GET_INFO, VFUC_HDR + 16, VFUC_T_REPLY, (uint32_t[4]){ 16 }, 16, NULL, 0);
		break;
	case F_WRITE_DATA_MISMATCH:
		memcpy(p, &rw, sizeof(rw));
		send_hdr(s, VFUC_REGION_WRITE, VFUC_HDR + sizeof(rw) + 2, 0, p, sizeof(rw) + 2, NULL, 0);
		break;
	case F_HUGE_SIZE:
		send_hdr(s, VFUC_REGION_WRITE, 0x7fffffff, 0, NULL, 0, NULL, 0);
		break;
	case F_FDS_WITH_READ:
		send_hdr(s, VFUC_GET_REGION_INFO, VFUC_HDR + sizeof(ri), 0, &ri, sizeof(ri), two, 1);
		break;
	case F_NFAULTS:
		break;
	}
}

static void t_fatal_faults(void)
{
	struct vfuc c;
	int n;

	vfuc_spawn(&c, synth);
	for (int f = 0; f < F_NFAULTS; f++) {
		vfuc_connect(&c);
		commit_fault(&c, (enum fault)f);
		if (f != F_TRUNCATED_CLOSE) {
			/* Closed by the server, with no answer to the fault. */
			n = vfuc_wait_eof(c.f.sock);
			if (n != 0)
				g_printerr("# fault %d: %d bytes, then %s\n", f, n,
					   n < 0 ? "no close" : "close");
			g_assert_cmpint(n, ==, 0);
		}
		vfuc_disconnect(&c);
		g_assert_true(vfuc_alive(&c));
		/* The next client is served from scratch. */
		vfuc_machine(&c);
		vfuc_driver_up(&c, 64, ~0ull);
		mount_irq(&c, POSTED);
		vfuc_disconnect(&c);
	}
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* ---- 10: reconnection ---- */

static void t_reconnect(void)
{
	struct vfuc c;
	struct p9_msg m;
	uint8_t *old_a, *snap;
	int old_fd_a, old_fd_b, s3, fds_base;
	uint8_t *old_b;
	uint64_t in;
	uint16_t old_used;
	struct vfuc_hdr h = { 1, VFUC_VERSION, VFUC_HDR + 4, 0, 0 };
	uint8_t v[VFUC_HDR + 4] = { 0 };

	vfuc_spawn(&c, synth);
	fds_base = x9p_proc_fds(c.worker);
	/* Client 1 leaves with a request blocked in the server. */
	vfuc_up(&c);
	g_assert_cmpint(vuf_walk(&c.f, 1, "blocker"), ==, P9_RWALK);
	m = (struct p9_msg){ .type = P9_TLOPEN, .tag = 600 };
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	vuf_post(&c.f, &m, &in);
	g_usleep(100000);
	old_used = vuf_used_idx(&c.f);
	snap = g_memdup2(vuf_ptr(&c.f, in), 4096);
	vfuc_disconnect(&c);
	old_a = c.f.a;
	old_b = c.f.b;
	old_fd_a = c.f.memfd_a;
	old_fd_b = c.f.memfd_b;
	vuf_new_memory(&c.f);

	/* Client 2: new memory, new session. */
	c.f.tag = 0;
	vfuc_up(&c);
	g_assert_cmpint(vuf_lopen(&c.f, 1, P9L_RDONLY), ==, P9_RLERROR);
	g_assert_cmpint(vuf_walk(&c.f, 1, "file"), ==, P9_RWALK);
	g_assert_cmpint(vuf_lopen(&c.f, 1, P9L_RDONLY), ==, P9_RLOPEN);
	/* A third connection meanwhile is closed at once, unanswered. */
	s3 = vfuc_connect_path(c.f.path);
	memcpy(v, &h, VFUC_HDR);
	(void)vfuc_send_raw(s3, v, sizeof(v), NULL, 0);
	g_assert_cmpint(vfuc_wait_eof(s3), ==, 0);
	close(s3);
	check_serving(&c);
	/* Client 1's memory was left alone. */
	g_assert_cmpuint(*(uint16_t *)(old_a + VUF_USED + 2), ==, old_used);
	g_assert_cmpmem(old_a + in, 4096, snap, 4096);
	g_assert_true(vfuc_alive(&c));
	/* Gone with client 2: its memory and eventfds. */
	vfuc_disconnect(&c);
	g_assert_true(fds_settle(&c, fds_base));
	/* And a client 3 after it. */
	c.f.tag = 0;
	vfuc_up(&c);
	check_serving(&c);
	g_assert_true(vfuc_alive(&c));
	munmap(old_a, VUF_A_SIZE);
	munmap(old_b, VUF_B_SIZE);
	close(old_fd_a);
	close(old_fd_b);
	g_free(snap);
	vfuc_stop(&c);
}

/* ---- 11: DMA unmaps under a running queue ---- */

static void t_unmap_all_running(void)
{
	struct vfuc c;
	struct p9_msg m;
	uint64_t in;
	uint16_t used;

	vfuc_spawn(&c, synth);
	vfuc_up(&c);
	g_assert_cmpint(vuf_walk(&c.f, 1, "blocker"), ==, P9_RWALK);
	m = (struct p9_msg){ .type = P9_TLOPEN, .tag = 700 };
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	vuf_post(&c.f, &m, &in);
	g_usleep(100000);
	g_assert_cmpint(vfuc_dma_unmap(&c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL), ==, 0);
	g_test_message("status after DMA_UNMAP of everything: %#x", cc_r8(&c, CC_STATUS));
	/* Kicks now must not make the device touch what is no longer mapped. */
	used = vuf_used_idx(&c.f);
	m = getattr_msg(0);
	m.tag = 701;
	vuf_post(&c.f, &m, &in);
	vfuc_notify(&c, false);
	vfuc_notify(&c, true);
	g_usleep(300000);
	g_assert_cmpuint(vuf_used_idx(&c.f), ==, used);
	g_assert_true(vfuc_alive(&c));
	/* Nothing left to unmap is fine too. */
	g_assert_cmpint(vfuc_dma_unmap(&c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL), ==, 0);
	/* Reset, memory again, and the device serves. */
	cc_w8(&c, CC_STATUS, 0);
	g_assert_cmpuint(cc_r8(&c, CC_STATUS), ==, 0);
	vfuc_map_guest(&c);
	vfuc_driver_up(&c, 128, ~0ull);
	vuf_mount(&c.f, 65536);
	check_serving(&c);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* Unmapping memory that only buffers use (R2) keeps the queue running.
 * The specification: "the server must release all references to that DMA
 * region before replying, which potentially includes in-flight DMA
 * transactions": a request in flight whose reply buffer lies in R2 must
 * not write its reply there once DMA_UNMAP has been answered.  The
 * synthetic /blocker holds the request until a Tmkdir of /ctl/release. */
static void t_unmap_buffers_in_flight(void)
{
	struct vfuc c;
	struct p9_msg m, r;
	uint8_t t[128], *buf, *reply;
	struct vuf_seg s[2];
	uint64_t in_k;
	uint32_t id, len, blen = 0;
	uint16_t hb, hk;
	int tl;
	bool got_b = false, got_k = false, written = false;

	vfuc_spawn(&c, synth);
	vfuc_up(&c);
	g_assert_cmpint(vuf_walk(&c.f, 1, "blocker"), ==, P9_RWALK);
	g_assert_cmpint(vuf_walk(&c.f, 2, "ctl"), ==, P9_RWALK);
	/* The blocked request's reply goes to R2. */
	m = (struct p9_msg){ .type = P9_TLOPEN, .tag = 800 };
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	tl = p9_encode(t, sizeof(t), P9_DIALECT_2000L, &m);
	g_assert_cmpint(tl, >, 0);
	s[0] = (struct vuf_seg){ vuf_alloc(&c.f, (uint32_t)tl), (uint32_t)tl, false };
	s[1] = (struct vuf_seg){ VUF_R2 + 0x10000, 4096, true };
	vuf_write_mem(&c.f, s[0].gpa, t, (size_t)tl);
	reply = vuf_ptr(&c.f, s[1].gpa);
	memset(reply, 0xAA, 4096);
	hb = vuf_chain(&c.f, s, 2, false);
	/* Answered after it: the blocked one was taken from the ring. */
	check_serving(&c);
	g_assert_cmpint(vfuc_dma_unmap(&c, VUF_R2, VUF_B_SIZE, 0), ==, 0);
	/* The queue runs on (its rings are in R0). */
	check_serving(&c);
	/* Release the blocked request. */
	m = (struct p9_msg){ .type = P9_TMKDIR, .tag = 801 };
	m.u.tmkdir.dfid = 2;
	m.u.tmkdir.name = p9_str_c("release");
	m.u.tmkdir.mode = 0755;
	hk = vuf_post(&c.f, &m, &in_k);
	for (int i = 0; i < 2; i++) {
		g_assert_true(vuf_wait_used(&c.f, &id, &len));
		if (id == hk) {
			g_assert_cmpint(vuf_decode(&c.f, in_k, len, &r, &buf), ==, P9_RMKDIR);
			g_free(buf);
			got_k = true;
		} else {
			g_assert_cmpuint(id, ==, hb);
			blen = len;
			got_b = true;
		}
	}
	g_assert_true(got_b && got_k);
	for (unsigned i = 0; i < 4096; i++)
		written |= reply[i] != 0xAA;
	/* Its reply went to scratch memory, not to the memory given back. */
	g_test_message("the unmapped request completed with a %u-byte reply", blen);
	g_assert_false(written);
	check_serving(&c);
	g_assert_true(vfuc_alive(&c));
	vfuc_stop(&c);
}

/* ---- 12: SIGTERM ---- */

/* Waits up to ms for pid to exit; its wait status, or -1. */
static int wait_exit(pid_t pid, int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000ll;
	int st;

	do {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			return st;
		g_assert_cmpint(w, ==, 0);
		g_usleep(20000);
	} while (g_get_monotonic_time() < end);
	return -1;
}

static void t_sigterm(void)
{
	struct vfuc c;
	struct p9_msg m;
	uint64_t in;
	int st;

	vfuc_spawn(&c, synth);
	vfuc_up(&c);
	check_serving(&c);
	/* With a request in flight too. */
	g_assert_cmpint(vuf_walk(&c.f, 1, "blocker"), ==, P9_RWALK);
	m = (struct p9_msg){ .type = P9_TLOPEN, .tag = 900 };
	m.u.tlopen.fid = 1;
	m.u.tlopen.flags = P9L_RDONLY;
	vuf_post(&c.f, &m, &in);
	g_usleep(100000);
	g_assert_cmpint(kill(c.f.pid, SIGTERM), ==, 0);
	st = wait_exit(c.f.pid, 5000);
	g_assert_cmpint(st, !=, -1);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	c.f.pid = 0;
	g_assert_cmpint(vfuc_wait_eof(c.f.sock), >=, 0);
	vfuc_stop(&c);
}

/* SIGTERM while the client has sent half a message and stalls. */
static void t_sigterm_stalled_client(void)
{
	struct vfuc c;
	struct vfuc_dma_map dm = { sizeof(dm), VFIO_DMA_MAP_FLAG_READ, 0, 0x10000000, 0x1000 };
	gint64 t0;
	int st;

	vfuc_spawn(&c, synth);
	vfuc_connect(&c);
	vfuc_version(&c);
	send_hdr(c.f.sock, VFUC_DMA_MAP, VFUC_HDR + sizeof(dm), 0, &dm, 8, NULL, 0);
	g_usleep(100000);
	t0 = g_get_monotonic_time();
	g_assert_cmpint(kill(c.f.pid, SIGTERM), ==, 0);
	/* The stalled client is dropped after 2 s (UIO_STALL_MS), then the
	 * worker sees the stop. */
	st = wait_exit(c.f.pid, 5000);
	if (st == -1)
		g_test_message("no exit after %lld ms",
			       (long long)(g_get_monotonic_time() - t0) / 1000);
	g_assert_cmpint(st, !=, -1);
	g_assert_true(WIFEXITED(st));
	g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	c.f.pid = 0;
	vfuc_stop(&c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vfio-user/handshake", t_handshake);
	g_test_add_func("/vfio-user/config-space", t_config_space);
	g_test_add_func("/vfio-user/bring-up", t_bring_up);
	g_test_add_func("/vfio-user/write-multi", t_write_multi);
	g_test_add_func("/vfio-user/write-multi-reply", t_write_multi_reply);
	g_test_add_func("/vfio-user/reset-status", t_reset_status);
	g_test_add_func("/vfio-user/reset-command", t_reset_command);
	g_test_add_func("/vfio-user/feature-refusal", t_feature_refusal);
	g_test_add_func("/vfio-user/ring-outside-memory", t_ring_outside_memory);
	g_test_add_func("/vfio-user/chain-fault", t_chain_fault);
	g_test_add_func("/vfio-user/refusals", t_refusals);
	g_test_add_func("/vfio-user/unmap-unknown", t_unmap_unknown);
	g_test_add_func("/vfio-user/fatal-faults", t_fatal_faults);
	g_test_add_func("/vfio-user/reconnect", t_reconnect);
	g_test_add_func("/vfio-user/unmap-all-running", t_unmap_all_running);
	g_test_add_func("/vfio-user/unmap-buffers-in-flight", t_unmap_buffers_in_flight);
	g_test_add_func("/vfio-user/sigterm", t_sigterm);
	g_test_add_func("/vfio-user/sigterm-stalled-client", t_sigterm_stalled_client);
	return g_test_run();
}
