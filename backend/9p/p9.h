/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 9P wire codec for 9P2000, 9P2000.u and 9P2000.L.
 *
 * Contract:
 *  - Pure functions over caller-owned buffers; no I/O, no allocation.
 *  - p9_decode() never reads outside [buf, buf+len).  Every length, count
 *    and string is checked against the frame; anything malformed is
 *    reported as a negative errno (-EPROTO for framing errors, -EINVAL for
 *    semantically invalid fields such as nwname > 16), never a crash.
 *  - Decoded strings (struct p9_str) and data payloads point INTO the
 *    decoded buffer and are not NUL-terminated; the decoder guarantees a
 *    string never contains a NUL byte.  They stay valid as long as the
 *    buffer does.
 *  - p9_encode() writes a whole frame (size[4] included) and returns its
 *    length, or -EMSGSIZE when it does not fit in the output buffer.
 *  - The dialect changes the layout of a few messages (attach/auth n_uname,
 *    Rerror errno, create extension, stat record); it must be passed to
 *    both directions.
 *  - Both T- and R-messages of every type can be encoded and decoded, so
 *    the same code serves the server and the test client.
 */
#ifndef X9P_P9_H
#define X9P_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P9_HDR_SIZE 7u          /* size[4] type[1] tag[2] */
#define P9_NOTAG 0xFFFFu
#define P9_NOFID 0xFFFFFFFFu
#define P9_MAXWELEM 16
#define P9_IOHDR_SIZE 24u       /* bytes of overhead a Rread/Twrite may carry */
#define P9_READDIR_HDR 11u      /* Rreaddir: size type tag count[4] */
#define P9_RREAD_HDR 11u        /* Rread: size type tag count[4] */
#define P9_NONUNAME 0xFFFFFFFFu /* n_uname "not given" */

enum p9_dialect {
	P9_DIALECT_2000 = 0,
	P9_DIALECT_2000U = 1,
	P9_DIALECT_2000L = 2,
};

enum p9_type {
	P9_TLERROR = 6, P9_RLERROR,
	P9_TSTATFS = 8, P9_RSTATFS,
	P9_TLOPEN = 12, P9_RLOPEN,
	P9_TLCREATE = 14, P9_RLCREATE,
	P9_TSYMLINK = 16, P9_RSYMLINK,
	P9_TMKNOD = 18, P9_RMKNOD,
	P9_TRENAME = 20, P9_RRENAME,
	P9_TREADLINK = 22, P9_RREADLINK,
	P9_TGETATTR = 24, P9_RGETATTR,
	P9_TSETATTR = 26, P9_RSETATTR,
	P9_TXATTRWALK = 30, P9_RXATTRWALK,
	P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
	P9_TREADDIR = 40, P9_RREADDIR,
	P9_TFSYNC = 50, P9_RFSYNC,
	P9_TLOCK = 52, P9_RLOCK,
	P9_TGETLOCK = 54, P9_RGETLOCK,
	P9_TLINK = 70, P9_RLINK,
	P9_TMKDIR = 72, P9_RMKDIR,
	P9_TRENAMEAT = 74, P9_RRENAMEAT,
	P9_TUNLINKAT = 76, P9_RUNLINKAT,
	P9_TVERSION = 100, P9_RVERSION,
	P9_TAUTH = 102, P9_RAUTH,
	P9_TATTACH = 104, P9_RATTACH,
	P9_TERROR = 106, P9_RERROR,
	P9_TFLUSH = 108, P9_RFLUSH,
	P9_TWALK = 110, P9_RWALK,
	P9_TOPEN = 112, P9_ROPEN,
	P9_TCREATE = 114, P9_RCREATE,
	P9_TREAD = 116, P9_RREAD,
	P9_TWRITE = 118, P9_RWRITE,
	P9_TCLUNK = 120, P9_RCLUNK,
	P9_TREMOVE = 122, P9_RREMOVE,
	P9_TSTAT = 124, P9_RSTAT,
	P9_TWSTAT = 126, P9_RWSTAT,
};

/* qid.type bits */
#define P9_QTDIR 0x80
#define P9_QTAPPEND 0x40
#define P9_QTEXCL 0x20
#define P9_QTAUTH 0x08
#define P9_QTTMP 0x04
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* 9P2000(.u) mode bits for stat.mode / Tcreate perm */
#define P9_DMDIR 0x80000000u
#define P9_DMAPPEND 0x40000000u
#define P9_DMEXCL 0x20000000u
#define P9_DMTMP 0x04000000u
#define P9_DMSYMLINK 0x02000000u   /* .u */
#define P9_DMLINK 0x01000000u      /* .u */
#define P9_DMDEVICE 0x00800000u    /* .u */
#define P9_DMNAMEDPIPE 0x00200000u /* .u */
#define P9_DMSOCKET 0x00100000u    /* .u */
#define P9_DMSETUID 0x00080000u    /* .u */
#define P9_DMSETGID 0x00040000u    /* .u */
#define P9_DMSETVTX 0x00010000u    /* .u */

