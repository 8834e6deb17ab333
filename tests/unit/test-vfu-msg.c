/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-user codec (virtio-pci-shim/vfu-*.h): every command QEMU's client
 * sends, round-tripped over a real socketpair with its descriptors; every
 * kind of malformed message refused with -EPROTO and no descriptor left
 * open; replies byte for byte; VERSION negotiation against QEMU's own
 * capabilities document and against broken ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "procinfo.h"
#include "virtio-pci-shim/unix-io.h"
#include "virtio-pci-shim/vfu-msg.h"
#include "virtio-pci-shim/vfu-version.h"

/* What QEMU 10.1's vfio-user-pci proposes, byte for byte. */
static const char qemu_caps[] =
	"{\"capabilities\": {\"migration\": {\"pgsize\": 4096, \"max_bitmap_size\": 268435456}, "
	"\"max_msg_fds\": 16, \"max_data_xfer_size\": 1048576, \"pgsizes\": 4096, "
	"\"max_dma_maps\": 65535, \"write_multiple\": true}}";

static int count_fds(void)
{
	int n = x9p_proc_fds(0);

	g_assert_cmpint(n, >=, 0);
	return n;
}

static void pair(int sv[2])
{
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Sends raw bytes with n fresh descriptors, which the sender then closes. */
static void send_raw(int sock, const void *buf, size_t len, int n)
{
	int fds[32] = { -1 };

	g_assert_cmpint(n, <=, 32);
	for (int i = 0; i < n; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(uio_send_all(sock, &(struct iovec){ (void *)buf, len }, 1, n ? fds : NULL, n), ==, 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* A command's bytes: header (size computed unless size_override) + payload. */
static size_t build(uint8_t *buf, uint16_t cmd, uint32_t flags, const void *p, size_t plen,
		    uint32_t size_override)
{
	struct vfu_hdr h = { .id = 7, .command = cmd, .flags = flags,
			     .size = size_override ? size_override : (uint32_t)(16 + plen) };

	memcpy(buf, &h, 16);
	if (plen)
		memcpy(buf + 16, p, plen);
	return 16 + plen;
}

/* ---- round trips ---- */

static const uint8_t write_data[6] = { 1, 2, 3, 4, 5, 6 };
static const uint8_t bools[3] = { 1, 0, 1 };
static const struct vfu_wr_one wrs[2] = {
	{ .offset = 0x3000, .region = 4, .count = 2, .data = { 0xaa, 0xbb } },
	{ .offset = 0x3004, .region = 4, .count = 8, .data = { 1, 2, 3, 4, 5, 6, 7, 8 } },
};

struct rt_case {
	const char *name;
	struct vfu_req r;
	int nfds;
};

static struct rt_case rt_cases[] = {
	{ .name = "version", .r = { .hdr = { .id = 1, .command = VFU_CMD_VERSION },
		       .u.version = { { 0, 0 }, qemu_caps, sizeof(qemu_caps) } } },
	{ .name = "version-bare", .r = { .hdr = { .id = 2, .command = VFU_CMD_VERSION },
			    .u.version = { { 0, 3 }, NULL, 0 } } },
	{ .name = "dma-map-fd", .r = { .hdr = { .id = 3, .command = VFU_CMD_DMA_MAP },
			  .u.dma_map = { 32, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
					 0x1000, 0x100000000ull, 0x40000000 } }, .nfds = 1 },
	{ .name = "dma-map-nofd", .r = { .hdr = { .id = 4, .command = VFU_CMD_DMA_MAP },
			    .u.dma_map = { 32, VFIO_DMA_MAP_FLAG_READ, 0, 0xfeb00000, 0x1000 } } },
	{ .name = "dma-unmap", .r = { .hdr = { .id = 5, .command = VFU_CMD_DMA_UNMAP },
			 .u.dma_unmap = { 24, 0, 0x100000000ull, 0x40000000 } } },
	{ .name = "dma-unmap-all", .r = { .hdr = { .id = 6, .command = VFU_CMD_DMA_UNMAP },
			     .u.dma_unmap = { 24, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0 } } },
	{ .name = "get-info", .r = { .hdr = { .id = 7, .command = VFU_CMD_DEVICE_GET_INFO },
			.u.device_info = { 16, 0, 0, 0 } } },
	{ .name = "get-region-info", .r = { .hdr = { .id = 8, .command = VFU_CMD_DEVICE_GET_REGION_INFO },
			       .u.region_info = { 4096, 0, VFIO_PCI_CONFIG_REGION_INDEX, 0, 0, 0 } } },
	{ .name = "get-irq-info", .r = { .hdr = { .id = 9, .command = VFU_CMD_DEVICE_GET_IRQ_INFO },
			    .u.irq_info = { 16, 0, VFIO_PCI_MSIX_IRQ_INDEX, 0 } } },
	{ .name = "set-irqs-eventfd", .r = { .hdr = { .id = 10, .command = VFU_CMD_DEVICE_SET_IRQS },
				.u.set_irqs.s = { 20, VFIO_IRQ_SET_DATA_EVENTFD |
						  VFIO_IRQ_SET_ACTION_TRIGGER,
						  VFIO_PCI_MSIX_IRQ_INDEX, 0, 3 } }, .nfds = 3 },
	{ .name = "set-irqs-deassign", .r = { .hdr = { .id = 11, .command = VFU_CMD_DEVICE_SET_IRQS },
				 .u.set_irqs.s = { 20, VFIO_IRQ_SET_DATA_EVENTFD |
						   VFIO_IRQ_SET_ACTION_TRIGGER,
						   VFIO_PCI_MSIX_IRQ_INDEX, 1, 2 } } },
	{ .name = "set-irqs-bool", .r = { .hdr = { .id = 12, .command = VFU_CMD_DEVICE_SET_IRQS },
			     .u.set_irqs = { { 23, VFIO_IRQ_SET_DATA_BOOL |
					       VFIO_IRQ_SET_ACTION_MASK,
					       VFIO_PCI_MSIX_IRQ_INDEX, 0, 3 }, bools } } },
	{ .name = "set-irqs-none", .r = { .hdr = { .id = 13, .command = VFU_CMD_DEVICE_SET_IRQS },
			     .u.set_irqs.s = { 20, VFIO_IRQ_SET_DATA_NONE |
					       VFIO_IRQ_SET_ACTION_TRIGGER,
					       VFIO_PCI_MSIX_IRQ_INDEX, 0, 0 } } },
	{ .name = "region-read", .r = { .hdr = { .id = 14, .command = VFU_CMD_REGION_READ },
			   .u.region_rw.rw = { 0x10, VFIO_PCI_CONFIG_REGION_INDEX, 4 } } },
	{ .name = "region-write", .r = { .hdr = { .id = 15, .command = VFU_CMD_REGION_WRITE },
			    .u.region_rw = { { 0x2000, VFIO_PCI_BAR4_REGION_INDEX, 6 },
					     write_data } } },
	{ .name = "region-write-posted", .r = { .hdr = { .id = 16, .command = VFU_CMD_REGION_WRITE,
					    .flags = VFU_F_NO_REPLY },
				   .u.region_rw = { { 0x3000, VFIO_PCI_BAR4_REGION_INDEX, 2 },
						    write_data } } },
	{ .name = "reset", .r = { .hdr = { .id = 17, .command = VFU_CMD_DEVICE_RESET } } },
	{ .name = "write-multi", .r = { .hdr = { .id = 18, .command = VFU_CMD_REGION_WRITE_MULTI,
				    .flags = VFU_F_NO_REPLY },
			   .u.multi = { 2, wrs } } },
};

static void test_roundtrip(gconstpointer data)
{
	const struct rt_case *c = data;
	int sv[2], fds[4], before = count_fds();
	struct vfu_msg m;
	struct vfu_req d;
	const char *why = NULL;
	uint8_t *a, *b;
	size_t alen, blen;

	pair(sv);
	for (int i = 0; i < c->nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(vfu_send(sv[0], &c->r, fds, c->nfds), ==, 0);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, &why), ==, 0);
	g_assert_cmpint(vfu_decode(&m, &d, &why), ==, 0);
	g_assert_cmpuint(d.hdr.id, ==, c->r.hdr.id);
	g_assert_cmpuint(d.hdr.command, ==, c->r.hdr.command);
	g_assert_cmpuint(d.hdr.flags, ==, c->r.hdr.flags);
	g_assert_cmpint(d.nfds, ==, c->nfds);
	/* Received descriptors are new ones for the same files. */
	for (int i = 0; i < c->nfds; i++) {
		struct stat s1, s2;

		g_assert_cmpint(d.fds[i], >=, 0);
		g_assert_cmpint(d.fds[i], !=, fds[i]);
		g_assert_cmpint(fstat(d.fds[i], &s1), ==, 0);
		g_assert_cmpint(fstat(fds[i], &s2), ==, 0);
		g_assert_cmpuint(s1.st_ino, ==, s2.st_ino);
	}
	switch (c->r.hdr.command) {
	case VFU_CMD_VERSION:
		g_assert_cmpuint(d.u.version.v.minor, ==, c->r.u.version.v.minor);
		g_assert_cmpstr(d.u.version.json, ==, c->r.u.version.json);
		break;
	case VFU_CMD_DMA_MAP:
		g_assert_cmpuint(d.u.dma_map.addr, ==, c->r.u.dma_map.addr);
		g_assert_cmpuint(d.u.dma_map.size, ==, c->r.u.dma_map.size);
		g_assert_cmpuint(d.u.dma_map.offset, ==, c->r.u.dma_map.offset);
		break;
	case VFU_CMD_DEVICE_SET_IRQS:
		g_assert_cmpuint(d.u.set_irqs.s.count, ==, c->r.u.set_irqs.s.count);
		if (c->r.u.set_irqs.bools)
			g_assert_cmpmem(d.u.set_irqs.bools, 3, bools, 3);
		break;
	case VFU_CMD_REGION_WRITE:
		g_assert_cmpmem(d.u.region_rw.data, d.u.region_rw.rw.count, write_data,
				c->r.u.region_rw.rw.count);
		break;
	case VFU_CMD_REGION_WRITE_MULTI:
		g_assert_cmpuint(d.u.multi.n, ==, 2);
		g_assert_cmpuint(d.u.multi.wrs[1].count, ==, 8);
		g_assert_cmpuint(d.u.multi.wrs[1].data[7], ==, 8);
		break;
	default:
		break;
	}
	/* Decoding then encoding gives the bytes that were sent. */
	g_assert_cmpint(vfu_encode(&c->r, &a, &alen), ==, 0);
	g_assert_cmpint(vfu_encode(&d, &b, &blen), ==, 0);
	g_assert_cmpmem(a, alen, b, blen);
	g_assert_cmpuint(m.hdr.size, ==, alen);
	g_free(a);
	g_free(b);
	vfu_msg_clear(&m);
	for (int i = 0; i < c->nfds; i++)
		close(fds[i]);
	close_pair(sv);
	g_assert_cmpint(count_fds(), ==, before);
}

static void test_take_fd(void)
{
	struct vfu_req r = { .hdr = { .command = VFU_CMD_DMA_MAP },
			     .u.dma_map = { 32, VFIO_DMA_MAP_FLAG_READ, 0, 0x1000, 0x1000 } };
	int sv[2], fd = open("/dev/null", O_RDONLY | O_CLOEXEC), kept, before;
	struct vfu_msg m;

	before = count_fds();
	pair(sv);
	g_assert_cmpint(vfu_send(sv[0], &r, &fd, 1), ==, 0);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, NULL), ==, 0);
	kept = vfu_msg_take_fd(&m, 0);
	g_assert_cmpint(kept, >=, 0);
	g_assert_cmpint(vfu_msg_take_fd(&m, 0), ==, -1);
	g_assert_cmpint(vfu_msg_take_fd(&m, 1), ==, -1);
	vfu_msg_clear(&m);
	/* Taken: clearing the message left it open. */
	g_assert_cmpint(fcntl(kept, F_GETFD), >=, 0);
	close(kept);
	close_pair(sv);
	close(fd);
	g_assert_cmpint(count_fds(), ==, before - 1);
}

/* ---- receive faults ---- */

static void expect_recv(const void *buf, size_t len, int nfds, bool close_writer, int want,
			const char *why_part)
{
	int sv[2], before = count_fds();
	struct vfu_msg m;
	const char *why = NULL;

	pair(sv);
	if (len || nfds)
		send_raw(sv[0], buf, len, nfds);
	if (close_writer)
		shutdown(sv[0], SHUT_WR);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, &why), ==, want);
	g_assert_nonnull(why);
	g_assert_nonnull(strstr(why, why_part));
	g_assert_null(m.payload);
	g_assert_cmpint(m.nfds, ==, 0);
	close_pair(sv);
	g_assert_cmpint(count_fds(), ==, before);
}

