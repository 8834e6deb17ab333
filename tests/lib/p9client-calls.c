/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * p9client: one function per request type.  Each builds the T-message,
 * runs it through p9c_rpc, checks that the reply fits the request beyond
 * what the codec can know, and copies results out before the reply frame
 * is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p9client-impl.h"

static void init_msg(struct p9_msg *t, uint8_t type)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
}

/* Runs t and frees the reply: for requests whose reply carries nothing. */
static int simple_rpc(struct p9c *c, const struct p9_msg *t)
{
	struct p9c_reply r;
	int rc = p9c_rpc(c, t, &r);

	p9c_reply_clear(&r);
	return rc;
}

static void set_qid(struct p9_qid *dst, const struct p9_qid *src)
{
	if (dst)
		*dst = *src;
}

static void set_u32(uint32_t *dst, uint32_t v)
{
	if (dst)
		*dst = v;
}

/* ---- session ---------------------------------------------------------------- */

int p9c_version(struct p9c *c, uint32_t msize, const char *version,
		uint32_t *msize_out, char *ver_out, size_t ver_len)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TVERSION);
	t.u.version.msize = msize;
	t.u.version.version = p9_str_c(version);
	rc = p9c_rpc_on(c, &t, P9_NOTAG, &r);
	if (rc == 0) {
		uint32_t got = r.m.u.version.msize;
		struct p9_str v = r.m.u.version.version;
		/* The server may only lower the client's proposal.  (The
		 * receive path has already adopted its dialect and msize.) */
		if (got > msize || got < P9_HDR_SIZE)
			rc = -EPROTO;
		else if (ver_out && !p9_str_copy(ver_out, ver_len, v))
			rc = -ENAMETOOLONG;
		else
			set_u32(msize_out, got);
	}
	p9c_reply_clear(&r);
	return rc;
}

int p9c_auth(struct p9c *c, uint32_t afid, const char *uname, const char *aname,
	     uint32_t n_uname, struct p9_qid *aqid)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TAUTH);
	t.u.tauth.afid = afid;
	t.u.tauth.uname = p9_str_c(uname);
	t.u.tauth.aname = p9_str_c(aname);
	t.u.tauth.n_uname = n_uname;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0)
		set_qid(aqid, &r.m.u.rauth.aqid);
	p9c_reply_clear(&r);
	return rc;
}

int p9c_attach(struct p9c *c, uint32_t fid, uint32_t afid, const char *uname,
	       const char *aname, uint32_t n_uname, struct p9_qid *qid)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TATTACH);
	t.u.tattach.fid = fid;
	t.u.tattach.afid = afid;
	t.u.tattach.uname = p9_str_c(uname);
	t.u.tattach.aname = p9_str_c(aname);
	t.u.tattach.n_uname = n_uname;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0)
		set_qid(qid, &r.m.u.rattach.qid);
	p9c_reply_clear(&r);
	return rc;
}

int p9c_flush(struct p9c *c, uint16_t oldtag)
{
	struct p9_msg t;

	init_msg(&t, P9_TFLUSH);
	t.u.tflush.oldtag = oldtag;
	return simple_rpc(c, &t);
}

/* ---- walking and fids ------------------------------------------------------- */

int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, unsigned nwname,
	     const char *const *wnames, uint16_t *nwqid, struct p9_qid *wqids)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	if (nwname > P9_MAXWELEM)
		return -EINVAL;
	init_msg(&t, P9_TWALK);
	t.u.twalk.fid = fid;
	t.u.twalk.newfid = newfid;
	t.u.twalk.nwname = (uint16_t)nwname;
	for (unsigned i = 0; i < nwname; i++)
		t.u.twalk.wname[i] = p9_str_c(wnames[i]);
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0) {
		uint16_t n = r.m.u.rwalk.nwqid;
		/* More qids than names, or none for a non-empty walk (which
		 * must be an error reply instead), is a server bug. */
		if (n > nwname || (nwname > 0 && n == 0)) {
			rc = -EPROTO;
		} else {
			if (nwqid)
				*nwqid = n;
			if (wqids)
				memcpy(wqids, r.m.u.rwalk.wqid, n * sizeof(struct p9_qid));
		}
	}
	p9c_reply_clear(&r);
	return rc;
}

int p9c_walk_path(struct p9c *c, uint32_t fid, uint32_t newfid, const char *path,
		  struct p9_qid *qid)
{
	char **parts = g_strsplit(path ? path : "", "/", -1);
	const char *names[P9_MAXWELEM] = { NULL };
	struct p9_qid qids[P9_MAXWELEM];
	unsigned n = 0;
	uint16_t got = 0;
	int rc = 0;

