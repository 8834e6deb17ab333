/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encoding and validating proxy protocol messages (see proxy.h).  Pure
 * functions over caller buffers; the decoders are the only place either
 * process interprets bytes from the other one.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "proxy.h"

/* ---- bounded little-endian reader / writer ---- */

struct wr {
	uint8_t *p, *end;
	bool err;
};

struct rd {
	const uint8_t *p, *end;
	bool err;
};

static void put(struct wr *w, const void *v, size_t n)
{
	if (w->err || (size_t)(w->end - w->p) < n) {
		w->err = true;
		return;
	}
	if (n)
		memcpy(w->p, v, n);
	w->p += n;
}

static void put16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };
	put(w, b, 2);
}

static void put32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };
	put(w, b, 4);
}

static void put64(struct wr *w, uint64_t v)
{
	put32(w, (uint32_t)v);
	put32(w, (uint32_t)(v >> 32));
}

static void putstr(struct wr *w, struct x9p_px_str s)
{
	put16(w, s.len);
	put(w, s.s, s.len);
}

static void puttime(struct wr *w, struct timespec t)
{
	put64(w, (uint64_t)(int64_t)t.tv_sec);
	put32(w, (uint32_t)t.tv_nsec);
}

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return NULL;
	}
	r->p += n;
	return p;
}

static uint16_t get16(struct rd *r)
{
	const uint8_t *b = take(r, 2);
	return b ? (uint16_t)(b[0] | b[1] << 8) : 0;
}

static uint32_t get32(struct rd *r)
{
	const uint8_t *b = take(r, 4);
	return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		   (uint32_t)b[3] << 24 : 0;
}

static uint64_t get64(struct rd *r)
{
	uint64_t lo = get32(r);
	return lo | (uint64_t)get32(r) << 32;
}

/* A string never contains NUL; one that does is a framing error. */
static struct x9p_px_str getstr(struct rd *r)
{
	struct x9p_px_str s = { "", 0 };
	uint16_t n = get16(r);
	const uint8_t *b = take(r, n);

	if (!b)
		return s;
	if (memchr(b, 0, n)) {
		r->err = true;
		return s;
	}
	s.s = (const char *)b;
	s.len = n;
	return s;
}

static const uint8_t *getblob(struct rd *r, uint32_t *len)
{
	*len = get32(r);
	return take(r, *len);
}

static struct timespec gettime(struct rd *r)
{
	struct timespec t;

	t.tv_sec = (time_t)(int64_t)get64(r);
	t.tv_nsec = (long)get32(r);
	return t;
}

/* ---- attributes ---- */

static void putattr(struct wr *w, const struct x9p_px_attr *a)
{
	put64(w, a->dev);
	put64(w, a->ino);
	put32(w, a->mode);
	put32(w, a->uid);
	put32(w, a->gid);
	put64(w, a->nlink);
	put64(w, a->rdev);
	put64(w, a->size);
	put64(w, a->blksize);
	put64(w, a->blocks);
	puttime(w, a->atime);
	puttime(w, a->mtime);
	puttime(w, a->ctime);
	puttime(w, a->btime);
	put64(w, a->gen);
}

static bool nsec_ok(struct timespec t)
{
	return t.tv_nsec >= 0 && t.tv_nsec < 1000000000L;
}

static bool type_ok(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
	default:
		return false;
	}
}

static void getattr_(struct rd *r, struct x9p_px_attr *a)
{
	a->dev = get64(r);
	a->ino = get64(r);
	a->mode = get32(r);
	a->uid = get32(r);
	a->gid = get32(r);
	a->nlink = get64(r);
	a->rdev = get64(r);
	a->size = get64(r);
	a->blksize = get64(r);
	a->blocks = get64(r);
	a->atime = gettime(r);
	a->mtime = gettime(r);
	a->ctime = gettime(r);
	a->btime = gettime(r);
	a->gen = get64(r);
	if (!r->err && (!type_ok(a->mode) || !nsec_ok(a->atime) || !nsec_ok(a->mtime) ||
			!nsec_ok(a->ctime) || !nsec_ok(a->btime)))
		r->err = true;
}

