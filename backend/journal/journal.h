/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session journal: what a device's 9P session is, kept where it
 * outlives the worker serving it.
 *
 * The monitor creates one memfd per device (sized by x9p_journal_size(),
 * sealed against resizing) and hands the same one to every worker it
 * starts for that device; the worker maps it shared and writes, as it
 * goes:
 *   - every request it took from the transport and has not answered yet,
 *     with where it sits (a Xen ring's offsets: the transport keeps those
 *     bytes in place until the answer is out) and whether its reply is
 *     being published (and up to which ring offset);
 *   - the fid table: per fid its driver node, open mode, identity; each
 *     change tagged with the request that made it;
 *   - the driver's nodes (fs/proxy-nodes.c): parent, name, inode, so that a
 *     node can be walked again by name on a new helper;
 *   - the engine's POSIX lock records (core/locks.c).
 *
 * A new worker for the same device finds the previous one's session there
 * and rebuilds from it (x9p_journal_open says so): the transport first
 * settles each recorded request (its reply went out, or it runs again),
 * then the fid table is read back as it was before the requests that run
 * again (a change made by one is undone: it is made again by its second
 * run), then the requests run again, marked so that the driver does not
 * execute a name change twice (fs.h, x9p_ctx.replay_since).
 *
 * Crash safety: the worker may die between any two stores.  Records are
 * published by a release store of their state word after their fields;
 * a node's location is double-buffered (the inactive copy written, then
 * the index flipped), so a reader sees a whole old or whole new name.
 *
 * The content is written by a worker that its guest may have taken over,
 * and read by the next worker of the same guest: every field is checked
 * before use (an index in range, a length within its buffer, a state
 * known), and anything wrong is dropped, never trusted.  fuzz-journal
 * restores random journals.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef X9P_JOURNAL_H
#define X9P_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define X9P_JOURNAL_MAX_RINGS 16u
#define X9P_JOURNAL_TAGS 65536u
/* Nodes and fids beyond these are simply not journaled: after a worker's
 * death they answer ESTALE, as before there was a journal. */
#define X9P_JOURNAL_MAX_FIDS 65536u
#define X9P_JOURNAL_MAX_NODES 65536u
#define X9P_JOURNAL_NAME_MAX 255u
#define X9P_JOURNAL_MAX_LOCKS 16384u   /* the engine's default per session */

/* Sessions one journal holds at most, and each further one's inbox. */
#define X9P_JOURNAL_MAX_SESSIONS 257u
#define X9P_JOURNAL_INBOX (4u << 20)

struct x9p_journal;

/* Bytes of a journal of one session, and of n (a sparse memfd: only what
 * is used takes memory). */
size_t x9p_journal_size(void);
size_t x9p_journal_size_for(unsigned sessions);

/*
 * Maps the journal in fd (a memfd of x9p_journal_size() bytes).  A blank
 * one is initialised; one holding a session sets *restored.  NULL with
 * *why when fd is not a journal this build can use (then the worker
 * serves without one).
 */
struct x9p_journal *x9p_journal_open(int fd, bool *restored, char **why);
/* Closes the journal (any of its sessions' handles). */
void x9p_journal_close(struct x9p_journal *j);

/* ---- sessions ----
 *
 * A journal may hold several sessions of one worker (a socket daemon's
 * connections): each has its own requests, fids, lock records, version
 * and read positions; the driver's nodes are shared.  x9p_journal_open()
 * returns the first session's handle; every function below takes the
 * handle of the session it is about.  A restore of several sessions gets
 * the handle of each session it takes over and restores its fids, then
 * calls x9p_journal_nodes_done() once (a session no handle was got for
 * is wiped then), then each one's locks and x9p_journal_locks_done()
 * once.
 */
unsigned x9p_journal_sessions(struct x9p_journal *j);
/* The handle of session idx (NULL past the last); lives as long as j. */
struct x9p_journal *x9p_journal_session(struct x9p_journal *j, unsigned idx);
unsigned x9p_journal_index(struct x9p_journal *j);

/*
 * A stream transport's state (socket/stream.h), in sessions past the
 * first: its input pipe's bytes go to the inbox (a ring of
 * X9P_JOURNAL_INBOX bytes, "ring 0" of the request records), its replies
 * through its output pipe.  Written by the transport as documented there.
 */
