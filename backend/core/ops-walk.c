// SPDX-License-Identifier: GPL-2.0-or-later
/* Tattach, Tauth, Twalk, Tclunk, Tremove. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"

static uint32_t attach_uid(const struct p9_msg *m)
{
	char buf[16];

	if (m->u.tattach.n_uname != P9_NONUNAME)
		return m->u.tattach.n_uname;
	/* 9P2000 has only a user name and there is no user database here:
	 * numeric names are taken as uids, "root" is 0, the rest is nobody. */
	if (p9_str_eq(m->u.tattach.uname, "root"))
		return 0;
	if (p9_str_copy(buf, sizeof(buf), m->u.tattach.uname) && buf[0]) {
		char *end;
		unsigned long v = strtoul(buf, &end, 10);
		if (!*end && v < 0xFFFFFFFFul)
			return (uint32_t)v;
	}
	return 65534;
}

void x9p_op_attach(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_attr attr;
	struct x9p_node *n = NULL;
	struct x9p_ctx c = { attach_uid(m), (uint32_t)-1, &r->cancelled, r->s, r->s->channel,
			     NULL };
	char aname[PATH_MAX];
	struct x9p_fid *f;
	struct p9_msg out = { .type = P9_RATTACH };
	int err;

	if (m->u.tattach.afid != P9_NOFID) {
		x9p_reply_err(r, EINVAL);
		return;
	}
	if (!p9_str_copy(aname, sizeof(aname), m->u.tattach.aname)) {
		x9p_reply_err(r, ENAMETOOLONG);
		return;
	}
	err = fs->ops->attach(fs, &c, aname, &n, &attr);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	f = x9p_fid_new(fs, m->u.tattach.fid, n, NULL, NULL, &attr.qid, c.uid);
	f->root_path = attr.qid.path;
	err = x9p_fidtab_add(&r->s->fids, f, r->tag);
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.rattach.qid = attr.qid;
	x9p_reply(r, &out);
}

void x9p_op_auth(struct x9p_req *r, struct p9_msg *m)
{
	/* No authentication is required: Tattach takes afid = NOFID. */
	if (r->s->dialect == P9_DIALECT_2000L) {
		x9p_reply_err(r, EOPNOTSUPP);
		return;
	}
	struct p9_msg out = { .type = P9_RERROR };
	out.u.rerror.ename = p9_str_c("authentication not required");
	out.u.rerror.ecode = EOPNOTSUPP;
	x9p_reply(r, &out);
}

