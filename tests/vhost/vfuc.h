/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vfio-user client for tests: plays QEMU's vfio-user-pci (the protocol
 * on x9p-vhost --vfio-user's socket, guest memory given with DMA_MAP,
 * MSI-X vectors as eventfds) and the guest's virtio-pci driver (the
 * common configuration, notifications and the device configuration, as
 * Linux's virtio_pci_modern uses them).  Guest memory, the split ring and
 * the 9P helpers are vuf.h's: the same memfds (R0, R1 from memfd A, R2
 * from memfd B) given as DMA maps with guest physical addresses, plus one
 * map without a descriptor (VFUC_NOFD) that the device cannot reach.
 *
 * The wire format and the device's layout are restated here from the
 * vfio-user specification and the virtio 1.x specification, not taken
 * from virtio-pci-shim/: a test that shared the device's headers would
 * agree with its mistakes.
 *
 * Kicks: vuf.h's ring helpers kick by writing vuf.kick, an eventfd.  Here
 * that eventfd is a doorbell: while vfuc_bell_start() runs, a thread turns
 * each kick into the guest's notification, a posted REGION_WRITE of the
 * queue index to BAR 0 + 0x3000 (as QEMU posts a vCPU's MMIO write), so
 * vuf_rpc(), vuf_mount() and friends work unchanged.  Without the
 * doorbell kicks go nowhere and the test notifies itself (vfuc_notify).
 *
 * Everything is static inline, like vuf.h.  Waits are bounded
 * (VUF_WAIT_MS): a device that does not answer fails the test.
 */
#ifndef X9P_TESTS_VFUC_H
#define X9P_TESTS_VFUC_H

#include <linux/vfio.h>

#include "procinfo.h"
#include "vuf.h"

/* ---- vfio-user (QEMU docs/interop/vfio-user.rst) ---- */
enum {
	VFUC_VERSION = 1, VFUC_DMA_MAP = 2, VFUC_DMA_UNMAP = 3, VFUC_GET_INFO = 4,
	VFUC_GET_REGION_INFO = 5, VFUC_GET_REGION_IO_FDS = 6, VFUC_GET_IRQ_INFO = 7,
	VFUC_SET_IRQS = 8, VFUC_REGION_READ = 9, VFUC_REGION_WRITE = 10, VFUC_DMA_READ = 11,
	VFUC_DMA_WRITE = 12, VFUC_DEVICE_RESET = 13, VFUC_DIRTY_PAGES = 14,
	VFUC_REGION_WRITE_MULTI = 15, VFUC_DEVICE_FEATURE = 16,
};
#define VFUC_HDR 16u
#define VFUC_T_COMMAND 0x0u
#define VFUC_T_REPLY 0x1u
#define VFUC_F_NO_REPLY 0x10u
#define VFUC_F_ERROR 0x20u

/* What QEMU 10.1's vfio-user-pci sends with VERSION. */
#define VFUC_QEMU_CAPS \
	"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576," \
	"\"pgsizes\":4096,\"max_dma_maps\":65535,\"write_multiple\":true," \
	"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":1048576}}}"

struct vfuc_hdr {
	uint16_t id, command;
	uint32_t size, flags, error;
} __attribute__((packed));

struct vfuc_rw {                /* REGION_READ / REGION_WRITE */
	uint64_t offset;
	uint32_t region, count;
} __attribute__((packed));

struct vfuc_wr1 {               /* one REGION_WRITE_MULTI entry */
	uint64_t offset;
	uint32_t region, count;
	uint8_t data[8];
} __attribute__((packed));

struct vfuc_dma_map {
	uint32_t argsz, flags;
	uint64_t offset, addr, size;
} __attribute__((packed));

struct vfuc_dma_unmap {
	uint32_t argsz, flags;
	uint64_t addr, size;
} __attribute__((packed));

struct vfuc_irq_set {
	uint32_t argsz, flags, index, start, count;
} __attribute__((packed));

