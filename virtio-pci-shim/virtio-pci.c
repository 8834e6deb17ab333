// SPDX-License-Identifier: GPL-2.0-or-later
/* The modern virtio-pci function; see virtio-pci.h. */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib.h>

#include "virtio-pci.h"
#include "vu-int.h"

/* PCI configuration space. */
#define CFG_SIZE 256
#define PCI_VENDOR_REDHAT 0x1af4
#define PCI_DEVICE_MODERN_BASE 0x1040
#define PCI_SUBSYS_QEMU 0x1100
#define PCI_COMMAND 0x04
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_ID_VNDR 0x09
#define MSIX_CTRL_WRITABLE 0xc000       /* enable, function mask */

/* Capabilities, one after the other. */
#define CAP_MSIX 0x40                   /* 12 bytes */
#define CAP_COMMON 0x4c                 /* 16 */
#define CAP_NOTIFY 0x5c                 /* 20 */
#define CAP_ISR 0x70                    /* 16 */
#define CAP_DEVICE 0x80                 /* 16 */
#define CAP_PCICFG 0x90                 /* 20 */
#define PCICFG_BAR (CAP_PCICFG + 4)
#define PCICFG_OFFSET (CAP_PCICFG + 8)
#define PCICFG_LENGTH (CAP_PCICFG + 12)
#define PCICFG_DATA (CAP_PCICFG + 16)

enum { VIRTIO_CAP_COMMON = 1, VIRTIO_CAP_NOTIFY = 2, VIRTIO_CAP_ISR = 3,
       VIRTIO_CAP_DEVICE = 4, VIRTIO_CAP_PCI = 5 };

/* BAR 0. */
#define BAR0_SIZE 0x4000
#define COMMON_OFF 0x0000
#define COMMON_LEN 0x38                 /* up to queue_device */
#define ISR_OFF 0x1000
#define ISR_LEN 4
#define DEVICE_OFF 0x2000
#define DEVICE_LEN VU_MAX_CONFIG_SIZE
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
/* BAR 1. */
#define BAR1_SIZE 0x1000
#define PBA_OFF 0x800

/* The common configuration structure's fields. */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_QSELECT = 0x16, CC_QSIZE = 0x18, CC_QMSIX = 0x1a, CC_QENABLE = 0x1c,
	CC_QNOTIFY = 0x1e, CC_QDESC = 0x20, CC_QDRIVER = 0x28, CC_QDEVICE = 0x30,
};

#define S_FEATURES_OK 0x08
#define S_NEEDS_RESET 0x40
#define NO_VECTOR 0xffff
#define QUEUE_MAX_SIZE 256
#define VIRTIO_F_VERSION_1_BIT (1ull << VIRTIO_F_VERSION_1)
/* Transport features offered besides the device's own. */
#define TRANSPORT_FEATURES ((1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
			    (1ull << VIRTIO_RING_F_EVENT_IDX) | VIRTIO_F_VERSION_1_BIT)

struct vpci_queue {
	uint16_t size, vector;
	bool enabled;
	uint64_t desc, driver, device;
};

struct vpci {
	struct vu_dev *dev;
	int fault_efd;                  /* every queue's error eventfd */
	uint8_t cfg[CFG_SIZE];
	unsigned nvec;
	int msix_fd[VPCI_MAX_VECTORS];
	uint8_t msix_table[VPCI_MAX_VECTORS * 16];

	/* What the driver set (reset to zero by a device reset). */
	uint32_t dfselect, gfselect;
	uint64_t guest_features;
	uint16_t msix_config, qsel;
	uint8_t status, isr;
	struct vpci_queue q[VU_MAX_QUEUES];
	uint64_t changes;               /* writes that may change the saved state */
};

static void needs_reset(struct vpci *p, const char *why);