void x9p_op_walk(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_session *s = r->s;
	struct x9p_fs *fs = s->srv->fs;
	uint32_t newfid = m->u.twalk.newfid;
	uint16_t nw = m->u.twalk.nwname;
	struct p9_msg out = { .type = P9_RWALK };
	struct x9p_node *cur, *parent, *next;
	struct p9_qid qid;
	char *name, comp[NAME_MAX + 1];
	struct x9p_fid *f, *nf;
	struct x9p_ctx c;
	struct x9p_attr attr;
	int err = 0;
	uint16_t i;

	if (!(f = x9p_fid_or_reply(r, m->u.twalk.fid)))
		return;
	if (newfid != f->num) {
		struct x9p_fid *busy = x9p_fidtab_get(&s->fids, newfid);
		if (busy) {
			x9p_fid_unref(busy);
			x9p_fid_unref(f);
			x9p_reply_err(r, EBADF);
			return;
		}
	}
	/* Check every name before touching the filesystem. */
	for (i = 0; i < nw; i++) {
		struct p9_str w = m->u.twalk.wname[i];
		if (!p9_str_eq(w, "..") && !p9_name_valid(w)) {
			x9p_fid_unref(f);
			x9p_reply_err(r, ENOENT);
			return;
		}
		if (w.len > NAME_MAX) {
			x9p_fid_unref(f);
			x9p_reply_err(r, ENAMETOOLONG);
			return;
		}
	}

	c = x9p_ctx_of(r, f, (uint32_t)-1);
	cur = fs->ops->node_dup(fs, f->node);
	x9p_fid_location(f, &parent, &name);
	qid = f->qid;
	for (i = 0; i < nw; i++) {
		p9_str_copy(comp, sizeof(comp), m->u.twalk.wname[i]);
		if (strcmp(comp, "..") == 0 && qid.path == f->root_path) {
			out.u.rwalk.wqid[i] = qid; /* '..' of the root is the root */
			continue;
		}
		err = fs->ops->walk(fs, &c, cur, comp, &next, &attr);
		if (err < 0)
			break;
		if (parent)
			fs->ops->node_put(fs, parent);
		g_free(name);
		if (strcmp(comp, "..") == 0) {
			/* Where '..' leads has no known parent entry here. */
			fs->ops->node_put(fs, cur);
			parent = NULL;
			name = NULL;
		} else {
			parent = cur;
			name = g_strdup(comp);
		}
		cur = next;
		qid = attr.qid;
		out.u.rwalk.wqid[i] = qid;
	}
	if (err < 0) {
		fs->ops->node_put(fs, cur);
		if (parent)
			fs->ops->node_put(fs, parent);
		g_free(name);
		x9p_fid_unref(f);
		if (i == 0) {
			x9p_reply_err(r, -err);
		} else {
			out.u.rwalk.nwqid = i; /* partial walk: newfid untouched */
			x9p_reply(r, &out);
		}
		return;
	}

	nf = x9p_fid_new(fs, newfid, cur, parent, name, &qid, f->uid);
	nf->root_path = f->root_path;
	if (newfid == f->num) {
		x9p_fidtab_replace(&s->fids, nf, r->tag);
		err = 0;
	} else {
		err = x9p_fidtab_add(&s->fids, nf, r->tag);
	}
	x9p_fid_unref(nf);
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.rwalk.nwqid = nw;
	x9p_reply(r, &out);
}

/* Applies a pending Txattrcreate value; called once the fid is gone. */
static int xattr_commit(struct x9p_req *r, struct x9p_fid *f)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);

	if (f->xlen != f->xsize)
		return -EINVAL;
	/* A zero-sized value is how the Linux client removes an attribute. */
	if (f->xsize == 0)
		return fs->ops->removexattr(fs, &c, f->node, f->xname);
	return fs->ops->setxattr(fs, &c, f->node, f->xname, f->xbuf, f->xsize, f->xflags);
}

static int remove_fid(struct x9p_req *r, struct x9p_fid *f)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);
	struct x9p_node *parent;
	char *name;
	int err;

	if (!x9p_fid_location(f, &parent, &name))
		return -EBUSY;
	err = fs->ops->unlink(fs, &c, parent, name, (f->qid.type & P9_QTDIR) ? AT_REMOVEDIR : 0);
	fs->ops->node_put(fs, parent);
	g_free(name);
	return err;
}

void x9p_op_clunk(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fidtab_remove(&r->s->fids, m->u.tfid.fid, r->tag);
	struct p9_msg out = { .type = P9_RCLUNK };
	int err = 0;

	if (!f) {
		x9p_reply_err(r, ENOENT);
		return;
	}
	x9p_fidtab_uncount_open(&r->s->fids, f);
	/* The fid is out of the table: nothing else can change its state. */
	if (f->kind == X9P_FID_XATTR_WRITE)
		err = xattr_commit(r, f);
	else if (f->rclose)
		err = remove_fid(r, f);
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

void x9p_op_remove(struct x9p_req *r, struct p9_msg *m)
{
	/* The fid is freed whatever the outcome. */
	struct x9p_fid *f = x9p_fidtab_remove(&r->s->fids, m->u.tfid.fid, r->tag);
	struct p9_msg out = { .type = P9_RREMOVE };
	int err;

	if (!f) {
		x9p_reply_err(r, ENOENT);
		return;
	}
	x9p_fidtab_uncount_open(&r->s->fids, f);
	err = x9p_fs_readonly(r->s) ? -EROFS : remove_fid(r, f);
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}
