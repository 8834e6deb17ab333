// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The whole vfio-user device in process (virtio-pci-shim/vfu-dev.h over
 * vfu-dma.c, virtio-pci.c, vu-queue.c, vring.c and vu-mem.c), fuzzed from
 * the other end of its socket by a client that plays QEMU's vfio-user-pci
 * and the guest's virtio-pci driver at once.  Built with ASan and UBSan.
 *
 * The device is the real one: vfu_dev_new() over vu_dev_new() with one
 * queue, the mount-tag feature and the 9p configuration of tag "fz", and a
 * device class that completes every chain at once (touching each of its
 * buffers, writing a marker into each writable one) -- or, in a third of
 * the rounds, holds a quarter of them in flight for the main thread to
 * complete later, or for its reset to end.  Each round is one client
 * connection that a thread serves with vfu_dev_serve(); the device object
 * lives across rounds, as across restarts of the VMM.  A round:
 *  - VERSION (QEMU's capabilities; sometimes none, mutated, a foreign
 *    major, or skipped), QEMU's discovery (device, region and IRQ info,
 *    configuration space);
 *  - DMA_MAP of two memfds (the guest's RAM, mapped here too): whole,
 *    adjacent or apart, in up to 64 page-sized pieces (aliasing each
 *    other), or not at all; and maps the device refuses (overlapping,
 *    misaligned, too small for offset + size, without read access, an
 *    eventfd for memory) or cannot reach (no descriptor, /dev/zero);
 *  - the driver's bring-up through BAR 0's common configuration (reset,
 *    features, FEATURES_OK, vectors, queue size and rings, queue enable,
 *    DRIVER_OK), now and then deviating (features not offered, rings
 *    outside memory or misaligned, sizes and vectors out of range, enable
 *    too early), with writes sent, posted or packed in REGION_WRITE_MULTI
 *    as QEMU does; MSI-X eventfds through SET_IRQS;
 *  - traffic: valid chains (direct and indirect, buffers across DMA maps)
 *    with posted notifications (BAR 0, WRITE_MULTI or the cfg_cap window),
 *    sometimes with a DMA map or unmap sent while the queue works, or the
 *    map of their buffers unmapped while some are in flight; and
 *    rings full of random bytes or of plausible faults (heads and next
 *    indexes out of range, loops, nested or chained indirection, bad
 *    table sizes, buffers outside memory, chains of thousands of buffers,
 *    indexes that jump);
 *  - meanwhile random region accesses and WRITE_MULTI, configuration space
 *    and its virtio_pci_cfg_cap window, SET_IRQS of every kind, DMA_UNMAP
 *    (single, several, splitting, all) under a running queue,
 *    DEVICE_RESET, a second VERSION, unsupported and no-reply commands;
 *  - the end: the client closes, stop_fd fires, or a malformed message or
 *    garbage makes the device close.
 * Checked, besides the sanitizers:
 *  - each command but a posted one gets one reply within WAIT_MS, in
 *    order: same id and command, reply type, an errno on errors (a bare
 *    header) and none on success; a posted one gets none; the device never
 *    closes on its own after well-formed commands; a device that does not
 *    answer, stops reading or does not return from vfu_dev_serve() is
 *    "hung";
 *  - the errno of each command whose fate is known (region bounds, the
 *    DMA map table and its limits, SET_IRQS indexes and ranges, info
 *    indexes, VERSION), and the payloads: info, DMA_UNMAP and REGION_WRITE
 *    echoes, REGION_READ's exactly count bytes;
 *  - what reads return against a model of the device: configuration space
 *    (the virtio_pci_cfg_cap window reading the BARs), the MSI-X table,
 *    ISR, the device configuration, and the common configuration after
 *    the driver's writes (FEATURES_OK only for acceptable features,
 *    DEVICE_NEEDS_RESET after a queue enabled too early or with its rings
 *    outside memory, refused sizes and vectors);
 *  - valid chains on a healthy queue complete in order with the length the
 *    device class wrote, its marker lands where the guest put the buffer,
 *    and the queue's vector fires; the device class sees buffers inside
 *    the memory table, and their lengths add up; a chain completed after
 *    the DMA_UNMAP of its buffers was answered writes nothing there;
 *  - SET_IRQS triggers (DATA_NONE, DATA_BOOL) signal the given eventfds;
 *  - vfu_dev_serve() returns 0 after a clean end, -EPROTO after a
 *    malformed message;
 *  - after each connection: the device class was reset (no chain left in
 *    flight); the process's descriptors, threads and memfd or /dev/zero
 *    mappings are back to their count before it (no eventfd, memory or
 *    kick descriptor, I/O thread or guest mapping kept), and the number of
 *    mappings does not grow.
 * --strict=LIST narrows three checks (see `strict_window` below).
 *
 *   fuzz-vfu-dev [--seconds N] [--seed S] [--round R] [--strict=LIST]
 *                [--trace] [--verbose]
 *
 * Prints TAP (one result) and, on failure (a sanitizer report included),
 * the seed, the round, its messages, and the command that replays that
 * round alone (--round R; rounds are seeded one by one, and a connection
 * starts from a reset device, so one round alone mostly replays).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "procinfo.h"
#include "fuzz-common.h"
#include "virtio-pci-shim/vfu-dev.h"
#include "virtio-pci-shim/vfu-dma.h"
#include "virtio-pci-shim/vfu-msg.h"
#include "virtio-pci-shim/vfu-proto.h"
#include "virtio-pci-shim/vu-dev.h"
#include "virtio-pci-shim/vring.h"

/* ASan's and UBSan's last words: the round's messages (weak: the fuzzer
 * links the sanitizers, but nothing breaks without them). */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define WAIT_MS 5000            /* a reply, a chain, the server's end */
#define PAGE 4096u

/* The device's layout, restated from docs/vfio-user.md and virtio 1.x 4.1. */
#define NVEC 2                  /* MSI-X: configuration, the queue */
#define QMAX 256u
#define BAR0_SIZE 0x4000u
#define BAR1_SIZE 0x1000u
#define CFG_SIZE 256u
#define COMMON_LEN 0x38u
#define ISR_OFF 0x1000u
#define DEVCFG_OFF 0x2000u
#define DEVCFG_LEN 256u
#define NOTIFY_OFF 0x3000u
#define WIN 0x90u               /* virtio_pci_cfg_cap */
#define WIN_BAR (WIN + 4)
#define WIN_OFF (WIN + 8)
#define WIN_LEN (WIN + 12)
#define WIN_DATA (WIN + 16)
#define MSIX_CTRL_HI 0x43u

enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_QSELECT = 0x16, CC_QSIZE = 0x18, CC_QMSIX = 0x1a, CC_QENABLE = 0x1c,
	CC_QNOTIFY = 0x1e, CC_QDESC = 0x20, CC_QDRIVER = 0x28, CC_QDEVICE = 0x30,
};
#define ST_ACK 0x01u
#define ST_DRIVER 0x02u
#define ST_DRIVER_OK 0x04u
#define ST_FEATURES_OK 0x08u
#define ST_NEEDS_RESET 0x40u
#define NO_VECTOR 0xffffu

#define F_MOUNT_TAG (1ull << 0)
#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define OFFERED (F_MOUNT_TAG | F_INDIRECT | F_EVENT_IDX | F_VERSION_1)

#define ANY (-1000)             /* any errno, or success */

/* Guest RAM: two memfds, mapped here and given to the device. */
enum { SRC_A, SRC_B, SRC_ZERO, SRC_NONE, KIND_EVENTFD };
#define MEM_A (1u << 20)
#define MEM_B (256u << 10)
static const uint64_t memsize[2] = { MEM_A, MEM_B };
static int memfd[2] = { -1, -1 };
static uint8_t *membase[2];
static int zero_fd = -1;

static const char qemu_caps[] =
	"{\"capabilities\": {\"migration\": {\"pgsize\": 4096, \"max_bitmap_size\": 268435456}, "
	"\"max_msg_fds\": 16, \"max_data_xfer_size\": 1048576, \"pgsizes\": 4096, "
	"\"max_dma_maps\": 65535, \"write_multiple\": true}}";
static const uint8_t devcfg[] = { 2, 0, 'f', 'z' };     /* 9p: le16 tag length, tag */

static struct vu_dev *vdev;
static struct vfu_dev *vfu;
static int stop_efd = -1;
static bool hung;               /* a thread of the device is stuck: no clean exit */
static bool verbose;
/*
 * Three checks of behaviour this fuzzer once found wrong, on by default;
 * --strict=LIST keeps only those named (comma-separated, or "all"), to run
 * it against a build from before their fixes:
 *  - window: a new client finds the virtio_pci_cfg_cap window (0x94,
 *    0x98-0xa3) at its reset values, not as the last one left it;
 *  - reset: a queue fault signalled just before a reset (driver's status 0,
 *    DEVICE_RESET or a disconnect) does not set DEVICE_NEEDS_RESET after
 *    it;
 *  - zero: DMA maps of /dev/zero (not a regular file) at any offset
 *    (without the check, only at offset 0, where they are refused too).
 */
static bool strict_window = true, strict_reset = true, strict_zero = true;
static bool stale_fault;        /* the last connection may have left one */

static struct {
	unsigned long rounds, commands, replies, refused, posted, bringups, clean_batches,
		random_batches, clean_chains, fatal_ends, stops, maps, unmaps, irqs, reads_checked;
} stats;
static gint chains_handled, chains_held, resets_seen;
static unsigned long revoke_checks;

/* ---- small helpers ---- */

