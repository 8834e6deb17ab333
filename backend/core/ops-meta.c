// SPDX-License-Identifier: GPL-2.0-or-later
/* 9P2000.L metadata and namespace operations. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "core/core.h"

#define FS(r) ((r)->s->srv->fs)

void x9p_op_getattr(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tgetattr.fid);
	struct p9_msg out = { .type = P9_RGETATTR };
	struct p9_getattr *g = &out.u.rgetattr;
	struct x9p_attr a;
	struct x9p_ctx c;
	int err;

	if (!f)
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	err = FS(r)->ops->getattr(FS(r), &c, f->node, &a);
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	g->valid = P9_GETATTR_BASIC | P9_GETATTR_BTIME;
	g->qid = a.qid;
	g->mode = a.mode;
	g->uid = a.uid;
	g->gid = a.gid;
	g->nlink = a.nlink;
	g->rdev = a.rdev;
	g->size = a.size;
	g->blksize = a.blksize;
	g->blocks = a.blocks;
	g->atime_sec = (uint64_t)a.atime.tv_sec;
	g->atime_nsec = (uint64_t)a.atime.tv_nsec;
	g->mtime_sec = (uint64_t)a.mtime.tv_sec;
	g->mtime_nsec = (uint64_t)a.mtime.tv_nsec;
	g->ctime_sec = (uint64_t)a.ctime.tv_sec;
	g->ctime_nsec = (uint64_t)a.ctime.tv_nsec;
	g->btime_sec = (uint64_t)a.btime.tv_sec;
	g->btime_nsec = (uint64_t)a.btime.tv_nsec;
	g->gen = a.gen;
	g->data_version = a.data_version;
	x9p_reply(r, &out);
}

static struct timespec wire_time(uint32_t valid, uint32_t which, uint32_t set,
				 uint64_t sec, uint64_t nsec)
{
	struct timespec ts = { 0, UTIME_OMIT };

	if (valid & which) {
		if (valid & set) {
			ts.tv_sec = (time_t)sec;
			ts.tv_nsec = (long)nsec;
		} else {
			ts.tv_nsec = UTIME_NOW;
		}
	}
	return ts;
}

void x9p_op_setattr(struct x9p_req *r, struct p9_msg *m)
{
	const struct p9_setattr *w = &m->u.tsetattr.attr;
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tsetattr.fid);
	struct p9_msg out = { .type = P9_RSETATTR };
	struct x9p_setattr sa = { 0 };
	struct x9p_ctx c;
	int err = 0;

	if (!f)
		return;
	sa.valid = w->valid & (P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID |
			       P9_SETATTR_SIZE | P9_SETATTR_ATIME | P9_SETATTR_MTIME |
			       P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME_SET);
	sa.mode = w->mode;
	sa.uid = w->uid;
	sa.gid = w->gid;
	sa.size = w->size;
	sa.atime = wire_time(w->valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET,
			     w->atime_sec, w->atime_nsec);
	sa.mtime = wire_time(w->valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET,
			     w->mtime_sec, w->mtime_nsec);
	if (((sa.valid & P9_SETATTR_ATIME_SET) && w->atime_nsec >= 1000000000u) ||
	    ((sa.valid & P9_SETATTR_MTIME_SET) && w->mtime_nsec >= 1000000000u) ||
	    ((sa.valid & P9_SETATTR_SIZE) && w->size > (uint64_t)INT64_MAX))
		err = -EINVAL;
	else if (x9p_fs_readonly(r->s) && (sa.valid & ~(uint32_t)P9_SETATTR_CTIME))
		err = -EROFS;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	/* A ctime-only request (what chown/chmod of nothing sends) is a no-op. */
	if (err == 0 && sa.valid)
		err = FS(r)->ops->setattr(FS(r), &c, f->node, &sa);
	if (err == 0 && (sa.valid & (P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID)))
		x9p_mode_changed(r->s->srv);
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

