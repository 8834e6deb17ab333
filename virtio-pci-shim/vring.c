// SPDX-License-Identifier: GPL-2.0-or-later
/* Split virtqueue mechanics; see vring.h. */
#include <errno.h>
#include <string.h>

#include "vring.h"

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One private copy of a descriptor: the compiler barrier keeps it from
 * reading the shared original again later. */
static void read_desc(const uint8_t *table, unsigned i, struct desc *d)
{
	memcpy(d, table + 16u * i, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

/* avail: flags[2] idx[2] ring[num][2] used_event[2] */
static uint16_t avail_idx(const struct vring *vr) { return load16(vr->avail + 2); }
static uint16_t avail_flags(const struct vring *vr) { return load16(vr->avail); }
static uint16_t avail_ring(const struct vring *vr, unsigned i) { return load16(vr->avail + 4 + 2 * i); }
static uint16_t used_event(const struct vring *vr) { return load16(vr->avail + 4 + 2 * vr->num); }

int vring_pending(struct vring *vr, const char **why)
{
	uint16_t n = (uint16_t)(avail_idx(vr) - vr->last_avail_idx);

	if (n > vr->num) {
		*why = "available index moved by more than the queue size";
		return -EPROTO;
	}
	return n;
}

static int add_buf(const struct vu_mem *mem, struct vring_chain *c, const struct desc *d,
		   bool *seen_write, const char **why)
{
	unsigned n = c->nout + c->nin;
	int err;

	if (d->flags & VRING_DESC_F_WRITE) {
		*seen_write = true;
	} else if (*seen_write) {
		*why = "readable descriptor after a writable one";
		return -EPROTO;
	}
	err = vu_mem_gpa_iov(mem, d->addr, d->len, c->iov, &n, VRING_MAX_IOV);
	if (err == -E2BIG) {
		*why = "chain has too many buffers";
		return -EPROTO;
	}
	if (err < 0) {
		*why = "buffer outside guest memory";
		return -EPROTO;
	}
	if (d->flags & VRING_DESC_F_WRITE) {
		c->nin = n - c->nout;
		c->in_len += d->len;
	} else {
		c->nout = n;
		c->out_len += d->len;
	}
	return 0;
}

int vring_pop(struct vring *vr, const struct vu_mem *mem, struct vring_chain *c,
	      const char **why)
{
	unsigned i;
	int pending = vring_pending(vr, why);

	if (pending < 0)
		return pending;
	if (pending == 0)
		return -EAGAIN;
	/* The entry is read after the index that published it (acquire). */
	i = avail_ring(vr, vr->last_avail_idx % vr->num);
	vr->last_avail_idx++;
	return vring_chain(vr, mem, (uint16_t)i, c, why);
}

int vring_chain(struct vring *vr, const struct vu_mem *mem, uint16_t head,
		struct vring_chain *c, const char **why)
{
	const uint8_t *table = vr->desc;
	unsigned max = vr->num, count = 0, i = head;
	bool indirect = false, seen_write = false;
	struct desc d;

	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	if (i >= vr->num) {
		*why = "head index out of range";
		return -EPROTO;
	}
	for (;;) {
		if (++count > max) {
			*why = indirect ? "chain longer than its indirect table (loop?)" :
				"chain longer than the queue (loop?)";
			return -EPROTO;
		}
		read_desc(table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vr->indirect) {
				*why = "indirect descriptor without the feature";
				return -EPROTO;
			}
			if (indirect || count != 1 || (d.flags & VRING_DESC_F_NEXT)) {
				*why = "nested or chained indirect descriptor";
				return -EPROTO;
			}
			if (d.len == 0 || d.len % 16 || d.len / 16 > VRING_MAX_INDIRECT) {
				*why = "indirect table of a bad size";
				return -EPROTO;
			}
			table = vu_mem_gpa(mem, d.addr, d.len);
			if (!table) {
				*why = "indirect table outside guest memory";
				return -EPROTO;
			}
			indirect = true;
			max = d.len / 16;
			count = 0;
			i = 0;
			continue;
		}
		if (add_buf(mem, c, &d, &seen_write, why) < 0)
			return -EPROTO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= max) {
			*why = "next index out of range";
			return -EPROTO;
		}
	}
}

uint16_t vring_used_published(const struct vring *vr)
{
	return load16(vr->used + 2);
}

void vring_push(struct vring *vr, uint16_t head, uint32_t len)
{
	/* used: flags[2] idx[2] ring[num]{id[4] len[4]} avail_event[2] */
	uint8_t *e = vr->used + 4 + 8u * (vr->used_idx % vr->num);
	uint32_t id = head;

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	vr->used_idx++;
	/* Release: the entry is visible before the index that publishes it. */
	store16(vr->used + 2, vr->used_idx);
}

bool vring_should_notify(struct vring *vr)
{
	uint16_t old, new, event;
	bool valid = vr->signalled_valid;

	/* The used index store must be visible before the guest's wishes are
	 * read, or an interrupt it asked for in between could be missed. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vr->event_idx)
		return !(avail_flags(vr) & VRING_AVAIL_F_NO_INTERRUPT);
	old = vr->signalled_used;
	new = vr->signalled_used = vr->used_idx;
	vr->signalled_valid = true;
	if (!valid)
		return true;
	event = used_event(vr);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool vring_arm_kick(struct vring *vr)
{
	if (!vr->event_idx)
		return false;
	store16(vr->used + 4 + 8u * vr->num, vr->last_avail_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(vr) != vr->last_avail_idx;
}
