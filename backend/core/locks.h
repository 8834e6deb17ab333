/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * POSIX record locks of the guests, kept by the server.
 *
 * 9P2000.L sends every lock with its owner (the client's proc_id and
 * client_id), and POSIX locks belong to that owner, not to an open file:
 * a process holding two descriptors of a file never conflicts with
 * itself, and a new lock over its own range replaces (splits, merges) the
 * old one.  Host open-file-description locks cannot model that (each fid
 * has its own description), so the server keeps the table itself, per
 * file (qid.path) across all sessions of the export.  The Linux client
 * resolves conflicts between processes of one guest locally first; this
 * table resolves them between its fids and between guests.  Locks taken
 * through the same fid never conflict either: processes sharing one open
 * file (flock() after fork, which the client sends as a lock of the
 * calling process) share its locks, as they share the description.  Host
 * processes do not see these locks.
 *
 * Thread-safe.  Ranges are [start, start+length-1]; length 0 runs to the
 * end of the file.
 *
 * Bounded: each session holds at most `max_per_session` lock records (a
 * lock that an unlock splits counts twice), and a client_id is at most
 * X9P_LOCK_CLIENT_ID_MAX bytes (Linux sends its node name, at most 64).
 * Each file's read locks and write locks are interval trees, and each
 * owner's locks a tree of their own: placing or testing a lock costs
 * O(log n) in the locks of its file, plus the caller's own locks that the
 * range covers (which placing it then replaces); other owners' shared read
 * locks cost a reader nothing.
 */
#ifndef X9P_LOCKS_H
#define X9P_LOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "9p/p9.h"

struct x9p_locks;

struct x9p_lock_owner {
	const void *session;         /* owners never match across sessions */
	uint32_t proc_id;
	struct p9_str client_id;
	uint32_t fid;                /* the fid the lock is placed through */
};

#define X9P_LOCK_CLIENT_ID_MAX 255u
#define X9P_DEFAULT_MAX_LOCKS 16384u

/* max_per_session: 0 = X9P_DEFAULT_MAX_LOCKS. */
struct x9p_locks *x9p_locks_new(unsigned max_per_session);
void x9p_locks_free(struct x9p_locks *t);

/*
 * type: P9_LOCK_TYPE_*.  Returns P9_LOCK_SUCCESS, P9_LOCK_BLOCKED, or
 * -ENOLCK when the session would pass its limit (nothing changed then).
 */
int x9p_locks_set(struct x9p_locks *t, uint64_t file, const struct x9p_lock_owner *o,
		  uint8_t type, uint64_t start, uint64_t length);
/*
 * Tests whether `type` over the range could be placed by o.  The Linux
 * client asks with type UNLCK (it does not say which lock it would take):
 * that is answered as a read-lock test, reporting only others' write
 * locks, which conflict with anything.  If another
 * owner's lock conflicts, *out describes it (type, start, length, proc_id,
 * client_id copied into cid of cidlen bytes); else out->type is UNLCK.
 */
void x9p_locks_test(struct x9p_locks *t, uint64_t file, const struct x9p_lock_owner *o,
		    uint8_t type, uint64_t start, uint64_t length,
		    struct p9_lock *out, char *cid, size_t cidlen);
/* Every lock record of session's owners is kept in j too
 * (journal/journal.h; NULL: no more). */
struct x9p_journal;
void x9p_locks_set_journal(struct x9p_locks *t, const void *session, struct x9p_journal *j);
/* Drops every lock a session holds (it closed, or renegotiated). */
void x9p_locks_drop_session(struct x9p_locks *t, const void *session);
/* Tree nodes the last x9p_locks_set/test looked at (for complexity tests). */
unsigned long x9p_locks_visits(struct x9p_locks *t);

#endif
