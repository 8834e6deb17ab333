/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * struct p9_msg -> frame.  The mirror of p9-decode.c, field for field.
 *
 * The encoder refuses what the decoder would refuse for structural reasons
 * (more than 16 walk elements, a payload pointer missing, a stat record
 * larger than its 16-bit size) with -EINVAL, so a frame it produces always
 * decodes.  It does not judge content (names, modes): tests need to put
 * hostile values on the wire.
 */
#include <errno.h>

#include "9p/p9.h"

static inline bool has_dotu(enum p9_dialect d)
{
	return d != P9_DIALECT_2000;
}

static void put_lock(struct p9_wr *w, const struct p9_lock *lk, bool with_flags)
{
	p9_put8(w, lk->type);
	if (with_flags)
		p9_put32(w, lk->flags);
	p9_put64(w, lk->start);
	p9_put64(w, lk->length);
	p9_put32(w, lk->proc_id);
	p9_putstr(w, lk->client_id);
}

/* A record whose size does not fit n[2] cannot be framed at all. */
static int put_wrapped_stat(struct p9_wr *w, enum p9_dialect d, const struct p9_stat *st)
{
	size_t n = p9_stat_size(d, st);

	if (n > 0xFFFF)
		return -EINVAL;
	p9_put16(w, (uint16_t)n);
	p9_putstat(w, d, st);
	return 0;
}

static int put_payload(struct p9_wr *w, uint32_t count, const uint8_t *data)
{
	if (count && !data)
		return -EINVAL;
	p9_put32(w, count);
	p9_putbytes(w, data, count);
	return 0;
}

