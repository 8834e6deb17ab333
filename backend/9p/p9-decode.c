/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frame -> struct p9_msg.
 *
 * Every field is read through the bounded reader; the reader's sticky
 * error is checked once at the end, together with the rule that a message
 * must consume its frame exactly (trailing bytes are as suspicious as
 * missing ones: they mean the peer and we disagree about the layout).
 * Only the counts that size an array or a payload are checked inline,
 * because they must be known to be sane before they are used.
 */
#include <errno.h>
#include <string.h>

#include "9p/p9.h"

static inline bool has_dotu(enum p9_dialect d)
{
	return d != P9_DIALECT_2000;
}

/* Payload of Rread/Rreaddir/Twrite: count[4] then exactly count bytes. */
static int get_payload(struct p9_rd *r, uint32_t *count, const uint8_t **data)
{
	*count = p9_get32(r);
	if (r->err || *count > p9_rd_left(r))
		return -EPROTO;
	*data = r->p;
	r->p += *count;
	return 0;
}

static void get_lock(struct p9_rd *r, struct p9_lock *lk, bool with_flags)
{
	lk->type = p9_get8(r);
	lk->flags = with_flags ? p9_get32(r) : 0;
	lk->start = p9_get64(r);
	lk->length = p9_get64(r);
	lk->proc_id = p9_get32(r);
	lk->client_id = p9_getstr(r);
}

