/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operations that create a name: create, mkdir, mknod, symlink, link. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "fsutil.h"
#include "helper.h"
#include "ops.h"
#include "secmodel.h"

/* The guest's ownership and full mode for a mapped model's metadata. */
static struct hx_meta new_meta(const struct x9p_px_req *q, uint32_t mode)
{
	struct hx_meta m = { .have = HX_M_MODE, .mode = mode };

	if (q->uid != (uint32_t)-1) {
		m.have |= HX_M_UID;
		m.uid = q->uid;
	}
	if (q->gid != (uint32_t)-1) {
		m.have |= HX_M_GID;
		m.gid = q->gid;
	}
	return m;
}

/*
 * passthrough and none: make ownership and permission bits exactly what
 * the guest asked for (the umask, setgid directories and a failed
 * identity switch could otherwise leave others).  "none" runs without
 * privileges and ignores a failing chown, as QEMU does.
 */
static int fix_host_cred(int fd, mode_t type, const struct x9p_px_req *q, bool chmod_too)
{
	int e = hx_fchown_path(fd, q->uid, q->gid);

	if (e && hx.model == X9P_SM_NONE)
		e = 0;
	if (e == 0 && chmod_too)
		e = hx_fchmod_path(fd, type, hx_host_perm(q->mode));
	return e;
}

/* Common start: the directory, and whether the name may be created. */
static int begin(const struct x9p_px_req *q, struct hx_node **d, const char *name)
{
	int e;

	if (hx.readonly)
		return -EROFS;
	e = hx_check_new_name(name);
	if (e)
		return e;
	return hx_get_dir(q->node, d);
}

/* Attributes of the new entry dir/name through its O_PATH descriptor. */
static int new_entry_attr(struct hx_node *d, const char *name, int pfd, struct x9p_px_attr *a)
{
	struct statx stx;
	struct hx_node *n;
	int e = hx_stat(pfd, NULL, &stx);

	if (e) {
		close(pfd);
		return e;
	}
	n = hx_node_new(pfd, hx_stx_dev(&stx), stx.stx_ino, stx.stx_mode, d, name);
	hx_node_attr_stx(n, &stx, NULL, a);
	hx_node_put(n);
	return 0;
}

/* Stores the model's metadata (into *stored, when not NULL) or fixes host
 * ownership; undoes on failure. */
static int finish_new(struct hx_node *d, const char *name, int fd, mode_t host_type,
		      const struct x9p_px_req *q, uint32_t guest_mode, bool chmod_too,
		      struct hx_meta *stored)
{
	int e;

	if (hx_mapped()) {
		struct hx_meta m = new_meta(q, guest_mode);

		/* QEMU records a device number for every mknod, none otherwise. */
		if (q->h.op == X9P_PX_MKNOD) {
			m.have |= HX_M_RDEV;
			m.rdev = q->rdev;
		}
		e = hx_meta_store(d->fd, name, fd, host_type, &m);
		if (stored)
			*stored = m;
	} else {
		e = fix_host_cred(fd, host_type, q, chmod_too);
	}
	if (e) {
		unlinkat(d->fd, name, S_ISDIR(host_type) ? AT_REMOVEDIR : 0);
		hx_mf_after_unlink(d->fd, name);
	}
	return e;
}

int hx_op_create(const struct x9p_px_req *q, struct hx_out *o)
{
	int flags = (hx_open_flags(q->oflags) & ~O_TRUNC) | O_CREAT | O_EXCL;
	struct hx_meta stored, *known = NULL;
	struct hx_creds cr;
	struct hx_node *d;
	struct statx stx;
	struct stat st;
	int fd, pfd, e;
	HX_NAME(name, q->name);

	e = begin(q, &d, name);
	if (e)
		return e;
	/* Always exclusive: metadata must never be stamped onto an existing file. */
	if (hx_mapped()) {
		fd = hx_openat(d->fd, name, flags, 0600);
	} else {
		e = hx_creds_enter(q->uid, q->gid, &cr);
		if (e)
			goto out;
		fd = hx_openat(d->fd, name, flags, hx_host_perm(q->mode));
		hx_creds_leave(&cr);
	}
	if (fd < 0) {
		e = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		e = -EIO;
		goto out;
	}
	e = finish_new(d, name, fd, S_IFREG, q, S_IFREG | (q->mode & 07777), true, &stored);
	if (e) {
		close(fd);
		goto out;
	}
	/* A new inode has no attributes but those just set; a mapped-file
	 * metadata file may have outlived an earlier file of that name and
	 * been merged into, so that model reads it back. */
	if (hx.model == X9P_SM_MAPPED_XATTR)
		known = &stored;
	/* The node's descriptor must name the file just created and opened;
	 * one statx proves it and gives the attributes. */
	pfd = hx_openat(d->fd, name, O_PATH, 0);
	if (pfd < 0 || hx_stat(pfd, NULL, &stx) < 0 || hx_stx_dev(&stx) != st.st_dev ||
	    stx.stx_ino != st.st_ino) {
		if (pfd >= 0)
			close(pfd);
		close(fd);
		e = -ESTALE;
		goto out;
	}
	e = hx_publish_stx(pfd, &stx, d, name, known, o->rep);
	if (e) {
		unlinkat(d->fd, name, 0);
		hx_mf_after_unlink(d->fd, name);
		close(fd);
		goto out;
	}
	o->fd = fd;
out:
	hx_node_put(d);
	return e;
}

