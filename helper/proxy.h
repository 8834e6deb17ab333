/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The x9p proxy protocol: how x9p-backend (fs/proxy-*.c) talks to one
 * x9p-helper process.  This header is the helper's public interface; the
 * code in helper/proxy-*.c is linked into both processes.
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET socketpair per helper.  One
 * datagram is one message; a message never spans datagrams.
 *
 * Message = header + payload, all integers little-endian:
 *   u32 len      whole message, header included; must equal the datagram
 *   u16 op       X9P_PX_* for a request, op | X9P_PX_REPLY for its reply
 *   u16 flags    X9P_PXF_*; any other bit is a protocol error
 *   u64 req_id   chosen by the backend, echoed in the reply
 * A message is at most X9P_PX_MAX_MSG bytes.
 *
 * Pipelining: the backend may have any number of requests in flight; the
 * helper serves them concurrently and replies in any order.  Every request
 * gets exactly one reply unless it carries X9P_PXF_NOREPLY (CLUNK, CANCEL).
 * A reply starts with s32 status (0 or -errno); on error nothing follows.
 *
 * Payload fields are fixed per op (see the table in docs/helper.md):
 *   str   u16 length + bytes, never a NUL byte
 *   blob  u32 length + bytes
 *   time  s64 seconds + u32 nanoseconds
 *   attr  X9P_PX_ATTR_SIZE bytes: see x9p_px_put_attr()
 * Trailing bytes after the last field are a protocol error.
 *
 * Descriptors: only a successful OPEN or CREATE reply may carry one, as
 * SCM_RIGHTS with X9P_PXF_FD set; it is always an opened regular file.
 * The only requests that carry one are CHANNEL (a socket) and ADOPT (an
 * opened regular file of the export, which a helper handed out earlier:
 * the backend keeps one per node it opened, so that a node no name leads
 * to any more, an open file unlinked or replaced, survives a restart).  A receiver closes every
 * descriptor it did not expect and treats the message as malformed.
 *
 * Channels: besides the socket it was started with, the helper serves
 * SEQPACKET sockets the backend hands it with CHANNEL (sent on the first
 * socket, answered there).  Each channel has a thread of its own in the
 * helper that executes one request at a time, inline, and replies on the
 * same channel: a backend thread that owns a channel for the duration of
 * a call sends, and reads its own reply, with no other thread in between.
 * HELLO, CHANNEL and CANCEL go on the first socket only; CANCEL reaches a
 * request on any channel.  At most X9P_PX_MAX_CHANNELS are served;
 * beyond that CHANNEL fails with EMFILE.
 *
 * Names: every name is one component: 1..255 bytes, no '/', not "." or
 * ".." (WALK alone also accepts "..").  Nodes are u64 ids handed out by the
 * helper (ATTACH, WALK, CREATE) and released with CLUNK; they are never
 * reused within one helper process.
 *
 * Both sides treat every received byte as hostile: the decoders below
 * check every length and value and never read outside the message.
 */
#ifndef X9P_HELPER_PROXY_H
#define X9P_HELPER_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define X9P_PX_VERSION 3u
#define X9P_PX_HDR_SIZE 16u
#define X9P_PX_MAX_MSG (128u * 1024u)
#define X9P_PX_NAME_MAX 255u          /* one path component */
#define X9P_PX_TARGET_MAX 4095u       /* symlink target (PATH_MAX - 1) */
#define X9P_PX_XNAME_MAX 255u         /* xattr name (XATTR_NAME_MAX) */
#define X9P_PX_XSIZE_MAX 65536u       /* xattr value / list (XATTR_SIZE_MAX) */
#define X9P_PX_DEFAULT_MAX_NODES 65536u /* nodes the backend may hold (--max-nodes) */
#define X9P_PX_MAX_CHANNELS 64u     /* CHANNEL sockets one helper serves */
#define X9P_PX_ATTR_SIZE 124u
#define X9P_PX_STATFS_SIZE 60u