static void test_recv_faults(void)
{
	uint8_t buf[64], p[16] = { 0 };
	size_t n;

	/* The peer closes between messages. */
	expect_recv(NULL, 0, 0, true, -ECONNRESET, "closed");
	/* Header cut short, with descriptors. */
	n = build(buf, VFU_CMD_DEVICE_RESET, 0, NULL, 0, 0);
	expect_recv(buf, 10, 2, true, -EPROTO, "short read of the header");
	/* Size below the header. */
	n = build(buf, VFU_CMD_DEVICE_RESET, 0, NULL, 0, 15);
	expect_recv(buf, n, 1, true, -EPROTO, "below the header");
	/* Size above the limit. */
	n = build(buf, VFU_CMD_REGION_WRITE, 0, NULL, 0, (uint32_t)VFU_MAX_MSG + 1);
	expect_recv(buf, n, 1, true, -EPROTO, "larger than");
	/* Unknown message type, unknown flag bits, error on a command,
	 * no-reply on a reply. */
	n = build(buf, VFU_CMD_DEVICE_RESET, 2, NULL, 0, 0);
	expect_recv(buf, n, 1, true, -EPROTO, "message type");
	n = build(buf, VFU_CMD_DEVICE_RESET, 0x40, NULL, 0, 0);
	expect_recv(buf, n, 0, true, -EPROTO, "flag bits");
	n = build(buf, VFU_CMD_DEVICE_RESET, VFU_F_ERROR, NULL, 0, 0);
	expect_recv(buf, n, 0, true, -EPROTO, "error flag");
	n = build(buf, VFU_CMD_DEVICE_RESET, VFU_F_TYPE_REPLY | VFU_F_NO_REPLY, NULL, 0, 0);
	expect_recv(buf, n, 0, true, -EPROTO, "no-reply");
	/* Payload cut short. */
	n = build(buf, VFU_CMD_REGION_READ, 0, p, sizeof(p), 0);
	expect_recv(buf, n - 3, 3, true, -EPROTO, "short read of the payload");
	/* One descriptor more than announced. */
	n = build(buf, VFU_CMD_DEVICE_SET_IRQS, 0, NULL, 0, 0);
	expect_recv(buf, n, VFU_MAX_FDS + 1, false, -EPROTO, "descriptors");
}