static uint16_t get16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get32(const uint8_t *b) { return get16(b) | (uint32_t)get16(b + 2) << 16; }
static void put16(uint8_t *b, uint16_t v) { b[0] = v & 0xff; b[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *b, uint32_t v) { put16(b, v & 0xffff); put16(b + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *b, uint64_t v) { put32(b, (uint32_t)v); put32(b + 4, (uint32_t)(v >> 32)); }

static uint32_t rnd(GRand *r, uint32_t lo, uint32_t hi)    /* [lo, hi), hi <= 2^31 */
{
	return (uint32_t)g_rand_int_range(r, (gint32)lo, (gint32)hi);
}

static bool one_in(GRand *r, uint32_t n)
{
	return rnd(r, 0, n) == 0;
}

static uint64_t rnd64(GRand *r)
{
	return (uint64_t)g_rand_int(r) << 32 | g_rand_int(r);
}

/* A number that is small, at an edge, or anything. */
static uint64_t any64(GRand *r)
{
	switch (rnd(r, 0, 5)) {
	case 0: return rnd(r, 0, 9);
	case 1: return UINT64_MAX - rnd(r, 0, 4);
	case 2: return (uint64_t)g_rand_int(r) << 12;
	case 3: return 1ull << rnd(r, 0, 64);
	default: return rnd64(r);
	}
}

static bool ovl(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static const char *errname(int e)
{
	const char *s = e > 0 ? strerrorname_np(e) : NULL;

	return e == 0 ? "ok" : s ? s : "?";
}

/* ---- the round's messages, for the failure report ---- */

#define TRACE_MAX 2048
#define TRACE_W 120
static char trace[TRACE_MAX][TRACE_W];
static unsigned trace_n;
static bool trace_live;
static guint64 cur_round;
static gint64 run_seed;

static void T(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void T(const char *fmt, ...)
{
	va_list ap;
	char *line = trace[trace_n % TRACE_MAX];

	va_start(ap, fmt);
	vsnprintf(line, TRACE_W, fmt, ap);
	va_end(ap);
	if (trace_live)
		fprintf(stderr, "%" G_GUINT64_FORMAT ": %s\n", cur_round, line);
	trace_n++;
}

static void trace_dump(void)
{
	unsigned from = trace_n > TRACE_MAX ? trace_n - TRACE_MAX : 0;

	printf("# round %" G_GUINT64_FORMAT ", %u steps%s:\n", cur_round, trace_n,
	       from ? " (the last ones)" : "");
	for (unsigned i = from; i < trace_n; i++)
		printf("#   %s\n", trace[i % TRACE_MAX]);
}

static void on_death(void)
{
	fflush(stdout);
	trace_dump();
	printf("# replay: fuzz-vfu-dev --seed %" G_GINT64_FORMAT " --round %" G_GUINT64_FORMAT "\n",
	       run_seed, cur_round);
	fflush(stdout);
}

/* Failures seen on other threads (the queue's, GLib's log), taken over by
 * the main thread's `failure` at the next check. */
static GMutex side_lock;
static char side_failure[400];

static void side_check(bool ok, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void side_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	g_mutex_lock(&side_lock);
	if (!side_failure[0]) {
		va_start(ap, fmt);
		vsnprintf(side_failure, sizeof(side_failure), fmt, ap);
		va_end(ap);
	}
	g_mutex_unlock(&side_lock);
}

static void take_side_failure(void)
{
	g_mutex_lock(&side_lock);
	CHECK(!side_failure[0], "%s", side_failure);
	g_mutex_unlock(&side_lock);
}

static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				   gpointer user)
{
	const char *msg = "?";

	for (gsize i = 0; i < n; i++)
		if (!strcmp(fields[i].key, "MESSAGE"))
			msg = fields[i].value;
	if (verbose)
		fprintf(stderr, "[%s] %s\n", level & G_LOG_LEVEL_WARNING ? "warning" : "log", msg);
	/* The device logs every guest and client fault; a critical is a bug. */
	side_check(!(level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)), "GLib critical: %s", msg);
	return G_LOG_WRITER_HANDLED;
}

/* ---- the device class: completes every chain at once ---- */

static uint8_t marker(uint16_t head)
{
	return (uint8_t)(head * 37u + 11u);
}

/* The length the device class reports as written for a chain. */
static uint32_t used_len(uint16_t head, uint64_t in_len)
{
	uint64_t x = (uint64_t)head * 2654435761u + 7;

	return in_len ? (uint32_t)(x % (MIN(in_len, (uint64_t)UINT32_MAX) + 1)) : 0;
}

static gint hold_mode;
static GMutex held_lock;
static GPtrArray *held;         /* chains the device class has in flight */

/* The device class's reply: a marker at the start of each writable
 * buffer, the length it "wrote". */
static void complete_elem(struct vu_elem *e)
{
	for (unsigned i = 0; i < e->nin; i++)
		if (e->in[i].iov_len)
			((uint8_t *)e->in[i].iov_base)[0] = marker(e->head);
	vu_elem_complete(e, used_len(e->head, e->in_len));
	vu_elem_free(e);
}

static bool in_table(const struct vu_mem *m, const struct iovec *v)
{
	const uint8_t *b = v->iov_base;

	for (unsigned i = 0; m && i < m->nregions; i++) {
		const struct vu_region *rg = &m->r[i];

		if (b >= rg->host && (uint64_t)(b - rg->host) < rg->size &&
		    v->iov_len <= rg->size - (uint64_t)(b - rg->host))
			return true;
	}
	return false;
}

static void dev_handle(void *opaque, struct vu_elem *e)
{
	uint64_t out = 0, in = 0;
	volatile uint8_t sink = 0;

	side_check(e->out == e->iov && e->in == e->iov + e->nout, "chain %u: iovec arrays misplaced",
		   e->head);
	for (unsigned i = 0; i < e->nout + e->nin; i++) {
		const struct iovec *v = &e->iov[i];
		uint8_t *b = v->iov_base;

		if (!v->iov_len || !in_table(e->mem, v)) {
			side_check(false, "chain %u: buffer %u (%p, %zu bytes) outside the memory table",
				   e->head, i, v->iov_base, v->iov_len);
			continue;
		}
		sink = b[0];
		sink = b[v->iov_len - 1];
		if (i < e->nout)
			out += v->iov_len;
		else
			in += v->iov_len;
	}
	(void)sink;
	side_check(out == e->out_len && in == e->in_len,
		   "chain %u: buffers of %" PRIu64 "+%" PRIu64 " bytes, the chain says %" PRIu64
		   "+%" PRIu64, e->head, out, in, e->out_len, e->in_len);
	g_atomic_int_inc(&chains_handled);
	/* In some rounds a quarter of the chains stay in flight: the main
	 * thread completes them later (release_held), or the reset ends them. */
	if (g_atomic_int_get(&hold_mode) && (e->head & 3) == 0) {
		g_atomic_int_inc(&chains_held);
		g_mutex_lock(&held_lock);
		g_ptr_array_add(held, e);
		g_mutex_unlock(&held_lock);
		return;
	}
	complete_elem(e);
}

static void dev_reset(void *opaque, bool handover)
{
	GPtrArray *all;

	g_atomic_int_inc(&resets_seen);
	/* The contract: end everything in flight before returning. */
	g_mutex_lock(&held_lock);
	all = held;
	held = g_ptr_array_new();
	g_mutex_unlock(&held_lock);
	for (guint i = 0; i < all->len; i++) {
		struct vu_elem *e = all->pdata[i];

		if (i & 1)
			complete_elem(e);   /* too late: dropped */
		else
			vu_elem_free(e);    /* orphaned */
	}
	g_ptr_array_free(all, TRUE);
}

static unsigned held_count(void)
{
	unsigned n;

	g_mutex_lock(&held_lock);
	n = held->len;
	g_mutex_unlock(&held_lock);
	return n;
}

/* Completes up to n held chains, oldest first (main thread); returns how
 * many are left. */
static unsigned release_held(unsigned n)
{
	unsigned left;

	for (;;) {
		struct vu_elem *e = NULL;

		g_mutex_lock(&held_lock);
		if (n && held->len) {
			e = g_ptr_array_steal_index(held, 0);
			n--;
		}
		left = held->len;
		g_mutex_unlock(&held_lock);
		if (!e)
			return left;
		complete_elem(e);
	}
}

static const struct vu_dev_ops dev_ops = { .handle = dev_handle, .reset = dev_reset };

/* ---- the client's picture of the device ---- */

struct gmap {
	uint64_t addr, size, off;
	int src;                /* SRC_A, SRC_B (ours to see), SRC_ZERO, SRC_NONE */
};

struct drv {
	bool known;             /* the common configuration is predicted */
	/* DEVICE_NEEDS_RESET unknown: a running queue may fault at any time
	 * (maybe), or a fault from before the last reset may still land
	 * (stale: known at the next read of the status). */
	bool nr_maybe, nr_stale;
	uint32_t dfsel, gfsel;
	uint64_t gf, features;  /* written, and accepted at FEATURES_OK */
	uint16_t cfgvec, qsel, qsize, qvec;
	uint8_t status;
	bool qen;
	uint64_t desc, avail, used;
	/* The queue as it started. */
	bool started;           /* enabled with its rings mapped */
	bool clean;             /* healthy, and only valid chains since: they must complete */
	bool q_event_idx, q_indirect;
	unsigned num;
	uint16_t aidx, uidx;    /* next available index published, used index consumed */
	uint8_t *desc_p, *avail_p, *used_p;  /* our view of the rings, or NULL */
};

enum { W_SYNC, W_POSTED, W_MULTI };

#define MAX_PEND 128
#define RESV_MAX 4096

struct conn {
	int sock;
	uint16_t id;
	bool gone;              /* the device closed the connection */
	bool fatal;             /* sent something after which it may */
	int want_ret;           /* what vfu_dev_serve() returns: 0, -EPROTO, ANY */
	bool versioned;
	int vec[NVEC], errfd;   /* our copies of the eventfds given */
	unsigned nmaps;
	struct gmap maps[VFU_MAX_DMA_MAPS];
	struct drv d;
	uint8_t cfg[CFG_SIZE];
	bool win_unknown;       /* the cfg_cap window as the last client left it */
	uint8_t msix[NVEC * 16];
	unsigned npend;
	struct { uint16_t id, command; int want; } pend[MAX_PEND];
	unsigned nmulti;
	struct vfu_wr_one multi[VFU_MULTI_MAX];
	unsigned nresv, nresv_rings;
};

/* Backing bytes (memfd, offset) the device writes, which must not alias. */
static struct { uint64_t a, l; } resv[RESV_MAX];

#define LIVE(c) (!failure[0] && !(c)->gone)

static uint64_t region_size(uint64_t i)
{
	return i == 0 ? BAR0_SIZE : i == 1 ? BAR1_SIZE : i == 7 ? CFG_SIZE : 0;
}

static bool access_ok(uint64_t region, uint64_t off, uint64_t count)
{
	uint64_t size = region_size(region);

	return count && off < size && count <= size - off;
}

/* The map holding [gpa, gpa + len) whole, among those with a descriptor
 * (visible: those we can see too). */
static const struct gmap *map_of(const struct conn *c, uint64_t gpa, uint64_t len, bool visible)
{
	if (gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct gmap *m = &c->maps[i];

		if (m->src == SRC_NONE || (visible && m->src > SRC_B))
			continue;
		if (gpa >= m->addr && gpa - m->addr <= m->size && len <= m->size - (gpa - m->addr))
			return m;
	}
	return NULL;
}

/* The map holding byte gpa. */
static const struct gmap *map_at(const struct conn *c, uint64_t gpa, bool visible)
{
	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct gmap *m = &c->maps[i];

		if (m->src == SRC_NONE || (visible && m->src > SRC_B))
			continue;
		if (gpa >= m->addr && gpa - m->addr < m->size)
			return m;
	}
	return NULL;
}

static uint8_t *gptr(const struct conn *c, uint64_t gpa, uint64_t len)
{
	const struct gmap *m = map_of(c, gpa, len, true);

	return m ? membase[m->src] + m->off + (gpa - m->addr) : NULL;
}

/* Whether every byte of [gpa, gpa + len) is in maps (adjacent ones too). */
static bool covered(const struct conn *c, uint64_t gpa, uint64_t len, bool visible)
{
	if (gpa + len < gpa)
		return false;
	while (len) {
		const struct gmap *m = map_at(c, gpa, visible);
		uint64_t chunk;

		if (!m)
			return false;
		chunk = MIN(len, m->size - (gpa - m->addr));
		gpa += chunk;
		len -= chunk;
	}
	return true;
}

/* Reserves the backing of [gpa, gpa + len) (visible maps): false if any
 * byte of it is reserved already. */
static bool reserve(struct conn *c, uint64_t gpa, uint64_t len)
{
	unsigned save = c->nresv;

	while (len) {
		const struct gmap *m = map_at(c, gpa, true);
		uint64_t chunk, key;

		if (!m || c->nresv == RESV_MAX)
			goto undo;
		chunk = MIN(len, m->size - (gpa - m->addr));
		key = ((uint64_t)m->src << 40) + m->off + (gpa - m->addr);
		for (unsigned i = 0; i < c->nresv; i++)
			if (ovl(key, chunk, resv[i].a, resv[i].l))
				goto undo;
		resv[c->nresv].a = key;
		resv[c->nresv++].l = chunk;
		gpa += chunk;
		len -= chunk;
	}
	return true;
undo:
	c->nresv = save;
	return false;
}

static const struct gmap *random_map(GRand *r, const struct conn *c, bool visible)
{
	const struct gmap *pick[VFU_MAX_DMA_MAPS];
	unsigned n = 0;

	for (unsigned i = 0; i < c->nmaps; i++)
		if (c->maps[i].src != SRC_NONE && (!visible || c->maps[i].src <= SRC_B))
			pick[n++] = &c->maps[i];
	return n ? pick[rnd(r, 0, n)] : NULL;
}

/* A place for len bytes inside one visible map, aligned, reserved. */
static bool place(GRand *r, struct conn *c, uint64_t len, uint64_t align, uint64_t *gpa)
{
	for (int tries = 0; tries < 32; tries++) {
		const struct gmap *m = random_map(r, c, true);
		uint64_t slots, at;

		if (!m || m->size < len)
			continue;
		slots = (m->size - len) / align + 1;
		at = m->addr + (rnd64(r) % slots) * align;
		if (reserve(c, at, len)) {
			*gpa = at;
			return true;
		}
	}
	return false;
}

/* A buffer across visible maps (written buffers reserved). */
static bool alloc_buf(GRand *r, struct conn *c, uint64_t len, bool written, uint64_t *gpa)
{
	for (int tries = 0; tries < 16; tries++) {
		const struct gmap *m = random_map(r, c, true);
		uint64_t at;

		if (!m)
			return false;
		at = m->addr + rnd64(r) % m->size;
		if (!covered(c, at, len, true) || (written && !reserve(c, at, len)))
			continue;
		*gpa = at;
		return true;
	}
	return false;
}

/* The pristine configuration space (docs/vfio-user.md, "The device"). */
static void vcap(uint8_t *c, uint8_t next, uint8_t len, uint8_t type, uint32_t off, uint32_t length)
{
	c[0] = 0x09;
	c[1] = next;
	c[2] = len;
	c[3] = type;
	put32(c + 8, off);
	put32(c + 12, length);
}

static void cfg_pristine(uint8_t *c)
{
	memset(c, 0, CFG_SIZE);
	put16(c + 0x00, 0x1af4);
	put16(c + 0x02, 0x1049);
	put16(c + 0x06, 0x0010);
	c[0x08] = 1;
	put16(c + 0x2c, 0x1af4);
	put16(c + 0x2e, 0x1100);
	c[0x34] = 0x40;
	c[0x40] = 0x11;
	c[0x41] = 0x4c;
	put16(c + 0x42, NVEC - 1);
	put32(c + 0x44, 0x000 | 1);
	put32(c + 0x48, 0x800 | 1);
	vcap(c + 0x4c, 0x5c, 16, 1, 0, COMMON_LEN);
	vcap(c + 0x5c, 0x70, 20, 2, NOTIFY_OFF, 4);
	put32(c + 0x5c + 16, 4);
	vcap(c + 0x70, 0x80, 16, 3, ISR_OFF, 4);
	vcap(c + 0x80, 0x90, 16, 4, DEVCFG_OFF, DEVCFG_LEN);
	vcap(c + 0x90, 0, 20, 5, 0, 0);
}

static void drv_reset(struct drv *d)
{
	bool stale = !strict_reset && (d->nr_maybe || d->nr_stale);

	*d = (struct drv){
		.known = true, .cfgvec = NO_VECTOR, .qsize = QMAX, .qvec = NO_VECTOR, .nr_stale = stale,
	};
}

static void conn_init(struct conn *c, int sock, uint16_t id)
{
	memset(c, 0, sizeof(*c));
	c->sock = sock;
	c->id = id;
	c->vec[0] = c->vec[1] = c->errfd = -1;
	drv_reset(&c->d);
	cfg_pristine(c->cfg);
	c->win_unknown = !strict_window;
	c->d.nr_stale = !strict_reset && stale_fault;
	for (unsigned i = 0; i < NVEC; i++)
		c->msix[i * 16 + 12] = 1;
}

static uint16_t valid_vector(uint16_t v)
{
	return v < NVEC ? v : NO_VECTOR;
}

static void cc_image(const struct conn *c, uint8_t *b)
{
	const struct drv *d = &c->d;

	memset(b, 0, COMMON_LEN);
	put32(b + CC_DFSELECT, d->dfsel);
	put32(b + CC_DF, d->dfsel < 2 ? (uint32_t)(OFFERED >> (32 * d->dfsel)) : 0);
	put32(b + CC_GFSELECT, d->gfsel);
	put32(b + CC_GF, d->gfsel < 2 ? (uint32_t)(d->gf >> (32 * d->gfsel)) : 0);
	put16(b + CC_MSIX, d->cfgvec);
	put16(b + CC_NUMQ, 1);
	b[CC_STATUS] = d->status;
	put16(b + CC_QSELECT, d->qsel);
	if (d->qsel == 0) {
		put16(b + CC_QSIZE, d->qsize);
		put16(b + CC_QMSIX, d->qvec);
		put16(b + CC_QENABLE, d->qen);
		put64(b + CC_QDESC, d->desc);
		put64(b + CC_QDRIVER, d->avail);
		put64(b + CC_QDEVICE, d->used);
	}
}

/* Queue enable, as the model sees it. */
static void q_enable(struct conn *c)
{
	struct drv *d = &c->d;
	unsigned n = d->qsize;
	bool mem = false;

	if (d->qen)
		return;
	if (!(d->status & ST_FEATURES_OK)) {
		d->status |= ST_NEEDS_RESET;
		return;
	}
	d->qen = true;
	d->num = n;
	for (unsigned i = 0; i < c->nmaps; i++)
		mem |= c->maps[i].src != SRC_NONE;
	if (!mem || !map_of(c, d->desc, 16ull * n, false) || !map_of(c, d->avail, 6 + 2ull * n, false) ||
	    !map_of(c, d->used, 6 + 8ull * n, false) || (d->desc & 15) || (d->avail & 1) ||
	    (d->used & 3)) {
		d->status |= ST_NEEDS_RESET;
		return;
	}
	d->started = true;
	d->q_event_idx = d->features & F_EVENT_IDX;
	d->q_indirect = d->features & F_INDIRECT;
	d->desc_p = gptr(c, d->desc, 16ull * n);
	d->avail_p = gptr(c, d->avail, 6 + 2ull * n);
	d->used_p = gptr(c, d->used, 6 + 8ull * n);
	d->aidx = 0;
	d->uidx = d->used_p ? get16(d->used_p + 2) : 0;
}

/* A write into the common configuration: whole fields are predicted, the
 * rest makes the model give up until the next reset. */
static void cc_write(struct conn *c, uint32_t off, const uint8_t *b, uint32_t n)
{
	struct drv *d = &c->d;
	uint64_t v = 0;

	if (n > 8) {
		d->known = d->clean = false;
		return;
	}
	memcpy(&v, b, n);
	if (!d->known) {
		if (off == CC_STATUS && n == 1 && v == 0)
			drv_reset(d);
		return;
	}
#define F(o, len) (off == (o) && n == (len))
	if (F(CC_DFSELECT, 4)) {
		d->dfsel = (uint32_t)v;
	} else if (F(CC_GFSELECT, 4)) {
		d->gfsel = (uint32_t)v;
	} else if (F(CC_GF, 4)) {
		if (d->gfsel < 2 && !(d->status & ST_FEATURES_OK)) {
			unsigned sh = 32 * d->gfsel;

			d->gf = (d->gf & ~(0xffffffffull << sh)) | v << sh;
		}
	} else if (F(CC_MSIX, 2)) {
		d->cfgvec = valid_vector((uint16_t)v);
	} else if (F(CC_STATUS, 1)) {
		uint8_t s = (uint8_t)v;

		if (s == 0) {
			drv_reset(d);
			return;
		}
		if ((s & ST_FEATURES_OK) && !(d->status & ST_FEATURES_OK)) {
			if ((d->gf & ~OFFERED) || !(d->gf & F_VERSION_1))
				s &= (uint8_t)~ST_FEATURES_OK;
			else
				d->features = d->gf;
		}
		d->status = (uint8_t)(s | (d->status & ST_NEEDS_RESET));
	} else if (F(CC_QSELECT, 2)) {
		d->qsel = (uint16_t)v;
	} else if (F(CC_DF, 4) || F(CC_NUMQ, 2) || F(CC_CFGGEN, 1) || F(CC_QNOTIFY, 2)) {
		/* read-only */
	} else if (d->qsel != 0) {
		if (!(off >= CC_QSIZE && off + n <= COMMON_LEN))
			d->known = false;
	} else if (F(CC_QSIZE, 2)) {
		if (!d->qen && v && !(v & (v - 1)) && v <= QMAX)
			d->qsize = (uint16_t)v;
	} else if (F(CC_QMSIX, 2)) {
		d->qvec = valid_vector((uint16_t)v);
	} else if (F(CC_QENABLE, 2)) {
		if (v == 1)
			q_enable(c);
	} else if (F(CC_QDESC, 8) || F(CC_QDRIVER, 8) || F(CC_QDEVICE, 8)) {
		uint64_t *a = off == CC_QDESC ? &d->desc : off == CC_QDRIVER ? &d->avail : &d->used;

		if (!d->qen)
			*a = v;
	} else if ((off >= CC_QDESC && n == 4 && !(off & 3))) {
		uint64_t *a = off < CC_QDRIVER ? &d->desc : off < CC_QDEVICE ? &d->avail : &d->used;
		unsigned sh = (off & 4) ? 32 : 0;

		if (!d->qen)
			*a = (*a & ~(0xffffffffull << sh)) | v << sh;
	} else {
		d->known = false;
	}
#undef F
	if (!d->known)
		d->clean = false;
}

static bool win_ok(const struct conn *c, uint32_t len)
{
	return c->cfg[WIN_BAR] <= 5 && (len == 1 || len == 2 || len == 4);
}

static void model_write(struct conn *c, uint64_t region, uint64_t off, const uint8_t *b, uint32_t n);

static void cfg_write(struct conn *c, uint64_t off, const uint8_t *b, uint32_t n)
{
	if (off <= WIN_BAR && off + n >= WIN_DATA + 4)
		c->win_unknown = false;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t o = off + i;

		if (o == 0x04 || o == 0x05 || o == 0x0c || o == 0x0d || o == 0x3c || o == WIN_BAR ||
		    (o >= WIN_OFF && o < WIN_DATA + 4))
			c->cfg[o] = b[i];
		else if (o == MSIX_CTRL_HI)
			c->cfg[o] = b[i] & 0xc0;
	}
	if (off < WIN_DATA + 4 && off + n > WIN_DATA && c->win_unknown) {
		c->d.known = false;     /* it wrote somewhere */
		c->d.clean = false;
	} else if (off < WIN_DATA + 4 && off + n > WIN_DATA) {
		uint32_t len = get32(c->cfg + WIN_LEN), woff = get32(c->cfg + WIN_OFF);

		if (win_ok(c, len) && access_ok(c->cfg[WIN_BAR], woff, len))
			model_write(c, c->cfg[WIN_BAR], woff, c->cfg + WIN_DATA, len);
	}
}

