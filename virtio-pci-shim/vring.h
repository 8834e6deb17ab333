/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues (virtio 1.x section 2.7) as seen by the device.
 *
 * Contract:
 *  - The ring lives in guest memory, which the guest may change at any
 *    moment: every field is read exactly once into private memory before
 *    it is checked and used, and nothing read from the ring is trusted.
 *  - vring_pop() walks one descriptor chain (direct, or one indirect table
 *    referenced by the head descriptor) and translates every buffer
 *    through the memory table.  Faults of the guest driver are reported as
 *    -EPROTO with a reason: a head or next index out of range, a chain
 *    longer than the queue or its indirect table (which catches loops), a
 *    nested or chained indirect descriptor, an indirect table when the
 *    feature was not negotiated or of a bad size, a readable descriptor
 *    after a writable one, any buffer outside guest memory, more available
 *    entries than the queue has.  After a fault the ring must not be used
 *    until it is reset.
 *  - Not thread-safe by itself: one thread pops (the queue's I/O thread)
 *    and pushes are serialized by the caller.
 */
#ifndef X9P_VRING_H
#define X9P_VRING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vu-mem.h"

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VRING_MAX_NUM 32768
#define VRING_MAX_INDIRECT 1024
#define VRING_MAX_IOV 1024      /* iovecs per chain, both directions together */

struct vring {
	unsigned num;
	uint8_t *desc, *avail, *used;   /* host pointers into guest memory */
	uint16_t last_avail_idx;        /* next entry to pop */
	uint16_t used_idx;              /* next used entry to write (never read back) */
	uint16_t signalled_used;
	bool signalled_valid;
	bool event_idx, indirect;
};

struct vring_chain {
	uint16_t head;
	unsigned nout, nin;             /* readable, then writable buffers */
	uint64_t out_len, in_len;       /* their total sizes */
	struct iovec iov[VRING_MAX_IOV];   /* out first, then in */
};

/* Bytes each ring part occupies for a queue of num entries. */
static inline uint64_t vring_desc_size(unsigned num) { return 16ull * num; }
static inline uint64_t vring_avail_size(unsigned num) { return 6ull + 2ull * num; }
static inline uint64_t vring_used_size(unsigned num) { return 6ull + 8ull * num; }

/*
 * Entries available and not yet popped: >= 0, or -EPROTO (*why set) when
 * the guest claims more than the queue holds.
 */
int vring_pending(struct vring *vr, const char **why);
/*
 * Pops the next chain into *c.  0, -EAGAIN when none is available, or
 * -EPROTO with a reason in *why (the chain is consumed either way).
 */
int vring_pop(struct vring *vr, const struct vu_mem *mem, struct vring_chain *c,
	      const char **why);
/* Walks the chain at head as vring_pop() does, without touching the
 * available ring (a chain popped by an earlier process, still the
 * device's). */
int vring_chain(struct vring *vr, const struct vu_mem *mem, uint16_t head,
		struct vring_chain *c, const char **why);
/* The used index as the guest sees it in its memory. */
uint16_t vring_used_published(const struct vring *vr);
/* Publishes one used entry (head, bytes written). */
void vring_push(struct vring *vr, uint16_t head, uint32_t len);
/* Whether the guest wants an interrupt for what was pushed since the last
 * call (EVENT_IDX, else the NO_INTERRUPT flag). */
bool vring_should_notify(struct vring *vr);
/* EVENT_IDX: asks for a kick when entry `idx` becomes available; then
 * returns true if entries are already pending (the caller must pop again). */
bool vring_arm_kick(struct vring *vr);

#endif
