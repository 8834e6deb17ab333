// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Virtqueue life cycle and the per-queue I/O thread: start, pause, stop,
 * fault, chains in flight and their completion.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vu-int.h"

void vu_queue_init(struct vu_dev *d, struct vu_queue *q, unsigned index)
{
	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->index = index;
	q->kick_fd = q->call_fd = q->err_fd = q->stop_efd = -1;
	g_mutex_init(&q->lock);
	g_cond_init(&q->drained);
}

void vu_queue_destroy(struct vu_queue *q)
{
	vu_queue_reset(q);
	g_free(q->scratch);
	g_mutex_clear(&q->lock);
	g_cond_clear(&q->drained);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		g_debug("eventfd write: %s", g_strerror(errno));
}

/* Marks the queue broken, under its lock; whether it was not yet. */
static bool break_locked(struct vu_queue *q, const char *why)
{
	bool first = !q->broken;

	if (first)
		g_warning("%s: queue %u: guest driver fault: %s; the queue stops until the "
			  "device is reset", q->dev->label, q->index, why);
	q->broken = true;
	signal_fd(q->err_fd);
	return first;
}

/* The device class hears of it with no lock held. */
static void tell_fault(struct vu_queue *q, const char *why)
{
	if (q->dev->ops->fault)
		q->dev->ops->fault(q->dev->opaque, q->index, why);
}

/* Marks the queue broken; the caller holds no lock. */
static void queue_fault(struct vu_queue *q, const char *why)
{
	bool first;

	g_mutex_lock(&q->lock);
	first = break_locked(q, why);
	g_mutex_unlock(&q->lock);
	if (first)
		tell_fault(q, why);
}

static struct vu_elem *make_elem(struct vu_queue *q, const struct vring_chain *c)
{
	unsigned n = c->nout + c->nin;
	struct vu_elem *e;

	g_mutex_lock(&q->lock);
	/* A driver can have at most num chains outstanding, one per head. */
	if (q->inflight >= q->vr.num) {
		g_mutex_unlock(&q->lock);
		return NULL;
	}
	q->inflight++;
	g_mutex_unlock(&q->lock);

	e = g_malloc0(sizeof(*e) + sizeof(struct iovec) * (n ? n : 1));
	e->q = q;
	e->mem = vu_mem_ref(q->ring_mem);
	e->gen = q->gen;
	e->head = c->head;
	e->qindex = q->index;
	e->nout = c->nout;
	e->nin = c->nin;
	e->out_len = c->out_len;
	e->in_len = c->in_len;
	memcpy(e->iov, c->iov, sizeof(struct iovec) * n);
	e->out = e->iov;
	e->in = e->iov + c->nout;
	return e;
}

static bool is_broken(struct vu_queue *q)
{
	bool b;

	g_mutex_lock(&q->lock);
	b = q->broken;
	g_mutex_unlock(&q->lock);
	return b;
}

static void process(struct vu_queue *q)
{
	struct vu_dev *d = q->dev;
	const char *why = NULL;
	int r;

	if (is_broken(q))
		return;
	do {
		uint16_t slot = q->vr.last_avail_idx;

		while ((r = vring_pop(&q->vr, q->ring_mem, q->scratch, &why)) == 0) {
			struct vu_elem *e = make_elem(q, q->scratch);
			const char *ignored;

			if (!e) {
				queue_fault(q, "more chains in flight than the queue has entries");
				return;
			}
			e->slot = slot;
			slot = q->vr.last_avail_idx;
			e->last = vring_pending(&q->vr, &ignored) == 0;
			d->ops->handle(d->opaque, e);
			if (is_broken(q))
				return;
		}
		if (r != -EAGAIN) {
			queue_fault(q, why);
			return;
		}
	} while (vring_arm_kick(&q->vr));
}