static void model_write(struct conn *c, uint64_t region, uint64_t off, const uint8_t *b, uint32_t n)
{
	if (region == 0 && off + n <= COMMON_LEN)
		cc_write(c, (uint32_t)off, b, n);
	else if (region == 1 && off + n <= sizeof(c->msix))
		memcpy(c->msix + off, b, n);
	else if (region == 7)
		cfg_write(c, off, b, n);
}

/* What a read must return, and the bits of it the model knows (mask);
 * false when it cannot tell at all. */
static bool model_read(struct conn *c, uint64_t region, uint64_t off, uint32_t n, uint8_t *out,
		       uint8_t *mask)
{
	bool known = true;

	memset(out, 0, n);
	memset(mask, 0xff, n);
	if (region == 0) {
		if (off + n <= COMMON_LEN) {
			uint8_t img[COMMON_LEN];

			if (!c->d.known)
				return false;
			cc_image(c, img);
			memcpy(out, img + off, n);
			/* A queue's fault sets DEVICE_NEEDS_RESET by itself. */
			if ((c->d.nr_maybe || c->d.nr_stale) && off <= CC_STATUS && off + n > CC_STATUS)
				mask[CC_STATUS - off] = (uint8_t)~ST_NEEDS_RESET;
		} else if (off >= DEVCFG_OFF && off + n <= DEVCFG_OFF + DEVCFG_LEN &&
			   off - DEVCFG_OFF < sizeof(devcfg)) {
			uint64_t o = off - DEVCFG_OFF;

			memcpy(out, devcfg + o, MIN(n, sizeof(devcfg) - o));
		}
	} else if (region == 1) {
		if (off + n <= sizeof(c->msix))
			memcpy(out, c->msix + off, n);
	} else if (region == 7) {
		/* A read of the window's data reads the BAR it points at. */
		uint8_t wmask[4];

		memset(wmask, 0xff, sizeof(wmask));
		if (off < WIN_DATA + 4 && off + n > WIN_DATA) {
			uint32_t len = get32(c->cfg + WIN_LEN), woff = get32(c->cfg + WIN_OFF);

			memset(c->cfg + WIN_DATA, 0, 4);
			if (win_ok(c, len)) {
				if (!access_ok(c->cfg[WIN_BAR], woff, len))
					memset(c->cfg + WIN_DATA, 0xff, len);
				else
					known = model_read(c, c->cfg[WIN_BAR], woff, len, c->cfg + WIN_DATA,
							   wmask);
			}
		}
		memcpy(out, c->cfg + off, n);
		for (uint32_t i = 0; i < n; i++) {
			if (off + i >= WIN_DATA && off + i < WIN_DATA + 4)
				mask[i] = c->win_unknown ? 0 : wmask[off + i - WIN_DATA];
			if (c->win_unknown && off + i >= WIN_BAR && off + i < WIN_DATA)
				mask[i] = 0;
		}
	}
	return known;
}

/* ---- the wire ---- */

static bool device_closed(struct conn *c, const char *what)
{
	c->gone = true;
	CHECK(c->fatal, "the device closed the connection (at %s)", what);
	return false;
}

static bool send_bytes(struct conn *c, const uint8_t *buf, size_t len, const int *fds, int nfds,
		       const char *what)
{
	size_t done = 0;

	while (done < len) {
		union {
			char b[CMSG_SPACE(sizeof(int) * (VFU_MAX_FDS + 8))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (void *)(buf + done), len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (done == 0 && nfds > 0) {
			struct cmsghdr *cm;

			mh.msg_control = ctl.b;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
		}
		n = sendmsg(c->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { c->sock, POLLOUT, 0 };

			if (poll(&p, 1, WAIT_MS) == 0) {
				hung = true;
				CHECK(0, "device hung: it stopped reading "
				      "(%zu of %zu bytes of %s sent in %d ms)", done, len, what, WAIT_MS);
				return false;
			}
			continue;
		}
		return device_closed(c, what);
	}
	return true;
}

static bool recv_bytes(struct conn *c, void *buf, size_t len, const char *what)
{
	size_t done = 0;

	while (done < len) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (uint8_t *)buf + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		struct pollfd p = { c->sock, POLLIN, 0 };
		int k = poll(&p, 1, WAIT_MS);
		ssize_t n;

		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			hung = true;
			CHECK(0, "device hung: no reply to %s within %d ms", what, WAIT_MS);
			return false;
		}
		n = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n >= 0 && mh.msg_controllen) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
					int fds[8];
					size_t k2 = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

					memcpy(fds, CMSG_DATA(cm), sizeof(int) * MIN(k2, 8));
					for (size_t i = 0; i < MIN(k2, 8); i++)
						close(fds[i]);
				}
			}
			CHECK(0, "descriptors came with the reply to %s", what);
		}
		if (n <= 0)
			return device_closed(c, what);
		done += (size_t)n;
	}
	return true;
}

#define REPLY_MAX (16 + 16 + BAR0_SIZE + 4096)
static struct {
	struct vfu_hdr h;
	uint32_t len;
	uint8_t p[REPLY_MAX];
} rep;

/* Reads the reply to (id, command): its errno (0: success), or -1. */
static int read_reply(struct conn *c, uint16_t id, uint16_t command, int want)
{
	char what[64];
	int err;

	snprintf(what, sizeof(what), "%s (id %u)", vfu_command_name(command), id);
	if (!recv_bytes(c, &rep.h, sizeof(rep.h), what))
		return -1;
	rep.len = 0;
	if (rep.h.size < 16 || rep.h.size > REPLY_MAX) {
		CHECK(0, "reply to %s of %u bytes", what, rep.h.size);
		c->gone = true;
		return -1;
	}
	rep.len = rep.h.size - 16;
	if (rep.len && !recv_bytes(c, rep.p, rep.len, what))
		return -1;
	stats.replies++;
	CHECK(rep.h.id == id && rep.h.command == command, "reply id %u command %s to %s", rep.h.id,
	      vfu_command_name(rep.h.command), what);
	CHECK(rep.h.flags == VFU_F_TYPE_REPLY || rep.h.flags == (VFU_F_TYPE_REPLY | VFU_F_ERROR),
	      "reply to %s with flags %#x", what, rep.h.flags);
	if (rep.h.flags & VFU_F_ERROR) {
		CHECK(rep.h.error != 0 && rep.len == 0, "error reply to %s: errno %u, %u payload bytes",
		      what, rep.h.error, rep.len);
		err = (int)rep.h.error;
		stats.refused++;
	} else {
		CHECK(rep.h.error == 0, "reply to %s: errno %u without the error flag", what,
		      rep.h.error);
		err = 0;
	}
	if (err || rep.len > 16 || want != 0)
		T("    <- %s %s, %u bytes", what, errname(err), rep.len);
	if (want != ANY)
		CHECK(err == want, "%s: %s, expected %s", what, errname(err), errname(want));
	return err;
}

static void flush_multi(struct conn *c);
static int wait_one(struct conn *c);

/* Sends one command; its reply is awaited later (wait_one) unless posted. */
static void send_cmd(struct conn *c, uint16_t command, uint32_t flags, const void *p1, size_t l1,
		     const void *p2, size_t l2, const int *fds, int nfds, int want)
{
	struct vfu_hdr h = { .id = c->id++, .command = command, .size = (uint32_t)(16 + l1 + l2),
			     .flags = flags };
	uint8_t *buf;
	char what[64];

	if (!LIVE(c))
		return;
	if (c->nmulti && command != VFU_CMD_REGION_WRITE_MULTI)
		flush_multi(c);
	while (c->npend == MAX_PEND && LIVE(c))
		wait_one(c);
	if (!LIVE(c))
		return;
	buf = g_malloc(h.size);
	memcpy(buf, &h, 16);
	if (l1)
		memcpy(buf + 16, p1, l1);
	if (l2)
		memcpy(buf + 16 + l1, p2, l2);
	snprintf(what, sizeof(what), "%s (id %u)", vfu_command_name(command), h.id);
	stats.commands++;
	if (send_bytes(c, buf, h.size, fds, nfds, what) && !(flags & VFU_F_NO_REPLY)) {
		c->pend[c->npend].id = h.id;
		c->pend[c->npend].command = command;
		c->pend[c->npend++].want = want;
	}
	if (flags & VFU_F_NO_REPLY)
		stats.posted++;
	g_free(buf);
}

/* Reads the oldest pending reply: its errno, or -1. */
static int wait_one(struct conn *c)
{
	uint16_t id, command;
	int want;

	if (!c->npend || !LIVE(c)) {
		c->npend = 0;
		return -1;
	}
	id = c->pend[0].id;
	command = c->pend[0].command;
	want = c->pend[0].want;
	memmove(c->pend, c->pend + 1, sizeof(c->pend[0]) * --c->npend);
	return read_reply(c, id, command, want);
}

static void drain(struct conn *c)
{
	while (c->npend && LIVE(c))
		wait_one(c);
	c->npend = 0;
}

/* A command and its reply: the reply's errno (0: success), or -1. */
static int cmd(struct conn *c, uint16_t command, uint32_t flags, const void *p1, size_t l1,
	       const void *p2, size_t l2, const int *fds, int nfds, int want)
{
	int err = -1;

	send_cmd(c, command, flags, p1, l1, p2, l2, fds, nfds, want);
	if (flags & VFU_F_NO_REPLY)
		return LIVE(c) ? 0 : -1;
	while (c->npend && LIVE(c))
		err = wait_one(c);
	return LIVE(c) ? err : -1;
}

/* A WRITE_MULTI's entries are written all or none. */
static bool multi_model(struct conn *c, const struct vfu_wr_one *w, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (!access_ok(w[i].region, w[i].offset, w[i].count))
			return false;
	for (uint64_t i = 0; i < n; i++)
		model_write(c, w[i].region, w[i].offset, w[i].data, w[i].count);
	return true;
}

static void flush_multi(struct conn *c)
{
	uint64_t n = c->nmulti;
	bool ok;

	if (!n)
		return;
	c->nmulti = 0;
	ok = multi_model(c, c->multi, n);
	T("REGION_WRITE_MULTI of %u (posted)%s", (unsigned)n, ok ? "" : ", refused");
	send_cmd(c, VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, &n, sizeof(n), c->multi,
		 n * sizeof(c->multi[0]), NULL, 0, 0);
}

/* ---- region accesses ---- */

static void region_read(struct conn *c, uint32_t region, uint64_t off, uint32_t count)
{
	struct vfu_region_rw rw = { off, region, count };
	bool ok = access_ok(region, off, count), known = false;
	uint8_t *want = NULL, *mask = NULL;
	int err;

	if (!LIVE(c))
		return;
	flush_multi(c);
	if (ok) {
		want = g_malloc(count);
		mask = g_malloc(count);
		known = model_read(c, region, off, count, want, mask);
	}
	T("REGION_READ %u:%#" PRIx64 "+%u", region, off, count);
	err = cmd(c, VFU_CMD_REGION_READ, 0, &rw, sizeof(rw), NULL, 0, NULL, 0, ok ? 0 : EINVAL);
	if (err == 0 && ok) {
		CHECK(rep.len == sizeof(rw) + count && !memcmp(rep.p, &rw, sizeof(rw)),
		      "REGION_READ %u:%#" PRIx64 "+%u: reply of %u bytes, not the access and its data",
		      region, off, count, rep.len);
		for (uint32_t i = 0; known && rep.len == sizeof(rw) + count && i < count; i++) {
			uint8_t got = rep.p[sizeof(rw) + i];

			if ((got ^ want[i]) & mask[i]) {
				CHECK(0, "REGION_READ %u:%#" PRIx64 "+%u: byte %#" PRIx64
				      " is %#x, expected %#x", region, off, count, off + i, got, want[i]);
				break;
			}
		}
		if (known)
			stats.reads_checked++;
		if (region == 0 && known && c->d.nr_stale && !c->d.nr_maybe && off <= CC_STATUS &&
		    off + count > CC_STATUS && rep.len == sizeof(rw) + count) {
			c->d.status = (uint8_t)((c->d.status & ~ST_NEEDS_RESET) |
						(rep.p[sizeof(rw) + CC_STATUS - off] & ST_NEEDS_RESET));
			c->d.nr_stale = false;
		}
		if (region == 7 && c->win_unknown && off <= WIN_BAR && off + count >= WIN_DATA + 4 &&
		    rep.len == sizeof(rw) + count) {
			memcpy(c->cfg + WIN_BAR, rep.p + sizeof(rw) + (WIN_BAR - off),
			       WIN_DATA + 4 - WIN_BAR);
			c->cfg[WIN_BAR + 1] = c->cfg[WIN_BAR + 2] = c->cfg[WIN_BAR + 3] = 0;
			c->win_unknown = false;
		}
	}
	g_free(want);
	g_free(mask);
}

static void region_write(struct conn *c, uint32_t region, uint64_t off, const void *data,
			 uint32_t count, int mode)
{
	struct vfu_region_rw rw = { off, region, count };
	bool ok = access_ok(region, off, count);
	int err;

	if (!LIVE(c))
		return;
	if (mode == W_MULTI && count >= 1 && count <= VFU_MULTI_DATA) {
		struct vfu_wr_one *w = &c->multi[c->nmulti++];

		*w = (struct vfu_wr_one){ .offset = off, .region = region, .count = count };
		memcpy(w->data, data, count);
		T("  (multi) %u:%#" PRIx64 "+%u = %#" PRIx64, region, off, count,
		  count <= 8 ? (uint64_t)get32(w->data) | (uint64_t)get32(w->data + 4) << 32 : 0);
		if (c->nmulti == VFU_MULTI_MAX)
			flush_multi(c);
		return;
	}
	flush_multi(c);
	if (ok)
		model_write(c, region, off, data, count);
	{
		uint64_t v = 0;

		memcpy(&v, data, MIN(count, 8u));
		T("REGION_WRITE %u:%#" PRIx64 "+%u = %#" PRIx64 "%s", region, off, count, v,
		  mode == W_POSTED ? " (posted)" : "");
	}
	if (mode == W_POSTED) {
		send_cmd(c, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, &rw, sizeof(rw), data, count, NULL, 0, 0);
		return;
	}
	err = cmd(c, VFU_CMD_REGION_WRITE, 0, &rw, sizeof(rw), data, count, NULL, 0, ok ? 0 : EINVAL);
	if (err == 0)
		CHECK(rep.len == sizeof(rw) && !memcmp(rep.p, &rw, sizeof(rw)),
		      "REGION_WRITE %u:%#" PRIx64 "+%u: the reply does not echo the access", region, off,
		      count);
}

static int pick_mode(GRand *r, uint32_t n)
{
	uint32_t k = rnd(r, 0, 10);

	return k < 4 ? W_SYNC : (k < 8 || n > 8) ? W_POSTED : W_MULTI;
}

