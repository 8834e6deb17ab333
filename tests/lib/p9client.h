/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Synchronous 9P client for tests, the benchmark and trace replay.
 *
 * Contract:
 *  - One struct p9c per connection, used from one thread at a time.  It
 *    owns its file descriptor(s) and closes them in p9c_free().
 *  - Sending never limits what goes out: tests may send oversized,
 *    malformed or out-of-dialect messages on purpose (p9c_send_raw for
 *    bytes the codec would refuse to produce).
 *  - Every received frame is validated before anything else looks at it:
 *    size[4] must be >= 7 and <= the client's msize (P9C_DEFAULT_MSIZE
 *    until p9c_version() negotiates one); the frame must decode in the
 *    client's dialect; it must be an R-message; its tag must belong to a
 *    request still outstanding; its type must answer that request
 *    (T+1, or the dialect's error reply: Rlerror for 9P2000.L, Rerror
 *    otherwise; either for Tversion).  A frame that breaks any of these
 *    makes p9c_recv() return -EPROTO; the offending bytes are still handed
 *    back when the frame could be delimited.  A size field out of bounds
 *    leaves the byte stream unusable: the client is then "broken" and
 *    every later receive returns -EPROTO.
 *  - Tag bookkeeping follows the protocol: a tag is outstanding from its
 *    send until its reply; Rflush cancels the flushed tag if its reply has
 *    not arrived yet (a reply after the Rflush is -EPROTO); Rversion
 *    cancels everything.  Sending on a tag already outstanding is allowed
 *    (tests of duplicate tags): each request counts, and a reply retires
 *    the one whose type it answers (an error reply: the newest).
 *  - Any Rversion naming a known dialect, however its Tversion was sent,
 *    switches the client to that dialect and to the msize it carries.
 *  - p9c_recv() returns replies in arrival order, whatever their tag.  The
 *    convenience calls and p9c_rpc() send one request and wait for the
 *    reply with its tag; replies with other tags that arrive meanwhile
 *    are queued and returned, in arrival order, by later p9c_recv() calls
 *    with the verdict they got on arrival (0 or -EPROTO), so a bad reply
 *    to one request never fails another call.  After p9c_flush(), a
 *    queued reply to the flushed tag is known to have arrived before the
 *    Rflush.
 *  - Convenience calls return 0 or a negative errno: the errno of
 *    Rlerror, or of Rerror (its errno field in .u/.L; in 9P2000 the
 *    message text mapped back through strerror, EIO if unknown); -EPROTO
 *    for a reply that is malformed or does not fit the request (a read
 *    returning more than asked, a walk returning more qids than names or
 *    none at all, a negotiated msize larger than proposed, ...);
 *    -ETIMEDOUT when a timeout was set (p9c_set_timeout) and expired;
 *    -ECONNRESET when the server closed the connection; other -errno
 *    from the socket calls.
 *  - Strings returned through reply structures point into the reply's
 *    frame (valid until p9c_reply_clear); the convenience calls copy
 *    anything they return into caller buffers or fresh allocations.
 */
#ifndef X9P_TESTS_P9CLIENT_H
#define X9P_TESTS_P9CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "9p/p9.h"

#define P9C_DEFAULT_MSIZE (1024u * 1024u) /* accepted reply size before Tversion */
#define P9C_AUTOTAG (-1)

struct p9c;

/* One received frame; p9c_reply_clear() frees it (safe on a zeroed one). */
struct p9c_reply {
	struct p9_msg m;   /* valid when the receive returned 0 */
	uint8_t *frame;    /* the whole frame as received, or NULL */
	size_t len;
};

/* ---- connections ---- */

/* "unix:PATH", "tcp:HOST:PORT" or "fd:N" (N is taken over). NULL + *err. */
struct p9c *p9c_connect(const char *addr, int *err);
struct p9c *p9c_new_fd(int fd);              /* takes fd over */
struct p9c *p9c_new_fds(int rfd, int wfd);   /* two pipes (trans=fd style) */
void p9c_free(struct p9c *c);
int p9c_fd(const struct p9c *c);             /* the receive side */

