/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the proxy driver, shared by fs/proxy-*.c.
 *
 *   proxy-conn.c   the helper process: start (fs/helper-launch.h), HELLO, reader/supervisor
 *                  thread, restart; px_call() for one request
 *   proxy-nodes.c  driver nodes: reference counts, names, re-walking after
 *                  a restart, following renames and unlinks
 *   proxy-qid.c    qid computation (multidevs)
 *   proxy-ops.c    the fs.h operations
 *
 * Locking: px_fs.lock protects the current connection, every connection's
 * table of pending calls and all mutable node fields; it is never held
 * across a system call that may block.  Requests travel on channels (one
 * per concurrent call, helper/proxy.h) under nobody's lock: a call takes an
 * idle channel (px_conn.chan_lock, held for a pointer swap), sends, and
 * reads its reply itself.  The shared socket carries set-up, CANCEL, CLUNK
 * and the calls that find no channel.  px_fs.rv_lock
 * serialises re-walks after a restart (recursive: a node re-walks its
 * parent first).
 */
#ifndef X9P_FS_PROXY_INT_H
#define X9P_FS_PROXY_INT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/fs.h"
#include "fs/helper-launch.h"
#include "fs/proxy.h"
#include "helper/proxy.h"

/* One running helper process and its socket. */
struct px_conn {
	gint refs;
	int sock;
	pid_t pid;
	int exit_fd;                /* readable once it exited, or -1 */
	unsigned gen;               /* node ids are valid within one generation */
	bool dead;                  /* lock */
	bool killed;                /* lock */
	GHashTable *pending;        /* lock: req id -> struct px_call */
	/* Channels (helper/proxy.h), under chan_lock: idle ones, and how many
	 * exist.  A call takes one for its duration. */
	GMutex chan_lock;
	GPtrArray *idle_chans;      /* struct px_chan */
	unsigned nchans;
	bool no_more_chans;         /* the helper refused one */
	unsigned served;            /* atomic: replies it gave */
	uint32_t hflags;
	uint64_t root_dev, root_ino;
};

/* A channel: one socket, used by one call at a time. */
struct px_chan {
	int sock;
	uint8_t *buf;               /* X9P_PX_MAX_MSG + 1 bytes for its replies */
};

/* One request waiting for its reply on the shared socket. */
struct px_call {
	uint64_t id;
	bool done;
	int status;                 /* 0, or -EIO when the helper went away */
	uint8_t *reply;
	size_t len;
	int fd;
	GCond cond;
};

struct px_qidmap {
	GMutex lock;
	bool remap;
	bool have_root;
	uint64_t root_dev;
	GHashTable *devs;           /* dev -> index 1..0xfffe */
	unsigned next_index;
	GHashTable *full;           /* "dev:ino" -> path, for inodes >= 2^48 */
	uint64_t next_full;
};

struct px_fs {
	struct x9p_fs base;
	struct x9p_proxy_cfg cfg;   /* strings owned below */
	struct x9p_helper_launcher *launcher;   /* owned */

	GMutex lock;
	GCond cond;                 /* a helper came up, or the first start ended */
	struct px_conn *conn;       /* the live helper or NULL */
	unsigned gen;
	uint64_t next_id;           /* atomic */
	unsigned inflight;          /* atomic */
	unsigned restarts;
	unsigned reruns;            /* atomic: requests sent again to a new helper */
	unsigned found_done;        /* atomic: of those, found to have taken effect */
	unsigned kept_fds;          /* atomic: descriptors nodes keep for ADOPT */
	unsigned kept_fds_max;      /* a quarter of RLIMIT_NOFILE: the engine's own
				     * open files come first */
	bool stopping;
	bool first_done;            /* the first start attempt finished */
	char *first_error;          /* its failure, if any */
	int wake[2];                /* wakes the supervisor for shutdown */
	GThread *thread;

	GRecMutex rv_lock;
	GHashTable *by_name;        /* lock: "pdev:pino/name" -> GPtrArray of nodes */
	/* Fair shares of the helper's node table (px_nodes_admit), under lock. */
	GHashTable *owners;         /* ctx owner -> struct px_owner */
	unsigned nodes;             /* nodes charged to an owner, in all */
	unsigned node_cap;          /* the helper's table */
	gint64 nodes_warned;        /* monotonic time of the last refusal logged */
	struct px_qidmap qid;
	/* The session journal nodes are kept in (journal/journal.h), and the
	 * nodes rebuilt from it by slot (lock; entries leave with their node). */
	struct x9p_journal *journal;
	GHashTable *restored;
};

static inline struct px_fs *PXFS(struct x9p_fs *fs)
{
	return (struct px_fs *)fs;
}

/*
 * What px_call() returns when the helper went away before answering: the
 * request may or may not have taken effect.  Not an errno, so no status a
 * helper sends can be mistaken for it; proxy-ops.c sends the request again
 * to the next helper and never lets it reach the engine.
 */
#define PX_LOST (-0x10000)