static int decode_body(struct p9_rd *r, enum p9_dialect d, struct p9_msg *m)
{
	switch (m->type) {
	case P9_TVERSION:
	case P9_RVERSION:
		m->u.version.msize = p9_get32(r);
		m->u.version.version = p9_getstr(r);
		break;
	case P9_TAUTH:
		m->u.tauth.afid = p9_get32(r);
		m->u.tauth.uname = p9_getstr(r);
		m->u.tauth.aname = p9_getstr(r);
		m->u.tauth.n_uname = has_dotu(d) ? p9_get32(r) : P9_NONUNAME;
		break;
	case P9_RAUTH:
		m->u.rauth.aqid = p9_getqid(r);
		break;
	case P9_TATTACH:
		m->u.tattach.fid = p9_get32(r);
		m->u.tattach.afid = p9_get32(r);
		m->u.tattach.uname = p9_getstr(r);
		m->u.tattach.aname = p9_getstr(r);
		m->u.tattach.n_uname = has_dotu(d) ? p9_get32(r) : P9_NONUNAME;
		break;
	case P9_RATTACH:
		m->u.rattach.qid = p9_getqid(r);
		break;
	case P9_RERROR:
		m->u.rerror.ename = p9_getstr(r);
		m->u.rerror.ecode = has_dotu(d) ? p9_get32(r) : 0;
		break;
	case P9_RLERROR:
		m->u.rlerror.ecode = p9_get32(r);
		break;
	case P9_TFLUSH:
		m->u.tflush.oldtag = p9_get16(r);
		break;
	case P9_TWALK:
		m->u.twalk.fid = p9_get32(r);
		m->u.twalk.newfid = p9_get32(r);
		m->u.twalk.nwname = p9_get16(r);
		if (r->err)
			return -EPROTO;
		if (m->u.twalk.nwname > P9_MAXWELEM)
			return -EINVAL;
		for (unsigned i = 0; i < m->u.twalk.nwname; i++)
			m->u.twalk.wname[i] = p9_getstr(r);
		break;
	case P9_RWALK:
		m->u.rwalk.nwqid = p9_get16(r);
		if (r->err)
			return -EPROTO;
		if (m->u.rwalk.nwqid > P9_MAXWELEM)
			return -EINVAL;
		for (unsigned i = 0; i < m->u.rwalk.nwqid; i++)
			m->u.rwalk.wqid[i] = p9_getqid(r);
		break;
	case P9_TOPEN:
		m->u.topen.fid = p9_get32(r);
		m->u.topen.mode = p9_get8(r);
		break;
	case P9_ROPEN:
	case P9_RCREATE:
	case P9_RLOPEN:
	case P9_RLCREATE:
		m->u.ropen.qid = p9_getqid(r);
		m->u.ropen.iounit = p9_get32(r);
		break;
	case P9_TCREATE:
		m->u.tcreate.fid = p9_get32(r);
		m->u.tcreate.name = p9_getstr(r);
		m->u.tcreate.perm = p9_get32(r);
		m->u.tcreate.mode = p9_get8(r);
		if (has_dotu(d))
			m->u.tcreate.extension = p9_getstr(r);
		else
			m->u.tcreate.extension = (struct p9_str){ "", 0 };
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		m->u.tread.fid = p9_get32(r);
		m->u.tread.offset = p9_get64(r);
		m->u.tread.count = p9_get32(r);
		break;
	case P9_RREAD:
	case P9_RREADDIR:
		return get_payload(r, &m->u.rread.count, &m->u.rread.data);
	case P9_TWRITE:
		m->u.twrite.fid = p9_get32(r);
		m->u.twrite.offset = p9_get64(r);
		return get_payload(r, &m->u.twrite.count, &m->u.twrite.data);
	case P9_RWRITE:
		m->u.rwrite.count = p9_get32(r);
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTAT:
	case P9_TSTATFS:
	case P9_TREADLINK:
		m->u.tfid.fid = p9_get32(r);
		break;
	case P9_RSTAT: {
		/* n[2] wraps the record, which has its own size[2]: both must
		 * describe the same bytes. */
		uint16_t n = p9_get16(r);
		const uint8_t *start = r->p;
		m->u.rstat.stat = p9_getstat(r, d);
		if (!r->err && (size_t)(r->p - start) != n)
			return -EPROTO;
		break;
	}
	case P9_TWSTAT: {
		m->u.twstat.fid = p9_get32(r);
		uint16_t n = p9_get16(r);
		const uint8_t *start = r->p;
		m->u.twstat.stat = p9_getstat(r, d);
		if (!r->err && (size_t)(r->p - start) != n)
			return -EPROTO;
		break;
	}
	case P9_RSTATFS: {
		struct p9_statfs *st = &m->u.rstatfs.st;
		st->type = p9_get32(r);
		st->bsize = p9_get32(r);
		st->blocks = p9_get64(r);
		st->bfree = p9_get64(r);
		st->bavail = p9_get64(r);
		st->files = p9_get64(r);
		st->ffree = p9_get64(r);
		st->fsid = p9_get64(r);
		st->namelen = p9_get32(r);
		break;
	}
	case P9_TLOPEN:
		m->u.tlopen.fid = p9_get32(r);
		m->u.tlopen.flags = p9_get32(r);
		break;
	case P9_TLCREATE:
		m->u.tlcreate.fid = p9_get32(r);
		m->u.tlcreate.name = p9_getstr(r);
		m->u.tlcreate.flags = p9_get32(r);
		m->u.tlcreate.mode = p9_get32(r);
		m->u.tlcreate.gid = p9_get32(r);
		break;
	case P9_TSYMLINK:
		m->u.tsymlink.fid = p9_get32(r);
		m->u.tsymlink.name = p9_getstr(r);
		m->u.tsymlink.symtgt = p9_getstr(r);
		m->u.tsymlink.gid = p9_get32(r);
		break;
	case P9_RSYMLINK:
	case P9_RMKNOD:
	case P9_RMKDIR:
		m->u.rqid.qid = p9_getqid(r);
		break;
	case P9_TMKNOD:
		m->u.tmknod.dfid = p9_get32(r);
		m->u.tmknod.name = p9_getstr(r);
		m->u.tmknod.mode = p9_get32(r);
		m->u.tmknod.major = p9_get32(r);
		m->u.tmknod.minor = p9_get32(r);
		m->u.tmknod.gid = p9_get32(r);
		break;
	case P9_TRENAME:
		m->u.trename.fid = p9_get32(r);
		m->u.trename.dfid = p9_get32(r);
		m->u.trename.name = p9_getstr(r);
		break;
	case P9_RREADLINK:
		m->u.rreadlink.target = p9_getstr(r);
		break;
	case P9_TGETATTR:
		m->u.tgetattr.fid = p9_get32(r);
		m->u.tgetattr.request_mask = p9_get64(r);
		break;
	case P9_RGETATTR: {
		struct p9_getattr *a = &m->u.rgetattr;
		a->valid = p9_get64(r);
		a->qid = p9_getqid(r);
		a->mode = p9_get32(r);
		a->uid = p9_get32(r);
		a->gid = p9_get32(r);
		a->nlink = p9_get64(r);
		a->rdev = p9_get64(r);
		a->size = p9_get64(r);
		a->blksize = p9_get64(r);
		a->blocks = p9_get64(r);
		a->atime_sec = p9_get64(r);
		a->atime_nsec = p9_get64(r);
		a->mtime_sec = p9_get64(r);
		a->mtime_nsec = p9_get64(r);
		a->ctime_sec = p9_get64(r);
		a->ctime_nsec = p9_get64(r);
		a->btime_sec = p9_get64(r);
		a->btime_nsec = p9_get64(r);
		a->gen = p9_get64(r);
		a->data_version = p9_get64(r);
		break;
	}
	case P9_TSETATTR: {
		struct p9_setattr *a = &m->u.tsetattr.attr;
		m->u.tsetattr.fid = p9_get32(r);
		a->valid = p9_get32(r);
		a->mode = p9_get32(r);
		a->uid = p9_get32(r);
		a->gid = p9_get32(r);
		a->size = p9_get64(r);
		a->atime_sec = p9_get64(r);
		a->atime_nsec = p9_get64(r);
		a->mtime_sec = p9_get64(r);
		a->mtime_nsec = p9_get64(r);
		break;
	}
	case P9_TXATTRWALK:
		m->u.txattrwalk.fid = p9_get32(r);
		m->u.txattrwalk.newfid = p9_get32(r);
		m->u.txattrwalk.name = p9_getstr(r);
		break;
	case P9_RXATTRWALK:
		m->u.rxattrwalk.size = p9_get64(r);
		break;
	case P9_TXATTRCREATE:
		m->u.txattrcreate.fid = p9_get32(r);
		m->u.txattrcreate.name = p9_getstr(r);
		m->u.txattrcreate.attr_size = p9_get64(r);
		m->u.txattrcreate.flags = p9_get32(r);
		break;
	case P9_TFSYNC:
		m->u.tfsync.fid = p9_get32(r);
		/* Linux before 4.x sent only the fid. */
		m->u.tfsync.datasync = p9_rd_left(r) ? p9_get32(r) : 0;
		break;
	case P9_TLOCK:
		m->u.tlock.fid = p9_get32(r);
		get_lock(r, &m->u.tlock.lock, true);
		break;
	case P9_RLOCK:
		m->u.rlock.status = p9_get8(r);
		break;
	case P9_TGETLOCK:
		m->u.tlock.fid = p9_get32(r);
		get_lock(r, &m->u.tlock.lock, false);
		break;
	case P9_RGETLOCK:
		get_lock(r, &m->u.rgetlock.lock, false);
		break;
	case P9_TLINK:
		m->u.tlink.dfid = p9_get32(r);
		m->u.tlink.fid = p9_get32(r);
		m->u.tlink.name = p9_getstr(r);
		break;
	case P9_TMKDIR:
		m->u.tmkdir.dfid = p9_get32(r);
		m->u.tmkdir.name = p9_getstr(r);
		m->u.tmkdir.mode = p9_get32(r);
		m->u.tmkdir.gid = p9_get32(r);
		break;
	case P9_TRENAMEAT:
		m->u.trenameat.olddirfid = p9_get32(r);
		m->u.trenameat.oldname = p9_getstr(r);
		m->u.trenameat.newdirfid = p9_get32(r);
		m->u.trenameat.newname = p9_getstr(r);
		break;
	case P9_TUNLINKAT:
		m->u.tunlinkat.dirfd = p9_get32(r);
		m->u.tunlinkat.name = p9_getstr(r);
		m->u.tunlinkat.flags = p9_get32(r);
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
		/* Includes Terror and Tlerror, which no peer may send. */
		return -EOPNOTSUPP;
	}
	return 0;
}

int p9_decode(const void *buf, size_t len, enum p9_dialect d, struct p9_msg *m)
{
	struct p9_rd r;
	uint32_t size;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!buf || len < P9_HDR_SIZE)
		return -EPROTO;
	p9_rd_init(&r, buf, len);
	size = p9_get32(&r);
	m->type = p9_get8(&r);
	m->tag = p9_get16(&r);
	if ((size_t)size != len)
		return -EPROTO;
	if ((unsigned)d > P9_DIALECT_2000L)
		return -EINVAL;

	rc = decode_body(&r, d, m);
	if (rc)
		return rc;
	if (r.err || p9_rd_left(&r) != 0)
		return -EPROTO;
	return 0;
}