void p9c_set_dialect(struct p9c *c, enum p9_dialect d);   /* default .L */
enum p9_dialect p9c_dialect(const struct p9c *c);
void p9c_set_msize(struct p9c *c, uint32_t msize);        /* reply size limit */
uint32_t p9c_msize(const struct p9c *c);
/* Timeout of the convenience calls and p9c_rpc, in ms; -1 (default) waits forever. */
void p9c_set_timeout(struct p9c *c, int timeout_ms);
/* Text of the last Rerror received ("" if none / after an Rlerror). */
const char *p9c_last_ename(const struct p9c *c);
/* A fid number not handed out before by this client (starts at 1). */
uint32_t p9c_newfid(struct p9c *c);
/* Replies queued by convenience calls, not yet returned by p9c_recv. */
unsigned p9c_queued(const struct p9c *c);
/* Requests sent whose replies have not arrived (nor been cancelled). */
unsigned p9c_outstanding(const struct p9c *c);

/* ---- raw messaging ---- */

/* Writes bytes as they are; every complete frame header in them registers
 * its tag as outstanding.  0 or -errno. */
int p9c_send_raw(struct p9c *c, const void *buf, size_t len);
/* Encodes m (in the client's dialect) with tag `tag`, or a free tag when
 * tag is P9C_AUTOTAG (m->tag is ignored then).  Returns the tag or -errno. */
int p9c_send(struct p9c *c, const struct p9_msg *m, int tag);
/* The next reply (queued ones first).  timeout_ms: -1 forever, 0 poll.
 * 0, -ETIMEDOUT (nothing arrived: "no reply"), -ECONNRESET, -EPROTO. */
int p9c_recv(struct p9c *c, struct p9c_reply *r, int timeout_ms);
void p9c_reply_clear(struct p9c_reply *r);
/* Sends t on a free tag and waits for its reply into r.  Returns 0 for
 * the expected R type, -errno for an error reply (r holds it), else as
 * p9c_recv.  The caller clears r in every case. */
int p9c_rpc(struct p9c *c, const struct p9_msg *t, struct p9c_reply *r);
/* Error reply -> -errno (see contract); 0 if r is not an error reply. */
int p9c_reply_errno(struct p9c *c, const struct p9c_reply *r);

/* ---- session ---- */

/* Tversion on NOTAG.  The reply sets the client's msize and dialect
 * ("9P2000.L", "9P2000.u", "9P2000"; anything else leaves both).  An
 * Rversion "unknown" is a successful call: check ver_out.  -EPROTO if the
 * server answered a larger msize than proposed. */
int p9c_version(struct p9c *c, uint32_t msize, const char *version,
		uint32_t *msize_out, char *ver_out, size_t ver_len);
int p9c_auth(struct p9c *c, uint32_t afid, const char *uname, const char *aname,
	     uint32_t n_uname, struct p9_qid *aqid);
int p9c_attach(struct p9c *c, uint32_t fid, uint32_t afid, const char *uname,
	       const char *aname, uint32_t n_uname, struct p9_qid *qid);
/* Tflush; waits for the Rflush.  Other replies meanwhile are queued. */
int p9c_flush(struct p9c *c, uint16_t oldtag);

/* ---- walking and fids ---- */

/* wqids (may be NULL) receives up to nwname qids.  A partial walk is not
 * an error: compare *nwqid with nwname (newfid exists only if equal). */
int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, unsigned nwname,
	     const char *const *wnames, uint16_t *nwqid, struct p9_qid *wqids);
/* Walks "a/b/c" (at most 16 components; "" clones).  -ENOENT if the walk
 * stopped short; qid (may be NULL) gets the last element's qid. */
int p9c_walk_path(struct p9c *c, uint32_t fid, uint32_t newfid, const char *path,
		  struct p9_qid *qid);
int p9c_clunk(struct p9c *c, uint32_t fid);
int p9c_remove(struct p9c *c, uint32_t fid);

/* ---- 9P2000.L ---- */

int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
	      uint32_t *iounit);
int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags,
		uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit);
/* *nread <= count, else -EPROTO. */
int p9c_read(struct p9c *c, uint32_t fid, uint64_t offset, uint32_t count,
	     void *buf, uint32_t *nread);