struct big_send {
	int sock;
	const struct vfu_req *r;
	int rc;
};

static gpointer big_sender(gpointer data)
{
	struct big_send *b = data;

	b->rc = vfu_send(b->sock, b->r, NULL, 0);
	return NULL;
}

static void test_recv_at_limits(void)
{
	/* Exactly VFU_MAX_FDS descriptors and the largest write are taken. */
	struct vfu_req r = { .hdr = { .command = VFU_CMD_DEVICE_SET_IRQS },
			     .u.set_irqs.s = { 20, VFIO_IRQ_SET_DATA_EVENTFD |
					       VFIO_IRQ_SET_ACTION_TRIGGER, 4, 0, VFU_MAX_FDS } };
	int sv[2], fds[VFU_MAX_FDS], before = count_fds();
	uint8_t *big = g_malloc0(VFU_MAX_DATA_XFER);
	struct big_send b;
	struct vfu_msg m;
	struct vfu_req d;
	GThread *t;

	pair(sv);
	for (int i = 0; i < VFU_MAX_FDS; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(vfu_send(sv[0], &r, fds, VFU_MAX_FDS), ==, 0);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, NULL), ==, 0);
	g_assert_cmpint(vfu_decode(&m, &d, NULL), ==, 0);
	g_assert_cmpint(d.nfds, ==, VFU_MAX_FDS);
	vfu_msg_clear(&m);
	for (int i = 0; i < VFU_MAX_FDS; i++)
		close(fds[i]);

	r = (struct vfu_req){ .hdr = { .command = VFU_CMD_REGION_WRITE },
			      .u.region_rw = { { 0, 0, VFU_MAX_DATA_XFER }, big } };
	big[VFU_MAX_DATA_XFER - 1] = 0x5a;
	/* More than the socket buffer holds: the sender needs its own thread. */
	b = (struct big_send){ sv[0], &r, -1 };
	t = g_thread_new("send", big_sender, &b);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, NULL), ==, 0);
	g_thread_join(t);
	g_assert_cmpint(b.rc, ==, 0);
	g_assert_cmpuint(m.hdr.size, ==, VFU_MAX_MSG);
	g_assert_cmpint(vfu_decode(&m, &d, NULL), ==, 0);
	g_assert_cmpuint(d.u.region_rw.rw.count, ==, VFU_MAX_DATA_XFER);
	g_assert_cmpuint(d.u.region_rw.data[VFU_MAX_DATA_XFER - 1], ==, 0x5a);
	vfu_msg_clear(&m);
	g_free(big);
	close_pair(sv);
	g_assert_cmpint(count_fds(), ==, before);
}