static uint16_t get16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get32(const uint8_t *b) { return get16(b) | (uint32_t)get16(b + 2) << 16; }
static uint64_t get64(const uint8_t *b) { return get32(b) | (uint64_t)get32(b + 4) << 32; }
static void put16(uint8_t *b, uint16_t v) { b[0] = v & 0xff; b[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *b, uint32_t v) { put16(b, v & 0xffff); put16(b + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *b, uint64_t v) { put32(b, (uint32_t)v); put32(b + 4, (uint32_t)(v >> 32)); }

static uint64_t offered(const struct vpci *p)
{
	return p->dev->dev_features | TRANSPORT_FEATURES;
}

/* A virtio structure's capability: bar, offset and length in BAR 0. */
static void put_vcap(uint8_t *c, uint8_t next, uint8_t len, uint8_t type, uint32_t off,
		     uint32_t length)
{
	c[0] = PCI_CAP_ID_VNDR;
	c[1] = next;
	c[2] = len;
	c[3] = type;
	c[4] = 0;                       /* BAR 0 */
	put32(c + 8, off);
	put32(c + 12, length);
}

static void build_config_space(struct vpci *p, unsigned virtio_id)
{
	uint8_t *c = p->cfg;

	memset(c, 0, sizeof(p->cfg));
	put16(c + 0x00, PCI_VENDOR_REDHAT);
	put16(c + 0x02, (uint16_t)(PCI_DEVICE_MODERN_BASE + virtio_id));
	put16(c + 0x06, PCI_STATUS_CAP_LIST);
	c[0x08] = 1;                    /* revision 1: modern only */
	/* Class 0, header type 0, BARs 0 and 1 32-bit memory (type bits 0). */
	put16(c + 0x2c, PCI_VENDOR_REDHAT);
	put16(c + 0x2e, PCI_SUBSYS_QEMU);
	c[0x34] = CAP_MSIX;
	/* No INTx: interrupt pin 0.  Linux's driver uses MSI-X. */

	c[CAP_MSIX] = PCI_CAP_ID_MSIX;
	c[CAP_MSIX + 1] = CAP_COMMON;
	put16(c + CAP_MSIX + 2, (uint16_t)(p->nvec - 1));
	put32(c + CAP_MSIX + 4, 0 | 1);         /* table at 0 of BAR 1 */
	put32(c + CAP_MSIX + 8, PBA_OFF | 1);   /* PBA at 0x800 of BAR 1 */
	put_vcap(c + CAP_COMMON, CAP_NOTIFY, 16, VIRTIO_CAP_COMMON, COMMON_OFF, COMMON_LEN);
	put_vcap(c + CAP_NOTIFY, CAP_ISR, 20, VIRTIO_CAP_NOTIFY, NOTIFY_OFF,
		 NOTIFY_MULT * p->dev->nqueues);
	put32(c + CAP_NOTIFY + 16, NOTIFY_MULT);
	put_vcap(c + CAP_ISR, CAP_DEVICE, 16, VIRTIO_CAP_ISR, ISR_OFF, ISR_LEN);
	put_vcap(c + CAP_DEVICE, CAP_PCICFG, 16, VIRTIO_CAP_DEVICE, DEVICE_OFF, DEVICE_LEN);
	put_vcap(c + CAP_PCICFG, 0, 20, VIRTIO_CAP_PCI, 0, 0);
}

struct vpci *vpci_new(struct vu_dev *dev, unsigned virtio_id)
{
	struct vpci *p = g_new0(struct vpci, 1);

	p->dev = dev;
	p->nvec = dev->nqueues + 1;
	p->fault_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->fault_efd < 0)
		g_error("eventfd: %s", g_strerror(errno));
	for (unsigned i = 0; i < VPCI_MAX_VECTORS; i++)
		p->msix_fd[i] = -1;
	build_config_space(p, virtio_id);
	vpci_disconnect(p);
	return p;
}

void vpci_free(struct vpci *p)
{
	if (!p)
		return;
	/* No reset of the device class: after a handover its session is the
	 * next worker's (vu-dev.h).  The queues go with the device. */
	vpci_set_msix(p, 0, 0, NULL);
	close(p->fault_efd);
	g_free(p);
}

int vpci_fault_fd(const struct vpci *p)
{
	return p->fault_efd;
}

void vpci_check_faults(struct vpci *p)
{
	uint64_t n;

	if (read(p->fault_efd, &n, sizeof(n)) == sizeof(n))
		needs_reset(p, "its queue broke (see the warning above)");
}

uint64_t vpci_region_size(const struct vpci *p, unsigned index)
{
	switch (index) {
	case 0: return BAR0_SIZE;
	case 1: return BAR1_SIZE;
	case VPCI_CONFIG_REGION: return CFG_SIZE;
	default: return 0;
	}
}

unsigned vpci_msix_vectors(const struct vpci *p)
{
	return p->nvec;
}

/* ---- interrupts ---- */

static int vector_fd(const struct vpci *p, uint16_t v)
{
	return v < p->nvec ? p->msix_fd[v] : -1;
}

/* Gives queue i (enabled) a duplicate of its vector's eventfd. */
static void route_queue(struct vpci *p, unsigned i)
{
	int fd = vector_fd(p, p->q[i].vector);

	if (!p->q[i].enabled)
		return;
	if (fd >= 0 && (fd = dup(fd)) < 0)
		g_warning("%s: dup: %s", p->dev->label, g_strerror(errno));
	vu_queue_set_call(&p->dev->q[i], fd);
}

void vpci_set_msix(struct vpci *p, unsigned start, unsigned count, const int *fds)
{
	if (!fds) {
		start = 0;
		count = VPCI_MAX_VECTORS;
	}
	for (unsigned i = 0; i < count; i++) {
		int fd = fds ? fds[i] : -1;

		if (start + i >= p->nvec) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (p->msix_fd[start + i] >= 0)
			close(p->msix_fd[start + i]);
		p->msix_fd[start + i] = fd;
	}
	for (unsigned i = 0; i < p->dev->nqueues; i++)
		route_queue(p, i);
}

void vpci_trigger_msix(struct vpci *p, unsigned start, unsigned count)
{
	uint64_t one = 1;

	for (unsigned i = start; i < p->nvec && i - start < count; i++)
		if (p->msix_fd[i] >= 0 && write(p->msix_fd[i], &one, sizeof(one)) < 0)
			g_debug("%s: vector %u: %s", p->dev->label, i, g_strerror(errno));
}

void vpci_set_mem(struct vpci *p, struct vu_mem *mem)
{
	vu_dev_set_mem(p->dev, mem);
}

/* ---- device state ---- */

void vpci_reset(struct vpci *p)
{
	uint64_t n;

	vu_dev_stop_queues(p->dev);
	/* A fault the stopped queues signalled belongs to the device that was:
	 * the reset device does not need another. */
	if (read(p->fault_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		g_debug("%s: fault eventfd: %s", p->dev->label, g_strerror(errno));
	p->dfselect = p->gfselect = 0;
	p->guest_features = 0;
	p->msix_config = NO_VECTOR;
	p->qsel = 0;
	p->status = p->isr = 0;
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		p->q[i] = (struct vpci_queue){ .size = QUEUE_MAX_SIZE, .vector = NO_VECTOR };
}

void vpci_disconnect(struct vpci *p)
{
	vpci_reset(p);
	vpci_set_msix(p, 0, 0, NULL);
	vpci_set_mem(p, NULL);
	memset(p->msix_table, 0, sizeof(p->msix_table));
	for (unsigned i = 0; i < VPCI_MAX_VECTORS; i++)
		p->msix_table[i * 16 + 12] = 1;        /* vector control: masked */
	/* The next client finds the configuration space of a new machine. */
	put16(p->cfg + PCI_COMMAND, 0);
	p->cfg[0x0c] = p->cfg[0x0d] = p->cfg[0x3c] = 0;
	p->cfg[PCICFG_BAR] = 0;
	memset(p->cfg + PCICFG_OFFSET, 0, PCICFG_DATA + 4 - PCICFG_OFFSET);
	put16(p->cfg + CAP_MSIX + 2, (uint16_t)(p->nvec - 1));
}

/* The driver broke a rule the device cannot recover from by itself. */
static void needs_reset(struct vpci *p, const char *why)
{
	if (!(p->status & S_NEEDS_RESET))
		g_warning("%s: guest driver fault: %s; the device needs a reset", p->dev->label, why);
	p->status |= S_NEEDS_RESET;
	vpci_trigger_msix(p, p->msix_config, 1);
}

static void set_status(struct vpci *p, uint8_t v)
{
	if (v == 0) {
		g_debug("%s: device reset by the driver", p->dev->label);
		vpci_reset(p);
		return;
	}
	if ((v & S_FEATURES_OK) && !(p->status & S_FEATURES_OK)) {
		/* The driver reads FEATURES_OK back to learn the answer. */
		if ((p->guest_features & ~offered(p)) || !(p->guest_features & VIRTIO_F_VERSION_1_BIT)) {
			g_info("%s: driver features %#llx refused (offered %#llx)", p->dev->label,
			       (unsigned long long)p->guest_features, (unsigned long long)offered(p));
			v &= (uint8_t)~S_FEATURES_OK;
		} else {
			p->dev->features = p->guest_features;
		}
	}
	p->status = (uint8_t)(v | (p->status & S_NEEDS_RESET));
}

static void enable_queue(struct vpci *p, unsigned i)
{
	struct vpci_queue *pq = &p->q[i];
	struct vu_queue *q = &p->dev->q[i];

	if (pq->enabled)
		return;
	if (!(p->status & S_FEATURES_OK)) {
		needs_reset(p, "queue enabled before the features were accepted");
		return;
	}
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kick_fd < 0) {
		g_warning("%s: eventfd: %s", p->dev->label, g_strerror(errno));
		needs_reset(p, "no eventfd for the queue");
		return;
	}
	q->num = pq->size;
	q->base = 0;
	q->addr.desc_user_addr = pq->desc;
	q->addr.avail_user_addr = pq->driver;
	q->addr.used_user_addr = pq->device;
	q->have_addr = true;
	q->enabled = true;
	pq->enabled = true;
	route_queue(p, i);
	/* A fault the queue finds later (a bad chain) reaches needs_reset()
	 * through this eventfd and vpci_check_faults(). */
	vu_queue_set_err(q, dup(p->fault_efd));
	if (vu_queue_start(q) < 0)
		needs_reset(p, "queue rings outside guest memory");
}

static void set_queue_size(struct vpci *p, struct vpci_queue *pq, uint16_t n)
{
	/* Split rings have power-of-two sizes up to what the device offered. */
	if (!pq->enabled && n && !(n & (n - 1)) && n <= QUEUE_MAX_SIZE)
		pq->size = n;
	else
		g_debug("%s: queue size %u refused", p->dev->label, n);
}

/* ---- the common configuration structure ---- */

static void common_image(const struct vpci *p, uint8_t *b)
{
	const struct vpci_queue *pq = p->qsel < p->dev->nqueues ? &p->q[p->qsel] : NULL;

	memset(b, 0, COMMON_LEN);
	put32(b + CC_DFSELECT, p->dfselect);
	put32(b + CC_DF, p->dfselect < 2 ? (uint32_t)(offered(p) >> (32 * p->dfselect)) : 0);
	put32(b + CC_GFSELECT, p->gfselect);
	put32(b + CC_GF, p->gfselect < 2 ? (uint32_t)(p->guest_features >> (32 * p->gfselect)) : 0);
	put16(b + CC_MSIX, p->msix_config);
	put16(b + CC_NUMQ, (uint16_t)p->dev->nqueues);
	b[CC_STATUS] = p->status;
	b[CC_CFGGEN] = 0;               /* the configuration never changes */
	put16(b + CC_QSELECT, p->qsel);
	if (pq) {
		put16(b + CC_QSIZE, pq->size);
		put16(b + CC_QMSIX, pq->vector);
		put16(b + CC_QENABLE, pq->enabled);
		put16(b + CC_QNOTIFY, p->qsel);
		put64(b + CC_QDESC, pq->desc);
		put64(b + CC_QDRIVER, pq->driver);
		put64(b + CC_QDEVICE, pq->device);
	}
}

static uint16_t valid_vector(const struct vpci *p, uint16_t v)
{
	/* Reading back NO_VECTOR tells the driver the vector was refused. */
	return v < p->nvec ? v : NO_VECTOR;
}

static void common_write(struct vpci *p, uint32_t off, const uint8_t *buf, uint32_t count)
{
	uint8_t b[COMMON_LEN];
	struct vpci_queue *pq;

#define TOUCHED(field, len) (off < (field) + (len) && (field) < off + count)
	common_image(p, b);
	memcpy(b + off, buf, count);
	if (TOUCHED(CC_DFSELECT, 4))
		p->dfselect = get32(b + CC_DFSELECT);
	if (TOUCHED(CC_GFSELECT, 4))
		p->gfselect = get32(b + CC_GFSELECT);
	if (TOUCHED(CC_GF, 4) && p->gfselect < 2 && !(p->status & S_FEATURES_OK)) {
		unsigned shift = 32 * p->gfselect;

		p->guest_features = (p->guest_features & ~(0xffffffffull << shift)) |
				    (uint64_t)get32(b + CC_GF) << shift;
	}
	if (TOUCHED(CC_MSIX, 2))
		p->msix_config = valid_vector(p, get16(b + CC_MSIX));
	if (TOUCHED(CC_STATUS, 1))
		set_status(p, b[CC_STATUS]);
	if (TOUCHED(CC_QSELECT, 2))
		p->qsel = get16(b + CC_QSELECT);
	if (p->qsel >= p->dev->nqueues)
		return;
	pq = &p->q[p->qsel];
	if (TOUCHED(CC_QSIZE, 2))
		set_queue_size(p, pq, get16(b + CC_QSIZE));
	if (TOUCHED(CC_QMSIX, 2)) {
		pq->vector = valid_vector(p, get16(b + CC_QMSIX));
		route_queue(p, p->qsel);
	}
	if (!pq->enabled) {
		if (TOUCHED(CC_QDESC, 8))
			pq->desc = get64(b + CC_QDESC);
		if (TOUCHED(CC_QDRIVER, 8))
			pq->driver = get64(b + CC_QDRIVER);
		if (TOUCHED(CC_QDEVICE, 8))
			pq->device = get64(b + CC_QDEVICE);
	}
	/* Writing 0 is not a way to stop a queue (only a reset does that). */
	if (TOUCHED(CC_QENABLE, 2) && get16(b + CC_QENABLE) == 1)
		enable_queue(p, p->qsel);
#undef TOUCHED
}

/* ---- BAR 0 ---- */

static void bar0_read(struct vpci *p, uint64_t off, uint8_t *buf, uint32_t count)
{
	memset(buf, 0, count);
	if (off + count <= COMMON_OFF + COMMON_LEN) {
		uint8_t b[COMMON_LEN];

		common_image(p, b);
		memcpy(buf, b + off, count);
	} else if (off >= ISR_OFF && off + count <= ISR_OFF + ISR_LEN) {
		/* Reading the ISR status clears it. */
		if (off == ISR_OFF)
			buf[0] = p->isr;
		p->isr = 0;
	} else if (off >= DEVICE_OFF && off + count <= DEVICE_OFF + DEVICE_LEN) {
		uint64_t o = off - DEVICE_OFF;

		if (o < p->dev->config_len)
			memcpy(buf, p->dev->config + o, MIN(count, p->dev->config_len - o));
	}
	/* The notification area and the gaps read as zero. */
}

static void notify(struct vpci *p, unsigned i)
{
	struct vu_queue *q = &p->dev->q[i];
	uint64_t one = 1;

	if (i < p->dev->nqueues && q->kick_fd >= 0 && write(q->kick_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		g_debug("%s: queue %u kick: %s", p->dev->label, i, g_strerror(errno));
}

static void bar0_write(struct vpci *p, uint64_t off, const uint8_t *buf, uint32_t count)
{
	if (off + count <= COMMON_OFF + COMMON_LEN)
		common_write(p, (uint32_t)off, buf, count);
	else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULT * p->dev->nqueues)
		notify(p, (unsigned)(off - NOTIFY_OFF) / NOTIFY_MULT);
	/* Elsewhere (ISR, device configuration, gaps) writes are ignored: the
	 * 9p configuration is read-only. */
}

/* ---- BAR 1: MSI-X table and pending bits ---- */

static void bar1_read(struct vpci *p, uint64_t off, uint8_t *buf, uint32_t count)
{
	memset(buf, 0, count);
	if (off + count <= p->nvec * 16)
		memcpy(buf, p->msix_table + off, count);
	/* No vector is ever pending here: the client does the masking. */
}

static void bar1_write(struct vpci *p, uint64_t off, const uint8_t *buf, uint32_t count)
{
	if (off + count <= p->nvec * 16)
		memcpy(p->msix_table + off, buf, count);
}

/* ---- configuration space ---- */

/* The window reaches the BARs only (never configuration space itself). */
static bool window_ok(const struct vpci *p, uint32_t len)
{
	return p->cfg[PCICFG_BAR] <= 5 && (len == 1 || len == 2 || len == 4);
}

static void cfg_read(struct vpci *p, uint64_t off, uint8_t *buf, uint32_t count)
{
	/* The virtio_pci_cfg_cap window: a read of its data reads the BAR. */
	if (off < PCICFG_DATA + 4 && off + count > PCICFG_DATA) {
		uint32_t len = get32(p->cfg + PCICFG_LENGTH);

		memset(p->cfg + PCICFG_DATA, 0, 4);
		if (window_ok(p, len))
			vpci_read(p, p->cfg[PCICFG_BAR], get32(p->cfg + PCICFG_OFFSET),
				  p->cfg + PCICFG_DATA, len);
	}
	memcpy(buf, p->cfg + off, count);
}

static void cfg_write(struct vpci *p, uint64_t off, const uint8_t *buf, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t o = off + i;

		/* Command, cache line size, latency timer, interrupt line: the
		 * client reads back what the guest wrote (a read-modify-write of
		 * the command register must not turn memory decoding off). */
		if (o == PCI_COMMAND || o == PCI_COMMAND + 1 || o == 0x0c || o == 0x0d ||
		    o == 0x3c || o == PCICFG_BAR || (o >= PCICFG_OFFSET && o < PCICFG_DATA + 4))
			p->cfg[o] = buf[i];
		else if (o == CAP_MSIX + 3)
			p->cfg[o] = buf[i] & (MSIX_CTRL_WRITABLE >> 8);
	}
	if (off < PCICFG_DATA + 4 && off + count > PCICFG_DATA) {
		uint32_t len = get32(p->cfg + PCICFG_LENGTH);

		if (window_ok(p, len))
			vpci_write(p, p->cfg[PCICFG_BAR], get32(p->cfg + PCICFG_OFFSET),
				   p->cfg + PCICFG_DATA, len);
	}
}

/* ---- dispatch ---- */

static bool in_region(const struct vpci *p, unsigned region, uint64_t off, uint32_t count)
{
	uint64_t size = vpci_region_size(p, region);

	return count && off < size && count <= size - off;
}

void vpci_read(struct vpci *p, unsigned region, uint64_t off, void *buf, uint32_t count)
{
	if (!in_region(p, region, off, count)) {
		memset(buf, 0xff, count);       /* as a read that nothing decodes */
		return;
	}
	switch (region) {
	case 0: bar0_read(p, off, buf, count); break;
	case 1: bar1_read(p, off, buf, count); break;
	case VPCI_CONFIG_REGION: cfg_read(p, off, buf, count); break;
	}
}

void vpci_write(struct vpci *p, unsigned region, uint64_t off, const void *buf, uint32_t count)
{
	if (!in_region(p, region, off, count))
		return;
	/* Anything but a queue notification may change what vpci_save()
	 * writes. */
	if (region != 0 || off < NOTIFY_OFF)
		p->changes++;
	switch (region) {
	case 0: bar0_write(p, off, buf, count); break;
	case 1: bar1_write(p, off, buf, count); break;
	case VPCI_CONFIG_REGION: cfg_write(p, off, buf, count); break;
	}
}

/* ---- the state kept for a later process (vfu-state.c) ---- */

uint64_t vpci_changes(const struct vpci *p)
{
	return p->changes;
}

static void hex(GString *t, const char *key, const uint8_t *b, size_t n)
{
	g_string_append_printf(t, " %s=", key);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(t, "%02x", b[i]);
}

static bool unhex(const char *s, uint8_t *b, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = g_ascii_xdigit_value(s[2 * i]), lo = g_ascii_xdigit_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void vpci_save(const struct vpci *p, GString *t, int *fds, unsigned *nfds, unsigned max)
{
	hex(t, "cfg", p->cfg, sizeof(p->cfg));
	hex(t, "msixt", p->msix_table, sizeof(p->msix_table));
	g_string_append_printf(t, " regs=%x:%x:%" G_GINT64_MODIFIER "x:%x:%x:%x:%x", p->dfselect,
			       p->gfselect, p->guest_features, p->msix_config, p->qsel, p->status,
			       p->isr);
	for (unsigned i = 0; i < p->dev->nqueues; i++) {
		const struct vpci_queue *q = &p->q[i];

		g_string_append_printf(t, " pq=%x:%x:%x:%d:%" G_GINT64_MODIFIER "x:%"
				       G_GINT64_MODIFIER "x:%" G_GINT64_MODIFIER "x", i, q->size,
				       q->vector, q->enabled, q->desc, q->driver, q->device);
	}
	for (unsigned v = 0; v < p->nvec; v++) {
		if (p->msix_fd[v] < 0 || *nfds >= max)
			continue;
		g_string_append_printf(t, " vec=%x:%x", v, *nfds);
		fds[(*nfds)++] = p->msix_fd[v];
	}
}

bool vpci_restore_token(struct vpci *p, const char *tok, int *fds, unsigned nfds)
{
	unsigned a, b, c, d, e, f, g;
	uint64_t x, y, z;
	int en;

	if (g_str_has_prefix(tok, "cfg="))
		return unhex(tok + 4, p->cfg, sizeof(p->cfg));
	if (g_str_has_prefix(tok, "msixt="))
		return unhex(tok + 6, p->msix_table, sizeof(p->msix_table));
	if (sscanf(tok, "regs=%x:%x:%" SCNx64 ":%x:%x:%x:%x", &a, &b, &x, &c, &d, &e, &f) == 7) {
		if (c > 0xffff || d > 0xffff || e > 0xff || f > 0xff)
			return false;
		p->dfselect = a;
		p->gfselect = b;
		p->guest_features = x;
		p->msix_config = valid_vector(p, (uint16_t)c);
		p->qsel = (uint16_t)d;
		p->status = (uint8_t)e;
		p->isr = (uint8_t)f;
		return true;
	}
	if (sscanf(tok, "pq=%x:%x:%x:%d:%" SCNx64 ":%" SCNx64 ":%" SCNx64, &a, &b, &c, &en, &x, &y,
		   &z) == 7) {
		struct vpci_queue *q;

		if (a >= p->dev->nqueues || !b || (b & (b - 1)) || b > QUEUE_MAX_SIZE || c > 0xffff)
			return false;
		q = &p->q[a];
		q->size = (uint16_t)b;
		q->vector = valid_vector(p, (uint16_t)c);
		q->enabled = en != 0;
		q->desc = x;
		q->driver = y;
		q->device = z;
		return true;
	}
	if (sscanf(tok, "vec=%x:%x", &a, &g) == 2) {
		int fd;

		if (a >= p->nvec || g >= nfds || fds[g] < 0 || (fd = dup(fds[g])) < 0)
			return false;
		vpci_set_msix(p, a, 1, &fd);
		return true;
	}
	return false;
}

bool vpci_restart(struct vpci *p)
{
	/* The features the driver had accepted are the device's again, if
	 * this build offers them. */
	if (p->status & S_FEATURES_OK) {
		if (p->guest_features & ~offered(p))
			return false;
		p->dev->features = p->guest_features;
	}
	for (unsigned i = 0; i < p->dev->nqueues; i++) {
		if (!p->q[i].enabled)
			continue;
		p->q[i].enabled = false;
		p->dev->q[i].adopted = true;
		enable_queue(p, i);
	}
	return true;
}
