// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vhost-user control protocol: one handler per request, feature and
 * configuration negotiation, memory tables, and connection life cycle.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontend.h"
#include "vu-int.h"

#define DEFAULT_STOP_GRACE_MS 5000

/* What every vhost-user backend offers besides the device's own bits. */
#define TRANSPORT_FEATURES ((1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
			    (1ull << VIRTIO_RING_F_EVENT_IDX) | \
			    (1ull << VIRTIO_F_VERSION_1) | \
			    (1ull << VU_F_PROTOCOL_FEATURES))
#define PROTOCOL_FEATURES ((1ull << VU_PROTOCOL_F_MQ) | \
			   (1ull << VU_PROTOCOL_F_REPLY_ACK) | \
			   (1ull << VU_PROTOCOL_F_CONFIG))

/* Handler result: OK, a failure reported to the frontend (REPLY_ACK), or a
 * protocol violation that ends the connection. */
enum { H_OK = 0, H_FAIL = 1, H_FATAL = 2 };

struct vu_dev *vu_dev_new(const struct vu_dev_cfg *cfg)
{
	struct vu_dev *d = g_new0(struct vu_dev, 1);

	g_return_val_if_fail(cfg->config_len <= VU_MAX_CONFIG_SIZE, NULL);
	g_return_val_if_fail(cfg->nqueues >= 1 && cfg->nqueues <= VU_MAX_QUEUES, NULL);
	d->label = g_strdup(cfg->label ? cfg->label : "vhost");
	d->ops = cfg->ops;
	d->opaque = cfg->opaque;
	d->dev_features = cfg->features;
	memcpy(d->config, cfg->config, cfg->config_len);
	d->config_len = cfg->config_len;
	d->nqueues = cfg->nqueues;
	d->stop_grace_ms = cfg->stop_grace_ms ? cfg->stop_grace_ms : DEFAULT_STOP_GRACE_MS;
	d->sock = -1;
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		vu_queue_init(d, &d->q[i], i);
	return d;
}

void vu_dev_free(struct vu_dev *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		vu_queue_destroy(&d->q[i]);
	vu_state_clear_mem(d);
	vu_mem_unref(d->mem);
	g_free(d->label);
	g_free(d);
}

uint64_t vu_dev_features(const struct vu_dev *d)
{
	return d->dev_features | TRANSPORT_FEATURES;
}

void vu_dev_set_mem(struct vu_dev *d, struct vu_mem *mem)
{
	/* Running queues switch over with their I/O threads paused; chains in
	 * flight keep the old mapping alive until they finish. */
	for (unsigned i = 0; i < d->nqueues; i++)
		vu_queue_pause(&d->q[i]);
	vu_mem_unref(d->mem);
	d->mem = mem;
	for (unsigned i = 0; i < d->nqueues; i++) {
		vu_queue_remap(&d->q[i]);
		vu_queue_resume(&d->q[i]);
	}
}

static void stop_queues(struct vu_dev *d, bool handover)
{
	for (unsigned i = 0; i < d->nqueues; i++)
		vu_queue_reset(&d->q[i]);
	/* Queues no longer touch the rings; now end the device class's work. */
	d->ops->reset(d->opaque, handover);
	d->features = 0;
}

void vu_dev_stop_queues(struct vu_dev *d)
{
	stop_queues(d, false);
}

static void forget_frontend(struct vu_dev *d)
{
	vu_state_clear_mem(d);
	vu_mem_unref(d->mem);
	d->mem = NULL;
	d->protocol_features = 0;
}

/* Stops everything and forgets the frontend's settings. */
static void reset_device(struct vu_dev *d)
{
	stop_queues(d, false);
	forget_frontend(d);
}

void vu_dev_reset_all(struct vu_dev *d)
{
	reset_device(d);
}

bool vu_dev_handover(struct vu_dev *d)
{
	if (!d->keep)
		return false;
	/* The replies of what is in flight still reach the guest. */
	for (unsigned i = 0; i < d->nqueues; i++)
		vu_queue_stop(&d->q[i], d->stop_grace_ms);
	stop_queues(d, true);
	return true;
}


static struct vu_queue *queue_of(struct vu_dev *d, uint32_t index)
{
	if (index >= d->nqueues) {
		g_warning("%s: frontend named queue %u (the device has %u)", d->label, index,
			  d->nqueues);
		return NULL;
	}
	return &d->q[index];
}