#define X9P_PX_REPLY 0x8000u

enum x9p_px_op {
	X9P_PX_HELLO = 1,
	X9P_PX_ATTACH,
	X9P_PX_WALK,
	X9P_PX_CLUNK,
	X9P_PX_GETATTR,
	X9P_PX_SETATTR,
	X9P_PX_OPEN,
	X9P_PX_CREATE,
	X9P_PX_MKDIR,
	X9P_PX_MKNOD,
	X9P_PX_SYMLINK,
	X9P_PX_LINK,
	X9P_PX_READLINK,
	X9P_PX_RENAME,
	X9P_PX_UNLINK,
	X9P_PX_READDIR,
	X9P_PX_STATFS,
	X9P_PX_FSYNC,
	X9P_PX_GETXATTR,
	X9P_PX_LISTXATTR,
	X9P_PX_SETXATTR,
	X9P_PX_REMOVEXATTR,
	X9P_PX_CANCEL,
	X9P_PX_CHANNEL,
	X9P_PX_ADOPT,
	X9P_PX_OP_END,
};

/* header flags */
#define X9P_PXF_FD 0x0001u       /* one SCM_RIGHTS descriptor accompanies */
#define X9P_PXF_NOREPLY 0x0002u  /* request: the sender wants no reply */
#define X9P_PXF_ALL (X9P_PXF_FD | X9P_PXF_NOREPLY)

/* OPEN / CREATE flags (translated bit by bit on both sides) */
#define X9P_PXO_RDONLY 0u
#define X9P_PXO_WRONLY 1u
#define X9P_PXO_RDWR 2u
#define X9P_PXO_ACCMODE 3u
#define X9P_PXO_TRUNC 0x0010u
#define X9P_PXO_APPEND 0x0020u
#define X9P_PXO_DSYNC 0x0040u
#define X9P_PXO_SYNC 0x0080u
#define X9P_PXO_DIRECTORY 0x0100u /* OPEN: fail with ENOTDIR unless a directory */
#define X9P_PXO_ALL 0x01f3u

/* SETATTR valid bits */
#define X9P_PXS_MODE 0x01u
#define X9P_PXS_UID 0x02u
#define X9P_PXS_GID 0x04u
#define X9P_PXS_SIZE 0x08u
#define X9P_PXS_ATIME 0x10u       /* atime holds a time, UTIME_NOW or UTIME_OMIT */
#define X9P_PXS_MTIME 0x20u
#define X9P_PXS_CTIME 0x40u       /* only touch ctime (chown -1 -1) */
#define X9P_PXS_ALL 0x7fu

/* UNLINK flags */
#define X9P_PXU_REMOVEDIR 0x1u

/* READDIR request flags and reply layout */
#define X9P_PXR_ATTR 0x1u         /* request: full attributes per entry */
#define X9P_PXR_EOF 0x1u          /* reply: the directory end was reached */
#define X9P_PXR_FULL 0x2u         /* reply: entries carry full attributes */
#define X9P_PX_DIRENT_COMPACT 40u /* dev ino mode mtime(time) size */

/* SETXATTR flags */
#define X9P_PXX_CREATE 0x1u
#define X9P_PXX_REPLACE 0x2u

/* HELLO reply flags */
#define X9P_PXH_READONLY 0x1u
#define X9P_PXH_PROCFD 0x2u       /* the helper can reopen nodes via /proc */
#define X9P_PXH_NO_SETID 0x4u     /* set-ID bits never reach host files */

enum x9p_secmodel {
	X9P_SM_PASSTHROUGH = 0,
	X9P_SM_MAPPED_XATTR = 1,
	X9P_SM_MAPPED_FILE = 2,
	X9P_SM_NONE = 3,
};

enum x9p_multidevs {
	X9P_MULTIDEVS_REMAP = 0,
	X9P_MULTIDEVS_FORBID = 1,
	X9P_MULTIDEVS_WARN = 2,
};