static void bar0_w(GRand *r, struct conn *c, uint32_t off, uint64_t v, uint32_t n)
{
	uint8_t b[8];

	put64(b, v);
	region_write(c, 0, off, b, n, pick_mode(r, n));
}

/* ---- DMA ---- */

static int map_predict(const struct conn *c, const struct vfu_dma_map *m, int kind)
{
	if ((m->addr | m->size | m->offset) & (PAGE - 1))
		return EINVAL;
	if (!(m->flags & VFIO_DMA_MAP_FLAG_READ))
		return EINVAL;
	for (unsigned i = 0; i < c->nmaps; i++)
		if (ovl(m->addr, m->size, c->maps[i].addr, c->maps[i].size))
			return EEXIST;
	if (c->nmaps == VFU_MAX_DMA_MAPS)
		return ENOSPC;
	if (kind <= SRC_B && memsize[kind] < m->offset + m->size)
		return EINVAL;
	/* Only regular files (memfds) are taken: /dev/zero could fault past
	 * what it backs, an eventfd cannot be mapped. */
	if (kind == KIND_EVENTFD || kind == SRC_ZERO)
		return EINVAL;
	return 0;
}

static const char *const kind_name[] = { "memfd A", "memfd B", "/dev/zero", "no fd", "an eventfd" };

static void dma_map(struct conn *c, uint64_t addr, uint64_t size, uint64_t off, uint32_t flags,
		    int kind, bool pipelined)
{
	bool no_off = kind == SRC_NONE || (kind == SRC_ZERO && !strict_zero);
	struct vfu_dma_map m = { sizeof(m), flags, no_off ? 0 : off, addr, size };
	int fd = kind <= SRC_B ? memfd[kind] : kind == SRC_ZERO ? zero_fd :
		 kind == KIND_EVENTFD ? eventfd(0, EFD_CLOEXEC) : -1;
	int want;

	/* A range that wraps is the codec's business (the connection ends). */
	if (!LIVE(c) || !size || addr + size < addr || m.offset + size < m.offset)
		goto out;
	flush_multi(c);
	want = map_predict(c, &m, kind);
	T("DMA_MAP %#" PRIx64 "+%#" PRIx64 " %s@%#" PRIx64 " flags %u%s: want %s", addr, size,
	  kind_name[kind], off, flags, pipelined ? " (pipelined)" : "", errname(want));
	if (want == 0)
		c->maps[c->nmaps++] = (struct gmap){ addr, size, off, kind };
	stats.maps++;
	if (pipelined)
		send_cmd(c, VFU_CMD_DMA_MAP, 0, &m, sizeof(m), NULL, 0, &fd, fd >= 0, want);
	else
		cmd(c, VFU_CMD_DMA_MAP, 0, &m, sizeof(m), NULL, 0, &fd, fd >= 0, want);
out:
	if (kind == KIND_EVENTFD && fd >= 0)
		close(fd);
}

/* After maps went away: a queue whose rings are no longer mapped broke. */
static void rings_after_unmap(struct conn *c)
{
	struct drv *d = &c->d;
	unsigned n = d->num;

	if (d->started && (!map_of(c, d->desc, 16ull * n, false) ||
			   !map_of(c, d->avail, 6 + 2ull * n, false) ||
			   !map_of(c, d->used, 6 + 8ull * n, false))) {
		d->started = d->clean = false;
		d->status |= ST_NEEDS_RESET;
		T("  (the queue's rings are gone: it breaks)");
	}
}

static void dma_unmap(GRand *r, struct conn *c, uint64_t addr, uint64_t size, bool all)
{
	struct vfu_dma_unmap u = { (uint32_t)sizeof(u) + (one_in(r, 4) ? rnd(r, 0, 64) : 0),
				   all ? VFIO_DMA_UNMAP_FLAG_ALL : 0, all ? 0 : addr, all ? 0 : size };
	int want = 0, err;
	unsigned k = 0, hit = 0;

	if (!LIVE(c) || (!all && (!size || addr + size < addr)))
		return;
	flush_multi(c);
	if (!all) {
		for (unsigned i = 0; i < c->nmaps; i++) {
			if (!ovl(addr, size, c->maps[i].addr, c->maps[i].size))
				continue;
			hit++;
			if (c->maps[i].addr < addr || c->maps[i].addr + c->maps[i].size > addr + size)
				want = EINVAL;
		}
		if (!want && !hit)
			want = ENOENT;
	}
	T("DMA_UNMAP %s%#" PRIx64 "+%#" PRIx64 ": want %s", all ? "ALL " : "", u.addr, u.size,
	  errname(want));
	if (want == 0) {
		for (unsigned i = 0; i < c->nmaps; i++)
			if (!all && !ovl(addr, size, c->maps[i].addr, c->maps[i].size))
				c->maps[k++] = c->maps[i];
		c->nmaps = k;
		rings_after_unmap(c);
	}
	stats.unmaps++;
	err = cmd(c, VFU_CMD_DMA_UNMAP, 0, &u, sizeof(u), NULL, 0, NULL, 0, want);
	if (err == 0) {
		struct vfu_dma_unmap back = u;

		back.argsz = sizeof(back);
		CHECK(rep.len == sizeof(back) && !memcmp(rep.p, &back, sizeof(back)),
		      "DMA_UNMAP reply of %u bytes does not echo the request", rep.len);
	}
}

/* An address range no map touches. */
static uint64_t free_range(GRand *r, const struct conn *c)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < c->nmaps; i++)
		if (c->maps[i].addr + c->maps[i].size < (1ull << 48))
			top = MAX(top, c->maps[i].addr + c->maps[i].size);
	return top + (uint64_t)rnd(r, 0, 64) * PAGE + (one_in(r, 4) ? (1ull << 32) : 0);
}

static void layout(GRand *r, struct conn *c)
{
	uint64_t g = (uint64_t)rnd(r, 0, 1 << 20) * PAGE;
	bool pipe = one_in(r, 2);
	uint32_t k = rnd(r, 0, 10);

	T("layout %u at %#" PRIx64, k, g);
	if (k < 5) {
		dma_map(c, g, MEM_A, 0, 3, SRC_A, pipe);
		if (one_in(r, 3))
			dma_map(c, free_range(r, c), MEM_B, 0, 3, SRC_B, pipe);
		else
			dma_map(c, g + MEM_A, MEM_B, 0, 3, SRC_B, pipe);
	} else if (k < 7) {
		dma_map(c, g, MEM_A, 0, one_in(r, 8) ? 1 : 3, SRC_A, pipe);
	} else if (k < 9) {
		/* QEMU maps RAM in pieces; here pages of A, in order or aliasing. */
		uint32_t maxp = one_in(r, 3) ? 3 : 9, at = 0;
		bool seq = one_in(r, 2);

		while (at < MEM_A / PAGE && c->nmaps < VFU_MAX_DMA_MAPS + 2 && LIVE(c)) {
			uint32_t np = MIN(rnd(r, 1, maxp), MEM_A / PAGE - at);
			uint64_t off = (uint64_t)(seq ? at : rnd(r, 0, MEM_A / PAGE - np + 1)) * PAGE;

			dma_map(c, g + (uint64_t)at * PAGE, (uint64_t)np * PAGE, off, 3, SRC_A, pipe);
			at += np;
			if (c->nmaps == VFU_MAX_DMA_MAPS && !one_in(r, 4))
				break;
		}
		if (one_in(r, 2))
			dma_map(c, g + (uint64_t)at * PAGE, MEM_B, 0, 3, SRC_B, pipe);
	}
	if (one_in(r, 3))
		dma_map(c, free_range(r, c), one_in(r, 3) ? 1ull << rnd(r, 12, 41) : MEM_A, 0, 3,
			SRC_NONE, pipe);
	if (one_in(r, 8))
		dma_map(c, free_range(r, c), (uint64_t)rnd(r, 1, 65) * PAGE, 0, 3, SRC_ZERO, pipe);
	drain(c);
}

static void dma_action(GRand *r, struct conn *c)
{
	const struct gmap *m = c->nmaps ? &c->maps[rnd(r, 0, c->nmaps)] : NULL;
	uint64_t a = free_range(r, c), sz = (uint64_t)rnd(r, 1, 33) * PAGE;

	switch (rnd(r, 0, 11)) {
	case 0: /* overlapping */
		if (m)
			dma_map(c, m->addr + (rnd64(r) % m->size & ~(uint64_t)(PAGE - 1)), sz, 0, 3, SRC_NONE,
				false);
		break;
	case 1: /* misaligned */
		dma_map(c, a + (one_in(r, 3) ? rnd(r, 1, PAGE) : 0),
			sz + (one_in(r, 3) ? rnd(r, 1, PAGE) : 0), one_in(r, 2) ? rnd(r, 1, PAGE) : 0, 3,
			one_in(r, 2) ? SRC_A : SRC_B, false);
		break;
	case 2: /* without read access */
		dma_map(c, a, sz, 0, rnd(r, 0, 2) * 2, SRC_A, false);
		break;
	case 3: /* too small for offset + size */
		dma_map(c, a, one_in(r, 2) ? (uint64_t)MEM_B + PAGE : 1ull << rnd(r, 21, 40),
			(uint64_t)rnd(r, 0, 4) * PAGE, 3, SRC_B, false);
		break;
	case 4:
		dma_map(c, a, sz, 0, 3, KIND_EVENTFD, false);
		break;
	case 5:
		dma_map(c, a, sz, 0, 3, SRC_ZERO, false);
		break;
	case 6: /* huge, unreachable */
		dma_map(c, a, 1ull << rnd(r, 12, 44), 0, 3, SRC_NONE, false);
		break;
	case 7: /* another alias of guest RAM */
		dma_map(c, a, sz, (uint64_t)rnd(r, 0, MEM_B / PAGE - 32) * PAGE, rnd(r, 1, 4) | 1,
			one_in(r, 2) ? SRC_A : SRC_B, false);
		break;
	case 8: /* a memory transaction: several, replies collected at its end */
		for (uint32_t i = rnd(r, 2, 12); i > 0; i--)
			dma_map(c, free_range(r, c), (uint64_t)rnd(r, 1, 9) * PAGE,
				(uint64_t)rnd(r, 0, 8) * PAGE, 3, rnd(r, 0, 4), true);
		drain(c);
		break;
	case 9: /* wrapping addresses near the top, still not wrapping */
		dma_map(c, (UINT64_MAX & ~(uint64_t)(PAGE - 1)) - sz, sz, 0, 3, SRC_NONE, false);
		break;
	default: /* mapped and unmapped again */
		dma_map(c, a, sz, 0, 3, SRC_A, false);
		dma_unmap(r, c, a, sz, false);
		break;
	}
}

static void unmap_action(GRand *r, struct conn *c)
{
	const struct gmap *m = c->nmaps ? &c->maps[rnd(r, 0, c->nmaps)] : NULL;

	switch (rnd(r, 0, 7)) {
	case 0:
	case 1:
		if (m)
			dma_unmap(r, c, m->addr, m->size, false);
		break;
	case 2: /* splitting a map */
		if (m && m->size > PAGE)
			dma_unmap(r, c, m->addr + PAGE * (uint64_t)rnd(r, 0, 2), PAGE, false);
		else if (m)
			dma_unmap(r, c, m->addr, m->size + PAGE, false);
		break;
	case 3: /* several adjacent maps at once */
		if (m) {
			uint64_t end = m->addr + m->size;

			const struct gmap *n;

			while ((n = map_at(c, end, false)) && n->addr == end && !one_in(r, 4))
				end = n->addr + n->size;
			dma_unmap(r, c, m->addr, end - m->addr, false);
		}
		break;
	case 4: /* nothing there */
		dma_unmap(r, c, free_range(r, c), (uint64_t)rnd(r, 1, 100) * PAGE, false);
		break;
	case 5: /* odd sizes are not refused by the table */
		if (m)
			dma_unmap(r, c, m->addr, m->size + rnd(r, 1, PAGE), false);
		break;
	default:
		dma_unmap(r, c, 0, 0, true);
		break;
	}
}

/* ---- interrupts ---- */

static void fd_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		CHECK(0, "eventfd read: %s", g_strerror(errno));
}

static bool fd_signalled(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint64_t v;

	return poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) == sizeof(v);
}

static void set_fd(int *slot, int fd)
{
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
}