G_STATIC_ASSERT(sizeof(struct vfuc_hdr) == 16);
G_STATIC_ASSERT(sizeof(struct vfuc_rw) == 16);
G_STATIC_ASSERT(sizeof(struct vfuc_wr1) == 24);
G_STATIC_ASSERT(sizeof(struct vfuc_dma_map) == 32);
G_STATIC_ASSERT(sizeof(struct vfuc_dma_unmap) == 24);
G_STATIC_ASSERT(sizeof(struct vfuc_irq_set) == 20);
G_STATIC_ASSERT(sizeof(struct vfio_device_info) >= 16);

/* ---- the virtio-pci function (virtio 1.x, 4.1; x9p's BAR layout) ---- */
#define VFUC_BAR0 0u
#define VFUC_BAR1 1u
#define VFUC_CFG 7u                     /* VFIO_PCI_CONFIG_REGION_INDEX */
#define VFUC_BAR0_SIZE 0x4000u
#define VFUC_BAR1_SIZE 0x1000u
#define VFUC_CFG_SIZE 256u
#define VFUC_ISR 0x1000u
#define VFUC_DEVCFG 0x2000u
#define VFUC_NOTIFY 0x3000u
#define VFUC_PBA 0x800u
#define VFUC_NVEC 2                     /* MSI-X: configuration, queue 0 */

/* struct virtio_pci_common_cfg */
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
#define ST_FAILED 0x80u
#define VFUC_NO_VECTOR 0xffffu
#define VFUC_QMAX 256u

/* A DMA map the client keeps to itself (no descriptor): after R2, before
 * nothing. */
#define VFUC_NOFD 0x8000000ull
#define VFUC_NOFD_SIZE 0x100000ull

struct vfuc_reply {
	struct vfuc_hdr h;
	uint8_t *data;          /* h.size - 16 bytes, g_malloc'd (NULL if none) */
	uint32_t len;
	int nfds;               /* descriptors that came with it (closed) */
};

struct vfuc {
	struct vuf f;           /* process, guest memory, ring, 9P (f.sock: ours) */
	pid_t worker;           /* x9p-vhost's worker: a restart would change it */
	GMutex lock;            /* sending: the test's thread and the doorbell */
	uint16_t next_id;
	int msix[VFUC_NVEC];    /* our ends of the vectors' eventfds */
	GThread *bell;
	int bell_stop;
	uint64_t offered, features;
	char *caps;             /* the server's VERSION JSON */
};

/* ---- process ---- */

static inline void vfuc_spawn(struct vfuc *c, const char *const *args)
{
	GPtrArray *av = g_ptr_array_new();

	memset(c, 0, sizeof(*c));
	c->f.sock = c->f.kick = c->f.call = c->f.err = -1;
	c->f.memfd_a = c->f.memfd_b = -1;
	c->f.num = VFUC_QMAX;
	c->f.heap = VUF_R1;
	c->f.msize = 65536;
	c->bell_stop = -1;
	for (int i = 0; i < VFUC_NVEC; i++)
		c->msix[i] = -1;
	g_mutex_init(&c->lock);
	g_ptr_array_add(av, (char *)"--vfio-user");
	for (; args && *args; args++)
		g_ptr_array_add(av, (char *)*args);
	g_ptr_array_add(av, NULL);
	vuf_new_memory(&c->f);
	vuf_spawn(&c->f, (const char *const *)av->pdata);
	g_ptr_array_free(av, TRUE);
	/* The worker exists once the monitor reported ready. */
	for (int i = 0; i < 100 && (c->worker = x9p_proc_child(c->f.pid)) <= 0; i++)
		g_usleep(50000);
	g_assert_cmpint(c->worker, >, 0);
	/* Kicks go here; the doorbell, when running, turns them into notifications. */
	c->f.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g_assert_cmpint(c->f.kick, >=, 0);
}

/* The monitor and the very worker it started are both still there. */
static inline bool vfuc_alive(struct vfuc *c)
{
	return vuf_alive(&c->f) && x9p_proc_child(c->f.pid) == c->worker;
}