	for (char **p = parts; *p; p++) {
		if (!**p)
			continue;
		if (n == P9_MAXWELEM) {
			rc = -EINVAL;
			break;
		}
		names[n++] = *p;
	}
	if (rc == 0)
		rc = p9c_walk(c, fid, newfid, n, names, &got, qids);
	if (rc == 0 && got < n)
		rc = -ENOENT;
	if (rc == 0 && qid && n > 0)
		*qid = qids[n - 1];
	g_strfreev(parts);
	return rc;
}

int p9c_clunk(struct p9c *c, uint32_t fid)
{
	struct p9_msg t;

	init_msg(&t, P9_TCLUNK);
	t.u.tfid.fid = fid;
	return simple_rpc(c, &t);
}

int p9c_remove(struct p9c *c, uint32_t fid)
{
	struct p9_msg t;

	init_msg(&t, P9_TREMOVE);
	t.u.tfid.fid = fid;
	return simple_rpc(c, &t);
}

/* ---- 9P2000.L --------------------------------------------------------------- */

static int open_like(struct p9c *c, const struct p9_msg *t, struct p9_qid *qid,
		     uint32_t *iounit)
{
	struct p9c_reply r;
	int rc = p9c_rpc(c, t, &r);

	if (rc == 0) {
		set_qid(qid, &r.m.u.ropen.qid);
		set_u32(iounit, r.m.u.ropen.iounit);
	}
	p9c_reply_clear(&r);
	return rc;
}

static int qid_reply(struct p9c *c, const struct p9_msg *t, struct p9_qid *qid)
{
	struct p9c_reply r;
	int rc = p9c_rpc(c, t, &r);

	if (rc == 0)
		set_qid(qid, &r.m.u.rqid.qid);
	p9c_reply_clear(&r);
	return rc;
}

int p9c_lopen(struct p9c *c, uint32_t fid, uint32_t flags, struct p9_qid *qid,
	      uint32_t *iounit)
{
	struct p9_msg t;

	init_msg(&t, P9_TLOPEN);
	t.u.tlopen.fid = fid;
	t.u.tlopen.flags = flags;
	return open_like(c, &t, qid, iounit);
}

int p9c_lcreate(struct p9c *c, uint32_t fid, const char *name, uint32_t flags,
		uint32_t mode, uint32_t gid, struct p9_qid *qid, uint32_t *iounit)
{
	struct p9_msg t;

	init_msg(&t, P9_TLCREATE);
	t.u.tlcreate.fid = fid;
	t.u.tlcreate.name = p9_str_c(name);
	t.u.tlcreate.flags = flags;
	t.u.tlcreate.mode = mode;
	t.u.tlcreate.gid = gid;
	return open_like(c, &t, qid, iounit);
}

/* Shared by Tread and Treaddir: same request and reply layouts. */
static int read_like(struct p9c *c, uint8_t type, uint32_t fid, uint64_t offset,
		     uint32_t count, void *buf, uint32_t *nread)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, type);
	t.u.tread.fid = fid;
	t.u.tread.offset = offset;
	t.u.tread.count = count;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0) {
		uint32_t n = r.m.u.rread.count;
		if (n > count) {
			rc = -EPROTO;
		} else {
			if (n)
				memcpy(buf, r.m.u.rread.data, n);
			set_u32(nread, n);
		}
	}
	p9c_reply_clear(&r);
	return rc;
}

int p9c_read(struct p9c *c, uint32_t fid, uint64_t offset, uint32_t count,
	     void *buf, uint32_t *nread)
{
	return read_like(c, P9_TREAD, fid, offset, count, buf, nread);
}

int p9c_readdir(struct p9c *c, uint32_t fid, uint64_t offset, uint32_t count,
		void *buf, uint32_t *nbytes)
{
	return read_like(c, P9_TREADDIR, fid, offset, count, buf, nbytes);
}

int p9c_write(struct p9c *c, uint32_t fid, uint64_t offset, const void *data,
	      uint32_t count, uint32_t *nwritten)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TWRITE);
	t.u.twrite.fid = fid;
	t.u.twrite.offset = offset;
	t.u.twrite.count = count;
	t.u.twrite.data = data;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0) {
		if (r.m.u.rwrite.count > count)
			rc = -EPROTO;
		else
			set_u32(nwritten, r.m.u.rwrite.count);
	}
	p9c_reply_clear(&r);
	return rc;
}

