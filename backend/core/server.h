/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transport-independent 9P server engine.
 *
 * Contract for transports:
 *  - Create one x9p_server per export (it owns the fs driver and shares a
 *    bounded worker pool between all its sessions), and one x9p_session per
 *    client connection (socket connection, Xen device, virtio device).
 *  - The transport's I/O thread reads whole frames and hands each one to
 *    x9p_session_submit(), which takes ownership of the buffer (g_free).
 *    The frame's size field must already have been checked against
 *    x9p_session_max_frame(); a frame that violates it is a transport fault
 *    and the transport closes the connection instead of submitting it.
 *  - Replies are produced by worker threads, in completion order, by
 *    calling ops->send() with the whole reply as an iovec.  send() calls
 *    are serialized per session; send() may block (waiting for ring space)
 *    but must not call back into the session.
 *  - x9p_session_close() cancels everything in flight, waits for the
 *    workers to finish with this session, clunks all fids and frees it.
 *    After it returns no more send() calls happen.
 */
#ifndef X9P_SERVER_H
#define X9P_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fs/fs.h"
#include "core/trace.h"

struct x9p_server;
struct x9p_session;

struct x9p_server_cfg {
	struct x9p_fs *fs;           /* taken over; destroyed with the server */
	unsigned workers;            /* worker threads, 0 = default (16) */
	unsigned max_fids;           /* per session; 0 = default (65536) */
	unsigned max_open_files;     /* per session; 0 = unlimited */
	unsigned max_locks;          /* lock records per session; 0 = default (16384) */
	/* Bytes of pending xattr values (Txattrwalk/Txattrcreate) per session;
	 * 0 = default (X9P_DEFAULT_XATTR_BYTES, 4 MiB). */
	unsigned max_xattr_bytes;
	bool keep_fids_on_version;   /* Mini-OS live update: Tversion keeps fids */
	struct x9p_trace *trace;     /* may be NULL; not owned */
};

/*
 * Produces up to the iovecs' total length of payload straight into the
 * transport's buffers; returns the bytes produced or -errno.
 */
typedef ssize_t (*x9p_fill_fn)(void *arg, const struct iovec *iov, int iovcnt);

struct x9p_transport_ops {
	/* Sends one whole reply; returns 0 or -errno (then the reply is lost). */
	int (*send)(void *opaque, const struct iovec *iov, int iovcnt);
	/*
	 * Optional zero-copy reply (Rread, Rreaddir): hdr holds the first
	 * hdrlen bytes of the reply; its last 4 bytes are the count field.
	 * The transport finds room for hdrlen + max bytes, calls fill() once
	 * with iovecs of its own buffers for the payload (ring segments, guest
	 * descriptors), then stores the actual count n in the count field and
	 * hdrlen + n in the size field (little-endian) and publishes the
	 * reply.  If fill() fails, nothing is published and its error is
	 * returned; the engine then sends an error reply with send().  Called
	 * under the same serialization as send().
	 */
	int (*send_fill)(void *opaque, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg);
	/*
	 * Optional zero-copy Rread from a file: like send_fill, but the
	 * payload is up to max bytes of fd at off, which the transport moves
	 * without copying them through user memory (splice).  -EAGAIN: not
	 * now (nothing was sent; the engine falls back to send_fill or a
	 * buffer).  Any other error after the first byte left means the
	 * transport has given the connection up.  Called under the same
	 * serialization as send().
	 */
	int (*send_file)(void *opaque, uint8_t *hdr, size_t hdrlen, size_t max, int fd, off_t off);
	/*
	 * Optional: the request with this tag ends without a reply of its own
	 * (flushed: the Rflush answers it).  Called under the same
	 * serialization as send(), where its reply would have gone.
	 */
	void (*dropped)(void *opaque, uint16_t tag);
};

/* For send_fill and send_file: stores n as the reply's count (the last 4
 * bytes of hdr) and hdrlen + n as its size, little-endian. */
void x9p_reply_set_count(uint8_t *hdr, size_t hdrlen, size_t n);

struct x9p_server *x9p_server_new(const struct x9p_server_cfg *cfg);
void x9p_server_free(struct x9p_server *srv);

/*
 * max_msize: the largest frame the transport can carry in each direction.
 * channel: a short label for logs and traces ("unix:3", "dom5/0/ring1").
 */
struct x9p_session *x9p_session_new(struct x9p_server *srv,
				    const struct x9p_transport_ops *ops, void *opaque,
				    uint32_t max_msize, const char *channel);
void x9p_session_submit(struct x9p_session *s, uint8_t *frame, size_t len);
/*
 * Like x9p_session_submit(), but with may_inline the calling thread runs
 * the request itself (sending its reply before returning) when nothing
 * else of the session is in flight and the request cannot wait for one of
 * the client's later ones: a hand-off to a worker thread saved, which is
 * most of a small request's cost.  A transport passes may_inline only when
 * it holds no further request of this client already (a pipelined batch is
 * served concurrently by the pool) and can afford not to read from this
 * client meanwhile.
 */