void x9p_op_statfs(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tfid.fid);
	struct p9_msg out = { .type = P9_RSTATFS };
	struct x9p_ctx c;
	int err;

	if (!f)
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	err = FS(r)->ops->statfs(FS(r), &c, f->node, &out.u.rstatfs.st);
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

/* Common prologue of operations creating `name` in directory fid `dfid`. */
static struct x9p_fid *create_prologue(struct x9p_req *r, uint32_t dfid, struct p9_str sname,
				       char *name, size_t namelen)
{
	struct x9p_fid *d;

	if (!x9p_name_or_reply(r, sname, name, namelen))
		return NULL;
	if (!(d = x9p_fid_or_reply(r, dfid)))
		return NULL;
	if (x9p_fs_readonly(r->s)) {
		x9p_fid_unref(d);
		x9p_reply_err(r, EROFS);
		return NULL;
	}
	if (!(d->qid.type & P9_QTDIR)) {
		x9p_fid_unref(d);
		x9p_reply_err(r, ENOTDIR);
		return NULL;
	}
	return d;
}

static void reply_qid(struct x9p_req *r, uint8_t type, int err, const struct x9p_attr *a)
{
	struct p9_msg out = { .type = type };

	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.rqid.qid = a->qid;
	x9p_reply(r, &out);
}

void x9p_op_mkdir(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1];
	struct x9p_fid *d = create_prologue(r, m->u.tmkdir.dfid, m->u.tmkdir.name, name, sizeof(name));
	struct x9p_attr a;
	struct x9p_ctx c;
	int err;

	if (!d)
		return;
	c = x9p_ctx_of(r, d, m->u.tmkdir.gid);
	err = FS(r)->ops->mkdir(FS(r), &c, d->node, name, m->u.tmkdir.mode & 07777, &a);
	x9p_fid_unref(d);
	reply_qid(r, P9_RMKDIR, err, &a);
}

void x9p_op_mknod(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1];
	struct x9p_fid *d = create_prologue(r, m->u.tmknod.dfid, m->u.tmknod.name, name, sizeof(name));
	uint32_t mode = m->u.tmknod.mode;
	struct x9p_attr a;
	struct x9p_ctx c;
	int err;

	if (!d)
		return;
	switch (mode & S_IFMT) {
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK: case S_IFREG:
		break;
	default:
		x9p_fid_unref(d);
		x9p_reply_err(r, EINVAL);
		return;
	}
	c = x9p_ctx_of(r, d, m->u.tmknod.gid);
	err = FS(r)->ops->mknod(FS(r), &c, d->node, name, mode & (S_IFMT | 07777),
				makedev(m->u.tmknod.major, m->u.tmknod.minor), &a);
	x9p_fid_unref(d);
	reply_qid(r, P9_RMKNOD, err, &a);
}

void x9p_op_symlink(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1], target[PATH_MAX];
	struct x9p_fid *d;
	struct x9p_attr a;
	struct x9p_ctx c;
	int err;

	if (m->u.tsymlink.symtgt.len == 0 ||
	    !p9_str_copy(target, sizeof(target), m->u.tsymlink.symtgt)) {
		x9p_reply_err(r, m->u.tsymlink.symtgt.len ? ENAMETOOLONG : ENOENT);
		return;
	}
	if (!(d = create_prologue(r, m->u.tsymlink.fid, m->u.tsymlink.name, name, sizeof(name))))
		return;
	c = x9p_ctx_of(r, d, m->u.tsymlink.gid);
	err = FS(r)->ops->symlink(FS(r), &c, d->node, name, target, &a);
	x9p_fid_unref(d);
	reply_qid(r, P9_RSYMLINK, err, &a);
}

