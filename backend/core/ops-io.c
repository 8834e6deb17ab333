// SPDX-License-Identifier: GPL-2.0-or-later
/* Opening, reading, writing, syncing, locking and listing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

#define MAX_OFFSET ((uint64_t)INT64_MAX)

static bool wants_write(int hostflags)
{
	return (hostflags & O_ACCMODE) != O_RDONLY || (hostflags & O_TRUNC);
}

void x9p_op_lopen(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tlopen.fid);
	int flags = x9p_lflags_to_host(m->u.tlopen.flags) & ~(O_CREAT | O_EXCL);
	struct p9_msg out = { .type = P9_RLOPEN };
	int err;

	if (!f)
		return;
	if (wants_write(flags) && x9p_fs_readonly(r->s))
		err = -EROFS;
	else
		err = x9p_fid_open(r, f, flags);
	out.u.ropen.qid = f->qid;
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.ropen.iounit = x9p_iounit(r->s);
	x9p_reply(r, &out);
}

void x9p_op_lcreate(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_fid *f;
	char name[NAME_MAX + 1];
	struct x9p_node *n;
	struct x9p_attr attr;
	struct x9p_ctx c;
	struct p9_msg out = { .type = P9_RLCREATE };
	int flags, fd = -1, err;

	if (!x9p_name_or_reply(r, m->u.tlcreate.name, name, sizeof(name)))
		return;
	if (!(f = x9p_fid_or_reply(r, m->u.tlcreate.fid)))
		return;
	flags = x9p_lflags_to_host(m->u.tlcreate.flags) | O_CREAT;
	c = x9p_ctx_of(r, f, m->u.tlcreate.gid);
	if (x9p_fs_readonly(r->s))
		err = -EROFS;
	else if (f->kind != X9P_FID_NONE)
		err = -EBUSY;
	else if (!(f->qid.type & P9_QTDIR))
		err = -ENOTDIR;
	else
		err = fs->ops->create(fs, &c, f->node, name, flags & ~O_DIRECTORY,
				      m->u.tlcreate.mode & 07777, &n, &attr, &fd);
	if (err == 0) {
		err = x9p_fid_become(r, f, n, &attr, name, fd, flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		out.u.ropen.qid = attr.qid;
	}
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.ropen.iounit = x9p_iounit(r->s);
	x9p_reply(r, &out);
}

/* Snapshot of a fid's open state taken under its lock. */
static enum x9p_fid_kind fid_kind(struct x9p_fid *f, int *fd)
{
	enum x9p_fid_kind k;

	g_mutex_lock(&f->lock);
	k = f->kind;
	*fd = f->fd;
	g_mutex_unlock(&f->lock);
	return k;
}

static void reply_data(struct x9p_req *r, uint8_t type, const void *data, uint32_t count)
{
	uint8_t hdr[P9_RREAD_HDR];
	struct p9_wr w;
	struct iovec iov[2];

	/* The payload goes out from its own buffer: write the header with the
	 * size of the whole frame. */
	p9_wr_init(&w, hdr, sizeof(hdr));
	p9_put32(&w, (uint32_t)sizeof(hdr) + count);
	p9_put8(&w, type);
	p9_put16(&w, r->tag);
	p9_put32(&w, count);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = count;
	x9p_req_finish(r, iov, count ? 2 : 1, 0);
}

static uint32_t max_payload(struct x9p_session *s)
{
	return s->msize > P9_RREAD_HDR ? s->msize - P9_RREAD_HDR : 0;
}

struct pread_arg {
	int fd;
	off_t off;
};