static bool payload_ok(struct vu_dev *d, const struct vu_msg *m, size_t need)
{
	if (m->size < need) {
		g_warning("%s: %s with %u payload bytes (needs %zu)", d->label,
			  vu_request_name(m->request), m->size, need);
		return false;
	}
	return true;
}

static int reply(struct vu_dev *d, const struct vu_msg *m, const void *p, uint32_t size)
{
	int err = vu_msg_reply(d->sock, m, p, size);

	if (err < 0) {
		g_info("%s: replying to %s: %s", d->label, vu_request_name(m->request),
		       g_strerror(-err));
		return H_FATAL;
	}
	return H_OK;
}

static int reply_u64(struct vu_dev *d, const struct vu_msg *m, uint64_t v)
{
	return reply(d, m, &v, sizeof(v));
}

static int set_features(struct vu_dev *d, struct vu_msg *m)
{
	uint64_t f = m->payload.u64;

	if (!payload_ok(d, m, 8))
		return H_FATAL;
	if (f & ~vu_dev_features(d)) {
		g_warning("%s: frontend acked features %#llx that were not offered (%#llx)",
			  d->label, (unsigned long long)f, (unsigned long long)vu_dev_features(d));
		return H_FAIL;
	}
	for (unsigned i = 0; i < d->nqueues; i++) {
		if (d->q[i].started) {
			g_warning("%s: SET_FEATURES while queue %u runs", d->label, i);
			return H_FAIL;
		}
	}
	d->features = f;
	g_debug("%s: features %#llx", d->label, (unsigned long long)f);
	return H_OK;
}

static int set_mem_table(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_mem *mem;
	GError *err = NULL;
	int fds[VU_MAX_FDS];
	int nfds = m->nfds;
	struct vu_mem_src src[VU_MAX_MEM_REGIONS];
	unsigned nsrc = 0;

	if (!payload_ok(d, m, 8))
		return H_FATAL;
	for (int i = 0; i < nfds; i++)
		fds[i] = vu_msg_take_fd(m, i);
	m->nfds = 0;
	if (m->payload.memory.nregions <= VU_MAX_MEM_REGIONS &&
	    m->size < 8 + 32 * m->payload.memory.nregions) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		g_warning("%s: SET_MEM_TABLE payload shorter than its regions", d->label);
		return H_FATAL;
	}
	/* Copies of the descriptors, for a keeper (vu-state.c). */
	for (int i = 0; d->keep && i < nfds && (unsigned)i < m->payload.memory.nregions &&
			 i < VU_MAX_MEM_REGIONS; i++) {
		const struct vu_mem_region_msg *a = &m->payload.memory.regions[i];

		src[i] = (struct vu_mem_src){ .gpa = a->guest_phys_addr, .size = a->memory_size,
					      .uva = a->userspace_addr, .offset = a->mmap_offset,
					      .fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3) };
		nsrc++;
	}
	mem = vu_mem_new(&m->payload.memory, fds, nfds, &err);
	if (!mem) {
		g_warning("%s: SET_MEM_TABLE: %s", d->label, err->message);
		g_error_free(err);
		for (unsigned i = 0; i < nsrc; i++)
			if (src[i].fd >= 0)
				close(src[i].fd);
		return H_FAIL;
	}
	vu_dev_set_mem(d, mem);
	vu_state_clear_mem(d);
	memcpy(d->mem_src, src, sizeof(src[0]) * nsrc);
	d->mem_nsrc = nsrc;
	g_debug("%s: memory table with %u regions", d->label, mem->nregions);
	return H_OK;
}

static int set_vring_num(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;
	uint32_t n = m->payload.state.num;

	if (!payload_ok(d, m, 8) || !(q = queue_of(d, m->payload.state.index)))
		return H_FAIL;
	if (q->started || n == 0 || n > VRING_MAX_NUM || (n & (n - 1))) {
		g_warning("%s: queue %u: bad size %u%s", d->label, q->index, n,
			  q->started ? " (queue running)" : "");
		return H_FAIL;
	}
	q->num = n;
	return H_OK;
}

static int set_vring_base(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;

	if (!payload_ok(d, m, 8) || !(q = queue_of(d, m->payload.state.index)))
		return H_FAIL;
	if (q->started || m->payload.state.num > 0xffff) {
		g_warning("%s: queue %u: SET_VRING_BASE %u refused", d->label, q->index,
			  m->payload.state.num);
		return H_FAIL;
	}
	q->base = (uint16_t)m->payload.state.num;
	return H_OK;
}