static void reply_status(struct x9p_req *r, uint8_t type, int err)
{
	struct p9_msg out = { .type = type };

	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

void x9p_op_link(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1];
	struct x9p_fid *d = create_prologue(r, m->u.tlink.dfid, m->u.tlink.name, name, sizeof(name));
	struct x9p_fid *t;
	struct x9p_ctx c;
	int err;

	if (!d)
		return;
	if (!(t = x9p_fid_or_reply(r, m->u.tlink.fid))) {
		x9p_fid_unref(d);
		return;
	}
	c = x9p_ctx_of(r, d, (uint32_t)-1);
	err = (t->qid.type & P9_QTDIR) ? -EPERM :
		FS(r)->ops->link(FS(r), &c, d->node, t->node, name);
	x9p_fid_unref(t);
	x9p_fid_unref(d);
	reply_status(r, P9_RLINK, err);
}

void x9p_op_readlink(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tfid.fid);
	struct p9_msg out = { .type = P9_RREADLINK };
	char target[PATH_MAX];
	struct x9p_ctx c;
	int n;

	if (!f)
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	n = FS(r)->ops->readlink(FS(r), &c, f->node, target, sizeof(target));
	x9p_fid_unref(f);
	if (n < 0) {
		x9p_reply_err(r, -n);
		return;
	}
	if ((size_t)n >= sizeof(target) || memchr(target, 0, (size_t)n)) {
		x9p_reply_err(r, EIO); /* a driver bug or a hostile helper */
		return;
	}
	out.u.rreadlink.target.s = target;
	out.u.rreadlink.target.len = (uint16_t)n;
	x9p_reply(r, &out);
}

void x9p_op_rename(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1];
	struct x9p_fs *fs = FS(r);
	struct x9p_node *parent;
	struct x9p_fid *d, *f;
	struct x9p_ctx c;
	char *oldname;
	int err;

	if (!(d = create_prologue(r, m->u.trename.dfid, m->u.trename.name, name, sizeof(name))))
		return;
	if (!(f = x9p_fid_or_reply(r, m->u.trename.fid))) {
		x9p_fid_unref(d);
		return;
	}
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	if (!x9p_fid_location(f, &parent, &oldname)) {
		err = -EBUSY;
	} else {
		err = fs->ops->rename(fs, &c, parent, oldname, d->node, name);
		fs->ops->node_put(fs, parent);
		g_free(oldname);
	}
	/* The fid follows its file to the new name. */
	if (err == 0)
		x9p_fid_set_location(f, fs->ops->node_dup(fs, d->node), g_strdup(name));
	x9p_fid_unref(f);
	x9p_fid_unref(d);
	reply_status(r, P9_RRENAME, err);
}

void x9p_op_renameat(struct x9p_req *r, struct p9_msg *m)
{
	char oldname[NAME_MAX + 1], newname[NAME_MAX + 1];
	struct x9p_fid *od, *nd;
	struct x9p_ctx c;
	int err;

	if (!x9p_name_or_reply(r, m->u.trenameat.oldname, oldname, sizeof(oldname)))
		return;
	if (!(nd = create_prologue(r, m->u.trenameat.newdirfid, m->u.trenameat.newname,
				   newname, sizeof(newname))))
		return;
	if (!(od = x9p_fid_or_reply(r, m->u.trenameat.olddirfid))) {
		x9p_fid_unref(nd);
		return;
	}
	c = x9p_ctx_of(r, od, (uint32_t)-1);
	err = FS(r)->ops->rename(FS(r), &c, od->node, oldname, nd->node, newname);
	x9p_fid_unref(od);
	x9p_fid_unref(nd);
	reply_status(r, P9_RRENAMEAT, err);
}