int hx_op_mkdir(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_creds cr;
	struct hx_node *d;
	int pfd, e;
	HX_NAME(name, q->name);

	e = begin(q, &d, name);
	if (e)
		return e;
	if (hx_mapped()) {
		e = mkdirat(d->fd, name, 0700) < 0 ? -errno : 0;
	} else {
		e = hx_creds_enter(q->uid, q->gid, &cr);
		if (e == 0) {
			e = mkdirat(d->fd, name, hx_host_perm(q->mode)) < 0 ? -errno : 0;
			hx_creds_leave(&cr);
		}
	}
	if (e)
		goto out;
	pfd = hx_openat(d->fd, name, O_PATH | O_DIRECTORY, 0);
	if (pfd < 0) {
		e = pfd;
		goto out;
	}
	e = finish_new(d, name, pfd, S_IFDIR, q, S_IFDIR | (q->mode & 07777), true, NULL);
	if (e)
		close(pfd);
	else
		e = new_entry_attr(d, name, pfd, &o->rep->attr);
out:
	hx_node_put(d);
	return e;
}

int hx_op_mknod(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_creds cr;
	struct hx_node *d;
	mode_t host_type;
	int pfd, e;
	HX_NAME(name, q->name);

	e = begin(q, &d, name);
	if (e)
		return e;
	if (hx_mapped()) {
		/* Devices, FIFOs and sockets are plain files; the type is metadata. */
		host_type = S_IFREG;
		e = mknodat(d->fd, name, S_IFREG | 0600, 0) < 0 ? -errno : 0;
	} else {
		host_type = q->mode & S_IFMT;
		e = hx_creds_enter(q->uid, q->gid, &cr);
		if (e == 0) {
			e = mknodat(d->fd, name, (q->mode & S_IFMT) | hx_host_perm(q->mode),
				    (dev_t)q->rdev) < 0 ? -errno : 0;
			hx_creds_leave(&cr);
		}
	}
	if (e)
		goto out;
	pfd = hx_openat(d->fd, name, O_PATH, 0);
	if (pfd < 0) {
		e = pfd;
		goto out;
	}
	e = finish_new(d, name, pfd, host_type, q, q->mode, true, NULL);
	if (e)
		close(pfd);
	else
		e = new_entry_attr(d, name, pfd, &o->rep->attr);
out:
	hx_node_put(d);
	return e;
}

static int write_target(int dirfd, const char *name, const struct x9p_px_str *t)
{
	size_t done = 0;
	int fd = hx_openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY, 0600), e = 0;

	if (fd < 0)
		return fd;
	while (done < t->len) {
		ssize_t w = write(fd, t->s + done, t->len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	close(fd);
	if (e)
		unlinkat(dirfd, name, 0);
	return e;
}

int hx_op_symlink(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_creds cr;
	struct hx_node *d;
	int pfd, e;
	HX_NAME(name, q->name);
	HX_NAME(target, q->target);

	e = begin(q, &d, name);
	if (e)
		return e;
	if (hx_mapped()) {
		/* The target is the content of a regular file. */
		e = write_target(d->fd, name, &q->target);
	} else {
		e = hx_creds_enter(q->uid, q->gid, &cr);
		if (e == 0) {
			e = symlinkat(target, d->fd, name) < 0 ? -errno : 0;
			hx_creds_leave(&cr);
		}
	}
	if (e)
		goto out;
	pfd = hx_openat(d->fd, name, O_PATH, 0);
	if (pfd < 0) {
		e = pfd;
		goto out;
	}
	e = finish_new(d, name, pfd, hx_mapped() ? S_IFREG : S_IFLNK, q, S_IFLNK | 0777, false, NULL);
	if (e)
		close(pfd);
	else
		e = new_entry_attr(d, name, pfd, &o->rep->attr);
out:
	hx_node_put(d);
	return e;
}

/* A hard link to the inode of t; never to whatever a name resolves to now. */
static int link_node(struct hx_node *t, int dirfd, const char *name)
{
	struct hx_node *td;
	char *tname;
	int e;

	if (hx.proc_fd >= 0) {
		char num[16];

		snprintf(num, sizeof(num), "%d", t->fd);
		/* Follows the magic link to t itself (a symlink is not followed again). */
		return linkat(hx.proc_fd, num, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	}
	if (linkat(t->fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* Without CAP_DAC_READ_SEARCH: by name, if the name still leads to t. */
	if (!hx_node_locate(t, &td, &tname))
		return -ESTALE;
	e = linkat(td->fd, tname, dirfd, name, 0) < 0 ? -errno : 0;
	hx_node_put(td);
	g_free(tname);
	return e;
}

int hx_op_link(const struct x9p_px_req *q, struct hx_out *o)
{
	struct hx_node *d, *t = NULL, *td;
	char *tname;
	int e;
	HX_NAME(name, q->name);

	e = begin(q, &d, name);
	if (e)
		return e;
	e = hx_get_node(q->node2, &t);
	if (e)
		goto out;
	if (S_ISDIR(t->type)) {
		e = -EPERM;
		goto out;
	}
	e = link_node(t, d->fd, name);
	if (e)
		goto out;
	if (hx.model == X9P_SM_MAPPED_FILE && hx_node_locate(t, &td, &tname)) {
		e = hx_mf_after_link(td->fd, tname, d->fd, name);
		if (e)
			unlinkat(d->fd, name, 0);
		hx_node_put(td);
		g_free(tname);
	}
out:
	if (t)
		hx_node_put(t);
	hx_node_put(d);
	return e;
}