int p9c_getattr(struct p9c *c, uint32_t fid, uint64_t mask, struct p9_getattr *out)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TGETATTR);
	t.u.tgetattr.fid = fid;
	t.u.tgetattr.request_mask = mask;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && out)
		*out = r.m.u.rgetattr;
	p9c_reply_clear(&r);
	return rc;
}

int p9c_setattr(struct p9c *c, uint32_t fid, const struct p9_setattr *attr)
{
	struct p9_msg t;

	init_msg(&t, P9_TSETATTR);
	t.u.tsetattr.fid = fid;
	t.u.tsetattr.attr = *attr;
	return simple_rpc(c, &t);
}

int p9c_mkdir(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode,
	      uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg t;

	init_msg(&t, P9_TMKDIR);
	t.u.tmkdir.dfid = dfid;
	t.u.tmkdir.name = p9_str_c(name);
	t.u.tmkdir.mode = mode;
	t.u.tmkdir.gid = gid;
	return qid_reply(c, &t, qid);
}

int p9c_unlinkat(struct p9c *c, uint32_t dfid, const char *name, uint32_t flags)
{
	struct p9_msg t;

	init_msg(&t, P9_TUNLINKAT);
	t.u.tunlinkat.dirfd = dfid;
	t.u.tunlinkat.name = p9_str_c(name);
	t.u.tunlinkat.flags = flags;
	return simple_rpc(c, &t);
}

int p9c_renameat(struct p9c *c, uint32_t olddfid, const char *oldname,
		 uint32_t newdfid, const char *newname)
{
	struct p9_msg t;

	init_msg(&t, P9_TRENAMEAT);
	t.u.trenameat.olddirfid = olddfid;
	t.u.trenameat.oldname = p9_str_c(oldname);
	t.u.trenameat.newdirfid = newdfid;
	t.u.trenameat.newname = p9_str_c(newname);
	return simple_rpc(c, &t);
}

int p9c_rename(struct p9c *c, uint32_t fid, uint32_t dfid, const char *name)
{
	struct p9_msg t;

	init_msg(&t, P9_TRENAME);
	t.u.trename.fid = fid;
	t.u.trename.dfid = dfid;
	t.u.trename.name = p9_str_c(name);
	return simple_rpc(c, &t);
}

int p9c_symlink(struct p9c *c, uint32_t dfid, const char *name, const char *target,
		uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg t;

	init_msg(&t, P9_TSYMLINK);
	t.u.tsymlink.fid = dfid;
	t.u.tsymlink.name = p9_str_c(name);
	t.u.tsymlink.symtgt = p9_str_c(target);
	t.u.tsymlink.gid = gid;
	return qid_reply(c, &t, qid);
}

int p9c_readlink(struct p9c *c, uint32_t fid, char *buf, size_t len)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TREADLINK);
	t.u.tfid.fid = fid;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && !p9_str_copy(buf, len, r.m.u.rreadlink.target))
		rc = -ENAMETOOLONG;
	p9c_reply_clear(&r);
	return rc;
}

int p9c_link(struct p9c *c, uint32_t dfid, uint32_t fid, const char *name)
{
	struct p9_msg t;

	init_msg(&t, P9_TLINK);
	t.u.tlink.dfid = dfid;
	t.u.tlink.fid = fid;
	t.u.tlink.name = p9_str_c(name);
	return simple_rpc(c, &t);
}

int p9c_mknod(struct p9c *c, uint32_t dfid, const char *name, uint32_t mode,
	      uint32_t major, uint32_t minor, uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg t;

	init_msg(&t, P9_TMKNOD);
	t.u.tmknod.dfid = dfid;
	t.u.tmknod.name = p9_str_c(name);
	t.u.tmknod.mode = mode;
	t.u.tmknod.major = major;
	t.u.tmknod.minor = minor;
	t.u.tmknod.gid = gid;
	return qid_reply(c, &t, qid);
}

int p9c_statfs(struct p9c *c, uint32_t fid, struct p9_statfs *out)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TSTATFS);
	t.u.tfid.fid = fid;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && out)
		*out = r.m.u.rstatfs.st;
	p9c_reply_clear(&r);
	return rc;
}

int p9c_fsync(struct p9c *c, uint32_t fid, uint32_t datasync)
{
	struct p9_msg t;

	init_msg(&t, P9_TFSYNC);
	t.u.tfsync.fid = fid;
	t.u.tfsync.datasync = datasync;
	return simple_rpc(c, &t);
}