void x9p_op_unlinkat(struct x9p_req *r, struct p9_msg *m)
{
	char name[NAME_MAX + 1];
	struct x9p_fid *d = create_prologue(r, m->u.tunlinkat.dirfd, m->u.tunlinkat.name, name, sizeof(name));
	struct x9p_ctx c;
	int err;

	if (!d)
		return;
	c = x9p_ctx_of(r, d, (uint32_t)-1);
	err = FS(r)->ops->unlink(FS(r), &c, d->node, name,
				 (m->u.tunlinkat.flags & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0);
	x9p_fid_unref(d);
	reply_status(r, P9_RUNLINKAT, err);
}

void x9p_op_xattrwalk(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = FS(r);
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.txattrwalk.fid);
	struct p9_msg out = { .type = P9_RXATTRWALK };
	char name[XATTR_NAME_MAX + 1];
	struct x9p_fid *nf;
	struct x9p_ctx c;
	uint8_t *buf = NULL;
	ssize_t n = -ERANGE;
	int err, tries;

	if (!f)
		return;
	if (!p9_str_copy(name, sizeof(name), m->u.txattrwalk.name)) {
		x9p_fid_unref(f);
		x9p_reply_err(r, ERANGE);
		return;
	}
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	/* Size, then value; retry if it grew in between. */
	for (tries = 0; tries < 4 && n == -ERANGE; tries++) {
		n = name[0] ? fs->ops->getxattr(fs, &c, f->node, name, NULL, 0)
			    : fs->ops->listxattr(fs, &c, f->node, NULL, 0);
		if (n < 0)
			break;
		if ((size_t)n > X9P_XATTR_MAX) {
			n = -E2BIG;
			break;
		}
		g_free(buf);
		buf = g_malloc((size_t)n + 1);
		if (n > 0)
			n = name[0] ? fs->ops->getxattr(fs, &c, f->node, name, buf, (size_t)n)
				    : fs->ops->listxattr(fs, &c, f->node, (char *)buf, (size_t)n);
	}
	if (n < 0) {
		g_free(buf);
		x9p_fid_unref(f);
		x9p_reply_err(r, (int)-n);
		return;
	}
	nf = x9p_fid_new(fs, m->u.txattrwalk.newfid, fs->ops->node_dup(fs, f->node), NULL, NULL,
			 &f->qid, f->uid);
	nf->root_path = f->root_path;
	nf->kind = X9P_FID_XATTR_READ;
	nf->xbuf = buf;
	nf->xlen = nf->xsize = (size_t)n;
	err = x9p_fidtab_charge_xattr(&r->s->fids, nf, nf->xsize);
	if (err == 0)
		err = x9p_fidtab_add(&r->s->fids, nf, r->tag);
	x9p_fid_unref(nf);
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.rxattrwalk.size = (uint64_t)n;
	x9p_reply(r, &out);
}

void x9p_op_xattrcreate(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.txattrcreate.fid);
	struct p9_msg out = { .type = P9_RXATTRCREATE };
	char name[XATTR_NAME_MAX + 1];
	uint32_t flags = m->u.txattrcreate.flags;
	int err = 0;

	if (!f)
		return;
	if (!p9_str_copy(name, sizeof(name), m->u.txattrcreate.name) || !name[0])
		err = -EINVAL;
	else if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		err = -EINVAL;
	else if (m->u.txattrcreate.attr_size > X9P_XATTR_MAX)
		err = -E2BIG;
	else if (x9p_fs_readonly(r->s))
		err = -EROFS;
	if (err == 0) {
		g_mutex_lock(&f->lock);
		if (f->kind != X9P_FID_NONE)
			err = -EBUSY;
		else /* a session's pending values are bounded */
			err = x9p_fidtab_charge_xattr(&r->s->fids, f,
						      (size_t)m->u.txattrcreate.attr_size);
		if (err == 0) {
			/* The fid itself becomes the attribute being written. */
			f->kind = X9P_FID_XATTR_WRITE;
			f->xname = g_strdup(name);
			f->xsize = (size_t)m->u.txattrcreate.attr_size;
			f->xbuf = g_malloc0(f->xsize ? f->xsize : 1);
			f->xlen = 0;
			f->xflags = (int)flags;
		}
		g_mutex_unlock(&f->lock);
		if (err == 0)
			x9p_fidtab_note_open(&r->s->fids, f, r->tag);   /* no longer kept */
	}
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}