/* Topen/Tcreate mode byte */
#define P9_OREAD 0
#define P9_OWRITE 1
#define P9_ORDWR 2
#define P9_OEXEC 3
#define P9_OTRUNC 0x10
#define P9_ORCLOSE 0x40

/* 9P2000.L Tlopen/Tlcreate flags (Linux values, translated bit by bit) */
#define P9L_RDONLY 00000000
#define P9L_WRONLY 00000001
#define P9L_RDWR 00000002
#define P9L_NOACCESS 00000003
#define P9L_CREATE 00000100
#define P9L_EXCL 00000200
#define P9L_NOCTTY 00000400
#define P9L_TRUNC 00001000
#define P9L_APPEND 00002000
#define P9L_NONBLOCK 00004000
#define P9L_DSYNC 00010000
#define P9L_FASYNC 00020000
#define P9L_DIRECT 00040000
#define P9L_LARGEFILE 00100000
#define P9L_DIRECTORY 00200000
#define P9L_NOFOLLOW 00400000
#define P9L_NOATIME 01000000
#define P9L_CLOEXEC 02000000
#define P9L_SYNC 04000000

/* Tgetattr request_mask / Rgetattr valid */
#define P9_GETATTR_MODE 0x00000001ULL
#define P9_GETATTR_NLINK 0x00000002ULL
#define P9_GETATTR_UID 0x00000004ULL
#define P9_GETATTR_GID 0x00000008ULL
#define P9_GETATTR_RDEV 0x00000010ULL
#define P9_GETATTR_ATIME 0x00000020ULL
#define P9_GETATTR_MTIME 0x00000040ULL
#define P9_GETATTR_CTIME 0x00000080ULL
#define P9_GETATTR_INO 0x00000100ULL
#define P9_GETATTR_SIZE 0x00000200ULL
#define P9_GETATTR_BLOCKS 0x00000400ULL
#define P9_GETATTR_BTIME 0x00000800ULL
#define P9_GETATTR_GEN 0x00001000ULL
#define P9_GETATTR_DATA_VERSION 0x00002000ULL
#define P9_GETATTR_BASIC 0x000007ffULL
#define P9_GETATTR_ALL 0x00003fffULL

/* Tsetattr valid */
#define P9_SETATTR_MODE 0x00000001u
#define P9_SETATTR_UID 0x00000002u
#define P9_SETATTR_GID 0x00000004u
#define P9_SETATTR_SIZE 0x00000008u
#define P9_SETATTR_ATIME 0x00000010u
#define P9_SETATTR_MTIME 0x00000020u
#define P9_SETATTR_CTIME 0x00000040u
#define P9_SETATTR_ATIME_SET 0x00000080u
#define P9_SETATTR_MTIME_SET 0x00000100u

/* Tlock */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_FLAGS_BLOCK 1
#define P9_LOCK_FLAGS_RECLAIM 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_BLOCKED 1
#define P9_LOCK_ERROR 2
#define P9_LOCK_GRACE 3

/* Tunlinkat flags */
#define P9_AT_REMOVEDIR 0x200

