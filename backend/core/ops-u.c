// SPDX-License-Identifier: GPL-2.0-or-later
/* 9P2000 and 9P2000.u: Topen, Tcreate, Tstat, Twstat, directory reads. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/core.h"

#define FS(r) ((r)->s->srv->fs)

static uint32_t mode_to_wire(uint32_t m, bool dotu)
{
	uint32_t w = m & 0777;

	if (S_ISDIR(m))
		w |= P9_DMDIR;
	if (dotu) {
		if (S_ISLNK(m))
			w |= P9_DMSYMLINK;
		if (S_ISCHR(m) || S_ISBLK(m))
			w |= P9_DMDEVICE;
		if (S_ISFIFO(m))
			w |= P9_DMNAMEDPIPE;
		if (S_ISSOCK(m))
			w |= P9_DMSOCKET;
		if (m & S_ISUID)
			w |= P9_DMSETUID;
		if (m & S_ISGID)
			w |= P9_DMSETGID;
		if (m & S_ISVTX)
			w |= P9_DMSETVTX;
	}
	return w;
}

static uint32_t perm_to_host(uint32_t perm)
{
	uint32_t m = perm & 0777;

	if (perm & P9_DMSETUID)
		m |= S_ISUID;
	if (perm & P9_DMSETGID)
		m |= S_ISGID;
	if (perm & P9_DMSETVTX)
		m |= S_ISVTX;
	return m;
}

/* Builds a stat record; strings point into `bufs`, which must outlive st. */
struct stat_bufs {
	char uid[16], gid[16], ext[PATH_MAX];
};

static void attr_to_stat(struct x9p_session *s, const struct x9p_attr *a, const char *name,
			 const char *ext, struct stat_bufs *b, struct p9_stat *st)
{
	bool dotu = s->dialect == P9_DIALECT_2000U;

	memset(st, 0, sizeof(*st));
	st->qid = a->qid;
	st->mode = mode_to_wire(a->mode, dotu);
	st->atime = (uint32_t)a->atime.tv_sec;
	st->mtime = (uint32_t)a->mtime.tv_sec;
	st->length = S_ISDIR(a->mode) ? 0 : a->size;
	st->name = p9_str_c(name);
	snprintf(b->uid, sizeof(b->uid), "%" PRIu32, a->uid);
	snprintf(b->gid, sizeof(b->gid), "%" PRIu32, a->gid);
	st->uid = p9_str_c(b->uid);
	st->gid = p9_str_c(b->gid);
	st->muid = p9_str_c("");
	st->extension = p9_str_c(ext ? ext : "");
	st->n_uid = a->uid;
	st->n_gid = a->gid;
	st->n_muid = P9_NONUNAME;
}

/* The .u extension string: symlink target, "c|b major minor", or for files
 * and directories "HARDLINKCOUNT n" (the Linux client's only source of a
 * link count in 9P2000.u). */
static const char *node_extension(struct x9p_req *r, struct x9p_fid *f, struct x9p_node *n,
				  const struct x9p_attr *a, struct stat_bufs *b)
{
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);
	int len;

	if (r->s->dialect != P9_DIALECT_2000U)
		return NULL;
	if (S_ISLNK(a->mode)) {
		len = FS(r)->ops->readlink(FS(r), &c, n, b->ext, sizeof(b->ext) - 1);
		if (len < 0 || memchr(b->ext, 0, (size_t)len))
			return NULL;
		b->ext[len] = 0;
		return b->ext;
	}
	if (S_ISCHR(a->mode) || S_ISBLK(a->mode)) {
		snprintf(b->ext, sizeof(b->ext), "%c %u %u", S_ISCHR(a->mode) ? 'c' : 'b',
			 major(a->rdev), minor(a->rdev));
		return b->ext;
	}
	if (S_ISREG(a->mode) || S_ISDIR(a->mode)) {
		snprintf(b->ext, sizeof(b->ext), "HARDLINKCOUNT %" PRIu64, a->nlink);
		return b->ext;
	}
	return NULL;
}