/* *nwritten <= count, else -EPROTO. */
int p9c_write(struct p9c *c, uint32_t fid, uint64_t offset, const void *data,
	      uint32_t count, uint32_t *nwritten);

typedef int (*p9c_dirent_cb)(const struct p9_dirent *de, void *opaque);
/* Raw Rreaddir payload into buf (count bytes at most). */
int p9c_readdir(struct p9c *c, uint32_t fid, uint64_t offset, uint32_t count,
		void *buf, uint32_t *nbytes);
/* Walks a Rreaddir payload: 0, -EPROTO if malformed (checked before any
 * callback runs), or the first nonzero callback return. */
int p9c_parse_dirents(const void *buf, size_t len, p9c_dirent_cb cb, void *opaque);
/* Reads a whole directory from offset 0 with Treaddir batches of `count`. */
int p9c_readdir_all(struct p9c *c, uint32_t fid, uint32_t count,
		    p9c_dirent_cb cb, void *opaque);

int p9c_getattr(struct p9c *c, uint32_t fid, uint64_t mask, struct p9_getattr *out);
int p9c_setattr(struct p9c *c, uint32_t fid, const struct p9_setattr *attr);
int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode,
	      uint32_t gid, struct p9_qid *qid);
int p9c_unlinkat(struct p9c *c, uint32_t dfid, const char *name, uint32_t flags);
int p9c_renameat(struct p9c *c, uint32_t olddfid, const char *oldname,
		 uint32_t newdfid, const char *newname);
int p9c_rename(struct p9c *c, uint32_t fid, uint32_t dfid, const char *name);
int p9c_symlink(struct p9c *c, uint32_t dfid, const char *name, const char *target,
		uint32_t gid, struct p9_qid *qid);
/* Copies the target NUL-terminated; -ENAMETOOLONG if it does not fit. */
int p9c_readlink(struct p9c *c, uint32_t fid, char *buf, size_t len);
int p9c_link(struct p9c *c, uint32_t dfid, uint32_t fid, const char *name);
int p9c_mknod(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode,
	      uint32_t major, uint32_t minor, uint32_t gid, struct p9_qid *qid);
int p9c_statfs(struct p9c *c, uint32_t fid, struct p9_statfs *out);
int p9c_fsync(struct p9c *c, uint32_t fid, uint32_t datasync);
int p9c_xattrwalk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *name,
		  uint64_t *size);
int p9c_xattrcreate(struct p9c *c, uint32_t fid, const char *name, uint64_t size,
		    uint32_t flags);
int p9c_lock(struct p9c *c, uint32_t fid, const struct p9_lock *lk, uint8_t *status);
/* out->client_id points into cid (copied, NUL-terminated) or is empty
 * when cid is NULL; -ENAMETOOLONG if it does not fit. */
int p9c_getlock(struct p9c *c, uint32_t fid, const struct p9_lock *req,
		struct p9_lock *out, char *cid, size_t cidlen);

/* ---- 9P2000 / 9P2000.u ---- */

int p9c_open(struct p9c *c, uint32_t fid, uint8_t mode, struct p9_qid *qid,
	     uint32_t *iounit);
int p9c_create(struct p9c *c, uint32_t fid, const char *name, uint32_t perm,
	       uint8_t mode, const char *extension, struct p9_qid *qid,
	       uint32_t *iounit);
/* *out is one allocation (g_free() it) whose strings point inside it. */
int p9c_stat(struct p9c *c, uint32_t fid, struct p9_stat **out);
int p9c_wstat(struct p9c *c, uint32_t fid, const struct p9_stat *st);

typedef int (*p9c_stat_cb)(const struct p9_stat *st, void *opaque);
/* Walks stat records of a directory read: 0, -EPROTO if malformed
 * (checked before any callback runs), or the first nonzero callback return. */
int p9c_parse_stats(const void *buf, size_t len, enum p9_dialect d,
		    p9c_stat_cb cb, void *opaque);
/* Reads an opened directory from offset 0 with Tread batches of `count`. */
int p9c_read_stats(struct p9c *c, uint32_t fid, uint32_t count,
		   p9c_stat_cb cb, void *opaque);

#endif
