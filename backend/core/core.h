/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the 9P engine shared by its files: server, session,
 * requests, and the per-operation handlers.
 *
 * Locking: session->lock and session->send_lock are never held together
 * (a send may block for long, on a full ring, and nothing may wait for the
 * table meanwhile); the order of replies is kept by send tickets instead
 * (send_begin/send_end in session.c).  A fid's lock is never held while
 * taking either.  A request crosses threads once each
 * way: the transport's I/O thread submits it, one worker executes it and
 * sends the reply itself.
 */
#ifndef X9P_CORE_H
#define X9P_CORE_H

#include <glib.h>

#include "9p/p9.h"
#include "core/fid.h"
#include "core/locks.h"
#include "core/server.h"
#include "fs/fs.h"

#define X9P_MIN_MSIZE 512u
#define X9P_ERRMAX 128u          /* longest Rerror string Linux accepts */
#define X9P_XATTR_MAX 65536u     /* XATTR_SIZE_MAX */
#define X9P_DEFAULT_XATTR_BYTES (4u << 20)

struct x9p_server {
	struct x9p_fs *fs;
	GThreadPool *pool;
	unsigned max_fids;
	unsigned max_open;
	unsigned max_xattr_bytes;
	bool keep_fids_on_version;
	struct x9p_trace *trace;
	struct x9p_locks *locks;     /* the guests' POSIX locks, all sessions */
	gint journaled;              /* sessions with a journal (the driver's nodes go
				      * there while there is one) */
	/* Bumped (g_atomic) by every mode change a client makes: a fid's
	 * "no set-ID bits to clear" verdict holds while this is unchanged. */
	gint mode_gen;
};
/* A client changed a file's mode (or owner). */
static inline void x9p_mode_changed(struct x9p_server *srv)
{
	g_atomic_int_inc(&srv->mode_gen);
}

struct x9p_req;

struct x9p_session {
	struct x9p_server *srv;
	const struct x9p_transport_ops *ops;
	void *opaque;
	char *channel;
	uint32_t max_msize;          /* what the transport can carry */
	uint32_t msize;              /* negotiated; g_atomic_* (read by I/O threads) */
	enum p9_dialect dialect;
	bool versioned;
	gint version_done;           /* atomic mirror of versioned, for transports */
	/* Taken over from a previous x9p-backend (x9p_session_resume) and no
	 * Tversion since: fids the client names are not ours, answered ESTALE. */
	bool resumed;

	GMutex lock;                 /* inflight table and counters */
	GCond drained;
	/* Threads waiting on drained / send_turn: a GCond signal is a system
	 * call even with nobody to wake, so it is made only for a waiter. */
	unsigned drain_waiters;      /* lock */
	unsigned send_waiters;       /* send_lock */
	GHashTable *inflight;        /* tag -> struct x9p_req */
	unsigned ninflight;
	uint64_t reply_bytes;        /* largest replies of the requests in flight, summed */
	bool closing;

	gint warned_locks;           /* the lock limit was logged */
	GMutex send_lock;            /* serializes ops->send, with send_turn */
	GCond send_turn;
	guint64 send_next;           /* s->lock: next ticket to hand out */
	guint64 send_serving;        /* send_lock: the ticket whose turn it is */
	struct x9p_fidtab fids;
	struct x9p_journal *journal; /* or NULL (x9p_session_set_journal) */
};

struct x9p_req {
	struct x9p_session *s;
	uint8_t *frame;
	size_t len;
	uint8_t type;
	uint16_t tag;
	volatile int cancelled;
	/* Cancelled by x9p_session_drain(): an EINTR result is answered, not
	 * discarded as a flushed request's is. */
	volatile int interrupted;
	GQueue flushes;              /* Tflush requests waiting for this one */
	/* Set by the reply; then nothing but x9p_req_done() touches the
	 * request (debug builds poison it to catch any other access). */
	bool answered;
	unsigned unlinked;           /* table entries the reply removed */
	uint32_t reply_max;          /* counted in s->reply_bytes until done */
	/* x9p_session_submit_data: the Twrite payload left in transport buffers */
	struct iovec *data;
	int ndata;
	void (*release)(void *);
	void *rel_arg;
	/* Run again after a worker died (x9p_session_submit_replay): it may
	 * have taken effect from this time on. */
	bool replayed;
	struct timespec replay_since;
};