struct x9p_jstream {
	uint32_t in_head;           /* bytes placed in the inbox (free-running) */
	uint32_t in_pending;        /* a read of at most this many to in_base is under way */
	uint32_t in_base, in_fill;  /* ... and the input pipe's bytes before it */
	uint32_t out_pending;       /* a reply of out_len bytes is going into the output pipe */
	uint32_t out_fill, out_len; /* ... the pipe's bytes before it, and its size */
	uint32_t out_tag;
	uint64_t out_rid;
};
/* NULL for the first session. */
struct x9p_jstream *x9p_journal_stream(struct x9p_journal *j);
uint8_t *x9p_journal_inbox(struct x9p_journal *j);

/* ---- requests (the transport) ---- */

enum x9p_jreq_state { X9P_JREQ_FREE, X9P_JREQ_TAKEN, X9P_JREQ_REPLYING };

struct x9p_jreq {
	enum x9p_jreq_state state;
	uint32_t ring;              /* where the transport keeps its bytes */
	uint32_t start, len;
	uint32_t reply_end;         /* REPLYING: the producer offset after its reply */
	uint64_t rid;               /* the order requests were taken in */
	struct timespec taken;      /* CLOCK_REALTIME_COARSE when it was taken */
};

/* The request with this tag was taken (its bytes at start, len of ring);
 * returns its request id. */
uint64_t x9p_journal_take(struct x9p_journal *j, uint16_t tag, uint32_t ring, uint32_t start,
			  uint32_t len);
/* Its reply is written and about to be published up to reply_end. */
void x9p_journal_replying(struct x9p_journal *j, uint16_t tag, uint32_t reply_end);
/* It is answered (or flushed): the changes it made are final.  The _rid
 * form does nothing when the tag's record is another request's by now (the
 * client may reuse a tag as soon as the answer is published). */
void x9p_journal_answered(struct x9p_journal *j, uint16_t tag);
void x9p_journal_answered_rid(struct x9p_journal *j, uint16_t tag, uint64_t rid);
/* The transport read ring `ring` up to pos. */
void x9p_journal_set_read(struct x9p_journal *j, uint32_t ring, uint32_t pos);
uint32_t x9p_journal_read_pos(struct x9p_journal *j, uint32_t ring);
/* Whether it was set since the journal was made or its session forgotten. */
bool x9p_journal_read_known(struct x9p_journal *j, uint32_t ring);
/* The negotiated version (an Rversion goes out; dialect: enum
 * p9_dialect), and what a restore reads back (false: none recorded). */
void x9p_journal_set_version(struct x9p_journal *j, uint32_t dialect, uint32_t msize);
bool x9p_journal_version(struct x9p_journal *j, uint32_t *dialect, uint32_t *msize);
/* A new session starts (the device was reset): no version, no request,
 * no fid, no lock is left; the driver's nodes stay (they are its own). */
void x9p_journal_forget_session(struct x9p_journal *j);
/* Runs of one request, its first included, before a transport answers it
 * EIO instead: one that kills every worker must not kill them forever. */
#define X9P_JOURNAL_MAX_RUNS 4u
/* Restore: tag's request runs again; how many times it has, this one too
 * (a request under which every worker dies must not loop). */
unsigned x9p_journal_rerun(struct x9p_journal *j, uint16_t tag);
/* The recorded request of tag (restore); false for a free or invalid one. */
bool x9p_journal_req(struct x9p_journal *j, uint16_t tag, struct x9p_jreq *out);

/* ---- fids (the engine) ---- */

struct x9p_jfid {
	uint32_t num;
	uint32_t node;              /* journal node slot (x9p_journal_node_add) */
	uint32_t uid;
	uint32_t kind;              /* enum x9p_fid_kind */
	int32_t hostflags;
	uint8_t qtype;
	uint32_t qversion;
	uint64_t qpath;
	uint64_t root_path;
};

/* Request tag set fid rec->num to rec (new, walked onto, opened). */
void x9p_journal_fid_set(struct x9p_journal *j, uint16_t tag, const struct x9p_jfid *rec);
/* Request tag clunked or removed fid num. */
void x9p_journal_fid_del(struct x9p_journal *j, uint16_t tag, uint32_t num);
/* Every fid is gone (Tversion). */
void x9p_journal_fid_clear(struct x9p_journal *j);
/*
 * Restore: calls fn for every fid as it was before the requests still
 * recorded (x9p_journal_req) ran, and forgets every other version.  Call
 * once the transport has settled which requests run again.
 */
