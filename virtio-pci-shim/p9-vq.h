/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 9P over a virtqueue (the virtio-9p device's request queue): the device
 * class behind vu-dev.h, connected to the 9P engine (core/server.h).
 *
 * One chain is one request: the T-message in its readable buffers (it may
 * span several, as Linux 9pnet_virtio splits large payloads off), room for
 * the R-message in its writable buffers.  The I/O thread copies the
 * message header (and every message except a large Twrite whole) out of
 * guest memory and submits it; a large Twrite's payload stays in guest
 * memory and the engine writes it to the file from there
 * (x9p_session_submit_data).  Rread and Rreaddir payloads are read from
 * the file straight into the writable buffers (send_fill).  Replies
 * complete their chains in any order, from the worker that produced them.
 *
 * Guest faults that break the queue: a message shorter than its header,
 * a size field below 7, above the readable bytes or above the negotiated
 * msize.  A request reusing a tag still in flight is refused (completed
 * empty) without reaching the engine.  Chains whose request the engine
 * answers with nothing (flushed, or cancelled by Tversion) are completed
 * empty, so the guest gets its descriptors back.
 */
#ifndef X9P_P9_VQ_H
#define X9P_P9_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/server.h"
#include "vu-dev.h"

struct p9vq;

/* srv: the engine (not owned); max_msize: the largest message carried. */
struct p9vq *p9vq_new(struct x9p_server *srv, uint32_t max_msize, const char *label);
void p9vq_free(struct p9vq *p);
/*
 * Lets the queue's I/O thread run a request itself when it is the last
 * chain available and nothing else of the session is in flight
 * (x9p_session_submit_inline): one thread hand-off less per request.  Off
 * by default: a vhost-user queue stop (GET_VRING_BASE, QEMU waiting) joins
 * the I/O thread and must not wait for a request.  The vfio-user device
 * stops its queues only on a device reset, which waits for every request
 * in flight anyway.
 */
void p9vq_set_inline(struct p9vq *p, bool on);
/*
 * The device's session journal (journal/journal.h), for a vhost-user
 * device whose worker may die: QEMU reconnects (reconnect-ms on its
 * chardev) to the next worker, which takes the session over.  With it:
 *   - each request is recorded under its tag with where its chain is
 *     (queue, available index, head) when popped, then the queue's read
 *     position; a reply records the used index that will publish it;
 *   - restoring: when the queue first starts, each recorded request is
 *     settled against the rings (its reply published: done; else it runs
 *     again from its chain, which the guest has not got back, marked as a
 *     replay), the session's version and fids come back, and popping goes
 *     on from the recorded read position rather than QEMU's base (the used
 *     index, which it falls back to when the backend is gone).
 * A device reset or a frontend that goes away ends the session there too.
 */
struct x9p_journal;
void p9vq_set_journal(struct p9vq *p, struct x9p_journal *j, bool restoring);
/*
 * Records what the guest puts on the queues and what is answered
 * (record/record.h; the virtqueue bodies are in docs/trace-format.md):
 * each queue's start, every request as popped, every reply, and the
 * faults.  Set before serving; rec stays the caller's.
 */
struct x9p_rec;
void p9vq_set_recorder(struct p9vq *p, struct x9p_rec *rec);
/* The device class operations; opaque is the p9vq. */
extern const struct vu_dev_ops p9vq_ops;

/* virtio-9p: feature bit and configuration space (le16 tag_len, tag). */
#define VIRTIO_ID_9P 9
#define VIRTIO_9P_MOUNT_TAG 0
/* Writes the configuration for `tag` into buf; returns its length. */
size_t p9vq_config(const char *tag, uint8_t *buf, size_t len);

#endif