static inline int vfuc_connect_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(s, >=, 0);
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	g_assert_cmpint(connect(s, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	return s;
}

static inline void vfuc_connect(struct vfuc *c)
{
	g_assert_cmpint(c->f.sock, <, 0);
	c->f.sock = vfuc_connect_path(c->f.path);
}

/* ---- messages ---- */

/* Sends bytes and descriptors (with the first byte); -errno on failure. */
static inline int vfuc_send_raw(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(sizeof(int) * 32)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	g_assert_cmpint(nfds, <=, 32);
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	while (iov.iov_len) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
	}
	return 0;
}

/* Sends a command (header built here); returns its id, or -errno. */
static inline int vfuc_send_cmd(struct vfuc *c, uint16_t cmd, uint32_t flags, const void *p,
				uint32_t len, const int *fds, int nfds)
{
	uint8_t *buf = g_malloc(VFUC_HDR + len);
	struct vfuc_hdr h = { .command = cmd, .size = VFUC_HDR + len, .flags = flags };
	int err;

	g_mutex_lock(&c->lock);
	h.id = c->next_id++;
	memcpy(buf, &h, VFUC_HDR);
	if (len)
		memcpy(buf + VFUC_HDR, p, len);
	err = vfuc_send_raw(c->f.sock, buf, VFUC_HDR + len, fds, nfds);
	g_mutex_unlock(&c->lock);
	g_free(buf);
	return err < 0 ? err : h.id;
}

/* Reads exactly len bytes, each wait bounded; false on EOF or error. */
static inline bool vfuc_read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { sock, POLLIN, 0 };
		ssize_t n;

		g_assert_cmpint(poll(&p, 1, VUF_WAIT_MS), ==, 1);
		n = recv(sock, (uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static inline void vfuc_reply_free(struct vfuc_reply *r)
{
	g_free(r->data);
	r->data = NULL;
	r->len = 0;
}

/* Receives one message from the server (bounded wait); false if the
 * connection closed instead.  Descriptors that came with it are counted
 * and closed. */
static inline bool vfuc_recv(int sock, struct vfuc_reply *r)
{
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(sizeof(int) * 32)];
	} ctl;
	struct iovec iov = { &r->h, VFUC_HDR };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c,
			     .msg_controllen = sizeof(ctl.c) };
	struct pollfd p = { sock, POLLIN, 0 };
	ssize_t n;

	memset(r, 0, sizeof(*r));
	g_assert_cmpint(poll(&p, 1, VUF_WAIT_MS), ==, 1);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (int i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
				close(fd);
			}
			r->nfds += k;
		}
	}
	if ((size_t)n < VFUC_HDR && !vfuc_read_full(sock, (uint8_t *)&r->h + n, VFUC_HDR - (size_t)n))
		return false;
	g_assert_cmpuint(r->h.size, >=, VFUC_HDR);
	g_assert_cmpuint(r->h.size, <=, VFUC_HDR + 16 + (1u << 20));
	r->len = r->h.size - VFUC_HDR;
	if (r->len) {
		r->data = g_malloc(r->len);
		if (!vfuc_read_full(sock, r->data, r->len)) {
			vfuc_reply_free(r);
			return false;
		}
	}
	return true;
}

/*
 * Sends a command and reads its reply, checking the header: same id and
 * command, the reply type, no descriptors, and either success (no error
 * flag, error 0) or an error reply (flag 0x20, an errno, no payload).
 * Returns 0 or the errno; the payload is left in *r (free it), if r.
 */