/* ---- decode faults ---- */

struct bad_case {
	const char *name;
	uint16_t cmd;
	uint32_t flags;
	uint8_t payload[64];
	size_t plen;
	int nfds;
	int want;
};

#define U32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
#define U64(v) U32((uint32_t)(v)), U32((uint32_t)((uint64_t)(v) >> 32))
#define DATA_EFD_TRIGGER (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER)

static const struct bad_case bad_cases[] = {
	{ "version-short", VFU_CMD_VERSION, 0, { 0, 0 }, 2, 0, -EPROTO },
	{ "version-no-nul", VFU_CMD_VERSION, 0, { 0, 0, 0, 0, '{', '}' }, 6, 0, -EPROTO },
	{ "version-inner-nul", VFU_CMD_VERSION, 0, { 0, 0, 0, 0, '{', 0, '}', 0 }, 8, 0, -EPROTO },
	{ "version-fds", VFU_CMD_VERSION, 0, { 0, 0, 0, 0 }, 4, 1, -EPROTO },
	{ "dma-map-short", VFU_CMD_DMA_MAP, 0, { U32(32), U32(1) }, 8, 1, -EPROTO },
	{ "dma-map-argsz", VFU_CMD_DMA_MAP, 0,
	  { U32(24), U32(1), U64(0), U64(0x1000), U64(0x1000) }, 32, 1, -EPROTO },
	{ "dma-map-flags", VFU_CMD_DMA_MAP, 0,
	  { U32(32), U32(4), U64(0), U64(0x1000), U64(0x1000) }, 32, 1, -EPROTO },
	{ "dma-map-two-fds", VFU_CMD_DMA_MAP, 0,
	  { U32(32), U32(1), U64(0), U64(0x1000), U64(0x1000) }, 32, 2, -EPROTO },
	{ "dma-map-wraps", VFU_CMD_DMA_MAP, 0,
	  { U32(32), U32(1), U64(0), U64(0xfffffffffffff000ull), U64(0x2000) }, 32, 1, -EPROTO },
	{ "dma-map-offset-nofd", VFU_CMD_DMA_MAP, 0,
	  { U32(32), U32(1), U64(0x1000), U64(0x1000), U64(0x1000) }, 32, 0, -EPROTO },
	{ "dma-map-empty", VFU_CMD_DMA_MAP, 0,
	  { U32(32), U32(1), U64(0), U64(0x1000), U64(0) }, 32, 1, -EPROTO },
	{ "dma-unmap-argsz", VFU_CMD_DMA_UNMAP, 0,
	  { U32(16), U32(0), U64(0x1000), U64(0x1000) }, 24, 0, -EPROTO },
	{ "dma-unmap-dirty", VFU_CMD_DMA_UNMAP, 0,
	  { U32(24), U32(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP), U64(0x1000), U64(0x1000) },
	  24, 0, -EPROTO },
	{ "dma-unmap-all-range", VFU_CMD_DMA_UNMAP, 0,
	  { U32(24), U32(VFIO_DMA_UNMAP_FLAG_ALL), U64(0x1000), U64(0) }, 24, 0, -EPROTO },
	{ "dma-unmap-fd", VFU_CMD_DMA_UNMAP, 0,
	  { U32(24), U32(0), U64(0x1000), U64(0x1000) }, 24, 1, -EPROTO },
	{ "get-info-long", VFU_CMD_DEVICE_GET_INFO, 0, { U32(16), 0 }, 20, 0, -EPROTO },
	{ "get-info-argsz", VFU_CMD_DEVICE_GET_INFO, 0, { U32(8) }, 16, 0, -EPROTO },
	{ "get-region-info-short", VFU_CMD_DEVICE_GET_REGION_INFO, 0, { U32(32) }, 16, 0,
	  -EPROTO },
	{ "get-region-info-argsz", VFU_CMD_DEVICE_GET_REGION_INFO, 0, { U32(31) }, 32, 0,
	  -EPROTO },
	{ "get-irq-info-fd", VFU_CMD_DEVICE_GET_IRQ_INFO, 0, { U32(16) }, 16, 1, -EPROTO },
	{ "set-irqs-short", VFU_CMD_DEVICE_SET_IRQS, 0, { U32(16) }, 16, 0, -EPROTO },
	{ "set-irqs-argsz", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(24), U32(DATA_EFD_TRIGGER), U32(4), U32(0), U32(1) }, 20, 1, -EPROTO },
	{ "set-irqs-two-data", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(DATA_EFD_TRIGGER | VFIO_IRQ_SET_DATA_NONE), U32(4), U32(0), U32(1) },
	  20, 1, -EPROTO },
	{ "set-irqs-no-action", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(VFIO_IRQ_SET_DATA_NONE), U32(4), U32(0), U32(0) }, 20, 0, -EPROTO },
	{ "set-irqs-unknown-flag", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(DATA_EFD_TRIGGER | 0x40), U32(4), U32(0), U32(1) }, 20, 1, -EPROTO },
	{ "set-irqs-fds-vs-count", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(DATA_EFD_TRIGGER), U32(4), U32(0), U32(3) }, 20, 2, -EPROTO },
	{ "set-irqs-wraps", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(DATA_EFD_TRIGGER), U32(4), U32(0xffffffffu), U32(2) }, 20, 0, -EPROTO },
	{ "set-irqs-bool-count", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(22), U32(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK), U32(4), U32(0),
	    U32(3), 1, 1 }, 22, 0, -EPROTO },
	{ "set-irqs-bool-fds", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(21), U32(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK), U32(4), U32(0),
	    U32(1), 1 }, 21, 1, -EPROTO },
	{ "set-irqs-none-fds", VFU_CMD_DEVICE_SET_IRQS, 0,
	  { U32(20), U32(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER), U32(4), U32(0),
	    U32(0) }, 20, 1, -EPROTO },
	{ "region-read-long", VFU_CMD_REGION_READ, 0, { U64(0), U32(0), U32(4), 1 }, 17, 0,
	  -EPROTO },
	{ "region-read-xfer", VFU_CMD_REGION_READ, 0,
	  { U64(0), U32(0), U32(VFU_MAX_DATA_XFER + 1) }, 16, 0, -EPROTO },
	{ "region-read-wraps", VFU_CMD_REGION_READ, 0,
	  { U64(0xfffffffffffffffeull), U32(0), U32(4) }, 16, 0, -EPROTO },
	{ "region-write-count", VFU_CMD_REGION_WRITE, 0, { U64(0), U32(0), U32(4), 1, 2 }, 18, 0,
	  -EPROTO },
	{ "region-write-fd", VFU_CMD_REGION_WRITE, 0, { U64(0), U32(0), U32(1), 1 }, 17, 1,
	  -EPROTO },
	{ "reset-payload", VFU_CMD_DEVICE_RESET, 0, { 0 }, 1, 0, -EPROTO },
	{ "multi-zero", VFU_CMD_REGION_WRITE_MULTI, 0, { U64(0) }, 8, 0, -EPROTO },
	{ "multi-count", VFU_CMD_REGION_WRITE_MULTI, 0,
	  { U64(2), U64(0), U32(0), U32(4), U64(0) }, 32, 0, -EPROTO },
	{ "multi-entry-count", VFU_CMD_REGION_WRITE_MULTI, 0,
	  { U64(1), U64(0), U32(0), U32(9), U64(0) }, 32, 0, -EPROTO },
	{ "multi-entry-wraps", VFU_CMD_REGION_WRITE_MULTI, 0,
	  { U64(1), U64(0xffffffffffffffffull), U32(0), U32(2), U64(0) }, 32, 0, -EPROTO },
	{ "dma-read-from-client", VFU_CMD_DMA_READ, 0, { U64(0), U64(4) }, 16, 0, -EPROTO },
	{ "reply-as-command", VFU_CMD_DEVICE_RESET, VFU_F_TYPE_REPLY, { 0 }, 0, 0, -EPROTO },
	{ "unsupported", VFU_CMD_DEVICE_FEATURE, 0, { U32(8), U32(0) }, 8, 0, -ENOSYS },
	{ "unsupported-fds", VFU_CMD_DEVICE_GET_REGION_IO_FDS, 0, { U32(16) }, 16, 1, -EPROTO },
};