/* ---- proxy-conn.c ---- */
int px_start(struct px_fs *fs, GError **err);
void px_stop(struct px_fs *fs);
/* The live connection (new reference), waiting for a restart if needed. */
int px_conn_get(struct px_fs *fs, const struct x9p_ctx *c, struct px_conn **out);
/* The live connection without waiting, or NULL. */
struct px_conn *px_conn_peek(struct px_fs *fs);
void px_conn_put(struct px_conn *cn);
/*
 * Sends q on cn (q->h.id is assigned here) and waits for the reply, which
 * is decoded into rep (pointing into *buf; g_free it).  Returns the
 * helper's status (0 or -errno), PX_LOST when the helper died before
 * answering, or -EIO when it sent garbage (it is then killed).  *fd
 * receives the descriptor of an OPEN or CREATE reply (only when fd is not
 * NULL; otherwise one is a violation).
 */
int px_call(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
	    struct x9p_px_req *q, struct x9p_px_rep *rep, uint8_t **buf, int *fd);
/* px_call() on the shared socket, with send_fd going along (ADOPT). */
int px_call_fd(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
	       struct x9p_px_req *q, struct x9p_px_rep *rep, uint8_t **buf, int send_fd);
/* Fire-and-forget (CLUNK): no reply is asked for. */
void px_send_noreply(struct px_fs *fs, struct px_conn *cn, struct x9p_px_req *q);
/* Kills a helper that broke the protocol; it will be restarted. */
void px_conn_fail(struct px_fs *fs, struct px_conn *cn, const char *why);

/* ---- proxy-nodes.c ---- */
struct x9p_node {
	gint refs;
	/* lock */
	uint64_t hid;
	unsigned gen;               /* 0: no helper id yet */
	struct x9p_node *parent;
	char *name;                 /* NULL: unlinked (or an attach root) */
	char *key;
	bool stale;
	int fd;                     /* a descriptor of the file from its first OPEN or
				     * CREATE, or -1: ADOPT gets a node no name leads
				     * to any more back on a new helper */
	uint32_t jslot;             /* its journal slot, or 0 (fixed once set) */
	/* Restored from a journal: another location to walk if its name does
	 * not lead to it (a rename in flight when its worker died); dropped at
	 * its first walk. */
	struct x9p_node *alt_parent;
	char *alt_name;
	/* fixed */
	const void *owner;          /* charged to (x9p_ctx.owner), or NULL */
	bool is_root;
	uint64_t dev, ino;
};

void px_nodes_init(struct px_fs *fs);
void px_nodes_clear(struct px_fs *fs);
/*
 * May c's owner take one more helper node?  0 with the node charged to it
 * (px_node_new() then takes it over; px_nodes_unadmit() if no node came
 * of it), or -EMFILE (logged at most every 10 s).  While more than an
 * eighth of node_cap is free anybody may; in the last eighth an owner
 * takes a node only while it holds less than half of those still free.
 * So one client alone gets 7/8 of the table, and each newcomer up to a
 * third of what is left: dozens of clients get some, however much the
 * first ones took.
 */
int px_nodes_admit(struct px_fs *fs, const struct x9p_ctx *c);
void px_nodes_unadmit(struct px_fs *fs, const struct x9p_ctx *c);
struct x9p_node *px_node_new(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
			     uint64_t hid, const struct x9p_px_attr *a, struct x9p_node *parent,
			     const char *name);
struct x9p_node *px_node_dup(struct x9p_fs *fs, struct x9p_node *n);
void px_node_put(struct x9p_fs *fs, struct x9p_node *n);
/* n is open as fd: keeps a copy of it for ADOPT, unless n has one or
 * fs keeps kept_fds_max already. */
void px_node_keep_fd(struct px_fs *fs, struct x9p_node *n, int fd);
/* The helper id of n on cn, re-walking n (and its parents) if needed. */
int px_node_hid(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		struct x9p_node *n, uint64_t *hid);
/* fs.h node_restore: a node of a previous worker's journal. */
struct x9p_node *px_node_restore(struct px_fs *fs, const struct x9p_ctx *c, uint32_t slot,
				 struct x9p_node **parent, char **name);
/*
 * A rename (newdir set) or an unlink is about to be sent to the helper:
 * the journal learns where the nodes at the old name are going, and the
 * keeper gets the files of open nodes that may lose their last name, so
 * that a worker dying before the answer leaves what its successor needs.
 */
void px_nodes_before(struct px_fs *fs, struct x9p_node *olddir, const char *oldname,
		     struct x9p_node *newdir, const char *newname);
/*
 * A rename took effect: nodes at the new name lose it, nodes at the old
 * one take it.  moved: the file found at the new name when the rename was
 * found done by an earlier run (a replay); its nodes may be there already
 * (the earlier run moved them) and keep the name.
 */
void px_nodes_renamed(struct px_fs *fs, struct x9p_node *olddir, const char *oldname,
		      struct x9p_node *newdir, const char *newname,
		      const struct x9p_px_attr *moved);
void px_nodes_unlinked(struct px_fs *fs, struct x9p_node *dir, const char *name);

/* ---- proxy-qid.c ---- */
void px_qid_init(struct px_qidmap *m, bool remap);
void px_qid_set_root(struct px_qidmap *m, uint64_t root_dev);
void px_qid_free(struct px_qidmap *m);
/* Fills a fs.h attribute (qid included) from a helper attribute. */
int px_attr_to_fs(struct px_qidmap *m, const struct x9p_px_attr *in, struct x9p_attr *out);
int px_qid_of(struct px_qidmap *m, const struct x9p_px_attr *a, struct p9_qid *q);

/* ---- proxy-ops.c ---- */
extern const struct x9p_fs_ops px_ops;

#endif