static int set_vring_addr(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;

	if (!payload_ok(d, m, sizeof(struct vu_vring_addr)) ||
	    !(q = queue_of(d, m->payload.addr.index)))
		return H_FAIL;
	vu_queue_pause(q);
	q->addr = m->payload.addr;
	q->have_addr = true;
	vu_queue_remap(q);
	vu_queue_resume(q);
	return H_OK;
}

static int get_vring_base(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_vring_state st;
	struct vu_queue *q;

	if (!payload_ok(d, m, 8) || !(q = queue_of(d, m->payload.state.index)))
		return H_FATAL;     /* it needs an answer we cannot give */
	st.index = q->index;
	st.num = vu_queue_stop(q, d->stop_grace_ms);
	return reply(d, m, &st, sizeof(st));
}

/* SET_VRING_KICK/CALL/ERR: index, "no descriptor" flag, descriptor. */
static struct vu_queue *fd_msg(struct vu_dev *d, struct vu_msg *m, int *fd)
{
	struct vu_queue *q;
	bool nofd = m->payload.u64 & VU_VRING_NOFD_MASK;

	*fd = -1;
	if (!payload_ok(d, m, 8) || !(q = queue_of(d, (uint32_t)(m->payload.u64 & VU_VRING_IDX_MASK))))
		return NULL;
	if (!nofd) {
		if (m->nfds != 1) {
			g_warning("%s: %s without its descriptor", d->label, vu_request_name(m->request));
			return NULL;
		}
		*fd = vu_msg_take_fd(m, 0);
	}
	return q;
}

static int set_vring_kick(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;
	int fd;

	if (!(q = fd_msg(d, m, &fd)))
		return H_FAIL;
	if (fd < 0) {
		/* Polling mode would need a thread spinning on the ring. */
		g_warning("%s: queue %u: polling mode (no kick descriptor) is not supported",
			  d->label, q->index);
		return H_FAIL;
	}
	vu_queue_pause(q);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	if (q->started) {
		vu_queue_resume(q);
		return H_OK;
	}
	return vu_queue_start(q) == -EINVAL ? H_FAIL : H_OK;
}

static int set_vring_call(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;
	int fd;

	if (!(q = fd_msg(d, m, &fd)))
		return H_FAIL;
	vu_queue_set_call(q, fd);
	return H_OK;
}

static int set_vring_err(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;
	int fd;

	if (!(q = fd_msg(d, m, &fd)))
		return H_FAIL;
	vu_queue_set_err(q, fd);
	return H_OK;
}

static int set_vring_enable(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_queue *q;

	if (!payload_ok(d, m, 8) || !(q = queue_of(d, m->payload.state.index)))
		return H_FAIL;
	if (m->payload.state.num > 1)
		return H_FAIL;
	q->enabled = m->payload.state.num;
	if (q->enabled)
		vu_queue_resume(q);
	else
		vu_queue_pause(q);
	return H_OK;
}

static int get_config(struct vu_dev *d, struct vu_msg *m)
{
	struct vu_config_msg c;
	uint32_t off = m->payload.config.offset, size = m->payload.config.size;

	if (!payload_ok(d, m, VU_CONFIG_HDR_SIZE))
		return H_FATAL;
	memset(&c, 0, sizeof(c));
	c.offset = off;
	c.flags = m->payload.config.flags;
	/* Beyond the device's own bytes the space reads as zero, as a larger
	 * config_size on the frontend's command line would expect. */
	if (off <= VU_MAX_CONFIG_SIZE && size <= VU_MAX_CONFIG_SIZE - off) {
		c.size = size;
		if (off < d->config_len)
			memcpy(c.region, d->config + off, MIN(size, d->config_len - off));
	} else {
		g_warning("%s: GET_CONFIG of %u bytes at %u is out of range", d->label, size, off);
		c.size = 0;
	}
	return reply(d, m, &c, VU_CONFIG_HDR_SIZE + c.size);
}

static int set_config(struct vu_dev *d, struct vu_msg *m)
{
	/* The virtio-9p configuration (the mount tag) is read-only. */
	g_info("%s: SET_CONFIG refused: the configuration is read-only", d->label);
	return H_FAIL;
}

/* Returns H_OK, H_FAIL or H_FATAL; *replied when the handler answered. */
/* Whether a request may change what vu-state.c saves. */
static bool changes_setup(uint32_t request)
{
	switch (request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
	case VU_GET_CONFIG:
	case VU_SET_CONFIG:
	case VU_SET_OWNER:
		return false;
	default:
		return true;
	}
}

