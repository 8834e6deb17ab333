/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user frontend for tests: plays both the VMM (the control
 * protocol on x9p-vhost's socket, guest memory in memfds) and the guest's
 * virtio driver (a split virtqueue it fills with descriptor chains, in
 * every layout Linux 9pnet_virtio uses, or in hostile ones).
 *
 * Guest memory, three regions:
 *   R0  gpa 0x0000000, 1 MiB   memfd A at offset 0      (rings live here)
 *   R1  gpa 0x0100000, 7 MiB   memfd A at offset 1 MiB  (adjacent to R0)
 *   R2  gpa 0x4000000, 4 MiB   memfd B at offset 0      (after a hole)
 * so buffers can span two regions and addresses can fall into the hole.
 *
 * Everything here is static inline: each test program includes it.
 * Waits are bounded (VUF_WAIT_MS) so that a broken device fails a test
 * instead of hanging it; nothing asserts how long anything takes.
 */
#ifndef X9P_TESTS_VUF_H
#define X9P_TESTS_VUF_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "9p/p9.h"
#include "backend-proc.h"

#define VUF_WAIT_MS 20000

#define VUF_R0 0x0000000ull
#define VUF_R1 0x0100000ull
#define VUF_R2 0x4000000ull
#define VUF_A_SIZE (8u << 20)
#define VUF_B_SIZE (4u << 20)
#define VUF_HOLE 0x2000000ull          /* inside no region */

/* Ring placement in R0 for a queue of up to 256 entries. */
#define VUF_DESC 0x1000ull
#define VUF_AVAIL 0x3000ull
#define VUF_USED 0x4000ull
#define VUF_HEAP 0x8000ull              /* buffers from here on */

/* vhost-user requests and bits (the protocol, restated for the frontend). */
enum {
	VUF_GET_FEATURES = 1, VUF_SET_FEATURES = 2, VUF_SET_OWNER = 3, VUF_RESET_OWNER = 4,
	VUF_SET_MEM_TABLE = 5, VUF_SET_VRING_NUM = 8, VUF_SET_VRING_ADDR = 9,
	VUF_SET_VRING_BASE = 10, VUF_GET_VRING_BASE = 11, VUF_SET_VRING_KICK = 12,
	VUF_SET_VRING_CALL = 13, VUF_SET_VRING_ERR = 14, VUF_GET_PROTOCOL_FEATURES = 15,
	VUF_SET_PROTOCOL_FEATURES = 16, VUF_GET_QUEUE_NUM = 17, VUF_SET_VRING_ENABLE = 18,
	VUF_GET_CONFIG = 24, VUF_SET_CONFIG = 25,
};
#define VUF_NEED_REPLY 0x8u
#define VUF_F_MOUNT_TAG (1ull << 0)
#define VUF_F_INDIRECT (1ull << 28)
#define VUF_F_EVENT_IDX (1ull << 29)
#define VUF_F_PROTOCOL (1ull << 30)
#define VUF_F_VERSION_1 (1ull << 32)
#define VUF_PF_REPLY_ACK (1ull << 3)
#define VUF_PF_CONFIG (1ull << 9)

#define VUF_D_NEXT 1
#define VUF_D_WRITE 2
#define VUF_D_INDIRECT 4

struct vuf {
	pid_t pid;
	char *dir, *path;
	int sock;
	int memfd_a, memfd_b;
	uint8_t *a, *b;
	unsigned num;
	uint64_t features;
	int kick, call, err;
	uint16_t avail_idx;        /* driver's next avail index */
	uint16_t used_seen;        /* used entries consumed */
	uint16_t next_desc;        /* descriptor allocator (round robin) */
	uint64_t heap;             /* buffer allocator (bump, in R1) */
	uint32_t msize;
	uint16_t tag;
};

/* One buffer of a chain: guest address, length, device-writable. */
struct vuf_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* ---- guest memory ---- */

static inline void *vuf_ptr(struct vuf *f, uint64_t gpa)
{
	if (gpa < VUF_A_SIZE)
		return f->a + gpa;
	g_assert(gpa >= VUF_R2 && gpa < VUF_R2 + VUF_B_SIZE);
	return f->b + (gpa - VUF_R2);
}

/* Copies between plain memory and a guest range that may span R0/R1. */
static inline void vuf_write_mem(struct vuf *f, uint64_t gpa, const void *src, size_t len)
{
	memcpy(vuf_ptr(f, gpa), src, len);
}

static inline void vuf_read_mem(struct vuf *f, uint64_t gpa, void *dst, size_t len)
{
	memcpy(dst, vuf_ptr(f, gpa), len);
}

/* A fresh buffer in R1 (wraps around: tests keep few buffers alive). */
static inline uint64_t vuf_alloc(struct vuf *f, uint32_t len)
{
	uint64_t a = (f->heap + 63) & ~63ull;

	if (a + len > VUF_A_SIZE)
		a = VUF_R1;
	f->heap = a + len;
	return a;
}

/* ---- process ---- */

static inline void vuf_spawn(struct vuf *f, const char *const *args)
{
	GPtrArray *av = g_ptr_array_new_with_free_func(g_free);
	char *prog = x9p_build_path("x9p-vhost");
	char buf[64] = "";
	int pfd[2];
	ssize_t n;

	f->dir = g_dir_make_tmp("x9p-vhost-test-XXXXXX", NULL);
	f->path = g_build_filename(f->dir, "vu.sock", NULL);
	g_assert_cmpint(pipe(pfd), ==, 0);
	g_ptr_array_add(av, g_strdup(prog));
	g_ptr_array_add(av, g_strdup_printf("--socket-path=%s", f->path));
	g_ptr_array_add(av, g_strdup_printf("--ready-fd=%d", pfd[1]));
	g_ptr_array_add(av, g_strdup_printf("--log-level=%s",
					    g_getenv("X9P_TEST_LOG") ? g_getenv("X9P_TEST_LOG") : "error"));
	for (; args && *args; args++)
		g_ptr_array_add(av, g_strdup(*args));
	g_ptr_array_add(av, NULL);
	f->pid = fork();
	g_assert_cmpint(f->pid, >=, 0);
	if (f->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(pfd[0]);
		execv(prog, (char **)av->pdata);
		_exit(127);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	g_assert_cmpint(n, >, 0);
	g_assert_nonnull(strstr(buf, "ready"));
	g_ptr_array_free(av, TRUE);
	g_free(prog);
}

static inline bool vuf_alive(struct vuf *f)
{
	return f->pid > 0 && waitpid(f->pid, NULL, WNOHANG) == 0;
}

static inline void vuf_connect(struct vuf *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(f->sock, >=, 0);
	g_strlcpy(sun.sun_path, f->path, sizeof(sun.sun_path));
	g_assert_cmpint(connect(f->sock, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
}

static inline void vuf_close_queue_fds(struct vuf *f)
{
	if (f->kick >= 0)
		close(f->kick);
	if (f->call >= 0)
		close(f->call);
	if (f->err >= 0)
		close(f->err);
	f->kick = f->call = f->err = -1;
}

/* Drops the connection as a crashing VMM would. */
static inline void vuf_disconnect(struct vuf *f)
{
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	vuf_close_queue_fds(f);
}

static inline void vuf_stop(struct vuf *f)
{
	int st = 0;

	vuf_disconnect(f);
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		g_assert_cmpint(waitpid(f->pid, &st, 0), ==, f->pid);
		/* A clean exit on SIGTERM: never a crash. */
		g_assert_true(WIFEXITED(st));
		g_assert_cmpint(WEXITSTATUS(st), ==, 0);
	}
	f->pid = 0;
	if (f->a)
		munmap(f->a, VUF_A_SIZE);
	if (f->b)
		munmap(f->b, VUF_B_SIZE);
	if (f->memfd_a >= 0)
		close(f->memfd_a);
	if (f->memfd_b >= 0)
		close(f->memfd_b);
	f->a = f->b = NULL;
	f->memfd_a = f->memfd_b = -1;
	if (f->path)
		unlink(f->path);
	if (f->dir)
		rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

/* ---- control messages ---- */

static inline void vuf_send(struct vuf *f, uint32_t req, uint32_t flags, const void *p,
			    uint32_t size, const int *fds, int nfds)
{
	uint8_t buf[12 + 512];
	union {
		struct cmsghdr align;
		char c[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { buf, 12 + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint32_t fl = 1 | flags;

	g_assert_cmpuint(size, <=, 512);
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &fl, 4);
	memcpy(buf + 8, &size, 4);
	if (size)
		memcpy(buf + 12, p, size);
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	g_assert_cmpint(sendmsg(f->sock, &mh, MSG_NOSIGNAL), ==, (ssize_t)(12 + size));
}

/* Reads one reply to req; returns its payload size (copied up to max),
 * or -1 if the connection closed. */
static inline int vuf_recv(struct vuf *f, uint32_t req, void *p, size_t max)
{
	uint8_t hdr[12], body[512];
	uint32_t r, fl, size;
	struct pollfd pfd = { f->sock, POLLIN, 0 };

	g_assert_cmpint(poll(&pfd, 1, VUF_WAIT_MS), ==, 1);
	if (recv(f->sock, hdr, 12, MSG_WAITALL) != 12)
		return -1;
	memcpy(&r, hdr, 4);
	memcpy(&fl, hdr + 4, 4);
	memcpy(&size, hdr + 8, 4);
	g_assert_cmpuint(r, ==, req);
	g_assert_cmpuint(fl & 0x7, ==, 0x5);
	g_assert_cmpuint(size, <=, sizeof(body));
	if (size)
		g_assert_cmpint(recv(f->sock, body, size, MSG_WAITALL), ==, (ssize_t)size);
	memcpy(p, body, MIN(max, size));
	return (int)size;
}

static inline uint64_t vuf_get_u64(struct vuf *f, uint32_t req)
{
	uint64_t v = 0;

	vuf_send(f, req, 0, NULL, 0, NULL, 0);
	g_assert_cmpint(vuf_recv(f, req, &v, sizeof(v)), ==, 8);
	return v;
}

/* Sends req with need_reply and returns the REPLY_ACK status. */
static inline uint64_t vuf_acked(struct vuf *f, uint32_t req, const void *p, uint32_t size,
				 const int *fds, int nfds)
{
	uint64_t v = ~0ull;

	vuf_send(f, req, VUF_NEED_REPLY, p, size, fds, nfds);
	g_assert_cmpint(vuf_recv(f, req, &v, sizeof(v)), ==, 8);
	return v;
}

static inline void vuf_state(struct vuf *f, uint32_t req, uint32_t index, uint32_t num)
{
	uint32_t st[2] = { index, num };

	g_assert_cmpuint(vuf_acked(f, req, st, sizeof(st), NULL, 0), ==, 0);
}

static inline void vuf_set_fd(struct vuf *f, uint32_t req, int fd)
{
	uint64_t v = 0;

	g_assert_cmpuint(vuf_acked(f, req, &v, sizeof(v), &fd, 1), ==, 0);
}

static inline void vuf_mem_table(struct vuf *f)
{
	uint64_t m[2 + 4 * 3] = { 3 };
	int fds[3] = { f->memfd_a, f->memfd_a, f->memfd_b };

	/* gpa, size, frontend address, offset in the descriptor */
	m[1] = VUF_R0; m[2] = VUF_R1 - VUF_R0; m[3] = (uintptr_t)f->a; m[4] = 0;
	m[5] = VUF_R1; m[6] = VUF_A_SIZE - VUF_R1; m[7] = (uintptr_t)f->a + VUF_R1; m[8] = VUF_R1;
	m[9] = VUF_R2; m[10] = VUF_B_SIZE; m[11] = (uintptr_t)f->b; m[12] = 0;
	m[0] = 3;
	g_assert_cmpuint(vuf_acked(f, VUF_SET_MEM_TABLE, m, 8 + 32 * 3, fds, 3), ==, 0);
}

static inline uint16_t vuf_used_idx(struct vuf *f)
{
	return __atomic_load_n((uint16_t *)(f->a + VUF_USED + 2), __ATOMIC_ACQUIRE);
}

/* Ring addresses and start: NUM, BASE, ADDR, KICK, CALL, ERR, ENABLE. */
static inline void vuf_start_queue(struct vuf *f, uint16_t base)
{
	uint64_t addr[5];
	uint32_t *a32 = (uint32_t *)addr;

	vuf_close_queue_fds(f);
	f->kick = eventfd(0, EFD_CLOEXEC);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vuf_state(f, VUF_SET_VRING_NUM, 0, f->num);
	vuf_state(f, VUF_SET_VRING_BASE, 0, base);
	a32[0] = 0;
	a32[1] = 0;
	addr[1] = (uintptr_t)f->a + VUF_DESC;
	addr[2] = (uintptr_t)f->a + VUF_USED;
	addr[3] = (uintptr_t)f->a + VUF_AVAIL;
	addr[4] = 0;
	g_assert_cmpuint(vuf_acked(f, VUF_SET_VRING_ADDR, addr, sizeof(addr), NULL, 0), ==, 0);
	vuf_set_fd(f, VUF_SET_VRING_KICK, f->kick);
	vuf_set_fd(f, VUF_SET_VRING_CALL, f->call);
	vuf_set_fd(f, VUF_SET_VRING_ERR, f->err);
	vuf_state(f, VUF_SET_VRING_ENABLE, 0, 1);
	f->avail_idx = base;
	f->used_seen = vuf_used_idx(f);
}

/* Stops the queue; returns the device's next available index. */
static inline uint16_t vuf_stop_queue(struct vuf *f)
{
	uint32_t st[2] = { 0, 0 };

	vuf_state(f, VUF_SET_VRING_ENABLE, 0, 0);
	vuf_send(f, VUF_GET_VRING_BASE, 0, st, sizeof(st), NULL, 0);
	g_assert_cmpint(vuf_recv(f, VUF_GET_VRING_BASE, st, sizeof(st)), ==, 8);
	g_assert_cmpuint(st[0], ==, 0);
	return (uint16_t)st[1];
}

static inline void vuf_new_memory(struct vuf *f)
{
	f->memfd_a = memfd_create("vuf-a", MFD_CLOEXEC);
	f->memfd_b = memfd_create("vuf-b", MFD_CLOEXEC);
	g_assert_cmpint(ftruncate(f->memfd_a, VUF_A_SIZE), ==, 0);
	g_assert_cmpint(ftruncate(f->memfd_b, VUF_B_SIZE), ==, 0);
	f->a = mmap(NULL, VUF_A_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd_a, 0);
	f->b = mmap(NULL, VUF_B_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd_b, 0);
	g_assert_true(f->a != MAP_FAILED && f->b != MAP_FAILED);
}

/* The handshake QEMU does, then the queue; features: what to ack of the
 * offered set (the mount tag and VERSION_1 are always acked). */
static inline void vuf_handshake(struct vuf *f, uint64_t want)
{
	uint64_t offered, pf;

	memset(f->a, 0, VUF_HEAP);
	offered = vuf_get_u64(f, VUF_GET_FEATURES);
	pf = vuf_get_u64(f, VUF_GET_PROTOCOL_FEATURES);
	g_assert_true(pf & VUF_PF_REPLY_ACK);
	pf &= VUF_PF_REPLY_ACK | VUF_PF_CONFIG | 1;
	vuf_send(f, VUF_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
	g_assert_cmpuint(vuf_get_u64(f, VUF_GET_QUEUE_NUM), ==, 1);
	g_assert_cmpuint(vuf_acked(f, VUF_SET_OWNER, NULL, 0, NULL, 0), ==, 0);
	f->features = offered & (want | VUF_F_MOUNT_TAG | VUF_F_VERSION_1 | VUF_F_PROTOCOL);
	g_assert_cmpuint(vuf_acked(f, VUF_SET_FEATURES, &f->features, 8, NULL, 0), ==, 0);
	vuf_mem_table(f);
	vuf_start_queue(f, 0);
}

/* Spawns x9p-vhost with args, connects, handshakes with a queue of num. */
static inline void vuf_start(struct vuf *f, const char *const *args, unsigned num, uint64_t want)
{
	memset(f, 0, sizeof(*f));
	f->kick = f->call = f->err = f->sock = -1;
	f->num = num;
	f->heap = VUF_R1;
	f->msize = 65536;
	vuf_new_memory(f);
	vuf_spawn(f, args);
	vuf_connect(f);
	vuf_handshake(f, want);
}

/* ---- the driver side of the ring ---- */

/* EVENT_IDX: interrupt wanted once the used index passes idx. */
static inline void vuf_set_used_event(struct vuf *f, uint16_t idx)
{
	__atomic_store_n((uint16_t *)(f->a + VUF_AVAIL + 4 + 2 * f->num), idx, __ATOMIC_RELEASE);
}

static inline uint16_t vuf_avail_event(struct vuf *f)
{
	return __atomic_load_n((uint16_t *)(f->a + VUF_USED + 4 + 8 * f->num), __ATOMIC_ACQUIRE);
}

static inline void vuf_set_avail_flags(struct vuf *f, uint16_t flags)
{
	__atomic_store_n((uint16_t *)(f->a + VUF_AVAIL), flags, __ATOMIC_RELEASE);
}

/* Writes descriptor i. */
static inline void vuf_desc(struct vuf *f, uint64_t table, unsigned i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = vuf_ptr(f, table + 16ull * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Publishes head in the available ring (without kicking). */
static inline void vuf_publish(struct vuf *f, uint16_t head)
{
	uint16_t *ring = (uint16_t *)(f->a + VUF_AVAIL + 4);

	ring[f->avail_idx % f->num] = head;
	f->avail_idx++;
	__atomic_store_n((uint16_t *)(f->a + VUF_AVAIL + 2), f->avail_idx, __ATOMIC_RELEASE);
}

static inline void vuf_kick(struct vuf *f)
{
	uint64_t one = 1;

	g_assert_cmpint(write(f->kick, &one, 8), ==, 8);
}

/*
 * Builds a chain of n segments: direct descriptors from the allocator, or
 * one indirect table (in R1) referenced by a single descriptor.  Returns
 * the head.  Publishes and kicks.
 */
static inline uint16_t vuf_chain(struct vuf *f, const struct vuf_seg *s, unsigned n, bool indirect)
{
	uint16_t head = f->next_desc % f->num;

	if (indirect) {
		uint64_t table = vuf_alloc(f, 16 * n);

		for (unsigned i = 0; i < n; i++)
			vuf_desc(f, table, i, s[i].gpa, s[i].len,
				 (s[i].write ? VUF_D_WRITE : 0) | (i + 1 < n ? VUF_D_NEXT : 0), i + 1);
		vuf_desc(f, VUF_DESC, head, table, 16 * n, VUF_D_INDIRECT, 0);
		f->next_desc++;
	} else {
		g_assert_cmpuint(n, <=, f->num);
		for (unsigned i = 0; i < n; i++) {
			uint16_t d = (head + i) % f->num;

			vuf_desc(f, VUF_DESC, d, s[i].gpa, s[i].len,
				 (s[i].write ? VUF_D_WRITE : 0) | (i + 1 < n ? VUF_D_NEXT : 0),
				 (d + 1) % f->num);
		}
		f->next_desc += n;
	}
	vuf_publish(f, head);
	vuf_kick(f);
	return head;
}

/* Waits for the next used entry; false if none came (bounded wait). */
static inline bool vuf_wait_used(struct vuf *f, uint32_t *id, uint32_t *len)
{
	gint64 end = g_get_monotonic_time() + VUF_WAIT_MS * 1000ll;
	uint8_t *e;

	*id = *len = 0;
	while (vuf_used_idx(f) == f->used_seen) {
		struct pollfd p = { f->call, POLLIN, 0 };

		if (g_get_monotonic_time() > end)
			return false;
		/* Short polls: a device that rightly sends no interrupt
		 * (EVENT_IDX) still has its entries noticed. */
		poll(&p, 1, 10);
	}
	e = f->a + VUF_USED + 4 + 8 * (f->used_seen % f->num);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	f->used_seen++;
	return true;
}

/* Interrupts counted by the call eventfd since the last read (0 if none). */
static inline uint64_t vuf_calls(struct vuf *f)
{
	uint64_t v = 0;

	if (read(f->call, &v, 8) != 8)
		return 0;
	return v;
}

/* Waits for the queue's error eventfd; true if the device signalled it. */
static inline bool vuf_wait_err(struct vuf *f)
{
	struct pollfd p = { f->err, POLLIN, 0 };
	uint64_t v;

	if (poll(&p, 1, VUF_WAIT_MS) != 1)
		return false;
	return read(f->err, &v, 8) == 8 && v > 0;
}

/* ---- 9P on the ring ---- */

enum vuf_layout {
	VUF_SINGLE,        /* one readable and one writable buffer */
	VUF_SPLIT,         /* header and payload in separate buffers (zero-copy) */
	VUF_INDIRECT,      /* SPLIT through an indirect table */
	VUF_PAGES,         /* payload in scattered 4 KiB pieces, indirect, across R0/R1 and R2 */
};

/* Splits [gpa, gpa+len) into segments per layout; appends to s. */
static inline unsigned vuf_segs(struct vuf *f, enum vuf_layout l, uint64_t gpa, uint32_t len,
				uint32_t first, bool write, struct vuf_seg *s, unsigned n)
{
	if (l == VUF_SINGLE || len <= first) {
		s[n++] = (struct vuf_seg){ gpa, len, write };
		return n;
	}
	s[n++] = (struct vuf_seg){ gpa, first, write };
	gpa += first;
	len -= first;
	if (l != VUF_PAGES) {
		s[n++] = (struct vuf_seg){ gpa, len, write };
		return n;
	}
	while (len) {
		uint32_t k = MIN(len, 4096u);

		s[n++] = (struct vuf_seg){ gpa, k, write };
		gpa += k;
		len -= k;
	}
	return n;
}

/*
 * Sends T-message m with the given layout and returns the reply's length
 * (its frame copied to *rframe, g_free it) or -1 if no reply came.  `first`
 * is where the readable (and writable) buffers are split: Linux puts the
 * 9P header alone in the first buffer for zero-copy requests.
 */
static inline int vuf_rpc_raw(struct vuf *f, enum vuf_layout l, const uint8_t *frame, uint32_t flen,
			      uint32_t tfirst, uint32_t rcap, uint32_t rfirst, uint8_t **rframe,
			      uint16_t *head_out)
{
	static struct vuf_seg s[600];
	uint64_t out, in;
	unsigned n = 0;
	uint16_t head;
	uint32_t id, len;

	if (l == VUF_PAGES) {
		/* Payload pages alternate between R1 (spanning into it from R0's
		 * end for the first one) and R2. */
		out = VUF_R1 - 2048;
		in = VUF_R2 + 0x100000;
	} else {
		out = vuf_alloc(f, flen);
		in = vuf_alloc(f, rcap);
	}
	g_assert_cmpuint(out + flen, <=, VUF_A_SIZE);
	vuf_write_mem(f, out, frame, flen);
	memset(vuf_ptr(f, in), 0xAA, rcap);
	n = vuf_segs(f, l, out, flen, tfirst, false, s, n);
	n = vuf_segs(f, l, in, rcap, rfirst, true, s, n);
	g_assert_cmpuint(n, <=, G_N_ELEMENTS(s));
	head = vuf_chain(f, s, n, l == VUF_INDIRECT || l == VUF_PAGES);
	if (head_out)
		*head_out = head;
	if (!vuf_wait_used(f, &id, &len))
		return -1;
	g_assert_cmpuint(id, ==, head);
	g_assert_cmpuint(len, <=, rcap);
	*rframe = g_malloc(len ? len : 1);
	vuf_read_mem(f, in, *rframe, len);
	return (int)len;
}

/* Encodes m (tag from the frontend's counter), sends it, decodes the
 * reply into *r (pointing into *buf, g_free it). Returns the reply type. */
static inline int vuf_rpc(struct vuf *f, enum vuf_layout l, struct p9_msg *m, struct p9_msg *r,
			  uint8_t **buf)
{
	uint32_t cap = f->msize + 64;
	uint8_t *t = g_malloc(cap);
	int len, rlen;

	m->tag = f->tag++;
	if (m->tag == P9_NOTAG)
		m->tag = f->tag++;
	if (m->type == P9_TVERSION)
		m->tag = P9_NOTAG;
	len = p9_encode(t, cap, P9_DIALECT_2000L, m);
	g_assert_cmpint(len, >, 0);
	rlen = vuf_rpc_raw(f, l, t, (uint32_t)len, P9_IOHDR_SIZE - 1, f->msize, P9_RREAD_HDR, buf, NULL);
	g_free(t);
	g_assert_cmpint(rlen, >=, (int)P9_HDR_SIZE);
	g_assert_cmpint(p9_decode(*buf, (size_t)rlen, P9_DIALECT_2000L, r), ==, 0);
	g_assert_cmpuint(r->tag, ==, m->tag);
	return r->type;
}

/* Posts T-message m (single layout) without waiting; the reply buffer's
 * address goes to *in.  Returns the chain's head.  The caller sets m->tag. */
static inline uint16_t vuf_post(struct vuf *f, const struct p9_msg *m, uint64_t *in)
{
	uint8_t t[512];
	struct vuf_seg s[2];
	int len = p9_encode(t, sizeof(t), P9_DIALECT_2000L, m);

	g_assert_cmpint(len, >, 0);
	s[0] = (struct vuf_seg){ vuf_alloc(f, (uint32_t)len), (uint32_t)len, false };
	s[1] = (struct vuf_seg){ vuf_alloc(f, 4096), 4096, true };
	vuf_write_mem(f, s[0].gpa, t, (size_t)len);
	*in = s[1].gpa;
	return vuf_chain(f, s, 2, false);
}

/* Decodes a reply of len bytes at gpa (in *r, pointing into *buf). */
static inline int vuf_decode(struct vuf *f, uint64_t gpa, uint32_t len, struct p9_msg *r,
			     uint8_t **buf)
{
	*buf = g_malloc(len ? len : 1);
	vuf_read_mem(f, gpa, *buf, len);
	g_assert_cmpint(p9_decode(*buf, len, P9_DIALECT_2000L, r), ==, 0);
	return r->type;
}

/* Forgets the ring (as a driver resetting the device) and restarts it. */
static inline void vuf_reset_ring(struct vuf *f)
{
	memset(f->a + VUF_DESC, 0, VUF_HEAP - VUF_DESC);
	f->next_desc = 0;
	vuf_start_queue(f, 0);
}

/* Tversion + Tattach of fid 0. */
static inline void vuf_mount(struct vuf *f, uint32_t msize)
{
	struct p9_msg m = { .type = P9_TVERSION }, r;
	uint8_t *buf;

	m.u.version.msize = msize;
	m.u.version.version = p9_str_c("9P2000.L");
	f->msize = msize;
	g_assert_cmpint(vuf_rpc(f, VUF_SINGLE, &m, &r, &buf), ==, P9_RVERSION);
	g_assert_cmpuint(r.u.version.msize, <=, msize);
	f->msize = r.u.version.msize;
	g_free(buf);
	m = (struct p9_msg){ .type = P9_TATTACH };
	m.u.tattach.fid = 0;
	m.u.tattach.afid = P9_NOFID;
	m.u.tattach.uname = p9_str_c("root");
	m.u.tattach.aname = p9_str_c("");
	m.u.tattach.n_uname = 0;
	g_assert_cmpint(vuf_rpc(f, VUF_SINGLE, &m, &r, &buf), ==, P9_RATTACH);
	g_free(buf);
}

/* Twalk fid 0 -> newfid over one name; returns the reply type. */
static inline int vuf_walk(struct vuf *f, uint32_t newfid, const char *name)
{
	struct p9_msg m = { .type = P9_TWALK }, r;
	uint8_t *buf;
	int t;

	m.u.twalk.fid = 0;
	m.u.twalk.newfid = newfid;
	m.u.twalk.nwname = name ? 1 : 0;
	if (name)
		m.u.twalk.wname[0] = p9_str_c(name);
	t = vuf_rpc(f, VUF_SINGLE, &m, &r, &buf);
	g_free(buf);
	return t;
}

static inline int vuf_lopen(struct vuf *f, uint32_t fid, uint32_t flags)
{
	struct p9_msg m = { .type = P9_TLOPEN }, r;
	uint8_t *buf;
	int t;

	m.u.tlopen.fid = fid;
	m.u.tlopen.flags = flags;
	t = vuf_rpc(f, VUF_SINGLE, &m, &r, &buf);
	g_free(buf);
	return t;
}

/* Tread of up to max - 1 bytes at offset 0 of fid, as a string in out;
 * returns the reply type. */
static inline int vuf_read_text(struct vuf *f, uint32_t fid, char *out, size_t max)
{
	struct p9_msg m = { .type = P9_TREAD }, r;
	uint8_t *buf;
	int t;

	m.u.tread.fid = fid;
	m.u.tread.count = (uint32_t)max - 1;
	t = vuf_rpc(f, VUF_SINGLE, &m, &r, &buf);
	if (t == P9_RREAD) {
		g_assert_cmpuint(r.u.rread.count, <, max);
		memcpy(out, r.u.rread.data, r.u.rread.count);
		out[r.u.rread.count] = 0;
	}
	g_free(buf);
	return t;
}

/* A throwaway export holding "file" with "hello\n" (root only: the tests
 * using it serve it with passthrough); NULL, the test skipped, when not
 * root.  vuf_export_free() removes it. */
static inline char *vuf_export_new(void)
{
	char *dir, *file;

	if (geteuid() != 0) {
		g_test_skip("passthrough needs root");
		return NULL;
	}
	dir = g_dir_make_tmp("x9p-revive-XXXXXX", NULL);
	file = g_build_filename(dir, "file", NULL);
	g_assert_true(g_file_set_contents(file, "hello\n", -1, NULL));
	g_free(file);
	return dir;
}

static inline void vuf_export_free(char *dir)
{
	char *file = g_build_filename(dir, "file", NULL);

	unlink(file);
	rmdir(dir);
	g_free(file);
	g_free(dir);
}

#endif
