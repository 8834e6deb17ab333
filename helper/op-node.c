/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operations on one node: walk, adopt, getattr, statfs, fsync, readlink, open. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "ops.h"
#include "secmodel.h"

/* ".." of d: the root stays the root; never leaves the export. */
static int walk_up(struct hx_node *d, struct x9p_px_rep *rep)
{
	struct hx_node *p = NULL, *pp = NULL, *n;
	char *pname = NULL, *ppname = NULL;
	struct statx stx;
	int fd, e;

	if (d->is_root)
		return hx_publish_root(rep);
	fd = openat(d->fd, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	e = hx_stat(fd, NULL, &stx);
	if (e) {
		close(fd);
		return e;
	}
	/* Keep the location (needed by mapped-file) when we know the parent. */
	if (hx_node_where(d, &p, &pname) && p->dev == hx_stx_dev(&stx) &&
	    p->ino == stx.stx_ino)
		hx_node_where(p, &pp, &ppname);
	n = hx_node_new(fd, hx_stx_dev(&stx), stx.stx_ino, stx.stx_mode, pp, ppname);
	if (p && p->depth != HX_DEPTH_UNKNOWN && !n->is_root)
		n->depth = p->depth;
	if (p)
		hx_node_put(p);
	if (pp)
		hx_node_put(pp);
	g_free(pname);
	g_free(ppname);
	e = hx_beneath(n);
	if (e == 0)
		e = hx_node_attr(n, &rep->attr);
	if (e == 0)
		e = hx_node_publish(n, &rep->node);
	hx_node_put(n);
	return e;
}

int hx_op_walk(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *d;
	struct statx stx;
	int fd, e;
	HX_NAME(name, q->name);

	e = hx_get_dir(q->node, &d);
	if (e)
		return e;
	if (strcmp(name, "..") == 0) {
		e = walk_up(d, o->rep);
		goto out;
	}
	if (hx_reserved_name(name)) {
		e = -ENOENT;
		goto out;
	}
	fd = hx_openat(d->fd, name, O_PATH, 0);
	if (fd < 0) {
		e = fd;
		goto out;
	}
	e = hx_stat(fd, NULL, &stx);
	if (e == 0)
		e = hx_device_allowed(hx_stx_dev(&stx));
	if (e) {
		close(fd);
		goto out;
	}
	/* One statx serves the checks above, the node and its attributes. */
	e = hx_publish_stx(fd, &stx, d, name, NULL, o->rep);
out:
	hx_node_put(d);
	return e;
}

/*
 * ADOPT: a node for a regular file the backend holds open, which a helper
 * of this export handed out (an open file unlinked or replaced since: no
 * name leads to it).  Only a regular file on a device the export may
 * serve is taken.  The node has no name, like an unlinked one: it serves
 * what needs no parent (attributes, setattr, xattrs, open).
 */
int hx_op_adopt(const struct x9p_px_req *q, struct hx_out *o)
{
	struct statx stx;
	int fd = o->in_fd, pfd, fl, e;

	if (fd < 0)
		return -EPROTO;
	fl = fcntl(fd, F_GETFL);
	e = hx_stat(fd, NULL, &stx);
	if (e)
		return e;
	if (fl < 0 || (fl & O_PATH) || !S_ISREG(stx.stx_mode))
		return -EINVAL;
	e = hx_device_allowed(hx_stx_dev(&stx));
	if (e)
		return e;
	/* Nodes hold O_PATH descriptors: one through the magic link where
	 * /proc is at hand, else the file's own. */
	pfd = hx_reopen_path(fd);
	if (pfd < 0) {
		pfd = fd;
		o->in_fd = -1;
	}
	return hx_publish_stx(pfd, &stx, NULL, NULL, NULL, o->rep);
}

int hx_op_getattr(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *n;
	int e = hx_get_node(q->node, &n);

	if (e)
		return e;
	e = hx_node_attr(n, &o->rep->attr);
	hx_node_put(n);
	return e;
}

int hx_op_statfs(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *n;
	struct statfs st;
	int e = hx_get_node(q->node, &n);

	if (e)
		return e;
	if (fstatfs(n->fd, &st) < 0) {
		e = -errno;
	} else {
		struct x9p_px_statfs *s = &o->rep->st;
		uint64_t fsid;

		memcpy(&fsid, &st.f_fsid, sizeof(fsid));
		s->type = (uint32_t)st.f_type;
		s->bsize = (uint32_t)st.f_bsize;
		s->blocks = st.f_blocks;
		s->bfree = st.f_bfree;
		s->bavail = st.f_bavail;
		s->files = st.f_files;
		s->ffree = st.f_ffree;
		s->fsid = fsid;
		s->namelen = (uint32_t)st.f_namelen;
	}
	hx_node_put(n);
	return e;
}

int hx_op_fsync(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *n;
	int e = hx_get_node(q->node, &n), fd;

	if (e)
		return e;
	fd = hx_reopen(n, O_RDONLY);
	hx_node_put(n);
	if (fd < 0)
		return fd;
	e = (q->datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* The guest's idea of n's file type (mapped models keep their own). */
static mode_t guest_type(struct hx_node *n)
{
	struct hx_meta m;

	if (!hx_mapped())
		return n->type;
	hx_meta_load_node(n, &m);
	if (!(m.have & HX_M_MODE))
		return n->type;
	switch (m.mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return m.mode & S_IFMT;
	default:
		return n->type;
	}
}

int hx_op_readlink(const struct x9p_px_req *q, struct hx_out *o)
{
	char *buf = (char *)o->scratch;
	struct hx_node *n;
	ssize_t len;
	int e = hx_get_node(q->node, &n);

	if (e)
		return e;
	if (guest_type(n) != S_IFLNK) {
		e = -EINVAL;
		goto out;
	}
	if (S_ISLNK(n->type)) {
		len = readlinkat(n->fd, "", buf, X9P_PX_TARGET_MAX + 1);
		len = len < 0 ? -errno : len;
	} else if (S_ISREG(n->type)) {
		/* mapped models: a regular file holds the target */
		int fd = hx_reopen(n, O_RDONLY);

		if (fd < 0) {
			e = fd;
			goto out;
		}
		len = pread(fd, buf, X9P_PX_TARGET_MAX + 1, 0);
		len = len < 0 ? -errno : len;
		close(fd);
		if (len >= 0 && (len == 0 || memchr(buf, 0, (size_t)len)))
			len = -EINVAL;
	} else {
		len = -EINVAL;
	}
	if (len < 0)
		e = (int)len;
	else if ((size_t)len > X9P_PX_TARGET_MAX || (size_t)len > q->size)
		e = -ENAMETOOLONG;
	else {
		o->rep->data = o->scratch;
		o->rep->data_len = (uint32_t)len;
	}
out:
	hx_node_put(n);
	return e;
}

int hx_open_flags(uint32_t px)
{
	int f = (px & X9P_PXO_ACCMODE) == X9P_PXO_WRONLY ? O_WRONLY
	      : (px & X9P_PXO_ACCMODE) == X9P_PXO_RDWR ? O_RDWR : O_RDONLY;

	if (px & X9P_PXO_TRUNC)
		f |= O_TRUNC;
	if (px & X9P_PXO_APPEND)
		f |= O_APPEND;
	if (px & X9P_PXO_DSYNC)
		f |= O_DSYNC;
	if (px & X9P_PXO_SYNC)
		f |= O_SYNC;
	return f;
}

int hx_op_open(const struct x9p_px_req *q, struct hx_out *o)
{
	int flags = hx_open_flags(q->oflags), fd, e;
	mode_t type;
	struct hx_node *n;

	if (hx.readonly && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	e = hx_get_node(q->node, &n);
	if (e)
		return e;
	type = guest_type(n);
	if ((q->oflags & X9P_PXO_DIRECTORY) && type != S_IFDIR) {
		e = -ENOTDIR;
		goto out;
	}
	if (type != n->type) {
		/* A mapped symlink, device or FIFO is a plain file on the host. */
		e = type == S_IFLNK ? -ELOOP : -ENXIO;
		goto out;
	}
	if (S_ISDIR(type)) {
		if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
			e = -EISDIR;
			goto out;
		}
		e = hx_beneath(n);
		if (e)
			goto out;
		/* Proves the directory can be read; nothing is handed out. */
		fd = hx_reopen(n, O_RDONLY);
		if (fd < 0)
			e = fd;
		else
			close(fd);
		goto out;
	}
	fd = hx_reopen(n, flags);
	if (fd < 0)
		e = fd;
	else
		o->fd = fd;
out:
	hx_node_put(n);
	return e;
}