static inline int vfuc_call(struct vfuc *c, uint16_t cmd, const void *p, uint32_t len,
			    const int *fds, int nfds, struct vfuc_reply *r)
{
	struct vfuc_reply tmp;
	int id = vfuc_send_cmd(c, cmd, 0, p, len, fds, nfds);

	if (!r)
		r = &tmp;
	g_assert_cmpint(id, >=, 0);
	g_assert_true(vfuc_recv(c->f.sock, r));
	g_assert_cmpuint(r->h.id, ==, (uint16_t)id);
	g_assert_cmpuint(r->h.command, ==, cmd);
	g_assert_cmpint(r->nfds, ==, 0);
	if (r->h.flags & VFUC_F_ERROR) {
		g_assert_cmphex(r->h.flags, ==, VFUC_T_REPLY | VFUC_F_ERROR);
		g_assert_cmpuint(r->h.error, !=, 0);
		g_assert_cmpuint(r->len, ==, 0);
	} else {
		g_assert_cmphex(r->h.flags, ==, VFUC_T_REPLY);
		g_assert_cmpuint(r->h.error, ==, 0);
	}
	if (r == &tmp)
		vfuc_reply_free(r);
	return (r->h.flags & VFUC_F_ERROR) ? (int)r->h.error : 0;
}

/* Waits for the server to close the connection (bounded); returns the
 * bytes it sent before (discarded), or -1 if it did not close. */