/* A counted string inside a frame: not NUL-terminated, never contains NUL. */
struct p9_str {
	const char *s;
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* 9P2000 / 9P2000.u stat record (the .u fields are ignored for 9P2000). */
struct p9_stat {
	uint16_t type;
	uint32_t dev;
	struct p9_qid qid;
	uint32_t mode;
	uint32_t atime;
	uint32_t mtime;
	uint64_t length;
	struct p9_str name, uid, gid, muid;
	struct p9_str extension; /* .u */
	uint32_t n_uid, n_gid, n_muid; /* .u */
};

struct p9_getattr {
	uint64_t valid;
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
	uint64_t ctime_sec, ctime_nsec, btime_sec, btime_nsec;
	uint64_t gen, data_version;
};

struct p9_setattr {
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9_statfs {
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

struct p9_lock {
	uint8_t type;
	uint32_t flags;   /* Tlock only */
	uint64_t start, length;
	uint32_t proc_id;
	struct p9_str client_id;
};

/*
 * One decoded (or to-be-encoded) message.  Only the member of the union
 * named after `type` is meaningful.
 */
struct p9_msg {
	uint8_t type;
	uint16_t tag;
	union {
		struct { uint32_t msize; struct p9_str version; } version;          /* T/Rversion */
		struct { uint32_t afid; struct p9_str uname, aname; uint32_t n_uname; } tauth;
		struct { struct p9_qid aqid; } rauth;
		struct { uint32_t fid, afid; struct p9_str uname, aname; uint32_t n_uname; } tattach;
		struct { struct p9_qid qid; } rattach;
		struct { struct p9_str ename; uint32_t ecode; } rerror;             /* ecode: .u */
		struct { uint32_t ecode; } rlerror;
		struct { uint16_t oldtag; } tflush;
		struct { uint32_t fid, newfid; uint16_t nwname; struct p9_str wname[P9_MAXWELEM]; } twalk;
		struct { uint16_t nwqid; struct p9_qid wqid[P9_MAXWELEM]; } rwalk;
		struct { uint32_t fid; uint8_t mode; } topen;
		struct { struct p9_qid qid; uint32_t iounit; } ropen;               /* Ropen, Rcreate, Rlopen, Rlcreate */
		struct { uint32_t fid; struct p9_str name; uint32_t perm; uint8_t mode; struct p9_str extension; } tcreate;
		struct { uint32_t fid; uint64_t offset; uint32_t count; } tread;    /* Tread, Treaddir */
		struct { uint32_t count; const uint8_t *data; } rread;              /* Rread, Rreaddir */
		struct { uint32_t fid; uint64_t offset; uint32_t count; const uint8_t *data; } twrite;
		struct { uint32_t count; } rwrite;
		struct { uint32_t fid; } tfid;          /* Tclunk Tremove Tstat Tstatfs Treadlink */
		struct { struct p9_stat stat; } rstat;
		struct { uint32_t fid; struct p9_stat stat; } twstat;
		struct { struct p9_statfs st; } rstatfs;
		struct { uint32_t fid, flags; } tlopen;
		struct { uint32_t fid; struct p9_str name; uint32_t flags, mode, gid; } tlcreate;
		struct { uint32_t fid; struct p9_str name, symtgt; uint32_t gid; } tsymlink;
		struct { struct p9_qid qid; } rqid;     /* Rsymlink Rmknod Rmkdir */
		struct { uint32_t dfid; struct p9_str name; uint32_t mode, major, minor, gid; } tmknod;
		struct { uint32_t fid, dfid; struct p9_str name; } trename;
		struct { struct p9_str target; } rreadlink;
		struct { uint32_t fid; uint64_t request_mask; } tgetattr;
		struct p9_getattr rgetattr;
		struct { uint32_t fid; struct p9_setattr attr; } tsetattr;
		struct { uint32_t fid, newfid; struct p9_str name; } txattrwalk;
		struct { uint64_t size; } rxattrwalk;
		struct { uint32_t fid; struct p9_str name; uint64_t attr_size; uint32_t flags; } txattrcreate;
		struct { uint32_t fid, datasync; } tfsync;
		struct { uint32_t fid; struct p9_lock lock; } tlock;                /* Tlock, Tgetlock */
		struct { uint8_t status; } rlock;
		struct { struct p9_lock lock; } rgetlock;
		struct { uint32_t dfid, fid; struct p9_str name; } tlink;
		struct { uint32_t dfid; struct p9_str name; uint32_t mode, gid; } tmkdir;
		struct { uint32_t olddirfid; struct p9_str oldname; uint32_t newdirfid; struct p9_str newname; } trenameat;
		struct { uint32_t dirfd; struct p9_str name; uint32_t flags; } tunlinkat;
	} u;
};

/* ---- bounded primitive reader/writer (also used for dirents and stats) ---- */

struct p9_rd {
	const uint8_t *p, *end;
	bool err;                /* sticky: set by the first out-of-bounds read */
};

struct p9_wr {
	uint8_t *start, *p, *end;
	bool err;                /* sticky: set by the first write past end */
};

static inline void p9_rd_init(struct p9_rd *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = (const uint8_t *)buf + len;
	r->err = false;
}

static inline void p9_wr_init(struct p9_wr *w, void *buf, size_t len)
{
	w->start = w->p = buf;
	w->end = (uint8_t *)buf + len;
	w->err = false;
}

static inline size_t p9_rd_left(const struct p9_rd *r) { return (size_t)(r->end - r->p); }
static inline size_t p9_wr_len(const struct p9_wr *w) { return (size_t)(w->p - w->start); }
static inline size_t p9_wr_left(const struct p9_wr *w) { return (size_t)(w->end - w->p); }

uint8_t p9_get8(struct p9_rd *r);
uint16_t p9_get16(struct p9_rd *r);
uint32_t p9_get32(struct p9_rd *r);
uint64_t p9_get64(struct p9_rd *r);
/* Reads a string; sets r->err if it overruns or contains a NUL byte. */
struct p9_str p9_getstr(struct p9_rd *r);
struct p9_qid p9_getqid(struct p9_rd *r);

void p9_put8(struct p9_wr *w, uint8_t v);
void p9_put16(struct p9_wr *w, uint16_t v);
void p9_put32(struct p9_wr *w, uint32_t v);
void p9_put64(struct p9_wr *w, uint64_t v);
void p9_putstr(struct p9_wr *w, struct p9_str s);
void p9_putcstr(struct p9_wr *w, const char *s);     /* NULL is "" */
void p9_putqid(struct p9_wr *w, const struct p9_qid *q);
void p9_putbytes(struct p9_wr *w, const void *data, size_t len);

static inline struct p9_str p9_str_c(const char *s)
{
	struct p9_str r = { s ? s : "", 0 };
	size_t n = 0;
	while (s && s[n] && n < 0xFFFF)
		n++;
	r.len = (uint16_t)n;
	return r;
}

bool p9_str_eq(struct p9_str a, const char *b);
/* Copies into dst (NUL-terminated); returns false if it does not fit. */
bool p9_str_copy(char *dst, size_t dstlen, struct p9_str s);
/* A valid single path component: non-empty, no '/', not "." or ".." */
bool p9_name_valid(struct p9_str s);

/* ---- whole messages ---- */

/* Reads size[4] from a frame prefix of at least 4 bytes. */
uint32_t p9_frame_size(const void *buf);

/*
 * Decodes the frame in buf[0..len).  The size field must equal len.
 * Returns 0 or a negative errno; on error *m is unspecified, but m->type
 * and m->tag are filled whenever the 7-byte header itself was readable so
 * that the caller can answer with an error on the right tag.
 * A type the codec does not know (or Terror/Tlerror) gives -EOPNOTSUPP.
 * Any known type decodes in any dialect; whether the session's dialect
 * defines it is the caller's decision (see p9_type_in_dialect).
 */
int p9_decode(const void *buf, size_t len, enum p9_dialect d, struct p9_msg *m);

/* Encodes m as one frame into buf; returns its length or -EMSGSIZE
 * (-EINVAL for an unknown type, nwname/nwqid > 16, a missing payload
 * pointer or a stat record too large for its size[2]). */
int p9_encode(void *buf, size_t len, enum p9_dialect d, const struct p9_msg *m);

/* Starts a frame (size placeholder, type, tag); p9_end_frame patches size. */
void p9_begin_frame(struct p9_wr *w, uint8_t type, uint16_t tag);
/* Returns the frame length, or -EMSGSIZE if the writer overflowed. */
int p9_end_frame(struct p9_wr *w);

/* Stat records (9P2000/.u): encode or decode one record, size[2] included. */
void p9_putstat(struct p9_wr *w, enum p9_dialect d, const struct p9_stat *st);
struct p9_stat p9_getstat(struct p9_rd *r, enum p9_dialect d);
/* Size of one stat record as p9_putstat would write it, size[2] included. */
size_t p9_stat_size(enum p9_dialect d, const struct p9_stat *st);

/* Rreaddir entries (9P2000.L): qid[13] offset[8] type[1] name[s] */
struct p9_dirent {
	struct p9_qid qid;
	uint64_t offset;
	uint8_t type;
	struct p9_str name;
};
static inline size_t p9_dirent_size(size_t namelen) { return 13 + 8 + 1 + 2 + namelen; }
void p9_putdirent(struct p9_wr *w, const struct p9_dirent *de);
struct p9_dirent p9_getdirent(struct p9_rd *r);

/* The version string of a dialect ("9P2000.L"), and back: only the exact
 * names of the three dialects parse (Tversion's own leniency is the
 * engine's business). */
const char *p9_dialect_name(enum p9_dialect d);
bool p9_dialect_parse(struct p9_str name, enum p9_dialect *d);
/* The dialect and msize an Rversion frame (its first len bytes; 64 hold
 * any) settles; false when it settles none ("unknown"). */
bool p9_rversion_parse(const uint8_t *frame, size_t len, enum p9_dialect *d, uint32_t *msize);

/* Human-readable message type name ("Twalk"), or NULL if unknown. */
const char *p9_type_name(uint8_t type);
/* True for types that are T-messages this codec knows. */
bool p9_is_tmsg(uint8_t type);
/* True for types that are R-messages this codec knows (Rerror, Rlerror too). */
bool p9_is_rmsg(uint8_t type);
/* True if the dialect defines this T- or R-message (9P2000.L drops
 * Topen/Tcreate/Tstat/Twstat and Rerror; 9P2000(.u) has no .L messages). */
bool p9_type_in_dialect(uint8_t type, enum p9_dialect d);

#endif