void x9p_journal_fids(struct x9p_journal *j, void (*fn)(void *arg, const struct x9p_jfid *f),
		      void *arg);

/* ---- nodes (the driver) ---- */

struct x9p_jnode {
	int fd;                     /* claim: the file kept for it (x9p_journal_keep_fd),
				     * now the caller's, or -1 */
	bool is_root;
	uint64_t dev, ino;
	uint32_t parent;            /* slot, 0: none (a root, or no name leads to it) */
	char name[X9P_JOURNAL_NAME_MAX + 1];   /* "" when parent is 0 */
	/* claim: another location it may have (a rename that was in flight,
	 * or its previous name): to walk when the first does not lead to its
	 * inode any more; alt_parent 0 when none. */
	uint32_t alt_parent;
	char alt_name[X9P_JOURNAL_NAME_MAX + 1];
};

/* A new node; its slot (1-based), or 0 when the journal is full. */
uint32_t x9p_journal_node_add(struct x9p_journal *j, const struct x9p_jnode *n);
/* The node moved (parent 0, name NULL: no name leads to it any more). */
void x9p_journal_node_move(struct x9p_journal *j, uint32_t slot, uint32_t parent,
			   const char *name);
/* The node is about to move there (a rename sent to the helper): a new
 * worker tries that location too. */
void x9p_journal_node_intend(struct x9p_journal *j, uint32_t slot, uint32_t parent,
			     const char *name);
void x9p_journal_node_del(struct x9p_journal *j, uint32_t slot);
/*
 * Restore: reads a node of the previous worker and claims its slot for
 * the caller's new node; false when slot is not a valid node.  Nodes not
 * claimed by x9p_journal_nodes_done() are freed then.
 */
bool x9p_journal_node_claim(struct x9p_journal *j, uint32_t slot, struct x9p_jnode *out);
void x9p_journal_nodes_done(struct x9p_journal *j);

/* ---- POSIX locks (the engine's lock table) ---- */

struct x9p_jlock {
	uint64_t file;              /* qid.path */
	uint32_t proc_id, fid;
	uint8_t type;               /* P9_LOCK_TYPE_RDLCK or _WRLCK */
	uint64_t start, end;        /* inclusive */
	char client_id[256];        /* NUL-terminated */
};

/* A lock record made or changed (*slot: 0 for a new one, set here; it
 * stays 0 when the journal is full); and one gone. */
void x9p_journal_lock_put(struct x9p_journal *j, uint32_t *slot, const struct x9p_jlock *l);
void x9p_journal_lock_del(struct x9p_journal *j, uint32_t slot);
/*
 * Restore: fn for every lock record of the previous worker (each checked:
 * a known type, start <= end, a terminated client id); the caller places
 * them again (new records), then x9p_journal_locks_done() frees the old
 * ones.  Records of one owner may overlap (a worker died while changing
 * them; the request doing so runs again): placing merges them.
 */
void x9p_journal_locks(struct x9p_journal *j, void (*fn)(void *arg, const struct x9p_jlock *l),
		       void *arg);
void x9p_journal_locks_done(struct x9p_journal *j);

/*
 * Open files no name leads to (unlinked, replaced by a rename) cannot be
 * walked again: the keeper (the monitor) holds a copy of each for the next
 * worker.  keep() gets the driver's descriptor (it sends a copy and keeps
 * nothing); drop() says the node is gone.  Each node's file is kept once.
 */
struct x9p_journal_keeper {
	void (*keep)(void *arg, uint32_t slot, int fd);
	void (*drop)(void *arg, uint32_t slot);
	void *arg;
};
void x9p_journal_set_keeper(struct x9p_journal *j, const struct x9p_journal_keeper *k);
/* The node in slot lost its last name while open as fd. */
void x9p_journal_keep_fd(struct x9p_journal *j, uint32_t slot, int fd);
/* Restore, before the claims: a file kept for slot (taken over). */
void x9p_journal_kept_fd(struct x9p_journal *j, uint32_t slot, int fd);

#endif