static inline int vfuc_wait_eof(int sock)
{
	gint64 end = g_get_monotonic_time() + VUF_WAIT_MS * 1000ll;
	uint8_t buf[256];
	int total = 0;

	while (g_get_monotonic_time() < end) {
		struct pollfd p = { sock, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return total;
		if (n > 0)
			total += (int)n;
	}
	return -1;
}

/* ---- commands ---- */

/* An integer member of the server's capabilities, or -1 if absent.  A
 * scanner for the flat document the server sends, not a JSON parser: the
 * generic test rule links no json-glib. */
static inline long long vfuc_json_int(const char *json, const char *key)
{
	char *k = g_strdup_printf("\"%s\"", key);
	const char *p = strstr(json, k);
	long long v = -1;

	if (p) {
		p += strlen(k);
		while (*p == ' ')
			p++;
		if (*p == ':') {
			p++;
			while (*p == ' ')
				p++;
			if (g_ascii_isdigit(*p))
				v = g_ascii_strtoll(p, NULL, 10);
		}
	}
	g_free(k);
	return v;
}

/* Whether a member of the server's capabilities is the literal true. */
static inline bool vfuc_json_true(const char *json, const char *key)
{
	char *k = g_strdup_printf("\"%s\"", key);
	const char *p = strstr(json, k);
	bool v = false;

	if (p) {
		p += strlen(k);
		while (*p == ' ' || *p == ':')
			p++;
		v = strncmp(p, "true", 4) == 0;
	}
	g_free(k);
	return v;
}

/* VERSION 0.0 with json (NULL: none); 0 or the errno.  On success the
 * reply's major/minor and a NUL-terminated document are checked. */
static inline int vfuc_version_json(struct vfuc *c, const char *json)
{
	size_t jl = json ? strlen(json) + 1 : 0;
	uint8_t *p = g_malloc0(4 + jl);
	struct vfuc_reply r;
	uint16_t v[2];
	int err;

	if (jl)
		memcpy(p + 4, json, jl);
	err = vfuc_call(c, VFUC_VERSION, p, (uint32_t)(4 + jl), NULL, 0, &r);
	g_free(p);
	if (!err) {
		g_assert_cmpuint(r.len, >, 4);
		memcpy(v, r.data, 4);
		g_assert_cmpuint(v[0], ==, 0);
		g_assert_cmpuint(v[1], ==, 0);
		/* QEMU reads the last byte as the document's end. */
		g_assert_cmpuint(r.data[r.len - 1], ==, 0);
		g_assert_cmpuint(strlen((char *)r.data + 4), ==, r.len - 5);
		g_free(c->caps);
		c->caps = g_strdup((char *)r.data + 4);
	}
	vfuc_reply_free(&r);
	return err;
}

static inline void vfuc_version(struct vfuc *c)
{
	g_assert_cmpint(vfuc_version_json(c, VFUC_QEMU_CAPS), ==, 0);
}

static inline int vfuc_dma_map(struct vfuc *c, uint64_t gpa, uint64_t size, int fd, uint64_t off)
{
	struct vfuc_dma_map m = { sizeof(m), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
				  off, gpa, size };
	struct vfuc_reply r;
	int err = vfuc_call(c, VFUC_DMA_MAP, &m, sizeof(m), fd >= 0 ? &fd : NULL, fd >= 0, &r);

	/* "There is no payload in the reply message." */
	g_assert_cmpuint(r.len, ==, 0);
	vfuc_reply_free(&r);
	return err;
}

/* DMA_UNMAP; a successful reply echoes the request (the specification's
 * "original DMA entry"). */
static inline int vfuc_dma_unmap(struct vfuc *c, uint64_t gpa, uint64_t size, uint32_t flags)
{
	struct vfuc_dma_unmap u = { sizeof(u), flags, gpa, size }, back;
	struct vfuc_reply r;
	int err = vfuc_call(c, VFUC_DMA_UNMAP, &u, sizeof(u), NULL, 0, &r);

	if (!err) {
		g_assert_cmpuint(r.len, ==, sizeof(back));
		memcpy(&back, r.data, sizeof(back));
		g_assert_cmpuint(back.argsz, ==, sizeof(back));
		g_assert_cmpuint(back.flags, ==, flags);
		g_assert_cmphex(back.addr, ==, gpa);
		g_assert_cmphex(back.size, ==, size);
	}
	vfuc_reply_free(&r);
	return err;
}

/* vuf.h's guest memory as QEMU would map it: R0 and R1 (memfd A), R2
 * (memfd B), and VFUC_NOFD without a descriptor. */
static inline void vfuc_map_guest(struct vfuc *c)
{
	g_assert_cmpint(vfuc_dma_map(c, VUF_R0, VUF_R1 - VUF_R0, c->f.memfd_a, 0), ==, 0);
	g_assert_cmpint(vfuc_dma_map(c, VUF_R1, VUF_A_SIZE - VUF_R1, c->f.memfd_a, VUF_R1), ==, 0);
	g_assert_cmpint(vfuc_dma_map(c, VUF_R2, VUF_B_SIZE, c->f.memfd_b, 0), ==, 0);
	g_assert_cmpint(vfuc_dma_map(c, VFUC_NOFD, VFUC_NOFD_SIZE, -1, 0), ==, 0);
}

static inline int vfuc_set_irqs(struct vfuc *c, uint32_t index, uint32_t flags, uint32_t start,
				uint32_t count, const int *fds, int nfds)
{
	struct vfuc_irq_set s = { sizeof(s), flags, index, start, count };
	struct vfuc_reply r;
	int err = vfuc_call(c, VFUC_SET_IRQS, &s, sizeof(s), fds, nfds, &r);

	g_assert_cmpuint(r.len, ==, 0);
	vfuc_reply_free(&r);
	return err;
}

static inline void vfuc_close_irqs(struct vfuc *c)
{
	for (int i = 0; i < VFUC_NVEC; i++) {
		if (c->msix[i] >= 0)
			close(c->msix[i]);
		c->msix[i] = -1;
	}
	c->f.call = -1;
}

/* New eventfds for the MSI-X vectors, given with SET_IRQS; vector 1 (the
 * queue's) is also vuf's call descriptor. */
static inline void vfuc_give_irqs(struct vfuc *c)
{
	vfuc_close_irqs(c);
	for (int i = 0; i < VFUC_NVEC; i++) {
		c->msix[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		g_assert_cmpint(c->msix[i], >=, 0);
	}
	g_assert_cmpint(vfuc_set_irqs(c, VFIO_PCI_MSIX_IRQ_INDEX,
				      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0,
				      VFUC_NVEC, c->msix, VFUC_NVEC), ==, 0);
	c->f.call = c->msix[1];
}

/* Interrupts on vector v since the last look (0 if none). */
static inline uint64_t vfuc_irqs(struct vfuc *c, int v)
{
	uint64_t n = 0;

	if (read(c->msix[v], &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* Waits up to ms for an interrupt on vector v; returns the count (0: none). */
static inline uint64_t vfuc_wait_irq(struct vfuc *c, int v, int ms)
{
	struct pollfd p = { c->msix[v], POLLIN, 0 };

	if (poll(&p, 1, ms) != 1)
		return 0;
	return vfuc_irqs(c, v);
}

/* ---- region access ---- */

static inline int vfuc_read(struct vfuc *c, uint32_t region, uint64_t off, void *buf, uint32_t count)
{
	struct vfuc_rw rw = { off, region, count }, back;
	struct vfuc_reply r;
	int err = vfuc_call(c, VFUC_REGION_READ, &rw, sizeof(rw), NULL, 0, &r);

	if (!err) {
		g_assert_cmpuint(r.len, ==, sizeof(rw) + count);
		memcpy(&back, r.data, sizeof(back));
		g_assert_cmphex(back.offset, ==, off);
		g_assert_cmpuint(back.region, ==, region);
		g_assert_cmpuint(back.count, ==, count);
		memcpy(buf, r.data + sizeof(rw), count);
	}
	vfuc_reply_free(&r);
	return err;
}

/* A write, posted (no reply asked; returns 0) or answered. */
static inline int vfuc_write(struct vfuc *c, uint32_t region, uint64_t off, const void *data,
			     uint32_t count, bool posted)
{
	struct vfuc_rw rw = { off, region, count }, back;
	uint8_t *p = g_malloc(sizeof(rw) + count);
	struct vfuc_reply r;
	int err;

	memcpy(p, &rw, sizeof(rw));
	memcpy(p + sizeof(rw), data, count);
	if (posted) {
		g_assert_cmpint(vfuc_send_cmd(c, VFUC_REGION_WRITE, VFUC_F_NO_REPLY, p,
					      (uint32_t)sizeof(rw) + count, NULL, 0), >=, 0);
		g_free(p);
		return 0;
	}
	err = vfuc_call(c, VFUC_REGION_WRITE, p, (uint32_t)sizeof(rw) + count, NULL, 0, &r);
	g_free(p);
	if (!err) {
		g_assert_cmpuint(r.len, ==, sizeof(back));
		memcpy(&back, r.data, sizeof(back));
		g_assert_cmphex(back.offset, ==, off);
		g_assert_cmpuint(back.region, ==, region);
		g_assert_cmpuint(back.count, ==, count);
	}
	vfuc_reply_free(&r);
	return err;
}

static inline uint64_t vfuc_rd(struct vfuc *c, uint32_t region, uint64_t off, uint32_t width)
{
	uint64_t v = 0;

	g_assert_cmpint(vfuc_read(c, region, off, &v, width), ==, 0);
	return v;
}

/* Writes as the guest's MMIO writes do: answered, so that a refusal shows. */
static inline void vfuc_wr(struct vfuc *c, uint32_t region, uint64_t off, uint64_t v, uint32_t width)
{
	g_assert_cmpint(vfuc_write(c, region, off, &v, width, false), ==, 0);
}

#define cc_r8(c, o) ((uint8_t)vfuc_rd((c), VFUC_BAR0, (o), 1))
#define cc_r16(c, o) ((uint16_t)vfuc_rd((c), VFUC_BAR0, (o), 2))
#define cc_r32(c, o) ((uint32_t)vfuc_rd((c), VFUC_BAR0, (o), 4))
#define cc_w8(c, o, v) vfuc_wr((c), VFUC_BAR0, (o), (v), 1)
#define cc_w16(c, o, v) vfuc_wr((c), VFUC_BAR0, (o), (v), 2)
#define cc_w32(c, o, v) vfuc_wr((c), VFUC_BAR0, (o), (v), 4)

/* The guest's notification of queue 0 (iowrite16 of the index). */
static inline void vfuc_notify(struct vfuc *c, bool posted)
{
	uint16_t q = 0;

	g_assert_cmpint(vfuc_write(c, VFUC_BAR0, VFUC_NOTIFY, &q, 2, posted), ==, 0);
}

/* ---- the doorbell ---- */

static inline gpointer vfuc_bell_thread(gpointer data)
{
	struct vfuc *c = data;
	struct pollfd p[2] = { { c->f.kick, POLLIN, 0 }, { c->bell_stop, POLLIN, 0 } };
	uint8_t msg[sizeof(struct vfuc_rw) + 2] = { 0 };
	struct vfuc_rw rw = { VFUC_NOTIFY, VFUC_BAR0, 2 };

	memcpy(msg, &rw, sizeof(rw));
	for (;;) {
		uint64_t v;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		/* The connection may be gone (a fault test): then nothing listens. */
		if (read(c->f.kick, &v, sizeof(v)) == sizeof(v))
			(void)vfuc_send_cmd(c, VFUC_REGION_WRITE, VFUC_F_NO_REPLY, msg, sizeof(msg),
					    NULL, 0);
	}
	return NULL;
}

static inline void vfuc_bell_start(struct vfuc *c)
{
	g_assert_null(c->bell);
	c->bell_stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g_assert_cmpint(c->bell_stop, >=, 0);
	c->bell = g_thread_new("vfuc-bell", vfuc_bell_thread, c);
}

static inline void vfuc_bell_stop(struct vfuc *c)
{
	uint64_t one = 1;

	if (!c->bell)
		return;
	g_assert_cmpint(write(c->bell_stop, &one, sizeof(one)), ==, sizeof(one));
	g_thread_join(c->bell);
	c->bell = NULL;
	close(c->bell_stop);
	c->bell_stop = -1;
}

/* ---- the virtio driver ---- */

/* The ring as a driver sets it up anew: zeroed, counters at 0. */
static inline void vfuc_fresh_ring(struct vfuc *c, uint16_t qsize)
{
	memset(c->f.a, 0, VUF_HEAP);
	c->f.num = qsize;
	c->f.avail_idx = c->f.used_seen = c->f.next_desc = 0;
	c->f.heap = VUF_R1;
}

static inline uint64_t vfuc_device_features(struct vfuc *c)
{
	uint64_t lo, hi;

	cc_w32(c, CC_DFSELECT, 0);
	lo = cc_r32(c, CC_DF);
	cc_w32(c, CC_DFSELECT, 1);
	hi = cc_r32(c, CC_DF);
	return lo | hi << 32;
}

static inline void vfuc_driver_features(struct vfuc *c, uint64_t f)
{
	cc_w32(c, CC_GFSELECT, 0);
	cc_w32(c, CC_GF, (uint32_t)f);
	cc_w32(c, CC_GFSELECT, 1);
	cc_w32(c, CC_GF, (uint32_t)(f >> 32));
}

/* Ring addresses as two 32-bit halves each (vp_iowrite64_twopart). */
static inline void vfuc_queue_addrs(struct vfuc *c, uint64_t desc, uint64_t driver, uint64_t device)
{
	const uint64_t a[3] = { desc, driver, device };

	for (unsigned i = 0; i < 3; i++) {
		cc_w32(c, CC_QDESC + 8 * i, (uint32_t)a[i]);
		cc_w32(c, CC_QDESC + 8 * i + 4, (uint32_t)(a[i] >> 32));
	}
}

/* Linux's virtio_pci_modern probe up to the features: reset, ACKNOWLEDGE,
 * DRIVER, features (want & offered, VERSION_1 always), FEATURES_OK read
 * back. */
static inline void vfuc_negotiate(struct vfuc *c, uint64_t want)
{
	cc_w8(c, CC_STATUS, 0);
	g_assert_cmpuint(cc_r8(c, CC_STATUS), ==, 0);
	cc_w8(c, CC_STATUS, ST_ACK);
	cc_w8(c, CC_STATUS, ST_ACK | ST_DRIVER);
	c->offered = vfuc_device_features(c);
	c->features = c->offered & (want | VUF_F_VERSION_1);
	c->f.features = c->features;
	vfuc_driver_features(c, c->features);
	cc_w8(c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	g_assert_cmphex(cc_r8(c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
}

/* The configuration vector (0), then queue 0 with qsize entries on vector
 * 1 at vuf.h's ring addresses (a fresh ring), enabled. */
static inline void vfuc_setup_queue(struct vfuc *c, uint16_t qsize)
{
	cc_w16(c, CC_MSIX, 0);
	g_assert_cmpuint(cc_r16(c, CC_MSIX), ==, 0);
	cc_w16(c, CC_QSELECT, 0);
	g_assert_cmpuint(cc_r16(c, CC_QSIZE), ==, VFUC_QMAX);
	cc_w16(c, CC_QSIZE, qsize);
	g_assert_cmpuint(cc_r16(c, CC_QSIZE), ==, qsize);
	cc_w16(c, CC_QMSIX, 1);
	g_assert_cmpuint(cc_r16(c, CC_QMSIX), ==, 1);
	vfuc_fresh_ring(c, qsize);
	vfuc_queue_addrs(c, VUF_DESC, VUF_AVAIL, VUF_USED);
	cc_w16(c, CC_QENABLE, 1);
	g_assert_cmpuint(cc_r16(c, CC_QENABLE), ==, 1);
}

/* The whole driver bring-up, ending with DRIVER_OK. */
static inline void vfuc_driver_up(struct vfuc *c, uint16_t qsize, uint64_t want)
{
	vfuc_negotiate(c, want);
	vfuc_setup_queue(c, qsize);
	cc_w8(c, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	g_assert_cmphex(cc_r8(c, CC_STATUS), ==, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

/* What QEMU does before the guest runs: VERSION, DEVICE_GET_INFO, the
 * guest's memory, the MSI-X eventfds. */
static inline void vfuc_machine(struct vfuc *c)
{
	struct vfio_device_info i = { .argsz = 16 };
	struct vfuc_reply r;

	vfuc_connect(c);
	vfuc_version(c);
	g_assert_cmpint(vfuc_call(c, VFUC_GET_INFO, &i, 16, NULL, 0, &r), ==, 0);
	g_assert_cmpuint(r.len, ==, 16);
	vfuc_reply_free(&r);
	vfuc_map_guest(c);
	vfuc_give_irqs(c);
}

/* A new machine on a connection of its own, with a running device and
 * the doorbell: what most tests start from.  Mounts with msize 65536. */
static inline void vfuc_up(struct vfuc *c)
{
	vfuc_machine(c);
	vfuc_driver_up(c, 128, ~0ull);
	vfuc_bell_start(c);
	vuf_mount(&c->f, 65536);
}

/* ---- teardown ---- */

/* Drops the connection as a dying QEMU would. */
static inline void vfuc_disconnect(struct vfuc *c)
{
	vfuc_bell_stop(c);
	if (c->f.sock >= 0)
		close(c->f.sock);
	c->f.sock = -1;
	vfuc_close_irqs(c);
}

/* Memory of a new machine (the old one unmapped here). */
static inline void vfuc_new_memory(struct vfuc *c)
{
	munmap(c->f.a, VUF_A_SIZE);
	munmap(c->f.b, VUF_B_SIZE);
	close(c->f.memfd_a);
	close(c->f.memfd_b);
	vuf_new_memory(&c->f);
}

/* Ends the test's process (exit 0 on SIGTERM, asserted by vuf_stop). */
static inline void vfuc_stop(struct vfuc *c)
{
	vfuc_disconnect(c);
	if (c->f.kick >= 0)
		close(c->f.kick);
	c->f.kick = -1;
	vuf_stop(&c->f);
	g_free(c->caps);
	c->caps = NULL;
	g_mutex_clear(&c->lock);
}

#endif
