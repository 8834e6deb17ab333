// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers shared by the handlers: fid lookup, names, open flags, open state. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

struct x9p_fid *x9p_fid_or_reply(struct x9p_req *r, uint32_t num)
{
	struct x9p_fid *f = x9p_fidtab_get(&r->s->fids, num);

	if (!f)
		x9p_reply_err(r, x9p_unknown_fid_err(r->s));
	return f;
}

int x9p_unknown_fid_err(const struct x9p_session *s)
{
	/* ENOENT, as QEMU answers: the Linux client never sees this, test
	 * suites written against QEMU expect it.  A session taken over from a
	 * previous daemon lost the client's fids: ESTALE tells the guest its
	 * handles are gone (as an NFS server's restart would). */
	return s->resumed ? ESTALE : ENOENT;
}

bool x9p_name_or_reply(struct x9p_req *r, struct p9_str s, char *out, size_t outlen)
{
	if (!p9_name_valid(s)) {
		x9p_reply_err(r, EINVAL);
		return false;
	}
	if (!p9_str_copy(out, outlen, s)) {
		x9p_reply_err(r, ENAMETOOLONG);
		return false;
	}
	return true;
}

int x9p_lflags_to_host(uint32_t l)
{
	/* Bit by bit: never pass wire flags through.  O_DIRECT and O_NOATIME are
	 * dropped (alignment and ownership rules of the host would leak to the
	 * guest), and O_CREAT/O_EXCL only mean something to Tlcreate.  O_APPEND
	 * is dropped too: the client computes append offsets itself and sends
	 * them in Twrite, and it cannot tell the server when F_SETFL clears the
	 * flag or when page-cache writeback writes at an earlier offset; a host
	 * descriptor opened O_APPEND would put those writes at the end. */
	static const struct { uint32_t wire; int host; } map[] = {
		{ P9L_CREATE, O_CREAT }, { P9L_EXCL, O_EXCL }, { P9L_TRUNC, O_TRUNC },
		{ P9L_NONBLOCK, O_NONBLOCK },
		{ P9L_DSYNC, O_DSYNC }, { P9L_DIRECTORY, O_DIRECTORY },
		{ P9L_NOFOLLOW, O_NOFOLLOW }, { P9L_SYNC, O_SYNC },
	};
	int h;

	switch (l & 3) {
	case P9L_WRONLY: h = O_WRONLY; break;
	case P9L_RDWR: h = O_RDWR; break;
	default: h = O_RDONLY; break;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if ((l & map[i].wire) == map[i].wire)
			h |= map[i].host;
	return h;
}

int x9p_omode_to_host(uint8_t mode)
{
	int h;

	switch (mode & 3) {
	case P9_OWRITE: h = O_WRONLY; break;
	case P9_ORDWR: h = O_RDWR; break;
	default: h = O_RDONLY; break; /* OREAD, OEXEC */
	}
	if (mode & P9_OTRUNC)
		h |= O_TRUNC;
	return h;
}

uint32_t x9p_iounit(struct x9p_session *s)
{
	/*
	 * 0: the client sizes its requests by msize alone.  The 6.1 client then
	 * sends msize-sized Tread/Twrite; the 6.12 client's request size does
	 * not depend on this answer over virtio (it sent 4096-byte requests
	 * with iounit 0 as with a large iounit), so there is nothing to gain
	 * from announcing one.  bench/ measures it.
	 */
	return 0;
}

bool x9p_fs_readonly(struct x9p_session *s)
{
	return s->srv->fs->readonly;
}

static int record_open(struct x9p_req *r, struct x9p_fid *f, int fd, bool is_dir, int hostflags)
{
	int err = x9p_fidtab_count_open(&r->s->fids, f);

	if (err < 0) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	f->fd = fd;
	f->kind = is_dir ? X9P_FID_DIR : X9P_FID_FILE;
	f->hostflags = hostflags;
	f->dir_offset = 0;
	f->dir_cookie = 0;
	f->dir_end_known = false;
	return 0;
}

int x9p_fid_open(struct x9p_req *r, struct x9p_fid *f, int hostflags)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_ctx c = x9p_ctx_of(r, f, (uint32_t)-1);
	int fd = -1, err;

	g_mutex_lock(&f->lock);
	if (f->kind != X9P_FID_NONE) {
		g_mutex_unlock(&f->lock);
		return -EBUSY;
	}
	err = fs->ops->open(fs, &c, f->node, hostflags, &fd);
	if (err == 0)
		err = record_open(r, f, fd, fd < 0, hostflags);
	g_mutex_unlock(&f->lock);
	if (err == 0)
		x9p_fidtab_note_open(&r->s->fids, f, r->tag);
	return err;
}

int x9p_fid_become(struct x9p_req *r, struct x9p_fid *f, struct x9p_node *n,
		   const struct x9p_attr *attr, const char *name, int fd, int hostflags)
{
	struct x9p_fs *fs = r->s->srv->fs;
	struct x9p_fid *nf;
	int err;

	/* The fid now names the new file: publish a new fid object under the
	 * same number, so requests still using the old one are unaffected. */
	nf = x9p_fid_new(fs, f->num, n, fs->ops->node_dup(fs, f->node), g_strdup(name),
			 &attr->qid, f->uid);
	if (fd >= 0 || S_ISDIR(attr->mode)) {
		err = record_open(r, nf, fd, fd < 0, hostflags);
		if (err < 0) {
			x9p_fid_unref(nf);
			return err;
		}
	}
	x9p_fidtab_replace(&r->s->fids, nf, r->tag);
	x9p_fid_unref(nf);
	return 0;
}