static gpointer queue_thread(gpointer data)
{
	struct vu_queue *q = data;
	struct pollfd p[2] = { { q->kick_fd, POLLIN, 0 }, { q->stop_efd, POLLIN, 0 } };

	/* Buffers made available before the kick descriptor existed (a
	 * restart after a pause) would otherwise wait for the next kick. */
	process(q);
	for (;;) {
		uint64_t v;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			g_warning("%s: queue %u: poll: %s", q->dev->label, q->index, g_strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			if (read(q->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				g_debug("%s: queue %u: kick read: %s", q->dev->label, q->index,
					g_strerror(errno));
			process(q);
		} else if (p[0].revents) {
			g_warning("%s: queue %u: kick descriptor failed; waiting for a restart",
				  q->dev->label, q->index);
			p[0].fd = -1;
		}
	}
	return NULL;
}

void vu_queue_resume(struct vu_queue *q)
{
	if (q->thread || !q->started || !q->enabled || q->kick_fd < 0)
		return;
	q->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_efd < 0) {
		g_warning("%s: queue %u: eventfd: %s", q->dev->label, q->index, g_strerror(errno));
		return;
	}
	if (!q->scratch)
		q->scratch = g_new(struct vring_chain, 1);
	q->thread = g_thread_new("x9p-vq", queue_thread, q);
}

void vu_queue_pause(struct vu_queue *q)
{
	if (!q->thread)
		return;
	signal_fd(q->stop_efd);
	g_thread_join(q->thread);
	q->thread = NULL;
	close_fd(&q->stop_efd);
}

/* Points vr at the rings in q->dev->mem; the queue lock is held. */
static bool map_ring(struct vu_queue *q, const char **why)
{
	struct vu_mem *mem = q->dev->mem;
	unsigned num = q->num;
	void *desc, *avail, *used;

	desc = vu_mem_uva(mem, q->addr.desc_user_addr, vring_desc_size(num));
	avail = vu_mem_uva(mem, q->addr.avail_user_addr, vring_avail_size(num));
	used = vu_mem_uva(mem, q->addr.used_user_addr, vring_used_size(num));
	if (!desc || !avail || !used) {
		*why = "ring outside guest memory";
		return false;
	}
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3)) {
		*why = "misaligned ring";
		return false;
	}
	q->vr.desc = desc;
	q->vr.avail = avail;
	q->vr.used = used;
	vu_mem_unref(q->ring_mem);
	q->ring_mem = vu_mem_ref(mem);
	return true;
}

int vu_queue_start(struct vu_queue *q)
{
	struct vu_dev *d = q->dev;
	const char *why = NULL;
	uint16_t used_idx;
	bool adopted = q->adopted;

	/* Once: a later start is the frontend's, from its SET_VRING_BASE. */
	q->adopted = false;
	if (q->started || q->kick_fd < 0)
		return 0;
	if (!d->mem || !q->have_addr || !q->num) {
		g_warning("%s: queue %u: kicked before its memory, size or addresses were set",
			  d->label, q->index);
		return -EINVAL;
	}
	g_mutex_lock(&q->lock);
	memset(&q->vr, 0, sizeof(q->vr));
	q->vr.num = q->num;
	if (!map_ring(q, &why)) {
		/* The guest driver chose these addresses: its fault, this queue only. */
		bool first = break_locked(q, why);

		g_mutex_unlock(&q->lock);
		if (first)
			tell_fault(q, why);
		return -EFAULT;
	}
	memcpy(&used_idx, q->vr.used + 2, sizeof(used_idx));
	/* Taken over from an earlier process: where the guest sees the device,
	 * as a frontend that lost its backend assumes (ops->starting may know
	 * better). */
	if (adopted)
		q->base = used_idx;
	q->vr.last_avail_idx = q->base;
	q->vr.used_idx = used_idx;
	q->vr.event_idx = d->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->vr.indirect = d->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->inflight = 0;
	q->broken = false;
	q->started = true;
	g_mutex_unlock(&q->lock);
	if (d->ops->starting) {
		uint16_t next = d->ops->starting(d->opaque, q, q->base);

		g_mutex_lock(&q->lock);
		q->vr.last_avail_idx = next;
		g_mutex_unlock(&q->lock);
	}
	if (!(d->features & (1ull << VU_F_PROTOCOL_FEATURES)))
		q->enabled = true;
	g_debug("%s: queue %u started: %u entries from %u, event_idx %d, indirect %d",
		d->label, q->index, q->num, q->base, q->vr.event_idx, q->vr.indirect);
	vu_queue_resume(q);
	return 0;
}

void vu_queue_remap(struct vu_queue *q)
{
	const char *why = NULL;
	bool first = false;

	g_mutex_lock(&q->lock);
	/* Broken in the same critical section: no thread uses the old ring
	 * after the check. */
	if (q->started && !q->broken && !map_ring(q, &why))
		first = break_locked(q, why);
	g_mutex_unlock(&q->lock);
	if (first)
		tell_fault(q, why);
}