void x9p_op_open(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.topen.fid);
	struct p9_msg out = { .type = P9_ROPEN };
	int flags = x9p_omode_to_host(m->u.topen.mode);
	int err;

	if (!f)
		return;
	if ((f->qid.type & P9_QTDIR) && (flags & O_ACCMODE) != O_RDONLY)
		err = -EISDIR;
	else if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
		  (m->u.topen.mode & P9_ORCLOSE)) && x9p_fs_readonly(r->s))
		err = -EROFS;
	else
		err = x9p_fid_open(r, f, flags);
	if (err == 0 && (m->u.topen.mode & P9_ORCLOSE)) {
		g_mutex_lock(&f->lock);
		f->rclose = true;
		g_mutex_unlock(&f->lock);
	}
	out.u.ropen.qid = f->qid;
	x9p_fid_unref(f);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.ropen.iounit = x9p_iounit(r->s);
	x9p_reply(r, &out);
}

/*
 * 9P2000.u's Tcreate carries no group, so the client cannot apply the rules
 * of a set-group-ID directory as a 9P2000.L client does: apply them here.
 * The new object takes the directory's group, a new directory the bit.
 */
static void inherit_setgid(struct x9p_req *r, struct x9p_fid *d, struct x9p_ctx *c,
			   uint32_t *perm)
{
	struct x9p_attr pa;

	if (r->s->dialect != P9_DIALECT_2000U ||
	    FS(r)->ops->getattr(FS(r), c, d->node, &pa) < 0 || !(pa.mode & S_ISGID))
		return;
	c->gid = pa.gid;
	if (*perm & P9_DMDIR)
		*perm |= P9_DMSETGID;
}

/* Creates a non-regular object named `name` in d; returns its node. */
static int create_special(struct x9p_req *r, struct x9p_fid *d, const struct x9p_ctx *cp,
			  const char *name, uint32_t perm, const char *ext, struct x9p_node **n,
			  struct x9p_attr *a)
{
	struct x9p_fs *fs = FS(r);
	struct x9p_ctx c = *cp;
	uint32_t mode = perm_to_host(perm);
	char type;
	unsigned maj, min;
	int err;

	if (perm & P9_DMDIR) {
		err = fs->ops->mkdir(fs, &c, d->node, name, mode, a);
	} else if (perm & P9_DMSYMLINK) {
		err = ext[0] ? fs->ops->symlink(fs, &c, d->node, name, ext, a) : -EINVAL;
	} else if (perm & P9_DMLINK) {
		char *end;
		unsigned long num = strtoul(ext, &end, 10);
		/* The Linux client writes the fid as "%d\n". */
		if (*end == '\n')
			end++;
		struct x9p_fid *t = (*ext && !*end && num <= UINT32_MAX) ?
			x9p_fidtab_get(&r->s->fids, (uint32_t)num) : NULL;
		if (!t)
			return -EBADF;
		err = fs->ops->link(fs, &c, d->node, t->node, name);
		x9p_fid_unref(t);
	} else if (perm & P9_DMDEVICE) {
		if (sscanf(ext, "%c %u %u", &type, &maj, &min) != 3 || (type != 'c' && type != 'b'))
			return -EINVAL;
		err = fs->ops->mknod(fs, &c, d->node, name,
				     mode | (type == 'c' ? S_IFCHR : S_IFBLK), makedev(maj, min), a);
	} else if (perm & (P9_DMNAMEDPIPE | P9_DMSOCKET)) {
		err = fs->ops->mknod(fs, &c, d->node, name,
				     mode | ((perm & P9_DMNAMEDPIPE) ? S_IFIFO : S_IFSOCK), 0, a);
	} else {
		return -EINVAL;
	}
	if (err < 0)
		return err;
	return fs->ops->walk(fs, &c, d->node, name, n, a);
}