static int irq_predict(uint32_t flags, uint32_t index, uint32_t start, uint32_t count)
{
	uint32_t data = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	if (index >= VFIO_PCI_NUM_IRQS)
		return EINVAL;
	if (data == VFIO_IRQ_SET_DATA_NONE && action == VFIO_IRQ_SET_ACTION_TRIGGER && count == 0)
		return 0;
	if (index == VFIO_PCI_ERR_IRQ_INDEX && data == VFIO_IRQ_SET_DATA_EVENTFD &&
	    action == VFIO_IRQ_SET_ACTION_TRIGGER && start == 0 && count == 1)
		return 0;
	if (index != VFIO_PCI_MSIX_IRQ_INDEX || action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return EINVAL;
	if (start >= NVEC || count > NVEC - start)
		return EINVAL;
	return 0;
}

/* SET_IRQS (well-formed: count <= VFU_MAX_FDS with eventfds). */
static void set_irqs(GRand *r, struct conn *c, uint32_t flags, uint32_t index, uint32_t start,
		     uint32_t count, bool with_fds)
{
	uint32_t data = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	struct vfu_irq_set s = { sizeof(s), flags, index, start, count };
	int want = irq_predict(flags, index, start, count), fds[VFU_MAX_FDS], nfds = 0, err;
	uint8_t bools[VFU_MAX_FDS * 4] = { 0 };

	if (!LIVE(c))
		return;
	flush_multi(c);
	if (data == VFIO_IRQ_SET_DATA_EVENTFD && with_fds)
		for (nfds = 0; nfds < (int)count; nfds++)
			fds[nfds] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (data == VFIO_IRQ_SET_DATA_BOOL) {
		for (uint32_t i = 0; i < count; i++)
			bools[i] = one_in(r, 2) ? 0 : (uint8_t)rnd(r, 1, 256);
		s.argsz += count;
	}
	/* Triggers are seen on eventfds drained before. */
	if (want == 0 && index == VFIO_PCI_MSIX_IRQ_INDEX && data != VFIO_IRQ_SET_DATA_EVENTFD)
		for (uint32_t i = start; i < NVEC && i - start < count; i++)
			fd_drain(c->vec[i]);
	T("SET_IRQS index %u flags %#x start %u count %u, %d fds: want %s", index, flags, start, count,
	  nfds, errname(want));
	stats.irqs++;
	err = cmd(c, VFU_CMD_DEVICE_SET_IRQS, 0, &s, sizeof(s),
		  data == VFIO_IRQ_SET_DATA_BOOL ? bools : NULL,
		  data == VFIO_IRQ_SET_DATA_BOOL ? count : 0, fds, nfds, want);
	if (err == 0 && want == 0) {
		if (data == VFIO_IRQ_SET_DATA_NONE && count == 0) {
			if (index == VFIO_PCI_MSIX_IRQ_INDEX)
				for (int i = 0; i < NVEC; i++)
					set_fd(&c->vec[i], -1);
			if (index == VFIO_PCI_ERR_IRQ_INDEX)
				set_fd(&c->errfd, -1);
		} else if (index == VFIO_PCI_ERR_IRQ_INDEX) {
			set_fd(&c->errfd, nfds ? fds[0] : -1);
			if (nfds)
				fds[0] = -1;
		} else if (data == VFIO_IRQ_SET_DATA_EVENTFD) {
			for (uint32_t i = 0; i < count; i++) {
				set_fd(&c->vec[start + i], nfds ? fds[i] : -1);
				if (nfds)
					fds[i] = -1;
			}
		} else {
			for (uint32_t i = 0; i < count; i++)
				if (c->vec[start + i] >= 0 && (data == VFIO_IRQ_SET_DATA_NONE || bools[i]))
					CHECK(fd_signalled(c->vec[start + i], 0),
					      "SET_IRQS trigger of vector %u: its eventfd was not signalled",
					      start + i);
		}
	}
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void irqs_std(GRand *r, struct conn *c)
{
	set_irqs(r, c, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		 VFIO_PCI_MSIX_IRQ_INDEX, 0, NVEC, true);
}

static void irq_action(GRand *r, struct conn *c)
{
	static const uint32_t datas[] = { VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL,
					  VFIO_IRQ_SET_DATA_EVENTFD };
	static const uint32_t actions[] = { VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK,
					    VFIO_IRQ_SET_ACTION_TRIGGER };
	const uint32_t trig = VFIO_IRQ_SET_ACTION_TRIGGER;

	switch (rnd(r, 0, 10)) {
	case 0:
	case 1:
		irqs_std(r, c);
		break;
	case 2: /* one vector */
		set_irqs(r, c, VFIO_IRQ_SET_DATA_EVENTFD | trig, VFIO_PCI_MSIX_IRQ_INDEX, rnd(r, 0, NVEC), 1,
			 true);
		break;
	case 3: /* unassigned */
		set_irqs(r, c, VFIO_IRQ_SET_DATA_EVENTFD | trig, VFIO_PCI_MSIX_IRQ_INDEX, 0, rnd(r, 1, 3),
			 false);
		break;
	case 4: /* triggered */
		set_irqs(r, c, (one_in(r, 2) ? VFIO_IRQ_SET_DATA_NONE : VFIO_IRQ_SET_DATA_BOOL) | trig,
			 VFIO_PCI_MSIX_IRQ_INDEX, rnd(r, 0, 3), rnd(r, 1, 3), false);
		break;
	case 5: /* turned off, any index */
		set_irqs(r, c, VFIO_IRQ_SET_DATA_NONE | trig, rnd(r, 0, 6), 0, 0, false);
		break;
	case 6: /* the error eventfd */
		set_irqs(r, c, VFIO_IRQ_SET_DATA_EVENTFD | trig, VFIO_PCI_ERR_IRQ_INDEX, 0, 1,
			 !one_in(r, 4));
		break;
	case 7: /* out of range: the descriptors must be closed */
		set_irqs(r, c, VFIO_IRQ_SET_DATA_EVENTFD | trig, VFIO_PCI_MSIX_IRQ_INDEX, rnd(r, 0, 20),
			 rnd(r, 1, VFU_MAX_FDS + 1), true);
		break;
	default: /* anything well-formed */
		set_irqs(r, c, datas[rnd(r, 0, 3)] | actions[rnd(r, 0, 3)], one_in(r, 8) ? any64(r) & 0xffff :
			 rnd(r, 0, 6), rnd(r, 0, 4), rnd(r, 0, 5), one_in(r, 2));
		break;
	}
}

/* ---- VERSION and discovery ---- */

/* 0: versioned; -1: the round is over. */
static int version(GRand *r, struct conn *c)
{
	uint8_t buf[sizeof(qemu_caps) + 80];
	struct vfu_version v = { 0, 0 };
	size_t jl = sizeof(qemu_caps);
	uint32_t k = rnd(r, 0, 40);
	int want = 0, err;

	memcpy(buf, qemu_caps, sizeof(qemu_caps));
	if (k == 0) {
		jl = 0;
	} else if (k == 1) {
		v.minor = (uint16_t)rnd(r, 1, 5);
	} else if (k == 2 || k == 3) {
		int len = (int)jl - 1;

		fuzz_mutate_basic(r, (int)rnd(r, 0, FUZZ_BASIC_MUTATIONS), buf, &len, sizeof(buf) - 1, 0);
		buf[len] = 0;
		jl = (size_t)len + 1;
		want = ANY;
		c->fatal = true;
		c->want_ret = ANY;
	} else if (k == 4) {
		v.major = (uint16_t)rnd(r, 1, 0x10000);
		want = EPROTONOSUPPORT;
		c->fatal = true;
		c->want_ret = -EPROTO;
	}
	T("VERSION %u.%u, %zu bytes of JSON%s", v.major, v.minor, jl, want == ANY ? " (mutated)" : "");
	err = cmd(c, VFU_CMD_VERSION, 0, &v, sizeof(v), buf, jl, NULL, 0, want);
	if (err != 0)
		return -1;
	c->fatal = false;
	c->want_ret = 0;
	c->versioned = true;
	CHECK(rep.len > 5 && get16(rep.p) == 0 && get16(rep.p + 2) == 0 && rep.p[rep.len - 1] == 0 &&
	      strlen((char *)rep.p + 4) == rep.len - 5 &&
	      strstr((char *)rep.p + 4, "\"capabilities\"") != NULL,
	      "VERSION reply of %u bytes is not version 0.0 and one JSON document", rep.len);
	return LIVE(c) ? 0 : -1;
}

static void info_queries(GRand *r, struct conn *c, bool all)
{
	uint32_t ri = all ? 0 : rnd(r, 0, 12), ii = all ? 0 : rnd(r, 0, 8);

	if (all || one_in(r, 3)) {
		struct vfu_device_info q = { .argsz = sizeof(q) };

		if (one_in(r, 2))
			q.argsz += rnd(r, 1, 64);

		T("DEVICE_GET_INFO");
		if (cmd(c, VFU_CMD_DEVICE_GET_INFO, 0, &q, sizeof(q), NULL, 0, NULL, 0, 0) == 0) {
			struct vfu_device_info a;

			memcpy(&a, rep.p, MIN(rep.len, sizeof(a)));
			CHECK(rep.len == sizeof(a) && a.argsz == sizeof(a) &&
			      a.flags == (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET) &&
			      a.num_regions == 9 && a.num_irqs == VFIO_PCI_NUM_IRQS,
			      "DEVICE_GET_INFO: %u bytes, flags %#x, %u regions, %u irqs", rep.len, a.flags,
			      a.num_regions, a.num_irqs);
		}
	}
	for (uint32_t i = ri; i < (all ? 10 : ri + 1) && LIVE(c); i++) {
		struct vfu_region_info q = { .argsz = one_in(r, 2) ? (uint32_t)sizeof(q) : 4096, .index = i };
		int want = i < 9 ? 0 : EINVAL;

		if (!all && one_in(r, 8))
			q.index = g_rand_int(r);
		want = q.index < 9 ? 0 : EINVAL;
		T("DEVICE_GET_REGION_INFO %u", q.index);
		if (cmd(c, VFU_CMD_DEVICE_GET_REGION_INFO, 0, &q, sizeof(q), NULL, 0, NULL, 0, want) == 0) {
			struct vfu_region_info a;
			uint64_t size = region_size(q.index);

			memcpy(&a, rep.p, MIN(rep.len, sizeof(a)));
			CHECK(rep.len == sizeof(a) && a.argsz == sizeof(a) && a.index == q.index &&
			      a.size == size && a.cap_offset == 0 && a.offset == 0 &&
			      a.flags == (size ? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE : 0),
			      "DEVICE_GET_REGION_INFO %u: %u bytes, size %#" PRIx64 ", flags %#x", q.index,
			      rep.len, (uint64_t)a.size, a.flags);
		}
	}
	if (all)
		region_read(c, 7, 0, CFG_SIZE);
	for (uint32_t i = ii; i < (all ? 6 : ii + 1) && LIVE(c); i++) {
		struct vfu_irq_info q = { .argsz = sizeof(q), .index = i };

		T("DEVICE_GET_IRQ_INFO %u", i);
		if (cmd(c, VFU_CMD_DEVICE_GET_IRQ_INFO, 0, &q, sizeof(q), NULL, 0, NULL, 0,
			i < VFIO_PCI_NUM_IRQS ? 0 : EINVAL) == 0) {
			struct vfu_irq_info a;
			uint32_t fl = i == VFIO_PCI_ERR_IRQ_INDEX ? VFIO_IRQ_INFO_EVENTFD : 0;
			uint32_t n = i == VFIO_PCI_MSIX_IRQ_INDEX ? NVEC : i == VFIO_PCI_ERR_IRQ_INDEX;

			if (i == VFIO_PCI_MSIX_IRQ_INDEX)
				fl = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;

			memcpy(&a, rep.p, MIN(rep.len, sizeof(a)));
			CHECK(rep.len == sizeof(a) && a.argsz == sizeof(a) && a.index == i && a.flags == fl &&
			      a.count == n, "DEVICE_GET_IRQ_INFO %u: %u bytes, flags %#x, count %u", i, rep.len,
			      a.flags, a.count);
		}
	}
}

/* ---- the driver ---- */

/* Rings for a queue of d->qsize entries: where a driver puts them, or (a
 * deviating one) outside memory, misaligned, across the end of a map, in
 * memory the device has no descriptor for. */
static void place_rings(GRand *r, struct conn *c, bool dev, uint64_t gpa[3])
{
	unsigned n = c->d.qsize;
	const uint64_t len[3] = { 16ull * n, 6 + 2ull * n, 6 + 8ull * n }, al[3] = { 16, 2, 4 };

	c->nresv = 0;
	for (int i = 0; i < 3; i++) {
		if (!place(r, c, len[i], one_in(r, 3) ? PAGE : al[i], &gpa[i]))
			gpa[i] = rnd64(r) & ~(uint64_t)15;
		if (dev && one_in(r, 3)) {
			const struct gmap *m = c->nmaps ? &c->maps[rnd(r, 0, c->nmaps)] : NULL;

			switch (rnd(r, 0, 4)) {
			case 0: gpa[i] = any64(r); break;
			case 1: gpa[i] += rnd(r, 1, 16); break;
			case 2: if (m) gpa[i] = m->addr + m->size - len[i] / 2; break;
			default: if (m) gpa[i] = m->addr; break;
			}
		}
	}
	c->nresv_rings = c->nresv;
}

static void write_addr(GRand *r, struct conn *c, uint32_t off, uint64_t v)
{
	if (one_in(r, 3)) {
		bar0_w(r, c, off, v, 8);
	} else {
		bar0_w(r, c, off, (uint32_t)v, 4);
		bar0_w(r, c, off + 4, v >> 32, 4);
	}
}

/* The guest driver's initialization of the device (Linux's order). */
static void bring_up(GRand *r, struct conn *c)
{
	struct drv *d = &c->d;
	bool dev = one_in(r, 6), ring_init_ok = true;
	uint64_t f = F_VERSION_1, gpa[3];
	uint32_t qs;

	stats.bringups++;
	T("bring-up%s", dev ? " (a deviating driver)" : "");
	bar0_w(r, c, CC_STATUS, 0, 1);
	region_read(c, 0, CC_STATUS, 1);
	bar0_w(r, c, CC_STATUS, ST_ACK, 1);
	bar0_w(r, c, CC_STATUS, ST_ACK | ST_DRIVER, 1);
	for (uint32_t sel = 0; sel < 2; sel++) {
		bar0_w(r, c, CC_DFSELECT, sel, 4);
		region_read(c, 0, CC_DF, 4);
	}
	if (one_in(r, 2))
		f |= F_MOUNT_TAG;
	if (!one_in(r, 3))
		f |= F_INDIRECT;
	if (one_in(r, 2))
		f |= F_EVENT_IDX;
	if (dev && one_in(r, 3))
		f ^= one_in(r, 2) ? F_VERSION_1 : 1ull << rnd(r, 1, 64);
	bar0_w(r, c, CC_GFSELECT, 0, 4);
	bar0_w(r, c, CC_GF, (uint32_t)f, 4);
	bar0_w(r, c, CC_GFSELECT, 1, 4);
	bar0_w(r, c, CC_GF, f >> 32, 4);
	bar0_w(r, c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK, 1);
	region_read(c, 0, CC_STATUS, 1);
	bar0_w(r, c, CC_MSIX, dev && one_in(r, 2) ? any64(r) : 0, 2);
	bar0_w(r, c, CC_QSELECT, dev && one_in(r, 6) ? rnd(r, 1, 0x10000) : 0, 2);
	region_read(c, 0, CC_QSIZE, 2);
	qs = 1u << rnd(r, 0, 9);
	if (dev && one_in(r, 3))
		qs = (uint32_t)any64(r) & 0xffff;
	bar0_w(r, c, CC_QSIZE, qs, 2);
	bar0_w(r, c, CC_QMSIX, dev && one_in(r, 2) ? any64(r) : one_in(r, 4) ? 0 : 1, 2);
	region_read(c, 0, CC_QMSIX, 2);
	place_rings(r, c, dev, gpa);
	/* Fresh rings: zeroed, both indexes 0 (a deviating driver leaves junk). */
	{
		unsigned n = d->qsize;
		uint8_t *p[3] = { gptr(c, gpa[0], 16ull * n), gptr(c, gpa[1], 6 + 2ull * n),
				  gptr(c, gpa[2], 6 + 8ull * n) };
		const uint64_t len[3] = { 16ull * n, 6 + 2ull * n, 6 + 8ull * n };

		for (int i = 0; i < 3; i++) {
			if (p[i])
				memset(p[i], 0, len[i]);
			if (p[i] && i && dev && one_in(r, 3)) {
				put16(p[i] + 2, (uint16_t)g_rand_int(r));
				ring_init_ok = false;
			}
		}
	}
	write_addr(r, c, CC_QDESC, gpa[0]);
	write_addr(r, c, CC_QDRIVER, gpa[1]);
	write_addr(r, c, CC_QDEVICE, gpa[2]);
	if (one_in(r, 3))
		irqs_std(r, c);
	if (dev && one_in(r, 5))
		bar0_w(r, c, CC_STATUS, ST_ACK | ST_DRIVER, 1);   /* FEATURES_OK withdrawn */
	/* Junk rings (or rings on top of each other) may fault the queue as
	 * soon as it starts. */
	if (dev || !ring_init_ok)
		d->nr_maybe = true;
	bar0_w(r, c, CC_QENABLE, dev && one_in(r, 4) ? rnd(r, 0, 3) : 1, 2);
	region_read(c, 0, 0, COMMON_LEN);
	if (!(d->status & ST_NEEDS_RESET))
		bar0_w(r, c, CC_STATUS, d->status | ST_DRIVER_OK, 1);
	flush_multi(c);
	d->clean = d->known && d->started && d->desc_p && d->avail_p && d->used_p && ring_init_ok &&
		   !dev;
	T("  (queue %s%s, %u entries, features %#" PRIx64 ")", d->started ? "running" : "stopped",
	  d->clean ? ", clean" : "", d->num, d->features);
}

/* The guest's notification: QEMU posts it. */
static void notify(GRand *r, struct conn *c)
{
	uint8_t v[4] = { 0 };

	switch (rnd(r, 0, 10)) {
	case 0:
		region_write(c, 0, NOTIFY_OFF, v, 2, W_SYNC);
		break;
	case 1:
		region_write(c, 0, NOTIFY_OFF, v, 4, W_POSTED);
		break;
	case 2:
		region_write(c, 0, NOTIFY_OFF, v, 2, W_MULTI);
		flush_multi(c);
		break;
	case 3: { /* through the cfg_cap window */
		uint8_t w[12] = { 0 };

		put32(w + 4, NOTIFY_OFF);
		put32(w + 8, 2);
		region_write(c, 7, WIN_BAR, w, sizeof(w), W_SYNC);
		region_write(c, 7, WIN_DATA, v, 2, W_SYNC);
		break;
	}
	default:
		region_write(c, 0, NOTIFY_OFF, v, 2, W_POSTED);
		break;
	}
}

static void put_desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *p = table + 16u * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void publish(struct drv *d, uint16_t idx)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(d->avail_p + 2, &idx, 2);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint16_t used_idx(const struct drv *d)
{
	uint16_t v;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(&v, d->used_p + 2, 2);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return v;
}

static uint32_t buf_len(GRand *r)
{
	switch (rnd(r, 0, 8)) {
	case 0: return 0;
	case 1: return rnd(r, 1, 17);
	case 2: return rnd(r, 1, 65536);
	default: return rnd(r, 1, 2049);
	}
}

/* Valid chains on a healthy queue: each must come back. */
static void clean_batch(GRand *r, struct conn *c, int meanwhile)
{
	struct drv *d = &c->d;
	unsigned num = d->num, next_desc = 0, nch = 0, nmarks = 0;
	uint16_t perm[QMAX], heads[QMAX], aidx0 = d->aidx, uidx0 = d->uidx;
	uint64_t inlen[QMAX];
	struct { uint64_t gpa; uint16_t head; } marks[512];
	int vfd = d->qvec < NVEC ? c->vec[d->qvec] : -1;
	bool no_irq = one_in(r, 5);
	unsigned want = one_in(r, 4) ? num : rnd(r, 1, MIN(num, 24u) + 1);
	gint64 deadline;

	stats.clean_batches++;
	c->nresv = c->nresv_rings;
	for (unsigned i = 0; i < num; i++)
		perm[i] = (uint16_t)i;
	for (unsigned i = num; i > 1; i--) {
		unsigned j = rnd(r, 0, i);
		uint16_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	while (nch < want && next_desc < num) {
		bool ind = d->q_indirect && one_in(r, 3);
		unsigned nout = rnd(r, 0, 4), nin = rnd(r, 0, 4), nd, head = perm[next_desc];
		uint8_t *table = d->desc_p;
		uint64_t tgpa = 0;

		if (nout + nin == 0)
			nin = 1;
		if (ind && one_in(r, 8))
			nin += rnd(r, 0, 60);
		nd = nout + nin;
		if (ind) {
			if (!place(r, c, 16ull * nd, 16, &tgpa))
				break;
			table = gptr(c, tgpa, 16ull * nd);
			put_desc(d->desc_p, head, tgpa, 16 * nd, VRING_DESC_F_INDIRECT, 0);
			next_desc++;
		} else if (next_desc + nd > num) {
			nd = num - next_desc;
			nout = MIN(nout, nd);
			nin = nd - nout;
		}
		inlen[nch] = 0;
		for (unsigned j = 0; j < nd; j++) {
			bool w = j >= nout;
			uint32_t len = buf_len(r);
			uint64_t gpa = 0;
			unsigned at = ind ? j : perm[next_desc + j];
			unsigned next = ind ? j + 1 : j + 1 < nd ? perm[next_desc + j + 1] : 0;

			if (len && !alloc_buf(r, c, len, w, &gpa))
				len = 0;
			if (!len && one_in(r, 2))
				gpa = rnd64(r);         /* an empty buffer may be anywhere */
			if (w && len) {
				inlen[nch] += len;
				if (nmarks < G_N_ELEMENTS(marks)) {
					marks[nmarks].gpa = gpa;
					marks[nmarks++].head = (uint16_t)head;
				}
			}
			put_desc(table, at, gpa, len,
				 (uint16_t)((w ? VRING_DESC_F_WRITE : 0) | (j + 1 < nd ? VRING_DESC_F_NEXT : 0)),
				 (uint16_t)(j + 1 < nd ? next : 0));
		}
		if (!ind)
			next_desc += nd;
		heads[nch] = (uint16_t)head;
		put16(d->avail_p + 4 + 2 * ((unsigned)(uint16_t)(aidx0 + nch) % num), (uint16_t)head);
		nch++;
	}
	if (!nch || !LIVE(c))
		return;
	put16(d->avail_p, no_irq ? VRING_AVAIL_F_NO_INTERRUPT : 0);
	put16(d->avail_p + 4 + 2 * num, uidx0);        /* used_event: the next one */
	d->aidx = (uint16_t)(aidx0 + nch);
	fd_drain(vfd);
	T("%u valid chains (avail %u..%u, %u markers)%s", nch, aidx0, d->aidx, nmarks,
	  meanwhile == 1 ? ", a DMA map meanwhile" : meanwhile == 2 ? ", an unmap meanwhile" : "");
	publish(d, d->aidx);
	notify(r, c);
	/* Memory changes under a working queue pause and restart its thread;
	 * the rings stay where they are. */
	if (meanwhile == 1) {
		dma_map(c, free_range(r, c), (uint64_t)rnd(r, 1, 17) * PAGE, 0, 3,
			one_in(r, 2) ? SRC_NONE : SRC_B, false);
	} else if (meanwhile == 2) {
		uint64_t a = free_range(r, c);

		dma_map(c, a, PAGE, 0, 3, SRC_A, false);
		dma_unmap(r, c, a, PAGE, false);
	}
	if (!LIVE(c) || !d->clean)
		return;
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (used_idx(d) != d->aidx && g_get_monotonic_time() < deadline) {
		release_held(1);
		g_usleep(100);
	}
	take_side_failure();
	if (used_idx(d) != d->aidx) {
		hung = true;
		CHECK(0, "queue stalled: used index %u, %u chains of %u published after %d ms "
		      "(%d handled in all)", used_idx(d), (uint16_t)(used_idx(d) - uidx0), nch, WAIT_MS,
		      g_atomic_int_get(&chains_handled));
		return;
	}
	/* In order, unless chains were held back: then each once. */
	for (unsigned i = 0; i < nch && !failure[0]; i++) {
		const uint8_t *u = d->used_p + 4 + 8 * ((unsigned)(uint16_t)(uidx0 + i) % num);
		unsigned j = i;

		if (g_atomic_int_get(&hold_mode))
			for (j = 0; j < nch && (heads[j] != get32(u) || inlen[j] == UINT64_MAX); j++)
				;
		CHECK(j < nch && get32(u) == heads[j] && get32(u + 4) == used_len(heads[j], inlen[j]),
		      "used entry %u: head %u length %u, expected head %u length %u",
		      (uint16_t)(uidx0 + i), get32(u), get32(u + 4), heads[i], used_len(heads[i], inlen[i]));
		if (j < nch && hold_mode)
			inlen[j] = UINT64_MAX;  /* seen */
	}
	for (unsigned i = 0; i < nmarks && !failure[0]; i++) {
		const uint8_t *p = gptr(c, marks[i].gpa, 1);

		CHECK(p && *p == marker(marks[i].head),
		      "chain %u: the byte the device wrote at %#" PRIx64 " is %#x, expected %#x",
		      marks[i].head, marks[i].gpa, p ? *p : 0, marker(marks[i].head));
	}
	if (vfd >= 0 && (d->q_event_idx || !no_irq))
		CHECK(fd_signalled(vfd, WAIT_MS), "no interrupt on vector %u after %u chains", d->qvec, nch);
	d->uidx = d->aidx;
	stats.clean_chains += nch;
}

/* A descriptor address for garbage chains. */
static uint64_t junk_addr(GRand *r, const struct conn *c, uint32_t len)
{
	const struct gmap *m = c->nmaps ? &c->maps[rnd(r, 0, c->nmaps)] : NULL;

	switch (rnd(r, 0, 8)) {
	case 0: return any64(r);
	case 1: return m ? m->addr + m->size - len / 2 : 0;
	case 2: return m ? m->addr + m->size : 0;
	case 3: return UINT64_MAX - rnd(r, 0, 64);
	default: return m ? m->addr + rnd64(r) % m->size : rnd64(r);
	}
}

static uint32_t junk_len(GRand *r)
{
	switch (rnd(r, 0, 6)) {
	case 0: return 0;
	case 1: return UINT32_MAX - rnd(r, 0, 16);
	case 2: return 1u << rnd(r, 0, 32);
	default: return rnd(r, 1, 8193);
	}
}

/* A gpa where two maps the device has meet, or 0. */
static uint64_t boundary(GRand *r, const struct conn *c)
{
	uint64_t b[VFU_MAX_DMA_MAPS];
	unsigned n = 0;

	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct gmap *m = &c->maps[i];
		const struct gmap *next = m->src != SRC_NONE ? map_at(c, m->addr + m->size, false) : NULL;

		if (next && next->addr == m->addr + m->size)
			b[n++] = next->addr;
	}
	return n ? b[rnd(r, 0, n)] : 0;
}

/* Guest garbage: the queue may break, nothing else. */
static void random_batch(GRand *r, struct conn *c)
{
	struct drv *d = &c->d;
	unsigned num = d->num, k = rnd(r, 0, 7), nch = 0;
	uint16_t aidx = d->aidx;

	stats.random_batches++;
	d->clean = false;
	d->nr_maybe = true;
	if (!d->desc_p || !d->avail_p || !num) {
		T("notify (no rings of ours)");
		notify(r, c);
		return;
	}
	switch (k) {
	case 0: /* random bytes over the rings */
		for (int i = rnd(r, 1, 6); i > 0; i--) {
			uint8_t *p = i % 3 == 0 ? d->desc_p : i % 3 == 1 ? d->avail_p : d->used_p;
			unsigned len = i % 3 == 0 ? 16 * num : i % 3 == 1 ? 6 + 2 * num : 6 + 8 * num;
			unsigned at = rnd(r, 0, len), n = MIN(len - at, rnd(r, 1, 64));

			if (!p)
				continue;
			for (unsigned j = 0; j < n; j++)
				p[at + j] = (uint8_t)g_rand_int(r);
		}
		aidx = (uint16_t)(aidx + rnd(r, 0, 4));
		break;
	case 1:
	case 2:
	case 3: /* plausible chains, some of them faulty */
		for (nch = rnd(r, 1, MIN(num, 16u) + 1); nch > 0; nch--) {
			unsigned head = rnd(r, 0, num), at = head, nd = rnd(r, 1, 6);

			for (unsigned j = 0; j < nd; j++) {
				uint16_t flags = (uint16_t)((j + 1 < nd ? VRING_DESC_F_NEXT : 0) |
							    (j >= nd / 2 ? VRING_DESC_F_WRITE : 0));
				unsigned next = rnd(r, 0, num);
				uint32_t len = junk_len(r);
				uint64_t addr = junk_addr(r, c, len);

				if (one_in(r, 3)) {
					len = buf_len(r);
					alloc_buf(r, c, len, false, &addr);
				}
				switch (one_in(r, 4) ? rnd(r, 0, 8) : 99) {
				case 0: next = num + rnd(r, 0, 0x10000 - num); break;
				case 1: next = head; break;                       /* a loop */
				case 2: flags ^= VRING_DESC_F_WRITE; break;       /* read after write */
				case 3: flags |= (uint16_t)rnd(r, 8, 0x10000); break;
				case 4: { /* an indirect table, maybe nested, chained or of a bad size */
					unsigned n = rnd(r, 1, 20);
					uint64_t t;

					flags = VRING_DESC_F_INDIRECT;
					if (one_in(r, 4))
						flags |= VRING_DESC_F_NEXT;
					len = one_in(r, 3) ? junk_len(r) : 16 * n;
					addr = junk_addr(r, c, len);
					if (!one_in(r, 4) && alloc_buf(r, c, 16ull * n, false, &t) &&
					    map_of(c, t, 16ull * n, true)) {
						uint8_t *tp = gptr(c, t, 16ull * n);

						addr = t;
						for (unsigned e = 0; e < n; e++) {
							uint32_t l2 = buf_len(r);
							uint64_t a2 = junk_addr(r, c, l2);

							alloc_buf(r, c, l2, false, &a2);
							uint16_t f2 = e + 1 < n ? VRING_DESC_F_NEXT : 0;

							if (one_in(r, 2))
								f2 |= VRING_DESC_F_WRITE;
							if (one_in(r, 10))
								f2 |= VRING_DESC_F_INDIRECT;
							put_desc(tp, e, a2, l2, f2, (uint16_t)(one_in(r, 10) ?
								 rnd(r, 0, 40) : e + 1));
						}
					}
					break;
				}
				case 5: addr = 0; len = 0; break;
				default: break;
				}
				put_desc(d->desc_p, at, addr, len, flags, (uint16_t)next);
				at = next < num ? next : rnd(r, 0, num);
			}
			put16(d->avail_p + 4 + 2 * ((unsigned)aidx % num),
			      (uint16_t)(one_in(r, 10) ? rnd(r, num, 0x10000) : head));
			aidx++;
		}
		break;
	case 4: { /* one long chain of long buffers: thousands of pieces across maps */
		uint64_t a = 0;
		uint32_t len = one_in(r, 2) ? rnd(r, 4096, 1 << 18) : rnd(r, 1, 64);
		uint64_t b = boundary(r, c);

		for (unsigned j = 0; j < num; j++) {
			if (b && one_in(r, 2))
				a = b - rnd(r, 1, 16);
			else if (!alloc_buf(r, c, len, false, &a))
				a = junk_addr(r, c, len);
			put_desc(d->desc_p, j, a, len,
				 (uint16_t)((j + 1 < num ? VRING_DESC_F_NEXT : 0) |
					    (j >= num / 2 ? VRING_DESC_F_WRITE : 0)), (uint16_t)(j + 1));
		}
		put16(d->avail_p + 4 + 2 * ((unsigned)aidx % num), 0);
		aidx++;
		break;
	}
	case 5: { /* a big indirect table whose buffers straddle the maps' boundaries */
		unsigned n = one_in(r, 4) ? rnd(r, 1, VRING_MAX_INDIRECT + 2) :
			     rnd(r, 1000, VRING_MAX_INDIRECT + 1);
		uint64_t t, b = boundary(r, c);
		unsigned head = rnd(r, 0, num);

		c->nresv = c->nresv_rings;
		if (!place(r, c, 16ull * n, 16, &t))
			break;
		for (unsigned e = 0; e < n; e++) {
			uint64_t a = b ? b - rnd(r, 1, 32) : 0;
			uint32_t len = rnd(r, 33, 64);

			if (!b && !alloc_buf(r, c, len, false, &a))
				a = junk_addr(r, c, len);
			put_desc(gptr(c, t, 16ull * n), e, a, len,
				 (uint16_t)((e + 1 < n ? VRING_DESC_F_NEXT : 0) |
					    (e >= n / 3 ? VRING_DESC_F_WRITE : 0)), (uint16_t)(e + 1));
		}
		put_desc(d->desc_p, head, t, 16 * n, VRING_DESC_F_INDIRECT, 0);
		put16(d->avail_p + 4 + 2 * ((unsigned)aidx % num), (uint16_t)head);
		aidx++;
		break;
	}
	default: /* the available index jumps */
		aidx = (uint16_t)(aidx + num + rnd(r, 1, 0x8000));
		break;
	}
	if (one_in(r, 4))
		put16(d->avail_p, (uint16_t)g_rand_int(r));
	T("guest garbage %u (avail %u -> %u)", k, d->aidx, aidx);
	d->aidx = aidx;
	publish(d, aidx);
	notify(r, c);
	if (one_in(r, 2)) {
		int vfd = d->qvec < NVEC ? c->vec[d->qvec] : -1;
		struct pollfd p = { vfd, POLLIN, 0 };

		if (vfd >= 0)
			poll(&p, 1, (int)rnd(r, 0, 4));
		else
			g_usleep(rnd(r, 0, 3000));
	}
}

/* Chains in flight across the DMA_UNMAP of their buffers' map: once the
 * unmap is answered, what they write must no longer reach that memory
 * (the client may reuse it). */
static void revoke_batch(GRand *r, struct conn *c)
{
	struct drv *d = &c->d;
	unsigned num = d->num, n = MIN(num / 2, 8u), nheld = 0, i;
	uint16_t uidx0 = d->uidx;
	struct gmap vm = { 0 };
	struct { uint8_t *p; uint16_t head; } mk[8];
	gint64 deadline;

	for (int tries = 0; tries < 8 && !vm.size; tries++) {
		const struct gmap *m = random_map(r, c, true);

		if (m && !ovl(m->addr, m->size, d->desc, 16ull * num) &&
		    !ovl(m->addr, m->size, d->avail, 6 + 2ull * num) &&
		    !ovl(m->addr, m->size, d->used, 6 + 8ull * num))
			vm = *m;
	}
	if (!vm.size || !n)
		return;
	c->nresv = c->nresv_rings;
	for (i = 0; i < n; i++) {
		uint16_t head = (uint16_t)(2 * i);
		uint64_t gpa = vm.addr + (uint64_t)rnd(r, 0, (uint32_t)(vm.size / 64)) * 64;

		if (!reserve(c, gpa, 64))
			break;
		mk[i].p = gptr(c, gpa, 64);
		mk[i].head = head;
		*mk[i].p = marker(head) ^ 0xff;
		put_desc(d->desc_p, head, gpa + 32, 32, VRING_DESC_F_NEXT, (uint16_t)(head + 1));
		put_desc(d->desc_p, head + 1, gpa, 32, VRING_DESC_F_WRITE, 0);
		put16(d->avail_p + 4 + 2 * ((unsigned)(uint16_t)(d->aidx + i) % num), head);
		nheld += (head & 3) == 0;
	}
	if (!(n = i))
		return;
	T("%u chains, %u held, with their buffers in %#" PRIx64 "+%#" PRIx64 " unmapped meanwhile", n,
	  nheld, vm.addr, vm.size);
	put16(d->avail_p, 0);
	put16(d->avail_p + 4 + 2 * num, uidx0);
	d->aidx = (uint16_t)(d->aidx + n);
	publish(d, d->aidx);
	notify(r, c);
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (((uint16_t)(used_idx(d) - uidx0) != n - nheld || held_count() != nheld) &&
	       g_get_monotonic_time() < deadline)
		g_usleep(100);
	CHECK((uint16_t)(used_idx(d) - uidx0) == n - nheld && held_count() == nheld,
	      "queue stalled: %u of the %u chains not held back used, %u of %u held, after %d ms",
	      (uint16_t)(used_idx(d) - uidx0), n - nheld, held_count(), nheld, WAIT_MS);
	dma_unmap(r, c, vm.addr, vm.size, false);
	if (!LIVE(c))
		return;
	release_held(UINT_MAX);
	while (used_idx(d) != d->aidx && g_get_monotonic_time() < deadline)
		g_usleep(100);
	CHECK(used_idx(d) == d->aidx, "queue stalled: held chains not used after their completion");
	for (i = 0; i < n && !failure[0]; i++) {
		bool late = (mk[i].head & 3) == 0;

		CHECK(*mk[i].p == (uint8_t)(late ? marker(mk[i].head) ^ 0xff : marker(mk[i].head)),
		      "chain %u%s: the byte at its buffer is %#x, expected %#x", mk[i].head,
		      late ? ", completed after its memory was unmapped, wrote into it" : "", *mk[i].p,
		      late ? marker(mk[i].head) ^ 0xff : marker(mk[i].head));
	}
	for (i = 0; i < n && !failure[0]; i++) {
		const uint8_t *u = d->used_p + 4 + 8 * ((unsigned)(uint16_t)(uidx0 + i) % num);

		CHECK(get32(u) < 2 * n && !(get32(u) & 1) &&
		      get32(u + 4) == used_len((uint16_t)get32(u), 32), "used entry %u: head %u length %u",
		      (uint16_t)(uidx0 + i), get32(u), get32(u + 4));
	}
	d->uidx = d->aidx;
	revoke_checks++;
}

static void queue_action(GRand *r, struct conn *c)
{
	struct drv *d = &c->d;

	flush_multi(c);
	if (d->clean && g_atomic_int_get(&hold_mode) && one_in(r, 4))
		revoke_batch(r, c);
	else if (d->clean && !one_in(r, 6))
		clean_batch(r, c, one_in(r, 5) ? (int)rnd(r, 1, 3) : 0);
	else if (!d->started && one_in(r, 2))
		bring_up(r, c);
	else
		random_batch(r, c);
}

/* ---- registers and spaces ---- */

static const struct { uint8_t off, n; } fields[] = {
	{ CC_DFSELECT, 4 }, { CC_DF, 4 }, { CC_GFSELECT, 4 }, { CC_GF, 4 }, { CC_MSIX, 2 },
	{ CC_NUMQ, 2 }, { CC_STATUS, 1 }, { CC_CFGGEN, 1 }, { CC_QSELECT, 2 }, { CC_QSIZE, 2 },
	{ CC_QMSIX, 2 }, { CC_QENABLE, 2 }, { CC_QNOTIFY, 2 }, { CC_QDESC, 4 }, { CC_QDESC + 4, 4 },
	{ CC_QDRIVER, 4 }, { CC_QDRIVER + 4, 4 }, { CC_QDEVICE, 4 }, { CC_QDEVICE + 4, 4 },
	{ CC_QDESC, 8 }, { CC_QDRIVER, 8 }, { CC_QDEVICE, 8 },
};

/* One register of the common configuration, written whole. */
static void cc_poke(GRand *r, struct conn *c)
{
	unsigned f = rnd(r, 0, G_N_ELEMENTS(fields));
	uint64_t v;

	switch (rnd(r, 0, 4)) {
	case 0: v = rnd(r, 0, 4); break;
	case 1: v = 1ull << rnd(r, 0, 16); break;
	case 2: v = fields[f].off == CC_STATUS ? (one_in(r, 3) ? 0 : rnd(r, 0, 256)) : any64(r); break;
	default: v = g_rand_int(r); break;
	}
	if (fields[f].n < 8)
		v &= (1ull << (8 * fields[f].n)) - 1;
	T("poke common %#x/%u", fields[f].off, fields[f].n);
	bar0_w(r, c, fields[f].off, v, fields[f].n);
	/* A driver reads a vector back (virtio 1.x 4.1.4.3, and Linux does):
	 * that read also makes sure the device took the posted write before
	 * the driver publishes buffers whose interrupts go to the new vector.
	 * Without it, a queue thread already looking at the ring may complete
	 * them first, on the old vector, as a real device might. */
	if (fields[f].off == CC_QMSIX || fields[f].off == CC_MSIX)
		region_read(c, 0, fields[f].off, 2);
	if (one_in(r, 2)) {
		unsigned g = rnd(r, 0, G_N_ELEMENTS(fields));

		region_read(c, 0, fields[g].off, fields[g].n);
	} else if (one_in(r, 3)) {
		region_read(c, 0, 0, COMMON_LEN);
	}
}

static uint64_t interesting_off(GRand *r, uint64_t region)
{
	static const uint64_t bar0[] = { 0, CC_STATUS, CC_QENABLE, COMMON_LEN - 4, COMMON_LEN - 1,
					 COMMON_LEN, ISR_OFF, DEVCFG_OFF, DEVCFG_OFF + 2,
					 DEVCFG_OFF + DEVCFG_LEN - 2, NOTIFY_OFF, NOTIFY_OFF + 2,
					 NOTIFY_OFF + 4, BAR0_SIZE - 4, BAR0_SIZE - 1, BAR0_SIZE };
	static const uint64_t bar1[] = { 0, 12, 16, 28, 30, 32, 0x7fc, 0x800, BAR1_SIZE - 1 };
	static const uint64_t cfg[] = { 0, 4, 0x0c, 0x34, 0x3c, 0x40, 0x42, 0x43, 0x8c, 0x90, 0x94,
					0x98, 0x9c, 0xa0, 0xa2, 0xa3, 0xa4, 0xfc, 0xff };
	uint64_t o = 0;

	if (one_in(r, 6))
		return one_in(r, 2) ? any64(r) : region_size(region) + rnd(r, 0, 64);
	switch (region) {
	case 0: o = bar0[rnd(r, 0, G_N_ELEMENTS(bar0))]; break;
	case 1: o = bar1[rnd(r, 0, G_N_ELEMENTS(bar1))]; break;
	case 7: o = cfg[rnd(r, 0, G_N_ELEMENTS(cfg))]; break;
	default: o = rnd(r, 0, 0x5000); break;
	}
	if (one_in(r, 2))
		o += rnd(r, 0, 8);
	return one_in(r, 4) ? rnd(r, 0, (uint32_t)MAX(region_size(region), 16) + 16) : o;
}

static uint32_t interesting_count(GRand *r)
{
	static const uint32_t n[] = { 0, 1, 2, 3, 4, 8, 16, 0x38, 0x100, 0x1000, 0x4000, 0x4001 };

	if (one_in(r, 40))
		return rnd(r, 0, VFU_MAX_DATA_XFER + 1);
	return one_in(r, 3) ? rnd(r, 1, 300) : n[rnd(r, 0, G_N_ELEMENTS(n))];
}

static void random_access(GRand *r, struct conn *c)
{
	static const uint32_t regions[] = { 0, 0, 0, 1, 1, 7, 7, 7, 2, 3, 4, 5, 6, 8, 9 };
	uint32_t region = one_in(r, 20) ? (uint32_t)any64(r) : regions[rnd(r, 0, G_N_ELEMENTS(regions))];
	uint64_t off = interesting_off(r, region);
	uint32_t count = interesting_count(r);

	if (off + count < off)          /* the codec's business, not the device's */
		off = UINT64_MAX - count;
	if (count > 0x4001 || !one_in(r, 3)) {
		region_read(c, region, off, MIN(count, 0x4001u));
		if (count <= 0x4001)
			return;
	}
	{
		uint8_t *data = g_malloc(count ? count : 1);

		for (uint32_t i = 0; i < count; i++)
			data[i] = one_in(r, 2) ? 0 : (uint8_t)g_rand_int(r);
		region_write(c, region, off, data, count, pick_mode(r, count));
		g_free(data);
	}
}

static void multi_action(GRand *r, struct conn *c)
{
	uint64_t n = rnd(r, 1, one_in(r, 4) ? VFU_MULTI_MAX + 1 : 9);
	struct vfu_wr_one *w = g_new0(struct vfu_wr_one, n);
	bool ok = true, sync = one_in(r, 4);

	for (uint64_t i = 0; i < n; i++) {
		static const uint32_t regions[] = { 0, 0, 0, 1, 7, 3 };

		w[i].region = one_in(r, 30) ? g_rand_int(r) : regions[rnd(r, 0, G_N_ELEMENTS(regions))];
		w[i].offset = interesting_off(r, w[i].region);
		w[i].count = rnd(r, 1, 9);
		if (w[i].offset + w[i].count < w[i].offset)
			w[i].offset = 0;
		for (int j = 0; j < 8; j++)
			w[i].data[j] = one_in(r, 2) ? 0 : (uint8_t)g_rand_int(r);
	}
	flush_multi(c);
	ok = multi_model(c, w, n);
	T("REGION_WRITE_MULTI of %u%s: want %s", (unsigned)n, sync ? "" : " (posted)",
	  errname(ok ? 0 : EINVAL));
	if (cmd(c, VFU_CMD_REGION_WRITE_MULTI, sync ? 0 : VFU_F_NO_REPLY, &n, sizeof(n), w,
		n * sizeof(*w), NULL, 0, ok ? 0 : EINVAL) == 0 && sync)
		CHECK(rep.len == sizeof(n) && !memcmp(rep.p, &n, sizeof(n)),
		      "REGION_WRITE_MULTI reply of %u bytes does not give the count written", rep.len);
	g_free(w);
}

/* Configuration space, and the virtio_pci_cfg_cap window onto the BARs. */
static void cfg_action(GRand *r, struct conn *c)
{
	switch (rnd(r, 0, 7)) {
	case 0:
		region_read(c, 7, 0, CFG_SIZE);
		break;
	case 1: { /* random bytes anywhere */
		uint32_t off = rnd(r, 0, CFG_SIZE), n = rnd(r, 1, CFG_SIZE - off + 1);
		uint8_t b[CFG_SIZE];

		for (uint32_t i = 0; i < n; i++)
			b[i] = (uint8_t)g_rand_int(r);
		region_write(c, 7, off, b, n, W_SYNC);
		region_read(c, 7, rnd(r, 0, CFG_SIZE - 4), 4);
		break;
	}
	case 2:
	case 3:
	case 4: { /* the window: where, how wide, then a read or a write of its data */
		uint8_t w[16] = { 0 };
		uint32_t bar = one_in(r, 3) ? rnd(r, 0, 256) : one_in(r, 3) ? 1 : 0;
		uint32_t len = one_in(r, 6) ? (uint32_t)any64(r) : 1u << rnd(r, 0, 3);
		uint64_t off = interesting_off(r, bar);

		w[0] = (uint8_t)bar;
		put32(w + 4, (uint32_t)off);
		put32(w + 8, len);
		if (one_in(r, 3)) {
			region_write(c, 7, WIN_BAR, w, 1, W_SYNC);
			region_write(c, 7, WIN_OFF, w + 4, 4, W_SYNC);
			region_write(c, 7, WIN_LEN, w + 8, 4, W_SYNC);
		} else {
			region_write(c, 7, WIN_BAR, w, 12, W_SYNC);
		}
		if (one_in(r, 2)) {
			region_read(c, 7, one_in(r, 3) ? WIN : WIN_DATA, one_in(r, 3) ? 20 : 4);
		} else {
			uint8_t v[4];

			put32(v, one_in(r, 2) ? 0 : g_rand_int(r));
			region_write(c, 7, WIN_DATA + (one_in(r, 4) ? rnd(r, 0, 4) : 0), v, rnd(r, 1, 5),
				     W_SYNC);
		}
		break;
	}
	case 5: { /* the command register, as QEMU read-modify-writes it */
		uint8_t v[2];

		put16(v, (uint16_t)(one_in(r, 2) ? 0x0006 : g_rand_int(r)));
		region_write(c, 7, 0x04, v, 2, W_SYNC);
		region_read(c, 7, 0x04, 2);
		break;
	}
	default: { /* MSI-X enable and function mask */
		uint8_t v[2];

		put16(v, (uint16_t)(one_in(r, 2) ? 0x8000 | (NVEC - 1) : g_rand_int(r)));
		region_write(c, 7, 0x42, v, 2, W_SYNC);
		region_read(c, 7, 0x40, 12);
		break;
	}
	}
}

static void misc_action(GRand *r, struct conn *c)
{
	switch (rnd(r, 0, 8)) {
	case 0:
		flush_multi(c);
		T("DEVICE_RESET");
		drv_reset(&c->d);
		cmd(c, VFU_CMD_DEVICE_RESET, 0, NULL, 0, NULL, 0, NULL, 0, 0);
		if (one_in(r, 2))
			region_read(c, 0, 0, COMMON_LEN);
		break;
	case 1:
		T("driver reset");
		bar0_w(r, c, CC_STATUS, 0, 1);
		region_read(c, 0, CC_STATUS, 1);
		break;
	case 2: { /* a second VERSION */
		struct vfu_version v = { 0, 0 };

		T("VERSION again");
		cmd(c, VFU_CMD_VERSION, 0, &v, sizeof(v), qemu_caps, sizeof(qemu_caps), NULL, 0, EINVAL);
		break;
	}
	case 3: { /* commands the device does not take */
		static const uint16_t cmds[] = { VFU_CMD_DEVICE_GET_REGION_IO_FDS, VFU_CMD_DIRTY_PAGES,
						 VFU_CMD_DEVICE_FEATURE, VFU_CMD_MIG_DATA_READ,
						 VFU_CMD_MIG_DATA_WRITE, VFU_CMD_END, 0, 0xffff };
		uint16_t k = cmds[rnd(r, 0, G_N_ELEMENTS(cmds))];
		uint8_t junk[40];
		uint32_t n = rnd(r, 0, sizeof(junk) + 1);

		for (uint32_t i = 0; i < n; i++)
			junk[i] = (uint8_t)g_rand_int(r);
		T("command %u", k);
		cmd(c, k, one_in(r, 6) ? VFU_F_NO_REPLY : 0, junk, n, NULL, 0, NULL, 0, ENOSYS);
		break;
	}
	case 4: { /* a query nobody waits for: no reply must come */
		struct vfu_device_info q = { .argsz = sizeof(q) };

		T("DEVICE_GET_INFO (no reply wanted)");
		cmd(c, VFU_CMD_DEVICE_GET_INFO, VFU_F_NO_REPLY, &q, sizeof(q), NULL, 0, NULL, 0, 0);
		break;
	}
	case 5: { /* a refused region access nobody waits for */
		struct vfu_region_rw rw = { BAR0_SIZE, 0, 4 };

		T("REGION_READ outside (no reply wanted)");
		cmd(c, VFU_CMD_REGION_READ, VFU_F_NO_REPLY, &rw, sizeof(rw), NULL, 0, NULL, 0, 0);
		break;
	}
	case 6: /* the ISR and the device configuration */
		region_read(c, 0, ISR_OFF + rnd(r, 0, 4), rnd(r, 1, 5));
		region_read(c, 0, DEVCFG_OFF + rnd(r, 0, 8), rnd(r, 1, 16));
		break;
	default:
		info_queries(r, c, false);
		break;
	}
}

/* ---- the end of a connection ---- */

/* Something after which the device must close the connection. */
static void fatal_end(GRand *r, struct conn *c)
{
	uint8_t buf[256];
	struct vfu_hdr *h = (struct vfu_hdr *)buf;
	int fds[VFU_MAX_FDS + 4], nfds = 0;
	size_t len = 16;
	uint32_t k = rnd(r, 0, 16);
	bool may_reply = false;

	drain(c);
	if (!LIVE(c))
		return;
	memset(buf, 0, sizeof(buf));
	h->id = c->id++;
	c->fatal = true;
	c->want_ret = -EPROTO;
	stats.fatal_ends++;
	switch (k) {
	case 0: /* garbage */
	case 1:
		len = rnd(r, 1, sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)g_rand_int(r);
		nfds = one_in(r, 3) ? (int)rnd(r, 0, 4) : 0;
		c->want_ret = ANY;
		may_reply = true;
		break;
	case 2: { /* a valid command, mutated */
		struct vfu_region_rw rw = { rnd(r, 0, 0x40), one_in(r, 2) ? 0 : 7, rnd(r, 1, 9) };

		h->command = VFU_CMD_REGION_WRITE;
		memcpy(buf + 16, &rw, sizeof(rw));
		len = 16 + sizeof(rw) + rw.count;
		h->size = (uint32_t)len;
		{
			int l = (int)len;

			fuzz_mutate_basic(r, (int)rnd(r, 0, FUZZ_BASIC_MUTATIONS), buf, &l, sizeof(buf), 0);
			len = (size_t)l;
		}
		if (!len)
			len = 1;
		c->want_ret = ANY;
		may_reply = true;
		break;
	}
	case 3:
		h->command = VFU_CMD_DEVICE_GET_INFO;
		h->flags = 0x40;                /* an unknown flag */
		break;
	case 4:
		h->command = VFU_CMD_DEVICE_RESET;
		h->flags = VFU_F_ERROR;
		break;
	case 5:
		h->command = VFU_CMD_DEVICE_RESET;
		h->flags = VFU_F_TYPE_REPLY;    /* a reply to nothing */
		break;
	case 6:
		h->command = VFU_CMD_REGION_READ;
		len += 17;
		break;
	case 7: { /* argsz 31 */
		struct vfu_dma_map m = { 31, 3, 0, 0, PAGE };

		h->command = VFU_CMD_DMA_MAP;
		memcpy(buf + 16, &m, sizeof(m));
		len += sizeof(m);
		break;
	}
	case 8:
		h->command = one_in(r, 2) ? VFU_CMD_DMA_READ : VFU_CMD_DMA_WRITE;
		len += sizeof(struct vfu_dma_rw);
		break;
	case 9: { /* eventfds not matching count */
		struct vfu_irq_set s = { sizeof(s), VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
					 VFIO_PCI_MSIX_IRQ_INDEX, 0, 2 };

		h->command = VFU_CMD_DEVICE_SET_IRQS;
		memcpy(buf + 16, &s, sizeof(s));
		len += sizeof(s);
		nfds = one_in(r, 2) ? 1 : (int)rnd(r, VFU_MAX_FDS + 1, VFU_MAX_FDS + 4);
		break;
	}
	case 10: /* a descriptor with a command that takes none */
		h->command = VFU_CMD_DEVICE_RESET;
		nfds = 1;
		break;
	case 11:
		len = 15;
		h->command = VFU_CMD_DEVICE_RESET;
		h->size = 15;
		break;
	case 12: /* a message that never ends */
		h->command = VFU_CMD_REGION_WRITE;
		h->size = one_in(r, 2) ? 100 : (uint32_t)VFU_MAX_MSG + 1;
		len = 40;
		break;
	case 13: { /* everything unmapped, with an address */
		struct vfu_dma_unmap u = { sizeof(u), VFIO_DMA_UNMAP_FLAG_ALL, PAGE, 0 };

		h->command = VFU_CMD_DMA_UNMAP;
		memcpy(buf + 16, &u, sizeof(u));
		len += sizeof(u);
		break;
	}
	case 14: { /* a region access that wraps */
		struct vfu_region_rw rw = { UINT64_MAX - 1, 0, 4 };

		h->command = VFU_CMD_REGION_READ;
		memcpy(buf + 16, &rw, sizeof(rw));
		len += sizeof(rw);
		break;
	}
	default: { /* WRITE_MULTI of nothing */
		uint64_t n = 0;

		h->command = VFU_CMD_REGION_WRITE_MULTI;
		h->flags = VFU_F_NO_REPLY;
		memcpy(buf + 16, &n, sizeof(n));
		len += sizeof(n);
		break;
	}
	}
	if (k >= 3 && k != 11 && k != 12)
		h->size = (uint32_t)len;
	for (int i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	T("fatal %u: %zu bytes, %d fds", k, len, nfds);
	send_bytes(c, buf, len, fds, nfds, "a malformed message");
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* Whatever comes now: nothing for a malformed command. */
	shutdown(c->sock, SHUT_WR);
	for (;;) {
		uint8_t junk[256];
		struct pollfd p = { c->sock, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, WAIT_MS) == 0) {
			hung = true;
			CHECK(0, "device hung: it did not close the connection after a malformed message");
			break;
		}
		n = recv(c->sock, junk, sizeof(junk), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		CHECK(may_reply, "the device replied to a malformed message (fatal %u)", k);
	}
	c->gone = true;
}

/* ---- rounds ---- */

struct server {
	GMutex lock;
	GCond cond;
	bool done;
	int ret, sock;
};

static gpointer serve_main(gpointer data)
{
	struct server *s = data;
	int ret = vfu_dev_serve(vfu, s->sock, stop_efd, -1);

	g_mutex_lock(&s->lock);
	s->ret = ret;
	s->done = true;
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
	return NULL;
}

static void session(GRand *r, struct conn *c)
{
	unsigned steps = rnd(r, 1, 150);

	if (one_in(r, 40)) {
		/* No VERSION first: the connection ends, without a reply. */
		c->fatal = true;
		c->want_ret = -EPROTO;
		T("no VERSION");
		send_cmd(c, VFU_CMD_DEVICE_RESET, 0, NULL, 0, NULL, 0, NULL, 0, 0);
		c->npend = 0;
		fatal_end(r, c);
		return;
	}
	if (version(r, c) < 0)
		return;
	if (!one_in(r, 4))
		info_queries(r, c, true);
	layout(r, c);
	if (!one_in(r, 3))
		irqs_std(r, c);
	if (!one_in(r, 4))
		bring_up(r, c);
	for (unsigned i = 0; i < steps && LIVE(c); i++) {
		uint32_t k = rnd(r, 0, 100);

		take_side_failure();
		if (one_in(r, 150)) {
			fatal_end(r, c);
			return;
		}
		flush_multi(c);
		if (one_in(r, 4))
			release_held(rnd(r, 0, 8));
		if (k < 30)
			queue_action(r, c);
		else if (k < 38)
			bring_up(r, c);
		else if (k < 45)
			irq_action(r, c);
		else if (k < 51)
			dma_action(r, c);
		else if (k < 56)
			unmap_action(r, c);
		else if (k < 65)
			random_access(r, c);
		else if (k < 72)
			cc_poke(r, c);
		else if (k < 80)
			cfg_action(r, c);
		else if (k < 84)
			multi_action(r, c);
		else
			misc_action(r, c);
	}
	flush_multi(c);
	drain(c);
}

static int count_tasks(void)
{
	GDir *d = g_dir_open("/proc/self/task", 0, NULL);
	int n = 0;

	while (d && g_dir_read_name(d))
		n++;
	if (d)
		g_dir_close(d);
	return n;
}

/* Lines of /proc/self/maps, and those naming `what`. */
static int count_maps(const char *what, int *total)
{
	char *s = NULL, *p;
	int n = 0, all = 0;

	if (!g_file_get_contents("/proc/self/maps", &s, NULL, NULL))
		return -1;
	for (p = s; *p; all++) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = 0;
		n += strstr(p, what) != NULL;
		if (!nl)
			break;
		p = nl + 1;
	}
	g_free(s);
	if (total)
		*total = all;
	return n;
}

static struct {
	int fds, tasks, maps_total;
} base;

static void run_round(guint64 round)
{
	guint32 s[4] = { (guint32)run_seed, (guint32)((guint64)run_seed >> 32), (guint32)round,
			 (guint32)(round >> 32) };
	GRand *r = g_rand_new_with_seed_array(s, 4);
	struct server srv = { .done = false };
	struct conn *c = g_new(struct conn, 1);
	bool stop = false;
	int sv[2];
	GThread *t;
	gint64 deadline;

	cur_round = round;
	trace_n = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		CHECK(0, "socketpair: %s", g_strerror(errno));
		g_free(c);
		g_rand_free(r);
		return;
	}
	conn_init(c, sv[0], (uint16_t)g_rand_int(r));
	g_atomic_int_set(&hold_mode, one_in(r, 3));
	g_mutex_init(&srv.lock);
	g_cond_init(&srv.cond);
	srv.sock = sv[1];
	t = g_thread_new("fz-vfu-serve", serve_main, &srv);

	session(r, c);

	/* The end: QEMU goes away, or the device is told to stop. */
	if (!c->gone && !c->fatal && LIVE(c) && one_in(r, 12)) {
		uint64_t one = 1;

		stop = true;
		stats.stops++;
		T("stop_fd");
		if (write(stop_efd, &one, sizeof(one)) != sizeof(one))
			CHECK(0, "stop eventfd: %s", g_strerror(errno));
		c->want_ret = 0;
	} else if (LIVE(c)) {
		T("close");
	}
	if (!hung) {
		if (stop) {
			uint8_t junk[64];
			struct pollfd p = { c->sock, POLLIN, 0 };

			while (poll(&p, 1, WAIT_MS) == 1 && recv(c->sock, junk, sizeof(junk), 0) > 0)
				CHECK(0, "data from the device after stop_fd");
		}
		close(c->sock);
		c->sock = -1;
		deadline = g_get_monotonic_time() + WAIT_MS * 1000;
		g_mutex_lock(&srv.lock);
		while (!srv.done && g_cond_wait_until(&srv.cond, &srv.lock, deadline))
			;
		g_mutex_unlock(&srv.lock);
		if (!srv.done) {
			hung = true;
			CHECK(0, "device hung: vfu_dev_serve() did not return within %d ms of the end",
			      WAIT_MS);
		}
	}
	if (hung)
		return;                 /* reported; the threads are stuck */
	g_thread_join(t);
	g_mutex_clear(&srv.lock);
	g_cond_clear(&srv.cond);
	if (stop) {
		uint64_t v;

		if (read(stop_efd, &v, sizeof(v)) != sizeof(v))
			CHECK(0, "stop eventfd not signalled");
	}
	for (int i = 0; i < NVEC; i++)
		set_fd(&c->vec[i], -1);
	set_fd(&c->errfd, -1);
	take_side_failure();
	CHECK(release_held(0) == 0, "chains still in flight after the connection ended: "
	      "the device class was not reset");
	if (c->want_ret == ANY)
		CHECK(srv.ret == 0 || srv.ret == -EPROTO, "vfu_dev_serve() returned %d (%s)", srv.ret,
		      g_strerror(-srv.ret));
	else
		CHECK(srv.ret == c->want_ret, "vfu_dev_serve() returned %d (%s), expected %d", srv.ret,
		      g_strerror(-srv.ret), c->want_ret);
	if (!failure[0]) {
		int fds = -1, tasks = -1, total = 0, mem, zero;

		/* A joined thread may linger in /proc for a moment. */
		for (int tries = 0; tries < 200; tries++) {
			fds = x9p_proc_fds(0);
			tasks = count_tasks();
			if (fds == base.fds && tasks == base.tasks)
				break;
			g_usleep(1000);
		}
		mem = count_maps("memfd:fz-vfu-dev", &total);
		zero = count_maps("/dev/zero", NULL);
		CHECK(fds == base.fds, "%d descriptors open after the connection, %d before", fds, base.fds);
		CHECK(tasks == base.tasks, "%d threads after the connection, %d before", tasks, base.tasks);
		CHECK(mem == 2 && zero == 0, "guest memory still mapped after the connection: "
		      "%d memfd mappings (2 are ours), %d of /dev/zero", mem, zero);
		if (round == 50 || !base.maps_total)
			base.maps_total = total;
		CHECK(total <= base.maps_total + 400, "%d mappings, %d after the first rounds", total,
		      base.maps_total);
	}
	stale_fault = c->d.nr_maybe || c->d.nr_stale || !c->d.known;
	stats.rounds++;
	g_free(c);
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 round_only = -1, start, end;
	gboolean trace_opt = FALSE, verbose_opt = FALSE;
	char *strict = NULL;
	GOptionEntry extra[] = {
		{ "round", 0, 0, G_OPTION_ARG_INT64, &round_only, "replay round R alone", "R" },
		{ "trace", 0, 0, G_OPTION_ARG_NONE, &trace_opt, "print every message", NULL },
		{ "verbose", 0, 0, G_OPTION_ARG_NONE, &verbose_opt, "print the device's log", NULL },
		{ "strict", 0, 0, G_OPTION_ARG_STRING, &strict,
		  "check known deviations too: window, reset, zero or all", "LIST" },
		{ NULL },
	};
	struct vu_dev_cfg cfg = {
		.features = F_MOUNT_TAG, .config = devcfg, .config_len = sizeof(devcfg), .nqueues = 1,
		.stop_grace_ms = 100, .ops = &dev_ops, .label = "fuzz",
	};
	char replay[64];
	guint64 round;

	fuzz_begin(&argc, &argv, "fuzz-vfu-dev", "- fuzz the vfio-user device in process", extra,
		   &seconds, &run_seed);
	trace_live = trace_opt;
	if (strict) {
		strict_window = strstr(strict, "window") || !strcmp(strict, "all");
		strict_reset = strstr(strict, "reset") || !strcmp(strict, "all");
		strict_zero = strstr(strict, "zero") || !strcmp(strict, "all");
		g_free(strict);
	}
	verbose = verbose_opt;
	g_log_set_writer_func(log_writer, NULL, NULL);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_death);

	for (int i = 0; i < 2; i++) {
		memfd[i] = memfd_create(i ? "fz-vfu-dev-b" : "fz-vfu-dev-a", MFD_CLOEXEC);
		if (memfd[i] < 0 || ftruncate(memfd[i], (off_t)memsize[i]) < 0 ||
		    (membase[i] = mmap(NULL, memsize[i], PROT_READ | PROT_WRITE, MAP_SHARED, memfd[i],
				       0)) == MAP_FAILED) {
			printf("not ok 1 - guest memory: %s\n", g_strerror(errno));
			return 1;
		}
	}
	held = g_ptr_array_new();
	zero_fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vdev = vu_dev_new(&cfg);
	vfu = vfu_dev_new(vdev, 9, "fuzz");
	if (zero_fd < 0 || stop_efd < 0 || !vdev || !vfu) {
		printf("not ok 1 - setup: %s\n", g_strerror(errno));
		return 1;
	}
	base.fds = x9p_proc_fds(0);
	base.tasks = count_tasks();

	start = g_get_monotonic_time();
	end = start + (gint64)seconds * G_USEC_PER_SEC;
	for (round = round_only >= 0 ? (guint64)round_only : 0; !failure[0] && !hung; round++) {
		run_round(round);
		if (round_only >= 0 || g_get_monotonic_time() >= end)
			break;
	}
	if (failure[0]) {
		trace_dump();
		snprintf(replay, sizeof(replay), " --round %" G_GUINT64_FORMAT, cur_round);
		fuzz_failed("fuzz-vfu-dev", run_seed, replay);
		fflush(stdout);
		if (hung)
			_exit(1);   /* the device's threads are stuck: no orderly exit */
		return 1;
	}
	vfu_dev_free(vfu);
	vu_dev_free(vdev);
	g_ptr_array_free(held, TRUE);
	close(stop_efd);
	close(zero_fd);
	for (int i = 0; i < 2; i++) {
		munmap(membase[i], memsize[i]);
		close(memfd[i]);
	}
	printf("ok 1 - %lu rounds (%.0f/s), %lu commands (%lu refused, %lu posted), %lu bring-ups, "
	       "%lu clean batches (%lu chains) and %lu garbage batches, %d chains handled, "
	       "%lu reads checked, %lu DMA maps, %lu unmaps, %lu SET_IRQS, %lu malformed ends, "
	       "%lu stops, %d chains held, %lu unmaps under held chains\n",
	       stats.rounds, stats.rounds / ((g_get_monotonic_time() - start) / 1e6), stats.commands,
	       stats.refused, stats.posted, stats.bringups, stats.clean_batches, stats.clean_chains,
	       stats.random_batches, g_atomic_int_get(&chains_handled), stats.reads_checked,
	       stats.maps, stats.unmaps, stats.irqs, stats.fatal_ends, stats.stops,
	       g_atomic_int_get(&chains_held), revoke_checks);
	return 0;
}