static void test_decode_fault(gconstpointer data)
{
	const struct bad_case *c = data;
	int sv[2], before = count_fds();
	uint8_t buf[128];
	struct vfu_msg m;
	struct vfu_req d;
	const char *why = NULL;
	size_t n = build(buf, c->cmd, c->flags, c->payload, c->plen, 0);

	pair(sv);
	send_raw(sv[0], buf, n, c->nfds);
	g_assert_cmpint(vfu_msg_recv(sv[1], &m, &why), ==, 0);
	g_assert_cmpint(m.nfds, ==, c->nfds);
	g_assert_cmpint(vfu_decode(&m, &d, &why), ==, c->want);
	g_assert_nonnull(why);
	g_test_message("%s: %s", c->name, why);
	vfu_msg_clear(&m);
	close_pair(sv);
	g_assert_cmpint(count_fds(), ==, before);
}

/* ---- replies ---- */

static void read_exact(int sock, void *buf, size_t len)
{
	g_assert_cmpint(uio_read_full(sock, buf, len), ==, 0);
}

static void test_reply(void)
{
	struct vfu_hdr req = { .id = 0x1234, .command = VFU_CMD_REGION_READ, .size = 32 };
	struct vfu_region_rw rw = { 0x10, VFIO_PCI_CONFIG_REGION_INDEX, 4 };
	uint8_t data[4] = { 0xf4, 0x1a, 0x09, 0x10 }, got[36];
	struct iovec iov[2] = { { &rw, sizeof(rw) }, { data, sizeof(data) } };
	int sv[2], fd, before = count_fds();
	struct vfu_hdr h;
	struct vfu_msg m;

	pair(sv);
	g_assert_cmpint(vfu_reply(sv[1], &req, iov, 2, NULL, 0), ==, 0);
	read_exact(sv[0], got, sizeof(got));
	memcpy(&h, got, 16);
	g_assert_cmpuint(h.id, ==, 0x1234);
	g_assert_cmpuint(h.command, ==, VFU_CMD_REGION_READ);
	g_assert_cmpuint(h.size, ==, 36);
	g_assert_cmpuint(h.flags, ==, VFU_F_TYPE_REPLY);
	g_assert_cmpuint(h.error, ==, 0);
	g_assert_cmpmem(got + 16, 16, &rw, 16);
	g_assert_cmpmem(got + 32, 4, data, 4);

	/* An error reply: header only. */
	req.command = VFU_CMD_DEVICE_GET_REGION_INFO;
	g_assert_cmpint(vfu_reply_error(sv[1], &req, -EINVAL), ==, 0);
	read_exact(sv[0], &h, 16);
	g_assert_cmpuint(h.size, ==, 16);
	g_assert_cmpuint(h.flags, ==, VFU_F_TYPE_REPLY | VFU_F_ERROR);
	g_assert_cmpuint(h.error, ==, EINVAL);

	/* A posted write gets no reply, not even an error: the next thing
	 * on the socket is the reply after it. */
	req.flags = VFU_F_NO_REPLY;
	g_assert_cmpint(vfu_reply(sv[1], &req, NULL, 0, NULL, 0), ==, 0);
	g_assert_cmpint(vfu_reply_error(sv[1], &req, EIO), ==, 0);
	req.flags = 0;
	req.id = 99;

	/* A reply with a descriptor (a mappable region's) is received as a
	 * reply by the same receive path. */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(vfu_reply(sv[1], &req, NULL, 0, &fd, 1), ==, 0);
	close(fd);
	g_assert_cmpint(vfu_msg_recv(sv[0], &m, NULL), ==, 0);
	g_assert_cmpuint(m.hdr.id, ==, 99);
	g_assert_cmpuint(m.hdr.flags, ==, VFU_F_TYPE_REPLY);
	g_assert_cmpint(m.nfds, ==, 1);
	vfu_msg_clear(&m);
	close_pair(sv);
	g_assert_cmpint(count_fds(), ==, before);
}

