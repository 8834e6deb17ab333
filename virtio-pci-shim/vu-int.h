/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the vhost-user device files, and by virtio-pci.c,
 * which drives the same device and queues from virtio-pci registers: the
 * device and queue state.
 *
 * Threads: the control thread (vu_dev_serve) changes queue configuration
 * only while the queue's I/O thread is stopped; workers completing chains
 * take the queue lock, which also guards the used ring, the call
 * descriptor, the generation and the in-flight count.
 */
#ifndef X9P_VU_INT_H
#define X9P_VU_INT_H

#include <glib.h>

#include "vring.h"
#include "vu-dev.h"
#include "vu-msg.h"

#define VU_MAX_QUEUES 8

struct vu_queue {
	struct vu_dev *dev;
	unsigned index;

	/* Configuration from the frontend (control thread only). */
	unsigned num;
	uint16_t base;
	struct vu_vring_addr addr;
	bool have_addr;
	bool enabled;
	bool adopted;                /* from an earlier process: base is the used index */
	int kick_fd;

	GMutex lock;
	GCond drained;
	struct vring vr;             /* valid while started */
	struct vu_mem *ring_mem;     /* the table vr's pointers come from */
	bool started;                /* ring mapped, chains may be completed */
	bool broken;                 /* guest fault: no ring access until restart */
	uint64_t gen;                /* bumped at every stop: older chains are dropped */
	unsigned inflight;           /* chains of this generation not yet done */
	int call_fd, err_fd;

	GThread *thread;             /* the I/O thread while running */
	int stop_efd;                /* tells it to stop */
	struct vring_chain *scratch; /* the I/O thread's pop buffer */
};

struct vu_dev {
	char *label;
	const struct vu_dev_ops *ops;
	void *opaque;
	uint64_t dev_features;
	uint8_t config[VU_MAX_CONFIG_SIZE];
	size_t config_len;
	unsigned nqueues;
	unsigned stop_grace_ms;

	/* Per connection. */
	int sock;
	uint64_t features;           /* acked by SET_FEATURES */
	uint64_t protocol_features;  /* acked by SET_PROTOCOL_FEATURES */
	struct vu_mem *mem;
	/* The memory table's regions as sent, with copies of their
	 * descriptors (vu-state.c hands them to the next process). */
	struct vu_mem_src mem_src[VU_MAX_MEM_REGIONS];
	unsigned mem_nsrc;
	struct vu_queue q[VU_MAX_QUEUES];
	void (*keep)(void *arg, int sock, const char *state, const int *fds, unsigned nfds);
	void *keep_arg;
};

/* ---- vu-dev.c, for other transports of the same device (virtio-pci.c) ---- */
/* Swaps guest memory (taken over) under the queues. */
void vu_dev_set_mem(struct vu_dev *d, struct vu_mem *mem);
/* Resets every queue and the device class, and forgets the features;
 * memory stays. */
void vu_dev_stop_queues(struct vu_dev *d);

/* Stops everything and forgets the frontend's settings (not a handover). */
void vu_dev_reset_all(struct vu_dev *d);
/* With a keeper: the queues stop once the replies in flight are out (up to
 * stop_grace_ms) and the device class hands its session over; the rings
 * are left as they are for the next process.  False (nothing done)
 * without a keeper. */
bool vu_dev_handover(struct vu_dev *d);
/* Calls the keeper, if any (vu-state.c; vfu-state.c for vfio-user). */
void vu_dev_call_keeper(struct vu_dev *d, int sock, const char *state, const int *fds,
			unsigned nfds);

/* ---- vu-state.c ---- */
/* Forgets the copies of the memory table's descriptors. */
void vu_state_clear_mem(struct vu_dev *d);
/* Hands the set-up to the keeper; tells it the connection is going (the
 * device is about to close it). */
void vu_state_save(struct vu_dev *d);
void vu_state_drop(struct vu_dev *d);
/* Closes what is left of descriptors handed over for an adoption. */
void vu_state_close_fds(int *fds, unsigned nfds);

/* ---- vu-queue.c ---- */
void vu_queue_init(struct vu_dev *d, struct vu_queue *q, unsigned index);
void vu_queue_destroy(struct vu_queue *q);
/* Maps the ring and starts processing when everything is in place. */
int vu_queue_start(struct vu_queue *q);
/* Stops the I/O thread only (configuration changes). */
void vu_queue_pause(struct vu_queue *q);
/* Restarts the I/O thread if the queue is started and enabled. */
void vu_queue_resume(struct vu_queue *q);
/* Stops the ring: waits up to grace_ms for chains in flight; returns the
 * next available index. */
uint16_t vu_queue_stop(struct vu_queue *q, unsigned grace_ms);
/* Re-translates the ring after a memory table change (queue paused). */
void vu_queue_remap(struct vu_queue *q);
/* Forgets everything about the queue (disconnect, reset). */
void vu_queue_reset(struct vu_queue *q);
void vu_queue_set_call(struct vu_queue *q, int fd);
void vu_queue_set_err(struct vu_queue *q, int fd);

#endif