static int encode_body(struct p9_wr *w, enum p9_dialect d, const struct p9_msg *m)
{
	switch (m->type) {
	case P9_TVERSION:
	case P9_RVERSION:
		p9_put32(w, m->u.version.msize);
		p9_putstr(w, m->u.version.version);
		break;
	case P9_TAUTH:
		p9_put32(w, m->u.tauth.afid);
		p9_putstr(w, m->u.tauth.uname);
		p9_putstr(w, m->u.tauth.aname);
		if (has_dotu(d))
			p9_put32(w, m->u.tauth.n_uname);
		break;
	case P9_RAUTH:
		p9_putqid(w, &m->u.rauth.aqid);
		break;
	case P9_TATTACH:
		p9_put32(w, m->u.tattach.fid);
		p9_put32(w, m->u.tattach.afid);
		p9_putstr(w, m->u.tattach.uname);
		p9_putstr(w, m->u.tattach.aname);
		if (has_dotu(d))
			p9_put32(w, m->u.tattach.n_uname);
		break;
	case P9_RATTACH:
		p9_putqid(w, &m->u.rattach.qid);
		break;
	case P9_RERROR:
		p9_putstr(w, m->u.rerror.ename);
		if (has_dotu(d))
			p9_put32(w, m->u.rerror.ecode);
		break;
	case P9_RLERROR:
		p9_put32(w, m->u.rlerror.ecode);
		break;
	case P9_TFLUSH:
		p9_put16(w, m->u.tflush.oldtag);
		break;
	case P9_TWALK:
		if (m->u.twalk.nwname > P9_MAXWELEM)
			return -EINVAL;
		p9_put32(w, m->u.twalk.fid);
		p9_put32(w, m->u.twalk.newfid);
		p9_put16(w, m->u.twalk.nwname);
		for (unsigned i = 0; i < m->u.twalk.nwname; i++)
			p9_putstr(w, m->u.twalk.wname[i]);
		break;
	case P9_RWALK:
		if (m->u.rwalk.nwqid > P9_MAXWELEM)
			return -EINVAL;
		p9_put16(w, m->u.rwalk.nwqid);
		for (unsigned i = 0; i < m->u.rwalk.nwqid; i++)
			p9_putqid(w, &m->u.rwalk.wqid[i]);
		break;
	case P9_TOPEN:
		p9_put32(w, m->u.topen.fid);
		p9_put8(w, m->u.topen.mode);
		break;
	case P9_ROPEN:
	case P9_RCREATE:
	case P9_RLOPEN:
	case P9_RLCREATE:
		p9_putqid(w, &m->u.ropen.qid);
		p9_put32(w, m->u.ropen.iounit);
		break;
	case P9_TCREATE:
		p9_put32(w, m->u.tcreate.fid);
		p9_putstr(w, m->u.tcreate.name);
		p9_put32(w, m->u.tcreate.perm);
		p9_put8(w, m->u.tcreate.mode);
		if (has_dotu(d))
			p9_putstr(w, m->u.tcreate.extension);
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		p9_put32(w, m->u.tread.fid);
		p9_put64(w, m->u.tread.offset);
		p9_put32(w, m->u.tread.count);
		break;
	case P9_RREAD:
	case P9_RREADDIR:
		return put_payload(w, m->u.rread.count, m->u.rread.data);
	case P9_TWRITE:
		p9_put32(w, m->u.twrite.fid);
		p9_put64(w, m->u.twrite.offset);
		return put_payload(w, m->u.twrite.count, m->u.twrite.data);
	case P9_RWRITE:
		p9_put32(w, m->u.rwrite.count);
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTAT:
	case P9_TSTATFS:
	case P9_TREADLINK:
		p9_put32(w, m->u.tfid.fid);
		break;
	case P9_RSTAT:
		return put_wrapped_stat(w, d, &m->u.rstat.stat);
	case P9_TWSTAT:
		p9_put32(w, m->u.twstat.fid);
		return put_wrapped_stat(w, d, &m->u.twstat.stat);
	case P9_RSTATFS: {
		const struct p9_statfs *st = &m->u.rstatfs.st;
		p9_put32(w, st->type);
		p9_put32(w, st->bsize);
		p9_put64(w, st->blocks);
		p9_put64(w, st->bfree);
		p9_put64(w, st->bavail);
		p9_put64(w, st->files);
		p9_put64(w, st->ffree);
		p9_put64(w, st->fsid);
		p9_put32(w, st->namelen);
		break;
	}
	case P9_TLOPEN:
		p9_put32(w, m->u.tlopen.fid);
		p9_put32(w, m->u.tlopen.flags);
		break;
	case P9_TLCREATE:
		p9_put32(w, m->u.tlcreate.fid);
		p9_putstr(w, m->u.tlcreate.name);
		p9_put32(w, m->u.tlcreate.flags);
		p9_put32(w, m->u.tlcreate.mode);
		p9_put32(w, m->u.tlcreate.gid);
		break;
	case P9_TSYMLINK:
		p9_put32(w, m->u.tsymlink.fid);
		p9_putstr(w, m->u.tsymlink.name);
		p9_putstr(w, m->u.tsymlink.symtgt);
		p9_put32(w, m->u.tsymlink.gid);
		break;
	case P9_RSYMLINK:
	case P9_RMKNOD:
	case P9_RMKDIR:
		p9_putqid(w, &m->u.rqid.qid);
		break;
	case P9_TMKNOD:
		p9_put32(w, m->u.tmknod.dfid);
		p9_putstr(w, m->u.tmknod.name);
		p9_put32(w, m->u.tmknod.mode);
		p9_put32(w, m->u.tmknod.major);
		p9_put32(w, m->u.tmknod.minor);
		p9_put32(w, m->u.tmknod.gid);
		break;
	case P9_TRENAME:
		p9_put32(w, m->u.trename.fid);
		p9_put32(w, m->u.trename.dfid);
		p9_putstr(w, m->u.trename.name);
		break;
	case P9_RREADLINK:
		p9_putstr(w, m->u.rreadlink.target);
		break;
	case P9_TGETATTR:
		p9_put32(w, m->u.tgetattr.fid);
		p9_put64(w, m->u.tgetattr.request_mask);
		break;
	case P9_RGETATTR: {
		const struct p9_getattr *a = &m->u.rgetattr;
		p9_put64(w, a->valid);
		p9_putqid(w, &a->qid);
		p9_put32(w, a->mode);
		p9_put32(w, a->uid);
		p9_put32(w, a->gid);
		p9_put64(w, a->nlink);
		p9_put64(w, a->rdev);
		p9_put64(w, a->size);
		p9_put64(w, a->blksize);
		p9_put64(w, a->blocks);
		p9_put64(w, a->atime_sec);
		p9_put64(w, a->atime_nsec);
		p9_put64(w, a->mtime_sec);
		p9_put64(w, a->mtime_nsec);
		p9_put64(w, a->ctime_sec);
		p9_put64(w, a->ctime_nsec);
		p9_put64(w, a->btime_sec);
		p9_put64(w, a->btime_nsec);
		p9_put64(w, a->gen);
		p9_put64(w, a->data_version);
		break;
	}
	case P9_TSETATTR: {
		const struct p9_setattr *a = &m->u.tsetattr.attr;
		p9_put32(w, m->u.tsetattr.fid);
		p9_put32(w, a->valid);
		p9_put32(w, a->mode);
		p9_put32(w, a->uid);
		p9_put32(w, a->gid);
		p9_put64(w, a->size);
		p9_put64(w, a->atime_sec);
		p9_put64(w, a->atime_nsec);
		p9_put64(w, a->mtime_sec);
		p9_put64(w, a->mtime_nsec);
		break;
	}
	case P9_TXATTRWALK:
		p9_put32(w, m->u.txattrwalk.fid);
		p9_put32(w, m->u.txattrwalk.newfid);
		p9_putstr(w, m->u.txattrwalk.name);
		break;
	case P9_RXATTRWALK:
		p9_put64(w, m->u.rxattrwalk.size);
		break;
	case P9_TXATTRCREATE:
		p9_put32(w, m->u.txattrcreate.fid);
		p9_putstr(w, m->u.txattrcreate.name);
		p9_put64(w, m->u.txattrcreate.attr_size);
		p9_put32(w, m->u.txattrcreate.flags);
		break;
	case P9_TFSYNC:
		p9_put32(w, m->u.tfsync.fid);
		p9_put32(w, m->u.tfsync.datasync);
		break;
	case P9_TLOCK:
		p9_put32(w, m->u.tlock.fid);
		put_lock(w, &m->u.tlock.lock, true);
		break;
	case P9_RLOCK:
		p9_put8(w, m->u.rlock.status);
		break;
	case P9_TGETLOCK:
		p9_put32(w, m->u.tlock.fid);
		put_lock(w, &m->u.tlock.lock, false);
		break;
	case P9_RGETLOCK:
		put_lock(w, &m->u.rgetlock.lock, false);
		break;
	case P9_TLINK:
		p9_put32(w, m->u.tlink.dfid);
		p9_put32(w, m->u.tlink.fid);
		p9_putstr(w, m->u.tlink.name);
		break;
	case P9_TMKDIR:
		p9_put32(w, m->u.tmkdir.dfid);
		p9_putstr(w, m->u.tmkdir.name);
		p9_put32(w, m->u.tmkdir.mode);
		p9_put32(w, m->u.tmkdir.gid);
		break;
	case P9_TRENAMEAT:
		p9_put32(w, m->u.trenameat.olddirfid);
		p9_putstr(w, m->u.trenameat.oldname);
		p9_put32(w, m->u.trenameat.newdirfid);
		p9_putstr(w, m->u.trenameat.newname);
		break;
	case P9_TUNLINKAT:
		p9_put32(w, m->u.tunlinkat.dirfd);
		p9_putstr(w, m->u.tunlinkat.name);
		p9_put32(w, m->u.tunlinkat.flags);
		break;
	case P9_RFLUSH:
	case P9_RCLUNK:
	case P9_RREMOVE:
	case P9_RWSTAT:
	case P9_RRENAME:
	case P9_RSETATTR:
	case P9_RXATTRCREATE:
	case P9_RFSYNC:
	case P9_RLINK:
	case P9_RRENAMEAT:
	case P9_RUNLINKAT:
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

int p9_encode(void *buf, size_t len, enum p9_dialect d, const struct p9_msg *m)
{
	struct p9_wr w;
	int rc;

	if ((unsigned)d > P9_DIALECT_2000L || !m)
		return -EINVAL;
	if (!buf)
		return -EMSGSIZE;
	p9_wr_init(&w, buf, len);
	p9_begin_frame(&w, m->type, m->tag);
	rc = encode_body(&w, d, m);
	if (rc)
		return rc;
	return p9_end_frame(&w);
}