/* ---- VERSION ---- */

static void test_version_qemu(void)
{
	struct vfu_req r = { .hdr = { .id = 1, .command = VFU_CMD_VERSION },
			     .u.version = { { 0, 0 }, qemu_caps, sizeof(qemu_caps) } };
	struct vfu_caps ours, client, back;
	struct vfu_version v;
	uint8_t *payload;
	size_t len;
	const char *why = NULL;

	vfu_caps_defaults(&ours);
	ours.max_msg_fds = VFU_MAX_FDS;
	ours.max_data_xfer_size = VFU_MAX_DATA_XFER;
	ours.max_dma_maps = 1024;
	g_assert_cmpint(vfu_version_reply(&r, &ours, &client, &payload, &len, &why), ==, 0);
	g_assert_cmpuint(client.max_msg_fds, ==, 16);
	g_assert_cmpuint(client.max_data_xfer_size, ==, 1048576);
	g_assert_cmpuint(client.pgsizes, ==, 4096);
	g_assert_cmpuint(client.max_dma_maps, ==, 65535);
	g_assert_true(client.write_multiple);
	g_assert_true(client.migration);
	g_assert_false(client.twin_socket);
	memcpy(&v, payload, 4);
	g_assert_cmpuint(v.major, ==, 0);
	g_assert_cmpuint(v.minor, ==, 0);
	/* NUL-terminated (QEMU checks the last byte), and what it says. */
	g_assert_cmpuint(payload[len - 1], ==, 0);
	g_assert_cmpuint(strlen((char *)payload + 4), ==, len - 5);
	g_assert_cmpint(vfu_caps_parse((char *)payload + 4, &back, &why), ==, 0);
	g_assert_cmpuint(back.max_msg_fds, ==, VFU_MAX_FDS);
	g_assert_cmpuint(back.max_data_xfer_size, ==, VFU_MAX_DATA_XFER);
	g_assert_cmpuint(back.max_dma_maps, ==, 1024);
	g_assert_cmpuint(back.pgsizes, ==, 4096);
	g_assert_false(back.write_multiple); /* not offered by `ours` */
	g_assert_null(strstr((char *)payload + 4, "migration"));
	g_free(payload);

	ours.write_multiple = true;
	g_assert_cmpint(vfu_version_reply(&r, &ours, &client, &payload, &len, &why), ==, 0);
	g_assert_cmpint(vfu_caps_parse((char *)payload + 4, &back, &why), ==, 0);
	g_assert_true(back.write_multiple);
	g_free(payload);

	/* No JSON at all: the protocol's defaults. */
	r.u.version.json = NULL;
	r.u.version.json_len = 0;
	r.u.version.v.minor = 5;
	g_assert_cmpint(vfu_version_reply(&r, &ours, &client, &payload, &len, &why), ==, 0);
	g_assert_cmpuint(client.max_msg_fds, ==, 1);
	g_assert_false(client.write_multiple);
	memcpy(&v, payload, 4);
	g_assert_cmpuint(v.minor, ==, 0);
	g_free(payload);

	r.u.version.v.major = 1;
	why = NULL;
	g_assert_cmpint(vfu_version_reply(&r, &ours, &client, &payload, &len, &why), ==,
			-EPROTONOSUPPORT);
	g_assert_nonnull(why);
}