void x9p_session_submit_inline(struct x9p_session *s, uint8_t *frame, size_t len,
			       bool may_inline);
/*
 * Zero-copy submission for transports whose requests sit in shared
 * buffers: `frame` holds the first `len` bytes of the message (a private
 * copy: everything the engine parses), and the rest of the message, as
 * counted by its size field, stays in the transport's buffers `data`.
 * Only Twrite may use this: the engine writes its payload with pwritev()
 * straight from `data` (checking that the iovecs hold exactly the count the
 * header announces), and calls release(rel_arg) exactly once when it no
 * longer needs them, before or after the reply is sent.  Any other message
 * type must be submitted whole with x9p_session_submit().  may_inline as
 * for x9p_session_submit_inline().
 */
void x9p_session_submit_data(struct x9p_session *s, uint8_t *frame, size_t len,
			     const struct iovec *data, int ndata,
			     void (*release)(void *rel_arg), void *rel_arg, bool may_inline);
/* True once the client has negotiated a version (or the session was resumed). */
bool x9p_session_versioned(const struct x9p_session *s);
/* Largest frame a client may send right now (negotiated msize). */
uint32_t x9p_session_max_frame(const struct x9p_session *s);
/*
 * Bytes the requests in flight may still answer with, at most (a read or
 * directory read counts what it asks for, anything else 8 KiB), for a
 * transport's backpressure.
 */
uint64_t x9p_session_reply_bytes(struct x9p_session *s);
/* No request in flight: no reply can come until the client sends one. */
bool x9p_session_idle(struct x9p_session *s);
/* Cancels what is in flight and frees the session; its journal, if any,
 * keeps it for the device's next worker. */
void x9p_session_close(struct x9p_session *s);
/* The same for a session over for good (the device was reset): its fids,
 * locks and requests leave its journal. */
void x9p_session_end(struct x9p_session *s);
/*
 * Takes over a client that negotiated `dialect` and `msize` with a previous
 * server process (a restarted daemon re-attaching to a live transport):
 * requests are served at once, without a Tversion.  Fids the client names
 * are unknown and answered ESTALE until its next Tversion.  Call before the
 * first submit.  An msize the engine could not have negotiated means
 * max_msize.
 */
void x9p_session_resume(struct x9p_session *s, enum p9_dialect dialect, uint32_t msize);
/*
 * The session journal (journal/journal.h): set before the first request.
 * x9p_session_restore() then rebuilds the fid table a previous worker
 * left there (after x9p_session_resume(), once the transport settled which
 * requests run again); the session then answers its fids as before.
 * Returns the number of fids restored.
 */
struct x9p_journal;
void x9p_session_set_journal(struct x9p_session *s, struct x9p_journal *j);
unsigned x9p_session_restore(struct x9p_session *s);
/* The same for n sessions of journal j (a socket worker's connections;
 * none: j's previous worker's nodes and locks are let go), each's number
 * of fids restored in fids[i]. */
void x9p_sessions_restore(struct x9p_journal *j, struct x9p_session *const *v, unsigned n,
			  unsigned *fids);
/*
 * Submits a request a previous worker took and may have run (from `since`
 * on): the driver does not execute its name change twice.
 */
void x9p_session_submit_replay(struct x9p_session *s, uint8_t *frame, size_t len,
			       const struct timespec *since);
/*
 * A restoring transport's request to run again (its len bytes in frame,
 * taken over): the size and tag fields are set to what the journal
 * recorded (whatever the frontend wrote there since) and it is submitted
 * as a replay, unless X9P_JOURNAL_MAX_RUNS workers died under it: then it
 * is answered EIO and false is returned.  Then the restore's outcome is
 * logged with x9p_session_log_restored().
 */
bool x9p_session_rerun(struct x9p_session *s, uint16_t tag, uint8_t *frame, uint32_t len,
		       const struct timespec *since);
void x9p_session_log_restored(struct x9p_session *s, unsigned fids, unsigned runs,
			      unsigned failed);
/* Answers tag with error err, outside any request the session tracks (a
 * request the transport refuses, or one that must not run again). */
void x9p_session_reply_error(struct x9p_session *s, uint16_t tag, int err);
/*
 * Waits until no request is in flight, up to timeout_us; then interrupts
 * what is left (each gets an EINTR error reply rather than none) and waits
 * up to interrupt_us more.  True when nothing is left in flight.  For a
 * transport about to hand its client over: stop submitting first.
 */
bool x9p_session_drain(struct x9p_session *s, int64_t timeout_us, int64_t interrupt_us);

#endif
