/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user backend device: the control protocol on the frontend's
 * socket, guest memory, and one I/O thread per running virtqueue that pops
 * descriptor chains and hands them to the device class (ops->handle).
 *
 * Contract:
 *  - vu_dev_serve() runs the protocol on one connected socket until the
 *    frontend disconnects, breaks the protocol, or stop_fd becomes
 *    readable.  On return every queue is stopped, ops->reset() has run and
 *    the device is ready for the next frontend (reconnection).
 *  - Chains reach ops->handle() on the queue's I/O thread as a vu_elem.
 *    The device class completes each one exactly once with
 *    vu_elem_complete() (from any thread), and frees it with
 *    vu_elem_free() when it no longer touches its buffers (which may be
 *    after the completion: the memory stays mapped until then).
 *  - A guest-driver fault (bad ring or chain, or vu_elem_fault() from the
 *    device class) breaks that queue only: it is logged, the error eventfd
 *    (SET_VRING_ERR) is signalled, and the queue is not processed again
 *    until the frontend stops and restarts it (the device's NEEDS_RESET).
 *  - GET_VRING_BASE (queue stop) waits up to stop_grace_ms for the chains
 *    in flight to complete, so that their replies reach the guest; chains
 *    still in flight after that are orphaned: their completions are
 *    dropped and the ring is never touched again after the reply.
 *  - Disconnect, RESET_OWNER and RESET_DEVICE stop every queue and call
 *    ops->reset(), which must end everything the device class has in
 *    flight (completions after it are ignored) before it returns.
 */
#ifndef X9P_VU_DEV_H
#define X9P_VU_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vu-mem.h"

struct vu_queue;

struct vu_elem {
	struct vu_queue *q;
	struct vu_mem *mem;          /* keeps the buffers mapped */
	uint64_t gen;
	uint16_t head;
	uint16_t slot;               /* the available-ring index it was popped at */
	unsigned qindex;             /* its queue */
	bool done;                   /* completed or orphaned */
	bool last;                   /* no other chain was available when popped */
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct iovec *out, *in;      /* readable, writable (into iov) */
	struct iovec iov[];
};

struct vu_dev_ops {
	/* A popped chain; runs on the queue's I/O thread. */
	void (*handle)(void *opaque, struct vu_elem *e);
	/*
	 * The frontend went away or reset the device (control thread); with
	 * handover, the device stops instead (vu_dev_serve's stop_fd) and
	 * what it serves may be taken over by a later process.
	 */
	void (*reset)(void *opaque, bool handover);
	/*
	 * Optional: queue q is about to be processed from available index
	 * base (control thread; its I/O thread not running).  The device class
	 * may take back chains an earlier process popped (vu_queue_chain) and
	 * returns the index popping goes on from.
	 */
	uint16_t (*starting)(void *opaque, struct vu_queue *q, uint16_t base);
	/* Optional: queue qindex broke (see above), the first time, from the
	 * thread that found it, no lock held. */
	void (*fault)(void *opaque, unsigned qindex, const char *why);
};

struct vu_dev_cfg {
	uint64_t features;           /* device-specific feature bits offered */
	const uint8_t *config;       /* device configuration space (copied) */
	size_t config_len;           /* <= VU_MAX_CONFIG_SIZE */
	unsigned nqueues;            /* 1..8 */
	unsigned stop_grace_ms;      /* see GET_VRING_BASE above; 0: 5000 */
	const struct vu_dev_ops *ops;
	void *opaque;
	const char *label;           /* log prefix */
};

struct vu_dev *vu_dev_new(const struct vu_dev_cfg *cfg);
void vu_dev_free(struct vu_dev *d);
/* Takes sock over (closed on return).  0: the frontend disconnected or
 * stop_fd fired; -EPROTO: it broke the protocol; other -errno.  Connections
 * arriving on reject_fd (a listening socket, or -1) meanwhile are closed. */
int vu_dev_serve(struct vu_dev *d, int sock, int stop_fd, int reject_fd);
/*
 * Keeping a connection for a later process (x9p-vhost's next worker):
 * keep(arg, sock, state, fds, nfds) is called from vu_dev_serve() when a
 * connection starts and after each request that changed its set-up, with
 * the set-up as text and the descriptors it needs (the device's: the
 * callee sends copies), and with sock -1 just before the device closes the
 * connection itself (the frontend went away or broke the protocol; not
 * when stop_fd stops it).
 */
void vu_dev_set_keeper(struct vu_dev *d,
		       void (*keep)(void *arg, int sock, const char *state, const int *fds,
				    unsigned nfds),
		       void *arg);
/*
 * Serves a connection an earlier process served, whose set-up it kept:
 * state and fds[0..nfds) (taken over) as keep() gave them.  The queues
 * start again from the used index in guest memory (ops->starting may move
 * that).  As vu_dev_serve(); -EINVAL (logged) when the set-up cannot be
 * used, sock closed then too.
 */
int vu_dev_serve_adopted(struct vu_dev *d, int sock, const char *state, int *fds,
			 unsigned nfds, int stop_fd, int reject_fd);
/* Every feature bit this device offers (device + transport bits). */
uint64_t vu_dev_features(const struct vu_dev *d);

/* Publishes the chain as used with `len` bytes written, and interrupts the
 * guest if it wants one.  A chain of a stopped or reset queue is dropped. */
void vu_elem_complete(struct vu_elem *e, uint32_t len);
/* The same; note(arg, idx) runs first, under the queue's lock, with the
 * used index that will publish the chain, and only when it will be.
 * Returns whether the chain was published. */
bool vu_elem_complete_noted(struct vu_elem *e, uint32_t len,
			    void (*note)(void *arg, uint16_t used_idx), void *arg);
/* Breaks the queue (see above); the chain is not completed. */
void vu_elem_fault(struct vu_elem *e, const char *why);
/* Releases the chain (an uncompleted one is orphaned). */
void vu_elem_free(struct vu_elem *e);

/* For ops->starting: the queue's index and size, the used index in guest
 * memory, and the chain at head (popped at available index slot by an
 * earlier process) as a vu_elem to complete like any other, or NULL with
 * the guest's fault in *why. */
unsigned vu_queue_index(const struct vu_queue *q);
unsigned vu_queue_size(const struct vu_queue *q);
uint16_t vu_queue_used_idx(const struct vu_queue *q);
struct vu_elem *vu_queue_chain(struct vu_queue *q, uint16_t head, uint16_t slot,
			       const char **why);

/* Copies between the chain's buffers at byte offset `off` and plain memory;
 * return the bytes copied (short at the end of the buffers). */
size_t vu_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t vu_buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);
/* Fills out[0..max) with the part [off, off + len) of iov; returns the
 * number of entries, or -1 if max is too small or iov too short. */
int vu_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		 struct iovec *out, unsigned max);

#endif