static const struct {
	const char *json, *why;
} bad_json[] = {
	{ "", "not a JSON object" },
	{ "{\"capabilities\": {", "not valid JSON" },
	{ "[1, 2]", "not a JSON object" },
	{ "{\"capabilities\": 3}", "capabilities is not an object" },
	{ "{\"capabilities\": {\"max_msg_fds\": \"16\"}}", "max_msg_fds" },
	{ "{\"capabilities\": {\"max_msg_fds\": -1}}", "max_msg_fds" },
	{ "{\"capabilities\": {\"max_data_xfer_size\": 1.5}}", "max_data_xfer_size" },
	{ "{\"capabilities\": {\"pgsizes\": true}}", "pgsizes" },
	{ "{\"capabilities\": {\"max_dma_maps\": null}}", "max_dma_maps" },
	{ "{\"capabilities\": {\"write_multiple\": 1}}", "write_multiple" },
	{ "{\"capabilities\": {\"migration\": []}}", "migration" },
	{ "{\"capabilities\": {\"twin_socket\": {\"supported\": \"yes\"}}}", "twin_socket" },
	{ "{\"a\": [[[[[[[[[[1]]]]]]]]]]}", "nested" },
};

static void test_version_bad_json(void)
{
	struct vfu_caps c;
	char *long_json;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_json); i++) {
		const char *why = NULL;

		g_assert_cmpint(vfu_caps_parse(bad_json[i].json, &c, &why), ==, -EPROTO);
		g_assert_nonnull(why);
		if (!strstr(why, bad_json[i].why))
			g_error("%s: \"%s\" does not mention %s", bad_json[i].json, why,
				bad_json[i].why);
		/* A refused document leaves the defaults, not half of it. */
		g_assert_cmpuint(c.max_msg_fds, ==, 1);
	}
	/* Unknown capabilities (and unknown members of known objects) are
	 * ignored; brackets inside strings do not count as nesting. */
	g_assert_cmpint(vfu_caps_parse("{\"capabilities\": {\"future\": [1, {\"x\": 2}], "
				       "\"max_msg_fds\": 4, \"twin_socket\": {\"supported\": true, "
				       "\"fd_index\": 0}}, \"s\": \"[[[[[[[[[[[[\"}", &c, NULL),
			==, 0);
	g_assert_cmpuint(c.max_msg_fds, ==, 4);
	g_assert_true(c.twin_socket);
	long_json = g_strnfill(VFU_MAX_CAPS_JSON + 1, ' ');
	g_assert_cmpint(vfu_caps_parse(long_json, &c, NULL), ==, -EPROTO);
	g_free(long_json);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(rt_cases); i++) {
		char *p = g_strdup_printf("/vfu/roundtrip/%s", rt_cases[i].name);

		g_test_add_data_func(p, &rt_cases[i], test_roundtrip);
		g_free(p);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		char *p = g_strdup_printf("/vfu/decode-fault/%s", bad_cases[i].name);

		g_test_add_data_func(p, &bad_cases[i], test_decode_fault);
		g_free(p);
	}
	g_test_add_func("/vfu/take-fd", test_take_fd);
	g_test_add_func("/vfu/recv-faults", test_recv_faults);
	g_test_add_func("/vfu/recv-at-limits", test_recv_at_limits);
	g_test_add_func("/vfu/reply", test_reply);
	g_test_add_func("/vfu/version/qemu", test_version_qemu);
	g_test_add_func("/vfu/version/bad-json", test_version_bad_json);
	return g_test_run();
}