/* ---- session.c ---- */
/*
 * A request's life: submitted, dispatched to exactly one handler, answered
 * exactly once (x9p_req_finish*, x9p_reply*), and freed by x9p_req_done()
 * once whoever dispatched it is back.  Answering ends the handler's use of
 * r and of everything decoded from its frame (names in struct p9_msg point
 * into it): in builds with X9P_POISON (SANITIZE=1) both are poisoned at the
 * reply, so a handler that reads them afterwards stops under ASan.
 */
/* Called by a worker (or the I/O thread) with the finished reply. */
void x9p_req_finish(struct x9p_req *r, const struct iovec *iov, int iovcnt, int result);
/*
 * Finishes r with a reply whose payload is produced by fill() straight into
 * the transport's buffers when it supports it (send_fill), else into a
 * buffer of `max` bytes.  hdr is the reply's first hdrlen bytes, count last.
 */
void x9p_req_finish_fill(struct x9p_req *r, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg);
/*
 * The same for a payload read from fd at off by fill(): a transport with
 * send_file moves it without a copy, any other gets it through fill().
 */
void x9p_req_finish_file(struct x9p_req *r, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg, int fd, off_t off);
/* Gives the transport its Twrite payload buffers back (once). */
void x9p_req_release_data(struct x9p_req *r);
/* Frees an answered request (answers EIO first if the handler did not). */
void x9p_req_done(struct x9p_req *r);

#if defined(X9P_POISON) && defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* Everything but the session pointer and the fields x9p_req_done() reads
 * is off limits once answered; the frame entirely. */
static inline void x9p_req_poison(struct x9p_req *r)
{
	ASAN_POISON_MEMORY_REGION(r->frame, r->len);
	ASAN_POISON_MEMORY_REGION(r, offsetof(struct x9p_req, answered));
}
static inline void x9p_req_unpoison(struct x9p_req *r)
{
	ASAN_UNPOISON_MEMORY_REGION(r, offsetof(struct x9p_req, answered));
	ASAN_UNPOISON_MEMORY_REGION(r->frame, r->len);
}
#else
static inline void x9p_req_poison(struct x9p_req *r) { (void)r; }
static inline void x9p_req_unpoison(struct x9p_req *r) { (void)r; }
#endif

/* ---- dispatch.c ---- */
void x9p_dispatch(struct x9p_req *r);
/* Handles Tversion in the I/O thread once nothing else is in flight. */
void x9p_do_version(struct x9p_session *s, struct x9p_req *r);

/* Reply helpers: encode and finish. */
void x9p_reply(struct x9p_req *r, struct p9_msg *m);
void x9p_reply_err(struct x9p_req *r, int err);
/* An error reply frame for (tag, err) in the session's dialect; returns length. */
int x9p_encode_err(struct x9p_session *s, uint16_t tag, int err, uint8_t *buf, size_t len);

/* Context for a driver call on behalf of fid f (gid: from the request or -1). */
static inline struct x9p_ctx x9p_ctx_of(struct x9p_req *r, const struct x9p_fid *f, uint32_t gid)
{
	struct x9p_ctx c = { f ? f->uid : 0, gid, &r->cancelled, r->s, r->s->channel,
			     r->replayed ? &r->replay_since : NULL };
	return c;
}