uint16_t vu_queue_stop(struct vu_queue *q, unsigned grace_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)grace_ms * 1000;
	uint16_t base;

	vu_queue_pause(q);
	g_mutex_lock(&q->lock);
	if (!q->started) {
		base = q->base;
	} else {
		while (q->inflight > 0 && g_cond_wait_until(&q->drained, &q->lock, deadline))
			;
		if (q->inflight > 0)
			g_warning("%s: queue %u stopped with %u requests in flight: their replies "
				  "will not reach the guest", q->dev->label, q->index, q->inflight);
		base = q->vr.last_avail_idx;
	}
	q->gen++;
	q->inflight = 0;
	q->started = false;
	q->broken = false;
	q->base = base;
	g_mutex_unlock(&q->lock);
	close_fd(&q->kick_fd);
	vu_mem_unref(q->ring_mem);
	q->ring_mem = NULL;
	g_debug("%s: queue %u stopped at %u", q->dev->label, q->index, base);
	return base;
}

void vu_queue_reset(struct vu_queue *q)
{
	vu_queue_pause(q);
	g_mutex_lock(&q->lock);
	q->gen++;
	q->inflight = 0;
	q->started = false;
	q->broken = false;
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	g_mutex_unlock(&q->lock);
	close_fd(&q->kick_fd);
	vu_mem_unref(q->ring_mem);
	q->ring_mem = NULL;
	q->num = 0;
	q->base = 0;
	q->have_addr = false;
	q->enabled = false;
	q->adopted = false;
}

void vu_queue_set_call(struct vu_queue *q, int fd)
{
	g_mutex_lock(&q->lock);
	close_fd(&q->call_fd);
	q->call_fd = fd;
	g_mutex_unlock(&q->lock);
}

void vu_queue_set_err(struct vu_queue *q, int fd)
{
	g_mutex_lock(&q->lock);
	close_fd(&q->err_fd);
	q->err_fd = fd;
	if (q->broken)
		signal_fd(fd);
	g_mutex_unlock(&q->lock);
}

/* ---- chains ---- */

unsigned vu_queue_index(const struct vu_queue *q)
{
	return q->index;
}

unsigned vu_queue_size(const struct vu_queue *q)
{
	return q->vr.num;
}

uint16_t vu_queue_used_idx(const struct vu_queue *q)
{
	return vring_used_published(&q->vr);
}

struct vu_elem *vu_queue_chain(struct vu_queue *q, uint16_t head, uint16_t slot,
			       const char **why)
{
	struct vu_elem *e;

	if (!q->scratch)
		q->scratch = g_new(struct vring_chain, 1);
	if (vring_chain(&q->vr, q->ring_mem, head, q->scratch, why) < 0)
		return NULL;
	e = make_elem(q, q->scratch);
	if (!e) {
		*why = "more chains in flight than the queue has entries";
		return NULL;
	}
	e->slot = slot;
	return e;
}

void vu_elem_complete(struct vu_elem *e, uint32_t len)
{
	vu_elem_complete_noted(e, len, NULL, NULL);
}

bool vu_elem_complete_noted(struct vu_elem *e, uint32_t len,
			    void (*note)(void *arg, uint16_t used_idx), void *arg)
{
	struct vu_queue *q = e->q;
	bool published = false;

	g_mutex_lock(&q->lock);
	if (!e->done) {
		e->done = true;
		if (e->gen == q->gen) {
			q->inflight--;
			if (q->started && !q->broken) {
				if (note)
					note(arg, (uint16_t)(q->vr.used_idx + 1));
				vring_push(&q->vr, e->head, len);
				published = true;
				if (vring_should_notify(&q->vr))
					signal_fd(q->call_fd);
			}
			if (q->inflight == 0)
				g_cond_broadcast(&q->drained);
		}
	}
	g_mutex_unlock(&q->lock);
	return published;
}

void vu_elem_fault(struct vu_elem *e, const char *why)
{
	queue_fault(e->q, why);
}

void vu_elem_free(struct vu_elem *e)
{
	struct vu_queue *q;

	if (!e)
		return;
	q = e->q;
	g_mutex_lock(&q->lock);
	if (!e->done && e->gen == q->gen) {
		q->inflight--;
		if (q->inflight == 0)
			g_cond_broadcast(&q->drained);
	}
	e->done = true;
	g_mutex_unlock(&q->lock);
	vu_mem_unref(e->mem);
	g_free(e);
}

/* ---- copying ---- */

size_t vu_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = MIN(l - off, len - done);
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vu_buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = MIN(l - off, len - done);
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, k);
		done += k;
		off = 0;
	}
	return done;
}

int vu_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		 struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len, c;

		if (off >= l) {
			off -= l;
			continue;
		}
		if (k >= max)
			return -1;
		c = MIN(l - off, len);
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = c;
		k++;
		len -= c;
		off = 0;
	}
	return len ? -1 : (int)k;
}