/* ---- names of things ---- */

const char *x9p_px_op_name(unsigned op);          /* "WALK", or NULL */
const char *x9p_secmodel_name(enum x9p_secmodel m);
bool x9p_secmodel_parse(const char *s, enum x9p_secmodel *m); /* "mapped" = mapped-xattr */
const char *x9p_multidevs_name(enum x9p_multidevs m);
bool x9p_multidevs_parse(const char *s, enum x9p_multidevs *m);

/*
 * 0 if s[0..len) is a valid single component (allow_dotdot: ".." too),
 * -ENAMETOOLONG if longer than X9P_PX_NAME_MAX, else -EINVAL.
 */
int x9p_px_check_name(const char *s, size_t len, bool allow_dotdot);

/* ---- decoded values ---- */

/* A counted string inside a message: not NUL-terminated, has no NUL. */
struct x9p_px_str {
	const char *s;
	uint16_t len;
};

struct x9p_px_hdr {
	uint32_t len;
	uint16_t op;
	uint16_t flags;
	uint64_t id;
};

/* Host attributes after the security model was applied. */
struct x9p_px_attr {
	uint64_t dev, ino;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	struct timespec atime, mtime, ctime, btime;
	uint64_t gen;
};

struct x9p_px_statfs {
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

/*
 * One request.  Which members are used depends on op:
 *   HELLO       version
 *   ATTACH      -
 *   WALK        node name(may be "..")
 *   CLUNK       node
 *   GETATTR     node
 *   SETATTR     node valid mode uid gid size atime mtime
 *   OPEN        node oflags
 *   CREATE      node name oflags mode uid gid
 *   MKDIR       node name mode uid gid
 *   MKNOD       node name mode rdev uid gid
 *   SYMLINK     node name target uid gid
 *   LINK        node(dir) node2(target) name
 *   READLINK    node size
 *   RENAME      node(olddir) name node2(newdir) name2
 *   UNLINK      node name uflags
 *   READDIR     node cookie budget rflags
 *   STATFS      node
 *   FSYNC       node datasync
 *   GETXATTR    node xname size
 *   LISTXATTR   node size
 *   SETXATTR    node xname xflags value
 *   REMOVEXATTR node xname
 *   CANCEL      cancel_id
 *   ADOPT       - (+ descriptor)
 */
struct x9p_px_req {
	struct x9p_px_hdr h;
	uint32_t version;
	uint64_t node, node2;
	struct x9p_px_str name, name2, target, xname;
	uint32_t oflags, mode, uid, gid, valid, uflags, rflags, xflags;
	uint32_t size, budget, datasync;
	uint64_t rdev, cookie, cancel_id, fsize;
	struct timespec atime, mtime;
	const uint8_t *value;
	uint32_t value_len;
};

/*
 * One reply.  After status 0:
 *   HELLO       version model hflags multidevs root_dev root_ino
 *   ATTACH/WALK/CREATE/ADOPT  node attr (CREATE: + descriptor)
 *   GETATTR/MKDIR/MKNOD/SYMLINK  attr
 *   OPEN        - (+ descriptor for a regular file)
 *   READLINK    data (the target, at most the requested size)
 *   READDIR     count rflags entries (see x9p_px_dirent_next)
 *   STATFS      st
 *   GETXATTR/LISTXATTR  xlen data (data empty when the request size was 0)
 *   others      -
 */
struct x9p_px_rep {
	struct x9p_px_hdr h;
	int32_t status;
	uint32_t version, model, hflags, multidevs;
	uint64_t root_dev, root_ino;
	uint64_t node;
	struct x9p_px_attr attr;
	struct x9p_px_statfs st;
	uint32_t xlen;
	const uint8_t *data;
	uint32_t data_len;
	uint32_t count, rflags;
	const uint8_t *entries;      /* READDIR: count entries, already validated */
	uint32_t entries_len;
};

/* One READDIR entry as decoded by x9p_px_dirent_next(). */
struct x9p_px_dirent {
	uint64_t next;               /* cookie resuming after this entry */
	struct x9p_px_str name;      /* a valid component, "." or ".." */
	bool full;                   /* attr complete; else only dev ino mode mtime size */
	struct x9p_px_attr attr;
};

/* ---- codec (proxy-wire.c) ---- */

/*
 * Encoders return the message length, or -EMSGSIZE if it does not fit in
 * cap, or -EINVAL if a field is out of its bounds (e.g. a name too long).
 */
int x9p_px_encode_req(void *buf, size_t cap, const struct x9p_px_req *r);
int x9p_px_encode_rep(void *buf, size_t cap, const struct x9p_px_rep *r);

/*
 * Reads the header; 0 or -EPROTO when the message is shorter than a
 * header, its len differs from mlen, or it has unknown flag bits.
 */
int x9p_px_decode_hdr(const void *buf, size_t mlen, struct x9p_px_hdr *h);

/*
 * Decode a whole message.  Strings and blobs point into buf.  Returns 0;
 * -EPROTO for framing errors (short field, trailing bytes, bad flags),
 * -EOPNOTSUPP for an unknown op, -EINVAL / -ENAMETOOLONG / -ERANGE / -E2BIG
 * for a field out of bounds.  r->h is filled whenever the header was
 * readable, so the receiver can answer on the right req_id.
 */
int x9p_px_decode_req(const void *buf, size_t len, struct x9p_px_req *r);
/* expect_op: the request op this reply must answer. */
int x9p_px_decode_rep(const void *buf, size_t len, uint16_t expect_op,
		      struct x9p_px_rep *r);

/* Iterates READDIR entries; returns 1 with *de filled, 0 at the end. */
struct x9p_px_diriter {
	const uint8_t *p, *end;
	uint32_t left;
	bool full;
};
void x9p_px_diriter_init(struct x9p_px_diriter *it, const struct x9p_px_rep *r);
int x9p_px_dirent_next(struct x9p_px_diriter *it, struct x9p_px_dirent *de);

/*
 * Building a READDIR reply: x9p_px_rd_begin() writes the header and
 * status, x9p_px_rd_add() appends one entry (returns false, writing
 * nothing, when it does not fit), x9p_px_rd_end() patches count, flags and
 * len and returns the message length.
 */
struct x9p_px_rdbuf {
	uint8_t *buf;
	size_t cap, len;
	uint32_t count;
	bool full;
};
void x9p_px_rd_begin(struct x9p_px_rdbuf *b, void *buf, size_t cap, uint64_t id, bool full);
bool x9p_px_rd_add(struct x9p_px_rdbuf *b, uint64_t next, const char *name, size_t namelen,
		   const struct x9p_px_attr *a);
size_t x9p_px_rd_end(struct x9p_px_rdbuf *b, bool eof);
/* Bytes one entry takes on the wire. */
size_t x9p_px_dirent_wire_size(size_t namelen, bool full);

/* ---- socket I/O (proxy-io.c) ---- */

/* Sends one message with an optional descriptor (-1: none).  0 or -errno. */
int x9p_px_send(int sock, const void *buf, size_t len, int fd);

/*
 * Receives one message into buf (cap should be X9P_PX_MAX_MSG + 1, so an
 * oversized message is recognised).  Returns:
 *    0          a message of *len bytes; *fd is its descriptor or -1
 *    1          end of stream (the peer closed)
 *   -EMSGSIZE   the message was larger than cap (truncated; *len = cap)
 *   -EBADMSG    descriptors arrived truncated or more than one arrived:
 *               all were closed, *fd = -1, *len is valid
 *   -errno      the socket failed (-EAGAIN for a non-blocking socket)
 */
int x9p_px_recv(int sock, void *buf, size_t cap, size_t *len, int *fd);

#endif