/* ---- handlers (ops-*.c); each replies exactly once ---- */
void x9p_op_attach(struct x9p_req *r, struct p9_msg *m);
void x9p_op_auth(struct x9p_req *r, struct p9_msg *m);
void x9p_op_walk(struct x9p_req *r, struct p9_msg *m);
void x9p_op_clunk(struct x9p_req *r, struct p9_msg *m);
void x9p_op_remove(struct x9p_req *r, struct p9_msg *m);
void x9p_op_lopen(struct x9p_req *r, struct p9_msg *m);
void x9p_op_lcreate(struct x9p_req *r, struct p9_msg *m);
void x9p_op_read(struct x9p_req *r, struct p9_msg *m);
void x9p_op_write(struct x9p_req *r, struct p9_msg *m);
/* Twrite submitted with x9p_session_submit_data (payload not in the frame). */
void x9p_op_write_data(struct x9p_req *r);
void x9p_op_fsync(struct x9p_req *r, struct p9_msg *m);
void x9p_op_lock(struct x9p_req *r, struct p9_msg *m);
void x9p_op_getlock(struct x9p_req *r, struct p9_msg *m);
void x9p_op_readdir(struct x9p_req *r, struct p9_msg *m);
void x9p_op_getattr(struct x9p_req *r, struct p9_msg *m);
void x9p_op_setattr(struct x9p_req *r, struct p9_msg *m);
void x9p_op_statfs(struct x9p_req *r, struct p9_msg *m);
void x9p_op_mkdir(struct x9p_req *r, struct p9_msg *m);
void x9p_op_mknod(struct x9p_req *r, struct p9_msg *m);
void x9p_op_symlink(struct x9p_req *r, struct p9_msg *m);
void x9p_op_link(struct x9p_req *r, struct p9_msg *m);
void x9p_op_readlink(struct x9p_req *r, struct p9_msg *m);
void x9p_op_rename(struct x9p_req *r, struct p9_msg *m);
void x9p_op_renameat(struct x9p_req *r, struct p9_msg *m);
void x9p_op_unlinkat(struct x9p_req *r, struct p9_msg *m);
void x9p_op_xattrwalk(struct x9p_req *r, struct p9_msg *m);
void x9p_op_xattrcreate(struct x9p_req *r, struct p9_msg *m);
/* 9P2000 / 9P2000.u */
void x9p_op_open(struct x9p_req *r, struct p9_msg *m);
void x9p_op_create(struct x9p_req *r, struct p9_msg *m);
void x9p_op_stat(struct x9p_req *r, struct p9_msg *m);
void x9p_op_wstat(struct x9p_req *r, struct p9_msg *m);
/* Directory read as stat records (Tread on a directory fid, not .L). */
void x9p_op_read_dir_u(struct x9p_req *r, struct x9p_fid *f, uint64_t offset, uint32_t count);

/* ---- shared helpers (ops-common.c) ---- */
/* Looks up fid or replies EBADF and returns NULL. */
struct x9p_fid *x9p_fid_or_reply(struct x9p_req *r, uint32_t fid);
/* The error for a fid the session does not know (positive errno). */
int x9p_unknown_fid_err(const struct x9p_session *s);
/* Copies a validated name component; replies EINVAL/ENAMETOOLONG on failure. */
bool x9p_name_or_reply(struct x9p_req *r, struct p9_str s, char *out, size_t outlen);
/* Translates Tlopen/Tlcreate flags to host O_* flags. */
int x9p_lflags_to_host(uint32_t lflags);
/* Converts a Topen mode byte to host O_* flags. */
int x9p_omode_to_host(uint8_t mode);
/* Opens f on the driver and records the open state; returns 0 or -errno. */
int x9p_fid_open(struct x9p_req *r, struct x9p_fid *f, int hostflags);
/* Makes newly created node `n` (opened as fd, or fd -1) the new state of fid f. */
int x9p_fid_become(struct x9p_req *r, struct x9p_fid *f, struct x9p_node *n,
		   const struct x9p_attr *attr, const char *name, int fd, int hostflags);
uint32_t x9p_iounit(struct x9p_session *s);
bool x9p_fs_readonly(struct x9p_session *s);

#endif
