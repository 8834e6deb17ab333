/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * READDIR: one request returns a whole batch of entries with their
 * attributes, sized by the caller's byte budget (counted like 9P2000.L
 * Rreaddir entries) and by the message limit.  The resume cookie of each
 * entry is the host's d_off, so a later request continues exactly there.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "fsutil.h"
#include "helper.h"
#include "ops.h"
#include "secmodel.h"

#define DENTS_BUF (32 * 1024)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Bytes a 9P2000.L Rreaddir entry of this name takes: qid offset type name. */
static size_t p9_dirent_bytes(size_t namelen)
{
	return 13 + 8 + 1 + 2 + namelen;
}

/* Attributes of ".." of d, without ever looking above the export root. */
static int dotdot_attr(struct hx_node *d, int dfd, struct x9p_px_attr *a)
{
	struct hx_node *p;
	char *name;
	int e;

	if (d->is_root)
		return hx_node_attr(d, a);
	if (hx_node_where(d, &p, &name)) {
		struct statx stx;

		if (hx_stat(dfd, "..", &stx) == 0 && hx_stx_dev(&stx) == p->dev &&
		    stx.stx_ino == p->ino) {
			e = hx_node_attr(p, a);
			hx_node_put(p);
			g_free(name);
			return e;
		}
		hx_node_put(p);
		g_free(name);
	}
	return hx_entry_attr(dfd, "..", -1, a);
}

static mode_t dtype_mode(unsigned char t)
{
	switch (t) {
	case DT_REG: return S_IFREG;
	case DT_DIR: return S_IFDIR;
	case DT_LNK: return S_IFLNK;
	case DT_CHR: return S_IFCHR;
	case DT_BLK: return S_IFBLK;
	case DT_FIFO: return S_IFIFO;
	case DT_SOCK: return S_IFSOCK;
	default: return 0;
	}
}

/*
 * The compact record from the entry alone, as getdents64 lists it: the
 * inode number on the directory's device (a mount point shows the inode
 * under it, as a local listing does) and the type, with no time or size
 * (qid version 0).  False when that cannot be told without a stat.
 */
static bool entry_brief(struct hx_node *d, int dfd, const struct linux_dirent64 *de,
			struct x9p_px_attr *a)
{
	mode_t type = dtype_mode(de->d_type);

	if (!type || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
		return false;
	type = hx_entry_type(dfd, de->d_name, type);
	if (!type)
		return false;
	memset(a, 0, sizeof(*a));
	a->dev = d->dev;
	a->ino = de->d_ino;
	a->mode = (uint32_t)type;
	return true;
}

static int entry_attr(struct hx_node *d, int dfd, int metafd, const struct linux_dirent64 *de,
		      bool full, struct x9p_px_attr *a)
{
	int e;

	if (!full && entry_brief(d, dfd, de, a))
		return 0;
	if (strcmp(de->d_name, ".") == 0)
		e = hx_node_attr(d, a);
	else if (strcmp(de->d_name, "..") == 0)
		e = dotdot_attr(d, dfd, a);
	else
		e = hx_entry_attr(dfd, de->d_name, metafd, a);
	if (e)
		return e;
	if (a->dev != hx.root_dev) {
		hx_note_device(a->dev);
		/* forbid: show the mount point by its inode on our device, no more */
		if (hx.multidevs == X9P_MULTIDEVS_FORBID) {
			a->dev = hx.root_dev;
			a->ino = de->d_ino;
		}
	}
	return 0;
}

int hx_op_readdir(const struct x9p_px_req *q, struct hx_out *o)
{
	struct x9p_px_rdbuf rb;
	struct hx_node *d;
	size_t used = 0, budget = q->budget ? q->budget : 1;
	bool eof = false, stop = false;
	char *dents = NULL;
	int dfd = -1, metafd = -1, e;

	e = hx_get_dir(q->node, &d);
	if (e)
		return e;
	dfd = hx_reopen(d, O_RDONLY);
	if (dfd < 0) {
		e = dfd;
		goto out;
	}
	if (lseek(dfd, (off_t)q->cookie, SEEK_SET) < 0) {
		e = -errno;
		goto out;
	}
	if (hx.model == X9P_SM_MAPPED_FILE)
		metafd = hx_openat(d->fd, HX_META_DIR, O_PATH | O_DIRECTORY, 0);
	dents = g_malloc(DENTS_BUF);
	x9p_px_rd_begin(&rb, o->msg, X9P_PX_MAX_MSG, q->h.id, (q->rflags & X9P_PXR_ATTR) != 0);
	while (!stop) {
		long n = syscall(SYS_getdents64, dfd, dents, DENTS_BUF);
		long pos = 0;

		if (n < 0) {
			if (rb.count == 0) {
				e = -errno;
				goto out;
			}
			break;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		while (pos < n) {
			const struct linux_dirent64 *de = (const void *)(dents + pos);
			size_t nl = strnlen(de->d_name, X9P_PX_NAME_MAX + 1);
			struct x9p_px_attr a;

			pos += de->d_reclen;
			if (nl > X9P_PX_NAME_MAX || hx_reserved_name(de->d_name))
				continue;
			if (rb.count && used + p9_dirent_bytes(nl) > budget) {
				stop = true;
				break;
			}
			if (hx_cancelled()) {
				stop = true;
				break;
			}
			if (entry_attr(d, dfd, metafd, de, (q->rflags & X9P_PXR_ATTR) != 0, &a) < 0)
				continue;   /* vanished since getdents */
			if (!x9p_px_rd_add(&rb, (uint64_t)de->d_off, de->d_name, nl, &a)) {
				stop = true;
				break;
			}
			used += p9_dirent_bytes(nl);
		}
	}
	if (rb.count == 0 && !eof && hx_cancelled()) {
		e = -EINTR;
		goto out;
	}
	o->msg_len = x9p_px_rd_end(&rb, eof);
out:
	g_free(dents);
	if (metafd >= 0)
		close(metafd);
	if (dfd >= 0)
		close(dfd);
	hx_node_put(d);
	return e;
}
