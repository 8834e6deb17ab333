/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filesystem-driver interface the 9P core calls.
 *
 * Contract:
 *  - The core never touches the exported tree; every namespace and metadata
 *    operation goes through a driver.  Drivers are: the proxy client
 *    (fs/proxy-*.c, talks to x9p-helper; the production driver) and the
 *    synthetic in-memory driver (fs/synth-*.c, for protocol tests).
 *  - Drivers work on node handles, never on paths.  Every call that takes a
 *    name takes exactly one component that the core has already checked
 *    with p9_name_valid() (walk may also get ".."; the core never asks for
 *    ".." of the root node and the driver must anyway not leave the export).
 *  - Nodes are reference counted by the driver: every call that returns a
 *    node returns a new reference; node_dup() adds one; node_put() drops
 *    one.  All calls are thread-safe; the core calls them from its worker
 *    pool, many at once.
 *  - open()/create() of a regular file return an opened file descriptor
 *    that the core owns and reads, writes, fsyncs, truncates and locks
 *    directly.  Opening a directory returns fd -1 (reading a directory goes
 *    through readdir()).  Anything that is neither refused with -ENXIO.
 *  - Every call returns 0 (or a non-negative count where documented) or a
 *    negative errno.  A driver whose backing process died returns -EIO.
 *  - Long-running calls should return -EINTR soon after *ctx->cancelled
 *    becomes true (Tflush).
 */
#ifndef X9P_FS_H
#define X9P_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "9p/p9.h"

struct x9p_fs;
struct x9p_node;

/* Who performs a request, and whether the request was flushed. */
struct x9p_journal;

struct x9p_ctx {
	uint32_t uid;               /* guest identity (the fid's user) */
	uint32_t gid;               /* from the request; (uint32_t)-1 if it has none */
	const volatile int *cancelled; /* may be NULL */
	/* The client the work is for (its session), for a driver's fair shares
	 * of what all clients of the export use; NULL: nobody's. */
	const void *owner;
	const char *client;         /* its name for log lines, or NULL */
	/* A request run again by a new worker after its previous one died
	 * (journal/journal.h): it may have taken effect already, from this
	 * time on.  The driver then never executes a name change twice. */
	const struct timespec *replay_since;
};

static inline bool x9p_ctx_cancelled(const struct x9p_ctx *c)
{
	return c && c->cancelled && *c->cancelled;
}

/* Attributes of a node; qid is computed by the driver (multidevs remap). */
struct x9p_attr {
	struct p9_qid qid;
	uint32_t mode;              /* full st_mode, type bits included */
	uint32_t uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	struct timespec atime, mtime, ctime, btime;
	uint64_t gen, data_version;
};

/* What to change; `valid` uses the P9_SETATTR_* bits of the wire. */
struct x9p_setattr {
	uint32_t valid;
	uint32_t mode, uid, gid;
	uint64_t size;
	struct timespec atime, mtime; /* tv_nsec may be UTIME_NOW / UTIME_OMIT */
};

/* One directory entry as readdir() reports it. */
struct x9p_dirent {
	const char *name;           /* NUL-terminated, valid during the callback */
	struct p9_qid qid;
	uint8_t dtype;              /* DT_* */
	uint64_t next;              /* cookie that resumes after this entry */
	const struct x9p_attr *attr; /* non-NULL only when attributes were asked for */
};

/* Return 0 to take the entry and continue, 1 to stop before this entry. */
typedef int (*x9p_dirent_cb)(void *opaque, const struct x9p_dirent *de);

struct x9p_fs_ops {
	const char *name;

	int (*attach)(struct x9p_fs *fs, const struct x9p_ctx *c, const char *aname,
		      struct x9p_node **out, struct x9p_attr *attr);
	/* name is one valid component or ".." */
	int (*walk)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, struct x9p_node **out, struct x9p_attr *attr);
	struct x9p_node *(*node_dup)(struct x9p_fs *fs, struct x9p_node *n);
	void (*node_put)(struct x9p_fs *fs, struct x9p_node *n);

	int (*getattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		       struct x9p_attr *attr);
	int (*setattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		       const struct x9p_setattr *sa);

	/* flags: Linux O_* (already translated from the wire); *fd = -1 for dirs */
	int (*open)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		    int flags, int *fd);
	/* Creates and opens a regular file; flags include O_CREAT */
	int (*create)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		      const char *name, int flags, uint32_t mode,
		      struct x9p_node **out, struct x9p_attr *attr, int *fd);
	int (*mkdir)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, uint32_t mode, struct x9p_attr *attr);
	/* mode carries the file type (S_IFCHR, S_IFIFO, ...) */
	int (*mknod)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, uint32_t mode, uint64_t rdev, struct x9p_attr *attr);
	int (*symlink)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		       const char *name, const char *target, struct x9p_attr *attr);
	int (*link)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    struct x9p_node *target, const char *name);
	/* Returns the target length (not NUL-terminated in buf), or -errno */
	int (*readlink)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			char *buf, size_t len);
	int (*rename)(struct x9p_fs *fs, const struct x9p_ctx *c,
		      struct x9p_node *olddir, const char *oldname,
		      struct x9p_node *newdir, const char *newname);
	/* flags: 0 or AT_REMOVEDIR */
	int (*unlink)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		      const char *name, int flags);

	/*
	 * Lists `dir` from `cookie` (0 = start) in one batch, calling cb for
	 * each entry until cb returns 1, about `budget` bytes of entries were
	 * produced, or the end.  "." and ".." are reported like the host
	 * reports them.  Returns the number of entries taken, or -errno.
	 * at_end (may be NULL) is set when the batch reached the end of the
	 * directory: every entry after the cookie was offered and taken, so
	 * the caller need not ask again at the last entry's cookie.
	 */
	int (*readdir)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		       uint64_t cookie, size_t budget, bool want_attr,
		       x9p_dirent_cb cb, void *opaque, bool *at_end);

	int (*statfs)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      struct p9_statfs *st);
	/* For nodes without an open fd (directories); files are synced by the core */
	int (*fsync)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     bool datasync);

	/* size 0 asks for the length only; returns the length or -errno */
	ssize_t (*getxattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			    const char *name, void *buf, size_t size);
	ssize_t (*listxattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			     char *buf, size_t size);
	/* flags: 0, XATTR_CREATE or XATTR_REPLACE */
	int (*setxattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			const char *name, const void *value, size_t size, int flags);
	int (*removexattr)(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			   const char *name);

	/*
	 * Optional: the session journal (journal/journal.h).  journal() gives
	 * the driver the journal its nodes are kept in; node_jslot() is n's
	 * slot there (0: not kept); node_restore() makes a node of slot for a
	 * new worker, with its location (*parent NULL and *name NULL for a
	 * root or a node no name leads to), or NULL.
	 */
	void (*journal)(struct x9p_fs *fs, struct x9p_journal *j);
	uint32_t (*node_jslot)(struct x9p_fs *fs, struct x9p_node *n);
	struct x9p_node *(*node_restore)(struct x9p_fs *fs, const struct x9p_ctx *c,
					 uint32_t slot, struct x9p_node **parent, char **name);

	void (*destroy)(struct x9p_fs *fs);
};

/* Every driver instance starts with this header. */
struct x9p_fs {
	const struct x9p_fs_ops *ops;
	bool readonly;
	/* open() may wait until the client flushes it (the synthetic
	 * /blocker): the engine then never runs an open on a transport's
	 * thread (x9p_session_submit_inline). */
	bool open_may_stall;
};

#endif