static ssize_t fill_pread(void *arg, const struct iovec *iov, int iovcnt)
{
	struct pread_arg *a = arg;
	ssize_t n;

	do
		n = preadv(a->fd, iov, iovcnt, a->off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void x9p_op_read(struct x9p_req *r, struct p9_msg *m)
{
	uint64_t off = m->u.tread.offset;
	uint32_t count = MIN(m->u.tread.count, max_payload(r->s));
	uint8_t hdr[P9_RREAD_HDR];
	struct pread_arg pa;
	struct x9p_fid *f;
	struct p9_wr w;
	uint8_t *buf;
	int fd;

	if (!(f = x9p_fid_or_reply(r, m->u.tread.fid)))
		return;
	if (off > MAX_OFFSET) {
		x9p_fid_unref(f);
		x9p_reply_err(r, EINVAL);
		return;
	}
	switch (fid_kind(f, &fd)) {
	case X9P_FID_FILE:
		if ((f->hostflags & O_ACCMODE) == O_WRONLY) {
			x9p_reply_err(r, EBADF);
			break;
		}
		/* The payload goes from the file straight into the transport. */
		p9_wr_init(&w, hdr, sizeof(hdr));
		p9_put32(&w, 0);
		p9_put8(&w, P9_RREAD);
		p9_put16(&w, r->tag);
		p9_put32(&w, 0);
		pa.fd = fd;
		pa.off = (off_t)off;
		x9p_req_finish_file(r, hdr, sizeof(hdr), count, fill_pread, &pa, fd, (off_t)off);
		break;
	case X9P_FID_XATTR_READ:
		g_mutex_lock(&f->lock);
		if (off >= f->xlen)
			count = 0;
		else
			count = (uint32_t)MIN((uint64_t)count, f->xlen - off);
		buf = g_memdup2(f->xbuf ? f->xbuf + (count ? off : 0) : NULL, count);
		g_mutex_unlock(&f->lock);
		reply_data(r, P9_RREAD, buf, count);
		g_free(buf);
		break;
	case X9P_FID_DIR:
		if (r->s->dialect == P9_DIALECT_2000L)
			x9p_reply_err(r, EISDIR);
		else
			x9p_op_read_dir_u(r, f, off, count);
		break;
	default:
		x9p_reply_err(r, EBADF);
		break;
	}
	x9p_fid_unref(f);
}

static int xattr_write(struct x9p_fid *f, uint64_t off, const struct iovec *iov, int iovcnt,
		       uint32_t count)
{
	int err = 0;

	g_mutex_lock(&f->lock);
	/* The value arrives in order; anything else is a confused client. */
	if (off != f->xlen || count > f->xsize - f->xlen) {
		err = -EINVAL;
	} else {
		for (int i = 0; i < iovcnt; i++) {
			memcpy(f->xbuf + f->xlen, iov[i].iov_base, iov[i].iov_len);
			f->xlen += iov[i].iov_len;
		}
	}
	g_mutex_unlock(&f->lock);
	return err;
}

/*
 * After a write by a guest user other than root: what the kernel does for a
 * writer without CAP_FSETID, which x9p's own writes (with its privileges)
 * do not trigger on the host: set-user-ID goes, and set-group-ID when
 * group-execute is set.  Linux clients before 6.x's netfs write path leave
 * this to the server, later ones send the Tsetattr themselves (harmless
 * twice).  One getattr per fid until a client changes some mode again.
 */
static void kill_privs(struct x9p_req *r, struct x9p_fid *f)
{
	struct x9p_server *srv = r->s->srv;
	struct x9p_fs *fs = srv->fs;
	int gen = g_atomic_int_get(&srv->mode_gen);
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);
	struct x9p_setattr sa = { .valid = P9_SETATTR_MODE };
	struct x9p_attr a;

	if (f->uid == 0 || g_atomic_int_get(&f->privs_gen) == gen)
		return;
	if (fs->ops->getattr(fs, &c, f->node, &a) < 0)
		return;
	if (S_ISREG(a.mode) && ((a.mode & S_ISUID) ||
				(a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))) {
		sa.mode = a.mode & 07777 & ~(mode_t)S_ISUID;
		if (a.mode & S_IXGRP)
			sa.mode &= ~(mode_t)S_ISGID;
		/* As the kernel does it: whoever owns the file. */
		c.uid = 0;
		if (fs->ops->setattr(fs, &c, f->node, &sa) < 0)
			return;
	}
	g_atomic_int_set(&f->privs_gen, gen);
}

/*
 * Writes count bytes held in iov at off on fid `fidnum` and replies.  The
 * transport gets its payload buffers back before the reply goes out.
 */
static void do_write(struct x9p_req *r, uint32_t fidnum, uint64_t off,
		     const struct iovec *iov, int iovcnt, uint32_t count)
{
	struct x9p_fid *f = x9p_fidtab_get(&r->s->fids, fidnum);
	struct p9_msg out = { .type = P9_RWRITE };
	ssize_t n = 0;
	int fd, err = 0;

	if (!f)
		err = -x9p_unknown_fid_err(r->s);
	else if (off > MAX_OFFSET || count > MAX_OFFSET - off)
		err = -EINVAL;
	else {
		switch (fid_kind(f, &fd)) {
		case X9P_FID_FILE:
			if ((f->hostflags & O_ACCMODE) == O_RDONLY) {
				err = -EBADF;
				break;
			}
			do
				n = pwritev(fd, iov, iovcnt, (off_t)off);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				err = -errno;
			else if (n > 0)
				kill_privs(r, f);
			break;
		case X9P_FID_XATTR_WRITE:
			err = xattr_write(f, off, iov, iovcnt, count);
			n = count;
			break;
		case X9P_FID_DIR:
			err = -EISDIR;
			break;
		default:
			err = -EBADF;
			break;
		}
	}
	x9p_req_release_data(r);
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.rwrite.count = (uint32_t)n;
	x9p_reply(r, &out);
}

void x9p_op_write(struct x9p_req *r, struct p9_msg *m)
{
	struct iovec iov = { (void *)m->u.twrite.data, m->u.twrite.count };

	do_write(r, m->u.twrite.fid, m->u.twrite.offset, &iov, 1, m->u.twrite.count);
}

#define TWRITE_FIXED (P9_HDR_SIZE + 4 + 8 + 4) /* header fid offset count */

void x9p_op_write_data(struct x9p_req *r)
{
	struct p9_rd rd;
	struct iovec *iov;
	uint32_t fid, count;
	uint64_t off, total;
	int n = 0;

	if (r->len < TWRITE_FIXED) {
		x9p_req_release_data(r);
		x9p_reply_err(r, EPROTO);
		return;
	}
	p9_rd_init(&rd, r->frame + P9_HDR_SIZE, r->len - P9_HDR_SIZE);
	fid = p9_get32(&rd);
	off = p9_get64(&rd);
	count = p9_get32(&rd);
	total = r->len - TWRITE_FIXED;
	iov = g_new(struct iovec, (gsize)r->ndata + 1);
	if (total) {
		iov[n].iov_base = r->frame + TWRITE_FIXED;
		iov[n++].iov_len = total;
	}
	for (int i = 0; i < r->ndata; i++) {
		if (!r->data[i].iov_len)
			continue;
		iov[n++] = r->data[i];
		total += r->data[i].iov_len;
	}
	/* The frame size was checked at submission; the count must agree. */
	if (total != count) {
		x9p_req_release_data(r);
		x9p_reply_err(r, EPROTO);
	} else
		do_write(r, fid, off, iov, n, count);
	g_free(iov);
}

void x9p_op_fsync(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tfsync.fid);
	struct p9_msg out = { .type = P9_RFSYNC };
	struct x9p_ctx c;
	int fd, err;

	if (!f)
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	if (fid_kind(f, &fd) == X9P_FID_FILE)
		err = (m->u.tfsync.datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
	else
		err = fs->ops->fsync(fs, &c, f->node, m->u.tfsync.datasync != 0);
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

static bool lock_valid(const struct p9_lock *l)
{
	return l->type <= P9_LOCK_TYPE_UNLCK && l->start <= MAX_OFFSET &&
	       l->length <= MAX_OFFSET && l->client_id.len <= X9P_LOCK_CLIENT_ID_MAX;
}

/*
 * Locks belong to their owner (proc_id, client_id) within the session, as
 * POSIX locks do, and live in the server's table (locks.h), not on the
 * fid's descriptor.  The server never sleeps on a lock: a conflicting
 * request is answered BLOCKED, and the Linux client retries blocking ones.
 */
void x9p_op_lock(struct x9p_req *r, struct p9_msg *m)
{
	const struct p9_lock *l = &m->u.tlock.lock;
	struct p9_msg out = { .type = P9_RLOCK };
	struct x9p_lock_owner o = { r->s, l->proc_id, l->client_id, m->u.tlock.fid };
	struct x9p_fid *f;
	int fd, st = P9_LOCK_ERROR;

	if (!(f = x9p_fid_or_reply(r, m->u.tlock.fid)))
		return;
	if (fid_kind(f, &fd) != X9P_FID_FILE) {
		x9p_fid_unref(f);
		x9p_reply_err(r, EBADF);
		return;
	}
	if (lock_valid(l))
		st = x9p_locks_set(r->s->srv->locks, f->qid.path, &o, l->type, l->start, l->length);
	x9p_fid_unref(f);
	if (st == -ENOLCK) {
		if (!g_atomic_int_exchange(&r->s->warned_locks, 1))
			g_warning("%s: the client reached its lock limit; further locks get ENOLCK",
				  r->s->channel);
		x9p_reply_err(r, ENOLCK);
		return;
	}
	out.u.rlock.status = (uint8_t)st;
	x9p_reply(r, &out);
}

void x9p_op_getlock(struct x9p_req *r, struct p9_msg *m)
{
	const struct p9_lock *l = &m->u.tlock.lock;
	struct p9_msg out = { .type = P9_RGETLOCK };
	struct x9p_lock_owner o = { r->s, l->proc_id, l->client_id, m->u.tlock.fid };
	struct x9p_fid *f;
	char cid[256];
	int fd, err = 0;

	if (!(f = x9p_fid_or_reply(r, m->u.tlock.fid)))
		return;
	if (fid_kind(f, &fd) != X9P_FID_FILE)
		err = -EBADF;
	else if (!lock_valid(l))
		err = -EINVAL;
	else
		x9p_locks_test(r->s->srv->locks, f->qid.path, &o, l->type, l->start, l->length,
			       &out.u.rgetlock.lock, cid, sizeof(cid));
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

struct readdir_state {
	struct p9_wr w;
	uint64_t last;               /* cookie after the last entry taken */
};

static int readdir_emit(void *opaque, const struct x9p_dirent *de)
{
	struct readdir_state *st = opaque;
	struct p9_dirent d;
	size_t len = strlen(de->name);

	if (len > 0xFFFF || p9_dirent_size(len) > p9_wr_left(&st->w))
		return 1;
	d.qid = de->qid;
	d.offset = de->next;
	d.type = de->dtype;
	d.name.s = de->name;
	d.name.len = (uint16_t)len;
	p9_putdirent(&st->w, &d);
	st->last = de->next;
	return 0;
}

void x9p_op_readdir(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = r->s->srv->fs;
	uint32_t count = MIN(m->u.tread.count, max_payload(r->s));
	struct readdir_state st;
	struct x9p_fid *f;
	struct x9p_ctx c;
	uint8_t *buf;
	bool at_end = false, ended;
	uint64_t seq;
	int fd, n;

	if (!(f = x9p_fid_or_reply(r, m->u.tread.fid)))
		return;
	if (fid_kind(f, &fd) != X9P_FID_DIR) {
		int err = (f->qid.type & P9_QTDIR) ? EBADF : ENOTDIR;

		x9p_fid_unref(f);
		x9p_reply_err(r, err);
		return;
	}
	/* The client reads on until an empty reply: when the previous batch
	 * already met the end there, that reply needs no trip to the driver. */
	g_mutex_lock(&f->lock);
	ended = x9p_fid_dir_ended(f, m->u.tread.offset, &seq);
	g_mutex_unlock(&f->lock);
	if (ended) {
		x9p_fid_unref(f);
		reply_data(r, P9_RREADDIR, NULL, 0);
		return;
	}
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	buf = g_malloc(count ? count : 1);
	p9_wr_init(&st.w, buf, count);
	st.last = m->u.tread.offset;
	n = fs->ops->readdir(fs, &c, f->node, m->u.tread.offset, count, false,
			     readdir_emit, &st, &at_end);
	g_mutex_lock(&f->lock);
	x9p_fid_dir_note_end(f, seq, n > 0 && at_end, st.last);
	g_mutex_unlock(&f->lock);
	x9p_fid_unref(f);
	if (n < 0)
		x9p_reply_err(r, -n);
	else
		reply_data(r, P9_RREADDIR, buf, (uint32_t)p9_wr_len(&st.w));
	g_free(buf);
}