void x9p_op_create(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fs *fs = FS(r);
	uint32_t perm = m->u.tcreate.perm;
	char name[NAME_MAX + 1], ext[PATH_MAX] = "";
	struct x9p_fid *d;
	struct x9p_node *n = NULL;
	struct x9p_attr a;
	struct x9p_ctx c;
	struct p9_msg out = { .type = P9_RCREATE };
	int flags = x9p_omode_to_host(m->u.tcreate.mode), fd = -1, err;
	const uint32_t special = P9_DMDIR | P9_DMSYMLINK | P9_DMLINK | P9_DMDEVICE |
				 P9_DMNAMEDPIPE | P9_DMSOCKET;

	if (!x9p_name_or_reply(r, m->u.tcreate.name, name, sizeof(name)))
		return;
	if (r->s->dialect == P9_DIALECT_2000U &&
	    !p9_str_copy(ext, sizeof(ext), m->u.tcreate.extension)) {
		x9p_reply_err(r, ENAMETOOLONG);
		return;
	}
	if (!(d = x9p_fid_or_reply(r, m->u.tcreate.fid)))
		return;
	c = x9p_ctx_of(r, d, (uint32_t)-1);
	if (d->kind == X9P_FID_NONE && (d->qid.type & P9_QTDIR))
		inherit_setgid(r, d, &c, &perm);
	if (x9p_fs_readonly(r->s))
		err = -EROFS;
	else if (d->kind != X9P_FID_NONE)
		err = -EBUSY;
	else if (!(d->qid.type & P9_QTDIR))
		err = -ENOTDIR;
	else if (perm & special) {
		/* 9P2000 proper only knows directories */
		if (r->s->dialect != P9_DIALECT_2000U && (perm & special & ~P9_DMDIR))
			err = -EINVAL;
		else
			err = create_special(r, d, &c, name, perm, ext, &n, &a);
		if (err == 0 && (perm & P9_DMDIR)) {
			int dfd = -1;
			err = fs->ops->open(fs, &c, n, O_RDONLY | O_DIRECTORY, &dfd);
			fd = dfd;
			flags = O_RDONLY;
		}
	} else {
		err = fs->ops->create(fs, &c, d->node, name, flags | O_CREAT | O_EXCL,
				      perm_to_host(perm), &n, &a, &fd);
	}
	if (err == 0) {
		err = x9p_fid_become(r, d, n, &a, name, fd, flags & ~O_TRUNC);
		n = NULL;
	}
	if (n)
		fs->ops->node_put(fs, n);
	if (err == 0 && (m->u.tcreate.mode & P9_ORCLOSE)) {
		struct x9p_fid *nf = x9p_fidtab_get(&r->s->fids, d->num);
		if (nf) {
			g_mutex_lock(&nf->lock);
			nf->rclose = true;
			g_mutex_unlock(&nf->lock);
			x9p_fid_unref(nf);
		}
	}
	x9p_fid_unref(d);
	if (err < 0) {
		x9p_reply_err(r, -err);
		return;
	}
	out.u.ropen.qid = a.qid;
	out.u.ropen.iounit = x9p_iounit(r->s);
	x9p_reply(r, &out);
}

void x9p_op_stat(struct x9p_req *r, struct p9_msg *m)
{
	struct x9p_fid *f = x9p_fid_or_reply(r, m->u.tfid.fid);
	struct p9_msg out = { .type = P9_RSTAT };
	struct stat_bufs *b;
	struct x9p_attr a;
	struct x9p_ctx c;
	int err;

	if (!f)
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	err = FS(r)->ops->getattr(FS(r), &c, f->node, &a);
	if (err < 0) {
		x9p_fid_unref(f);
		x9p_reply_err(r, -err);
		return;
	}
	b = g_new(struct stat_bufs, 1);
	struct x9p_node *parent;
	char *name = NULL;
	if (x9p_fid_location(f, &parent, &name))
		FS(r)->ops->node_put(FS(r), parent);
	attr_to_stat(r->s, &a, name ? name : "/", node_extension(r, f, f->node, &a, b),
		     b, &out.u.rstat.stat);
	x9p_fid_unref(f);
	x9p_reply(r, &out);
	g_free(name);
	g_free(b);
}

/* Renames stay within the directory in 9P2000; the fid follows. */
static int wstat_rename(struct x9p_req *r, struct x9p_fid *f, const struct x9p_ctx *c,
			const char *newname)
{
	struct x9p_fs *fs = FS(r);
	struct x9p_node *parent;
	char *oldname;
	int err = 0;

	if (!x9p_fid_location(f, &parent, &oldname))
		return -EBUSY;
	if (strcmp(oldname, newname) != 0)
		err = fs->ops->rename(fs, c, parent, oldname, parent, newname);
	if (err == 0 && strcmp(oldname, newname) != 0)
		x9p_fid_set_location(f, fs->ops->node_dup(fs, parent), g_strdup(newname));
	fs->ops->node_put(fs, parent);
	g_free(oldname);
	return err;
}