int p9c_xattrwalk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *name,
		  uint64_t *size)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TXATTRWALK);
	t.u.txattrwalk.fid = fid;
	t.u.txattrwalk.newfid = newfid;
	t.u.txattrwalk.name = p9_str_c(name);
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && size)
		*size = r.m.u.rxattrwalk.size;
	p9c_reply_clear(&r);
	return rc;
}

int p9c_xattrcreate(struct p9c *c, uint32_t fid, const char *name, uint64_t size,
		    uint32_t flags)
{
	struct p9_msg t;

	init_msg(&t, P9_TXATTRCREATE);
	t.u.txattrcreate.fid = fid;
	t.u.txattrcreate.name = p9_str_c(name);
	t.u.txattrcreate.attr_size = size;
	t.u.txattrcreate.flags = flags;
	return simple_rpc(c, &t);
}

int p9c_lock(struct p9c *c, uint32_t fid, const struct p9_lock *lk, uint8_t *status)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TLOCK);
	t.u.tlock.fid = fid;
	t.u.tlock.lock = *lk;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && status)
		*status = r.m.u.rlock.status;
	p9c_reply_clear(&r);
	return rc;
}

int p9c_getlock(struct p9c *c, uint32_t fid, const struct p9_lock *req,
		struct p9_lock *out, char *cid, size_t cidlen)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	init_msg(&t, P9_TGETLOCK);
	t.u.tlock.fid = fid;
	t.u.tlock.lock = *req;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0 && out) {
		*out = r.m.u.rgetlock.lock;
		out->client_id = p9_str_c("");
		if (cid) {
			if (p9_str_copy(cid, cidlen, r.m.u.rgetlock.lock.client_id))
				out->client_id = p9_str_c(cid);
			else
				rc = -ENAMETOOLONG;
		}
	}
	p9c_reply_clear(&r);
	return rc;
}

/* ---- 9P2000 / 9P2000.u ------------------------------------------------------ */

int p9c_open(struct p9c *c, uint32_t fid, uint8_t mode, struct p9_qid *qid,
	     uint32_t *iounit)
{
	struct p9_msg t;

	init_msg(&t, P9_TOPEN);
	t.u.topen.fid = fid;
	t.u.topen.mode = mode;
	return open_like(c, &t, qid, iounit);
}

int p9c_create(struct p9c *c, uint32_t fid, const char *name, uint32_t perm,
	       uint8_t mode, const char *extension, struct p9_qid *qid,
	       uint32_t *iounit)
{
	struct p9_msg t;

	init_msg(&t, P9_TCREATE);
	t.u.tcreate.fid = fid;
	t.u.tcreate.name = p9_str_c(name);
	t.u.tcreate.perm = perm;
	t.u.tcreate.mode = mode;
	t.u.tcreate.extension = p9_str_c(extension);
	return open_like(c, &t, qid, iounit);
}

/* One allocation holding the record and copies of its strings. */
static struct p9_stat *stat_dup(const struct p9_stat *st)
{
	const struct p9_str *src[] = { &st->name, &st->uid, &st->gid, &st->muid,
				       &st->extension };
	size_t total = sizeof(struct p9_stat);
	struct p9_stat *out;
	char *p;

	for (unsigned i = 0; i < G_N_ELEMENTS(src); i++)
		total += (size_t)src[i]->len + 1;
	out = g_malloc(total);
	*out = *st;
	p = (char *)(out + 1);
	struct p9_str *dst[] = { &out->name, &out->uid, &out->gid, &out->muid,
				 &out->extension };
	for (unsigned i = 0; i < G_N_ELEMENTS(src); i++) {
		if (src[i]->len)
			memcpy(p, src[i]->s, src[i]->len);
		p[src[i]->len] = '\0';
		dst[i]->s = p;
		p += src[i]->len + 1;
	}
	return out;
}

int p9c_stat(struct p9c *c, uint32_t fid, struct p9_stat **out)
{
	struct p9_msg t;
	struct p9c_reply r;
	int rc;

	*out = NULL;
	init_msg(&t, P9_TSTAT);
	t.u.tfid.fid = fid;
	rc = p9c_rpc(c, &t, &r);
	if (rc == 0)
		*out = stat_dup(&r.m.u.rstat.stat);
	p9c_reply_clear(&r);
	return rc;
}

int p9c_wstat(struct p9c *c, uint32_t fid, const struct p9_stat *st)
{
	struct p9_msg t;

	init_msg(&t, P9_TWSTAT);
	t.u.twstat.fid = fid;
	t.u.twstat.stat = *st;
	return simple_rpc(c, &t);
}