static void putcompact(struct wr *w, const struct x9p_px_attr *a)
{
	put64(w, a->dev);
	put64(w, a->ino);
	put32(w, a->mode);
	puttime(w, a->mtime);
	put64(w, a->size);
}

static void getcompact(struct rd *r, struct x9p_px_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->dev = get64(r);
	a->ino = get64(r);
	a->mode = get32(r);
	a->mtime = gettime(r);
	a->size = get64(r);
	if (!r->err && (!type_ok(a->mode) || !nsec_ok(a->mtime)))
		r->err = true;
}

/* ---- names ---- */

int x9p_px_check_name(const char *s, size_t len, bool allow_dotdot)
{
	if (len == 0 || memchr(s, '/', len) || memchr(s, 0, len))
		return -EINVAL;
	if (len == 1 && s[0] == '.')
		return -EINVAL;
	if (len == 2 && s[0] == '.' && s[1] == '.')
		return allow_dotdot ? 0 : -EINVAL;
	if (len > X9P_PX_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool dirent_name_ok(struct x9p_px_str n)
{
	if (n.len == 1 && n.s[0] == '.')
		return true;
	return x9p_px_check_name(n.s, n.len, true) == 0;
}

/* ---- header ---- */

static void puthdr(struct wr *w, uint16_t op, uint16_t flags, uint64_t id)
{
	put32(w, 0);            /* patched by finish() */
	put16(w, op);
	put16(w, flags);
	put64(w, id);
}

static int finish(struct wr *w, uint8_t *start)
{
	size_t len = (size_t)(w->p - start);

	if (w->err || len > X9P_PX_MAX_MSG)
		return -EMSGSIZE;
	start[0] = len;
	start[1] = len >> 8;
	start[2] = len >> 16;
	start[3] = len >> 24;
	return (int)len;
}

int x9p_px_decode_hdr(const void *buf, size_t mlen, struct x9p_px_hdr *h)
{
	struct rd r = { buf, (const uint8_t *)buf + (mlen < X9P_PX_HDR_SIZE ? 0 : X9P_PX_HDR_SIZE), false };

	memset(h, 0, sizeof(*h));
	if (mlen < X9P_PX_HDR_SIZE)
		return -EPROTO;
	h->len = get32(&r);
	h->op = get16(&r);
	h->flags = get16(&r);
	h->id = get64(&r);
	if (h->len != mlen || mlen > X9P_PX_MAX_MSG || (h->flags & ~X9P_PXF_ALL))
		return -EPROTO;
	return 0;
}

/* ---- requests ---- */

static bool str_ok(struct x9p_px_str s, size_t max)
{
	return s.len <= max && (s.len == 0 || s.s);
}

int x9p_px_encode_req(void *buf, size_t cap, const struct x9p_px_req *q)
{
	struct wr w = { buf, (uint8_t *)buf + cap, false };
	unsigned op = q->h.op;

	if (!str_ok(q->name, X9P_PX_NAME_MAX) || !str_ok(q->name2, X9P_PX_NAME_MAX) ||
	    !str_ok(q->target, X9P_PX_TARGET_MAX) || !str_ok(q->xname, X9P_PX_XNAME_MAX) ||
	    q->value_len > X9P_PX_XSIZE_MAX)
		return -EINVAL;
	puthdr(&w, op, q->h.flags, q->h.id);
	switch (op) {
	case X9P_PX_HELLO:
		put32(&w, q->version);
		break;
	case X9P_PX_ATTACH:
		break;
	case X9P_PX_WALK:
		put64(&w, q->node);
		putstr(&w, q->name);
		break;
	case X9P_PX_CLUNK:
	case X9P_PX_GETATTR:
	case X9P_PX_STATFS:
		put64(&w, q->node);
		break;
	case X9P_PX_SETATTR:
		put64(&w, q->node);
		put32(&w, q->valid);
		put32(&w, q->mode);
		put32(&w, q->uid);
		put32(&w, q->gid);
		put64(&w, q->fsize);
		puttime(&w, q->atime);
		puttime(&w, q->mtime);
		break;
	case X9P_PX_OPEN:
		put64(&w, q->node);
		put32(&w, q->oflags);
		break;
	case X9P_PX_CREATE:
		put64(&w, q->node);
		putstr(&w, q->name);
		put32(&w, q->oflags);
		put32(&w, q->mode);
		put32(&w, q->uid);
		put32(&w, q->gid);
		break;
	case X9P_PX_MKDIR:
		put64(&w, q->node);
		putstr(&w, q->name);
		put32(&w, q->mode);
		put32(&w, q->uid);
		put32(&w, q->gid);
		break;
	case X9P_PX_MKNOD:
		put64(&w, q->node);
		putstr(&w, q->name);
		put32(&w, q->mode);
		put64(&w, q->rdev);
		put32(&w, q->uid);
		put32(&w, q->gid);
		break;
	case X9P_PX_SYMLINK:
		put64(&w, q->node);
		putstr(&w, q->name);
		putstr(&w, q->target);
		put32(&w, q->uid);
		put32(&w, q->gid);
		break;
	case X9P_PX_LINK:
		put64(&w, q->node);
		put64(&w, q->node2);
		putstr(&w, q->name);
		break;
	case X9P_PX_READLINK:
	case X9P_PX_LISTXATTR:
		put64(&w, q->node);
		put32(&w, q->size);
		break;
	case X9P_PX_RENAME:
		put64(&w, q->node);
		putstr(&w, q->name);
		put64(&w, q->node2);
		putstr(&w, q->name2);
		break;
	case X9P_PX_UNLINK:
		put64(&w, q->node);
		putstr(&w, q->name);
		put32(&w, q->uflags);
		break;
	case X9P_PX_READDIR:
		put64(&w, q->node);
		put64(&w, q->cookie);
		put32(&w, q->budget);
		put32(&w, q->rflags);
		break;
	case X9P_PX_FSYNC:
		put64(&w, q->node);
		put32(&w, q->datasync);
		break;
	case X9P_PX_GETXATTR:
		put64(&w, q->node);
		putstr(&w, q->xname);
		put32(&w, q->size);
		break;
	case X9P_PX_SETXATTR:
		put64(&w, q->node);
		putstr(&w, q->xname);
		put32(&w, q->xflags);
		put32(&w, q->value_len);
		put(&w, q->value, q->value_len);
		break;
	case X9P_PX_REMOVEXATTR:
		put64(&w, q->node);
		putstr(&w, q->xname);
		break;
	case X9P_PX_CANCEL:
		put64(&w, q->cancel_id);
		break;
	case X9P_PX_CHANNEL:
	case X9P_PX_ADOPT:
		break;
	default:
		return -EINVAL;
	}
	return finish(&w, buf);
}

static bool settime_ok(struct timespec t)
{
	return nsec_ok(t) || t.tv_nsec == UTIME_NOW || t.tv_nsec == UTIME_OMIT;
}

static int check_xname(struct x9p_px_str s)
{
	return s.len == 0 || s.len > X9P_PX_XNAME_MAX ? -ERANGE : 0;
}

static bool mknod_type_ok(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0;
	default:
		return false;
	}
}

/* Semantic checks after a request decoded without framing errors. */
static int check_req(const struct x9p_px_req *q)
{
	int e;

	switch (q->h.op) {
	case X9P_PX_WALK:
		return x9p_px_check_name(q->name.s, q->name.len, true);
	case X9P_PX_SETATTR:
		if (q->valid & ~X9P_PXS_ALL || q->mode & ~07777u)
			return -EINVAL;
		if (((q->valid & X9P_PXS_ATIME) && !settime_ok(q->atime)) ||
		    ((q->valid & X9P_PXS_MTIME) && !settime_ok(q->mtime)))
			return -EINVAL;
		if ((q->valid & X9P_PXS_SIZE) && q->fsize > (uint64_t)INT64_MAX)
			return -EINVAL;
		return 0;
	case X9P_PX_OPEN:
	case X9P_PX_CREATE:
		if (q->oflags & ~X9P_PXO_ALL || (q->oflags & X9P_PXO_ACCMODE) == 3)
			return -EINVAL;
		if (q->h.op == X9P_PX_OPEN)
			return 0;
		if (q->oflags & X9P_PXO_DIRECTORY || q->mode & ~07777u)
			return -EINVAL;
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_MKDIR:
		if (q->mode & ~07777u)
			return -EINVAL;
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_MKNOD:
		if (!mknod_type_ok(q->mode))
			return -EINVAL;
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_SYMLINK:
		if (q->target.len == 0)
			return -ENOENT;
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_LINK:
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_RENAME:
		e = x9p_px_check_name(q->name.s, q->name.len, false);
		return e ? e : x9p_px_check_name(q->name2.s, q->name2.len, false);
	case X9P_PX_UNLINK:
		if (q->uflags & ~X9P_PXU_REMOVEDIR)
			return -EINVAL;
		return x9p_px_check_name(q->name.s, q->name.len, false);
	case X9P_PX_READDIR:
		return q->rflags & ~X9P_PXR_ATTR ? -EINVAL : 0;
	case X9P_PX_FSYNC:
		return q->datasync > 1 ? -EINVAL : 0;
	case X9P_PX_GETXATTR:
	case X9P_PX_REMOVEXATTR:
		return check_xname(q->xname);
	case X9P_PX_SETXATTR:
		if (q->xflags & ~(X9P_PXX_CREATE | X9P_PXX_REPLACE) ||
		    q->xflags == (X9P_PXX_CREATE | X9P_PXX_REPLACE))
			return -EINVAL;
		if (q->value_len > X9P_PX_XSIZE_MAX)
			return -E2BIG;
		return check_xname(q->xname);
	default:
		return 0;
	}
}

int x9p_px_decode_req(const void *buf, size_t len, struct x9p_px_req *q)
{
	struct rd r;
	int e;

	memset(q, 0, sizeof(*q));
	e = x9p_px_decode_hdr(buf, len, &q->h);
	if (e)
		return e;
	if (q->h.op & X9P_PX_REPLY)
		return -EPROTO;
	if (q->h.op == 0 || q->h.op >= X9P_PX_OP_END)
		return -EOPNOTSUPP;
	/* CHANNEL carries its socket, ADOPT its file; nothing else a descriptor. */
	if (!(q->h.flags & X9P_PXF_FD) != (q->h.op != X9P_PX_CHANNEL && q->h.op != X9P_PX_ADOPT))
		return -EPROTO;
	/* Only releases may go unanswered: a lost reply must not leak a node or fd. */
	if ((q->h.flags & X9P_PXF_NOREPLY) && q->h.op != X9P_PX_CLUNK && q->h.op != X9P_PX_CANCEL)
		return -EPROTO;
	if (q->h.op == X9P_PX_CANCEL && !(q->h.flags & X9P_PXF_NOREPLY))
		return -EPROTO;
	r.p = (const uint8_t *)buf + X9P_PX_HDR_SIZE;
	r.end = (const uint8_t *)buf + len;
	r.err = false;
	switch (q->h.op) {
	case X9P_PX_HELLO:
		q->version = get32(&r);
		break;
	case X9P_PX_ATTACH:
		break;
	case X9P_PX_WALK:
		q->node = get64(&r);
		q->name = getstr(&r);
		break;
	case X9P_PX_CLUNK:
	case X9P_PX_GETATTR:
	case X9P_PX_STATFS:
		q->node = get64(&r);
		break;
	case X9P_PX_SETATTR:
		q->node = get64(&r);
		q->valid = get32(&r);
		q->mode = get32(&r);
		q->uid = get32(&r);
		q->gid = get32(&r);
		q->fsize = get64(&r);
		q->atime = gettime(&r);
		q->mtime = gettime(&r);
		break;
	case X9P_PX_OPEN:
		q->node = get64(&r);
		q->oflags = get32(&r);
		break;
	case X9P_PX_CREATE:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->oflags = get32(&r);
		q->mode = get32(&r);
		q->uid = get32(&r);
		q->gid = get32(&r);
		break;
	case X9P_PX_MKDIR:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->mode = get32(&r);
		q->uid = get32(&r);
		q->gid = get32(&r);
		break;
	case X9P_PX_MKNOD:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->mode = get32(&r);
		q->rdev = get64(&r);
		q->uid = get32(&r);
		q->gid = get32(&r);
		break;
	case X9P_PX_SYMLINK:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->target = getstr(&r);
		q->uid = get32(&r);
		q->gid = get32(&r);
		if (!r.err && q->target.len > X9P_PX_TARGET_MAX)
			return -ENAMETOOLONG;
		break;
	case X9P_PX_LINK:
		q->node = get64(&r);
		q->node2 = get64(&r);
		q->name = getstr(&r);
		break;
	case X9P_PX_READLINK:
	case X9P_PX_LISTXATTR:
		q->node = get64(&r);
		q->size = get32(&r);
		break;
	case X9P_PX_RENAME:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->node2 = get64(&r);
		q->name2 = getstr(&r);
		break;
	case X9P_PX_UNLINK:
		q->node = get64(&r);
		q->name = getstr(&r);
		q->uflags = get32(&r);
		break;
	case X9P_PX_READDIR:
		q->node = get64(&r);
		q->cookie = get64(&r);
		q->budget = get32(&r);
		q->rflags = get32(&r);
		break;
	case X9P_PX_FSYNC:
		q->node = get64(&r);
		q->datasync = get32(&r);
		break;
	case X9P_PX_GETXATTR:
		q->node = get64(&r);
		q->xname = getstr(&r);
		q->size = get32(&r);
		break;
	case X9P_PX_SETXATTR:
		q->node = get64(&r);
		q->xname = getstr(&r);
		q->xflags = get32(&r);
		q->value = getblob(&r, &q->value_len);
		break;
	case X9P_PX_REMOVEXATTR:
		q->node = get64(&r);
		q->xname = getstr(&r);
		break;
	case X9P_PX_CANCEL:
		q->cancel_id = get64(&r);
		break;
	case X9P_PX_CHANNEL:
	case X9P_PX_ADOPT:
		break;
	}
	if (r.err || r.p != r.end)
		return -EPROTO;
	return check_req(q);
}

/* ---- replies ---- */

int x9p_px_encode_rep(void *buf, size_t cap, const struct x9p_px_rep *p)
{
	struct wr w = { buf, (uint8_t *)buf + cap, false };
	unsigned op = p->h.op & ~X9P_PX_REPLY;

	puthdr(&w, op | X9P_PX_REPLY, p->h.flags, p->h.id);
	put32(&w, (uint32_t)p->status);
	if (p->status != 0)
		return finish(&w, buf);
	switch (op) {
	case X9P_PX_HELLO:
		put32(&w, p->version);
		put32(&w, p->model);
		put32(&w, p->hflags);
		put32(&w, p->multidevs);
		put64(&w, p->root_dev);
		put64(&w, p->root_ino);
		break;
	case X9P_PX_ATTACH:
	case X9P_PX_WALK:
	case X9P_PX_CREATE:
	case X9P_PX_ADOPT:
		put64(&w, p->node);
		putattr(&w, &p->attr);
		break;
	case X9P_PX_GETATTR:
	case X9P_PX_MKDIR:
	case X9P_PX_MKNOD:
	case X9P_PX_SYMLINK:
		putattr(&w, &p->attr);
		break;
	case X9P_PX_READLINK:
		if (p->data_len > X9P_PX_TARGET_MAX)
			return -EINVAL;
		put32(&w, p->data_len);
		put(&w, p->data, p->data_len);
		break;
	case X9P_PX_STATFS:
		put32(&w, p->st.type);
		put32(&w, p->st.bsize);
		put64(&w, p->st.blocks);
		put64(&w, p->st.bfree);
		put64(&w, p->st.bavail);
		put64(&w, p->st.files);
		put64(&w, p->st.ffree);
		put64(&w, p->st.fsid);
		put32(&w, p->st.namelen);
		break;
	case X9P_PX_GETXATTR:
	case X9P_PX_LISTXATTR:
		if (p->xlen > X9P_PX_XSIZE_MAX || (p->data_len && p->data_len != p->xlen))
			return -EINVAL;
		put32(&w, p->xlen);
		put32(&w, p->data_len);
		put(&w, p->data, p->data_len);
		break;
	case X9P_PX_READDIR:
		/* built with x9p_px_rd_*() instead */
		return -EINVAL;
	default:
		break;
	}
	return finish(&w, buf);
}

static bool status_ok(int32_t s)
{
	return s == 0 || (s < 0 && s >= -4095);
}

int x9p_px_decode_rep(const void *buf, size_t len, uint16_t expect_op, struct x9p_px_rep *p)
{
	struct rd r;
	uint32_t i;
	int e;

	memset(p, 0, sizeof(*p));
	e = x9p_px_decode_hdr(buf, len, &p->h);
	if (e)
		return e;
	if (p->h.op != (expect_op | X9P_PX_REPLY) || p->h.flags & X9P_PXF_NOREPLY)
		return -EPROTO;
	r.p = (const uint8_t *)buf + X9P_PX_HDR_SIZE;
	r.end = (const uint8_t *)buf + len;
	r.err = false;
	p->status = (int32_t)get32(&r);
	if (r.err || !status_ok(p->status))
		return -EPROTO;
	if ((p->h.flags & X9P_PXF_FD) &&
	    (p->status != 0 || (expect_op != X9P_PX_OPEN && expect_op != X9P_PX_CREATE)))
		return -EPROTO;
	if (p->status != 0)
		return r.p == r.end ? 0 : -EPROTO;
	switch (expect_op) {
	case X9P_PX_HELLO:
		p->version = get32(&r);
		p->model = get32(&r);
		p->hflags = get32(&r);
		p->multidevs = get32(&r);
		p->root_dev = get64(&r);
		p->root_ino = get64(&r);
		if (p->model > X9P_SM_NONE || p->multidevs > X9P_MULTIDEVS_WARN ||
		    p->hflags & ~(X9P_PXH_READONLY | X9P_PXH_PROCFD | X9P_PXH_NO_SETID))
			r.err = true;
		break;
	case X9P_PX_ATTACH:
	case X9P_PX_WALK:
	case X9P_PX_CREATE:
	case X9P_PX_ADOPT:
		p->node = get64(&r);
		getattr_(&r, &p->attr);
		if (expect_op == X9P_PX_CREATE && !(p->h.flags & X9P_PXF_FD))
			r.err = true;
		break;
	case X9P_PX_GETATTR:
	case X9P_PX_MKDIR:
	case X9P_PX_MKNOD:
	case X9P_PX_SYMLINK:
		getattr_(&r, &p->attr);
		break;
	case X9P_PX_READLINK:
		p->data = getblob(&r, &p->data_len);
		if (!r.err && (p->data_len == 0 || p->data_len > X9P_PX_TARGET_MAX ||
			       memchr(p->data, 0, p->data_len)))
			r.err = true;
		break;
	case X9P_PX_STATFS:
		p->st.type = get32(&r);
		p->st.bsize = get32(&r);
		p->st.blocks = get64(&r);
		p->st.bfree = get64(&r);
		p->st.bavail = get64(&r);
		p->st.files = get64(&r);
		p->st.ffree = get64(&r);
		p->st.fsid = get64(&r);
		p->st.namelen = get32(&r);
		break;
	case X9P_PX_GETXATTR:
	case X9P_PX_LISTXATTR:
		p->xlen = get32(&r);
		p->data = getblob(&r, &p->data_len);
		if (!r.err && (p->xlen > X9P_PX_XSIZE_MAX ||
			       (p->data_len != 0 && p->data_len != p->xlen)))
			r.err = true;
		break;
	case X9P_PX_READDIR: {
		struct x9p_px_diriter it;
		struct x9p_px_dirent de;

		p->count = get32(&r);
		p->rflags = get32(&r);
		if (r.err || p->rflags & ~(X9P_PXR_EOF | X9P_PXR_FULL))
			return -EPROTO;
		p->entries = r.p;
		p->entries_len = (uint32_t)(r.end - r.p);
		/* Validate every entry now so that users never see half a batch. */
		x9p_px_diriter_init(&it, p);
		for (i = 0; i < p->count; i++) {
			if (x9p_px_dirent_next(&it, &de) != 1)
				return -EPROTO;
		}
		if (it.p != it.end)
			return -EPROTO;
		r.p = r.end;
		break;
	}
	default:
		break;
	}
	if (r.err || r.p != r.end)
		return -EPROTO;
	return 0;
}

/* ---- readdir batches ---- */

/* entries are: u64 next, str name, then attr (full) or compact fields */
size_t x9p_px_dirent_wire_size(size_t namelen, bool full)
{
	return 8 + 2 + namelen + (full ? X9P_PX_ATTR_SIZE : X9P_PX_DIRENT_COMPACT);
}

void x9p_px_diriter_init(struct x9p_px_diriter *it, const struct x9p_px_rep *p)
{
	it->p = p->entries;
	it->end = p->entries ? p->entries + p->entries_len : NULL;
	it->left = p->count;
	it->full = (p->rflags & X9P_PXR_FULL) != 0;
}

int x9p_px_dirent_next(struct x9p_px_diriter *it, struct x9p_px_dirent *de)
{
	struct rd r = { it->p, it->end, false };

	if (it->left == 0 || !it->p)
		return 0;
	de->next = get64(&r);
	de->name = getstr(&r);
	/* The layout is per batch, announced by X9P_PXR_FULL in the reply. */
	de->full = it->full;
	if (de->full)
		getattr_(&r, &de->attr);
	else
		getcompact(&r, &de->attr);
	if (r.err || !dirent_name_ok(de->name))
		return -EPROTO;
	it->p = r.p;
	it->left--;
	return 1;
}

void x9p_px_rd_begin(struct x9p_px_rdbuf *b, void *buf, size_t cap, uint64_t id, bool full)
{
	struct wr w = { buf, (uint8_t *)buf + cap, false };

	b->buf = buf;
	b->cap = cap > X9P_PX_MAX_MSG ? X9P_PX_MAX_MSG : cap;
	b->count = 0;
	b->full = full;
	puthdr(&w, X9P_PX_READDIR | X9P_PX_REPLY, 0, id);
	put32(&w, 0);           /* status */
	put32(&w, 0);           /* count, patched */
	put32(&w, 0);           /* flags, patched */
	b->len = (size_t)(w.p - b->buf);
}

bool x9p_px_rd_add(struct x9p_px_rdbuf *b, uint64_t next, const char *name, size_t namelen,
		   const struct x9p_px_attr *a)
{
	struct wr w = { b->buf + b->len, b->buf + b->cap, false };
	struct x9p_px_str s = { name, (uint16_t)namelen };

	if (namelen > X9P_PX_NAME_MAX ||
	    b->cap - b->len < x9p_px_dirent_wire_size(namelen, b->full))
		return false;
	put64(&w, next);
	putstr(&w, s);
	if (b->full)
		putattr(&w, a);
	else
		putcompact(&w, a);
	if (w.err)
		return false;
	b->len = (size_t)(w.p - b->buf);
	b->count++;
	return true;
}

size_t x9p_px_rd_end(struct x9p_px_rdbuf *b, bool eof)
{
	struct wr w = { b->buf + X9P_PX_HDR_SIZE + 4, b->buf + b->cap, false };
	struct wr l = { b->buf, b->buf + 4, false };

	put32(&w, b->count);
	put32(&w, (eof ? X9P_PXR_EOF : 0) | (b->full ? X9P_PXR_FULL : 0));
	put32(&l, (uint32_t)b->len);
	return b->len;
}