#define DONT_TOUCH32 0xFFFFFFFFu
#define DONT_TOUCH64 0xFFFFFFFFFFFFFFFFull

void x9p_op_wstat(struct x9p_req *r, struct p9_msg *m)
{
	const struct p9_stat *st = &m->u.twstat.stat;
	struct x9p_fs *fs = FS(r);
	struct p9_msg out = { .type = P9_RWSTAT };
	struct x9p_setattr sa = { 0 };
	char name[NAME_MAX + 1];
	struct x9p_fid *f;
	struct x9p_ctx c;
	int fd, err = 0;
	bool dotu = r->s->dialect == P9_DIALECT_2000U;

	if (!(f = x9p_fid_or_reply(r, m->u.twstat.fid)))
		return;
	c = x9p_ctx_of(r, f, (uint32_t)-1);
	if (st->mode != DONT_TOUCH32) {
		if ((st->mode & P9_DMDIR) != ((f->qid.type & P9_QTDIR) ? P9_DMDIR : 0))
			err = -EINVAL; /* the type of a file cannot change */
		sa.valid |= P9_SETATTR_MODE;
		sa.mode = perm_to_host(st->mode);
	}
	if (st->atime != DONT_TOUCH32) {
		sa.valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
		sa.atime.tv_sec = st->atime;
	} else {
		sa.atime.tv_nsec = UTIME_OMIT;
	}
	if (st->mtime != DONT_TOUCH32) {
		sa.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
		sa.mtime.tv_sec = st->mtime;
	} else {
		sa.mtime.tv_nsec = UTIME_OMIT;
	}
	if (st->length != DONT_TOUCH64) {
		if (st->length > (uint64_t)INT64_MAX)
			err = -EINVAL;
		sa.valid |= P9_SETATTR_SIZE;
		sa.size = st->length;
	}
	if (dotu && st->n_uid != DONT_TOUCH32) {
		sa.valid |= P9_SETATTR_UID;
		sa.uid = st->n_uid;
	}
	if (dotu && st->n_gid != DONT_TOUCH32) {
		sa.valid |= P9_SETATTR_GID;
		sa.gid = st->n_gid;
	}
	if (err == 0 && st->name.len && !x9p_name_or_reply(r, st->name, name, sizeof(name))) {
		x9p_fid_unref(f);
		return;
	}

	if (err == 0 && !sa.valid && !st->name.len) {
		/* Every field "don't touch": commit the file to stable storage. */
		g_mutex_lock(&f->lock);
		fd = f->kind == X9P_FID_FILE ? f->fd : -1;
		g_mutex_unlock(&f->lock);
		err = fd >= 0 ? (fsync(fd) < 0 ? -errno : 0) : fs->ops->fsync(fs, &c, f->node, false);
	} else if (err == 0 && x9p_fs_readonly(r->s)) {
		err = -EROFS;
	} else if (err == 0) {
		if (sa.valid)
			err = fs->ops->setattr(fs, &c, f->node, &sa);
		if (err == 0 && (sa.valid & (P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID)))
			x9p_mode_changed(r->s->srv);
		if (err == 0 && st->name.len)
			err = wstat_rename(r, f, &c, name);
	}
	x9p_fid_unref(f);
	if (err < 0)
		x9p_reply_err(r, -err);
	else
		x9p_reply(r, &out);
}

struct udir_state {
	struct x9p_req *r;
	struct x9p_fid *f;
	struct p9_wr w;
	uint64_t cookie;
	uint64_t base;               /* directory offset of the first record */
};

/* Marks kept per directory fid: enough for big directories, bounded. */
#define MAX_DIR_MARKS 262144u

/* Remembers that directory offset `off` resumes at driver cookie `cookie`. */
static void mark(struct x9p_fid *f, uint64_t off, uint64_t cookie)
{
	uint64_t *k, *v;

	if (!f->dir_marks)
		f->dir_marks = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	if (g_hash_table_size(f->dir_marks) >= MAX_DIR_MARKS)
		return;
	k = g_new(uint64_t, 1);
	v = g_new(uint64_t, 1);
	*k = off;
	*v = cookie;
	g_hash_table_replace(f->dir_marks, k, v);
}

