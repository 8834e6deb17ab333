/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operations that change existing objects: setattr, rename, unlink. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "fsutil.h"
#include "helper.h"
#include "ops.h"
#include "secmodel.h"

static int set_mode(struct hx_node *n, uint32_t perm)
{
	struct hx_meta cur, m = { .have = HX_M_MODE };

	if (!hx_mapped())
		return hx_fchmod_path(n->fd, n->type, hx_host_perm(perm));
	/* The stored file type stays; only the permission bits change. */
	hx_meta_load_node(n, &cur);
	m.mode = ((cur.have & HX_M_MODE) && (cur.mode & S_IFMT) ? cur.mode & S_IFMT : n->type) |
		 perm;
	return hx_meta_store_node(n, &m);
}

static int set_owner(struct hx_node *n, const struct x9p_px_req *q)
{
	uid_t uid = (q->valid & X9P_PXS_UID) ? q->uid : (uid_t)-1;
	gid_t gid = (q->valid & X9P_PXS_GID) ? q->gid : (gid_t)-1;
	struct hx_meta m = { 0 };

	if (!hx_mapped() || (uid == (uid_t)-1 && gid == (gid_t)-1))
		return hx_fchown_path(n->fd, uid, gid);   /* (-1, -1) only touches ctime */
	if (uid != (uid_t)-1) {
		m.have |= HX_M_UID;
		m.uid = uid;
	}
	if (gid != (gid_t)-1) {
		m.have |= HX_M_GID;
		m.gid = gid;
	}
	return hx_meta_store_node(n, &m);
}

static int set_size(struct hx_node *n, uint64_t size)
{
	struct hx_meta m;
	int fd, e;

	if (S_ISDIR(n->type))
		return -EISDIR;
	if (!S_ISREG(n->type))
		return -EINVAL;
	if (hx_mapped()) {
		hx_meta_load_node(n, &m);
		if ((m.have & HX_M_MODE) && (m.mode & S_IFMT) && !S_ISREG(m.mode))
			return S_ISDIR(m.mode) ? -EISDIR : -EINVAL;
	}
	fd = hx_reopen(n, O_WRONLY);
	if (fd < 0)
		return fd;
	e = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* The order of QEMU's v9fs_setattr: mode, times, owner, size. */
int hx_op_setattr(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *n;
	int e;

	if (hx.readonly)
		return -EROFS;
	e = hx_get_node(q->node, &n);
	if (e)
		return e;
	if (q->valid & X9P_PXS_MODE)
		e = set_mode(n, q->mode & 07777);
	if (e == 0 && (q->valid & (X9P_PXS_ATIME | X9P_PXS_MTIME))) {
		struct timespec ts[2] = {
			(q->valid & X9P_PXS_ATIME) ? q->atime : (struct timespec){ 0, UTIME_OMIT },
			(q->valid & X9P_PXS_MTIME) ? q->mtime : (struct timespec){ 0, UTIME_OMIT },
		};

		e = hx_futimens_path(n->fd, ts);
	}
	if (e == 0 && (q->valid & (X9P_PXS_UID | X9P_PXS_GID | X9P_PXS_CTIME)))
		e = set_owner(n, q);
	if (e == 0 && (q->valid & X9P_PXS_SIZE))
		e = set_size(n, q->fsize);
	hx_node_put(n);
	return e;
}

int hx_op_rename(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *od = NULL, *nd = NULL;
	bool replaced = false;
	int e;
	HX_NAME(oname, q->name);
	HX_NAME(nname, q->name2);

	if (hx.readonly)
		return -EROFS;
	if (hx_reserved_name(oname) || hx_reserved_name(nname))
		return -EINVAL;
	e = hx_get_dir(q->node, &od);
	if (e == 0)
		e = hx_get_dir(q->node2, &nd);
	if (e)
		goto out;
	if (hx.model == X9P_SM_MAPPED_FILE) {
		/* Knowing whether something was replaced tells if an undo is possible. */
		e = renameat2(od->fd, oname, nd->fd, nname, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (e == -EEXIST || e == -EINVAL) {
			replaced = e == -EEXIST;
			e = renameat(od->fd, oname, nd->fd, nname) < 0 ? -errno : 0;
		}
	} else {
		e = renameat(od->fd, oname, nd->fd, nname) < 0 ? -errno : 0;
	}
	if (e)
		goto out;
	e = hx_mf_after_rename(od->fd, oname, nd->fd, nname);
	if (e) {
		if (!replaced && renameat(nd->fd, nname, od->fd, oname) == 0)
			goto out;
		g_warning("rename %s -> %s: metadata not moved: %s", oname, nname, g_strerror(-e));
		e = 0;
	}
	hx_nodes_renamed(od, oname, nd, nname);
out:
	if (od)
		hx_node_put(od);
	if (nd)
		hx_node_put(nd);
	return e;
}

int hx_op_unlink(const struct x9p_px_req *q, struct hx_out *o)
{
	int flags = (q->uflags & X9P_PXU_REMOVEDIR) ? AT_REMOVEDIR : 0;
	struct hx_node *d;
	int e;
	HX_NAME(name, q->name);

	if (hx.readonly)
		return -EROFS;
	e = hx_check_new_name(name);
	if (e)
		return e;
	e = hx_get_dir(q->node, &d);
	if (e)
		return e;
	if (flags & AT_REMOVEDIR)
		e = hx_mf_before_rmdir(d->fd, name);
	if (e == 0)
		e = unlinkat(d->fd, name, flags) < 0 ? -errno : 0;
	if (e == 0) {
		hx_mf_after_unlink(d->fd, name);
		hx_nodes_unlinked(d, name);
	}
	hx_node_put(d);
	return e;
}