static int dispatch(struct vu_dev *d, struct vu_msg *m, bool *replied)
{
	*replied = false;
	switch (m->request) {
	case VU_GET_FEATURES:
		*replied = true;
		return reply_u64(d, m, vu_dev_features(d));
	case VU_SET_FEATURES:
		return set_features(d, m);
	case VU_GET_PROTOCOL_FEATURES:
		*replied = true;
		return reply_u64(d, m, PROTOCOL_FEATURES);
	case VU_SET_PROTOCOL_FEATURES:
		if (!payload_ok(d, m, 8))
			return H_FATAL;
		if (m->payload.u64 & ~PROTOCOL_FEATURES) {
			g_warning("%s: protocol features %#llx were not offered", d->label,
				  (unsigned long long)m->payload.u64);
			return H_FAIL;
		}
		d->protocol_features = m->payload.u64;
		return H_OK;
	case VU_GET_QUEUE_NUM:
		*replied = true;
		return reply_u64(d, m, d->nqueues);
	case VU_SET_OWNER:
		return H_OK;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		g_info("%s: %s: the device starts over", d->label, vu_request_name(m->request));
		reset_device(d);
		return H_OK;
	case VU_SET_MEM_TABLE:
		return set_mem_table(d, m);
	case VU_SET_VRING_NUM:
		return set_vring_num(d, m);
	case VU_SET_VRING_ADDR:
		return set_vring_addr(d, m);
	case VU_SET_VRING_BASE:
		return set_vring_base(d, m);
	case VU_GET_VRING_BASE:
		*replied = true;
		return get_vring_base(d, m);
	case VU_SET_VRING_KICK:
		return set_vring_kick(d, m);
	case VU_SET_VRING_CALL:
		return set_vring_call(d, m);
	case VU_SET_VRING_ERR:
		return set_vring_err(d, m);
	case VU_SET_VRING_ENABLE:
		return set_vring_enable(d, m);
	case VU_GET_CONFIG:
		*replied = true;
		return get_config(d, m);
	case VU_SET_CONFIG:
		return set_config(d, m);
	default:
		/* Nothing offered leads a correct frontend here. */
		g_warning("%s: unsupported request %u (%s)", d->label, m->request,
			  vu_request_name(m->request));
		return H_FAIL;
	}
}

int vu_dev_serve(struct vu_dev *d, int sock, int stop_fd, int reject_fd)
{
	struct vu_msg *m = g_new0(struct vu_msg, 1);
	bool handover = false;
	int ret = 0;

	d->sock = sock;
	vu_state_save(d);
	for (;;) {
		bool replied;
		int h, err = frontend_wait(sock, stop_fd, reject_fd, -1, d->label);

		if (err != FRONTEND_MESSAGE) {
			ret = err < 0 ? err : 0;
			handover = err == FRONTEND_STOP;
			break;
		}
		err = vu_msg_recv(sock, m);
		if (err == -ECONNRESET) {
			g_info("%s: the frontend disconnected", d->label);
			break;
		}
		if (err < 0) {
			g_warning("%s: broken vhost-user message: %s", d->label, g_strerror(-err));
			ret = err == -EPROTO ? -EPROTO : err;
			break;
		}
		g_debug("%s: %s (%u bytes, %d fds, flags %#x)", d->label,
			vu_request_name(m->request), m->size, m->nfds, m->flags);
		h = dispatch(d, m, &replied);
		vu_msg_close_fds(m);
		if (h == H_FATAL) {
			ret = -EPROTO;
			break;
		}
		if (h == H_FAIL)
			g_info("%s: %s failed", d->label, vu_request_name(m->request));
		if (changes_setup(m->request))
			vu_state_save(d);
		if (!replied && (m->flags & VU_FLAG_NEED_REPLY) &&
		    (d->protocol_features & (1ull << VU_PROTOCOL_F_REPLY_ACK)) &&
		    reply_u64(d, m, h == H_OK ? 0 : 1) != H_OK) {
			ret = -EPIPE;
			break;
		}
	}
	/* Handed over: the rings and the connection are left as they are for
	 * whoever serves them next. */
	if (handover && vu_dev_handover(d)) {
		forget_frontend(d);
	} else {
		vu_state_drop(d);
		reset_device(d);
	}
	close(sock);
	d->sock = -1;
	g_free(m);
	return ret;
}