static int udir_emit(void *opaque, const struct x9p_dirent *de)
{
	struct udir_state *st = opaque;
	enum p9_dialect d = st->r->s->dialect;
	struct stat_bufs *b;
	struct p9_stat ps;
	const char *ext = NULL;
	size_t need;

	/* Plan 9 directories have no "." and ".."; the 9P2000.u client of
	 * Linux lists what the server sends, as a local directory would. */
	if ((d != P9_DIALECT_2000U &&
	     (strcmp(de->name, ".") == 0 || strcmp(de->name, "..") == 0)) || !de->attr) {
		st->cookie = de->next;
		return 0;
	}
	b = g_new(struct stat_bufs, 1);
	if (S_ISCHR(de->attr->mode) || S_ISBLK(de->attr->mode))
		ext = node_extension(st->r, st->f, NULL, de->attr, b);
	attr_to_stat(st->r->s, de->attr, de->name, ext, b, &ps);
	need = p9_stat_size(d, &ps);
	if (need > p9_wr_left(&st->w)) {
		g_free(b);
		return 1;
	}
	p9_putstat(&st->w, d, &ps);
	st->cookie = de->next;
	mark(st->f, st->base + p9_wr_len(&st->w) - P9_RREAD_HDR, de->next);
	g_free(b);
	return 0;
}

/*
 * Directory reads return whole stat records.  The offset of a read must be
 * 0, where the previous read ended, or any record boundary sent before
 * (the Linux client seeks there for seekdir()); anything else is EINVAL.
 */
void x9p_op_read_dir_u(struct x9p_req *r, struct x9p_fid *f, uint64_t offset, uint32_t count)
{
	struct udir_state st = { .r = r, .f = f, .base = offset };
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);
	uint8_t *buf = g_malloc(P9_RREAD_HDR + count);
	uint64_t *found, seq;
	struct iovec iov;
	int n;

	g_mutex_lock(&f->lock);
	if (offset == 0) {
		st.cookie = 0;
	} else if (offset == f->dir_offset) {
		st.cookie = f->dir_cookie;
	} else if (f->dir_marks && (found = g_hash_table_lookup(f->dir_marks, &offset))) {
		st.cookie = *found;
	} else {
		g_mutex_unlock(&f->lock);
		g_free(buf);
		x9p_reply_err(r, EINVAL);
		return;
	}
	p9_wr_init(&st.w, buf, P9_RREAD_HDR + count);
	p9_begin_frame(&st.w, P9_RREAD, r->tag);
	p9_put32(&st.w, 0);
	/* Entries skipped here ("." and "..") may use up a whole batch. */
	n = 0;
	for (bool ended = x9p_fid_dir_ended(f, st.cookie, &seq); !ended;) {
		uint64_t before = st.cookie;

		n = FS(r)->ops->readdir(FS(r), &c, f->node, st.cookie, count, true, udir_emit, &st,
					&ended);
		ended = n > 0 && ended;
		x9p_fid_dir_note_end(f, seq, ended, st.cookie);
		if (ended && p9_wr_len(&st.w) == P9_RREAD_HDR)
			n = 0;  /* only skipped entries were left: that is the end */
		if (n <= 0 || p9_wr_len(&st.w) > P9_RREAD_HDR || st.cookie == before)
			break;
	}
	if (n >= 0) {
		uint32_t len = (uint32_t)(p9_wr_len(&st.w) - P9_RREAD_HDR);
		if (n > 0 && len == 0) {
			n = -EINVAL; /* the next entry alone does not fit in count */
		} else {
			f->dir_offset = offset + len;
			f->dir_cookie = st.cookie;
			buf[7] = len & 0xff;
			buf[8] = (len >> 8) & 0xff;
			buf[9] = (len >> 16) & 0xff;
			buf[10] = (len >> 24) & 0xff;
		}
	}
	g_mutex_unlock(&f->lock);
	if (n < 0) {
		g_free(buf);
		x9p_reply_err(r, -n);
		return;
	}
	iov.iov_base = buf;
	iov.iov_len = (size_t)p9_end_frame(&st.w);
	x9p_req_finish(r, &iov, 1, 0);
	g_free(buf);
}
