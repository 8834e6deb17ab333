// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Synthetic in-memory driver; see synth.h.  One lock guards the whole
 * tree: this driver exists to exercise the protocol engine, not to be fast.
 * Directory entries carry a sequence number that never changes, so a
 * readdir cookie stays valid while entries are added and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <unistd.h>

#include "fs/synth.h"

struct x9p_node {
	gint ref;
	uint64_t ino;
	uint32_t mode, uid, gid;
	uint64_t rdev;
	uint64_t nlink;              /* directory entries naming this node */
	struct timespec atime, mtime, ctime;
	struct x9p_node *parent;     /* directories only; not a reference */
	GTree *bySeq;                /* seq -> struct sentry (directories) */
	GHashTable *byName;          /* name -> struct sentry (directories) */
	uint64_t nextseq;
	char *target;                /* symlinks */
	int memfd;                   /* regular files */
	GHashTable *xattrs;          /* name -> GBytes */
	bool blocker;
};

struct sentry {
	uint64_t seq;
	char *name;
	struct x9p_node *node;       /* holds a reference */
};

struct synth_fs {
	struct x9p_fs base;
	GMutex lock;
	GCond cond;
	unsigned release_gen;
	unsigned blocked;
	uint64_t nextino;
	struct x9p_node *root, *ctl;
};

#define SFS(fs) ((struct synth_fs *)(fs))
#define FIRST_SEQ 2 /* cookies 0 and 1 are "." and ".." */

static struct x9p_node *node_ref(struct x9p_node *n)
{
	g_atomic_int_inc(&n->ref);
	return n;
}

static void node_unref(struct x9p_node *n);

static void entry_free(gpointer p)
{
	struct sentry *e = p;

	node_unref(e->node);
	g_free(e->name);
	g_free(e);
}

static void node_unref(struct x9p_node *n)
{
	if (!n || !g_atomic_int_dec_and_test(&n->ref))
		return;
	if (n->byName)
		g_hash_table_destroy(n->byName);
	if (n->bySeq)
		g_tree_destroy(n->bySeq);
	if (n->memfd >= 0)
		close(n->memfd);
	if (n->xattrs)
		g_hash_table_destroy(n->xattrs);
	g_free(n->target);
	g_free(n);
}

static gint seq_cmp(gconstpointer a, gconstpointer b, gpointer u)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static struct x9p_node *node_new(struct synth_fs *s, uint32_t mode)
{
	struct x9p_node *n = g_new0(struct x9p_node, 1);

	n->ref = 1;
	n->ino = s->nextino++;
	n->mode = mode;
	n->memfd = -1;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	n->atime = n->ctime = n->mtime;
	n->xattrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)g_bytes_unref);
	if (S_ISDIR(mode)) {
		n->bySeq = g_tree_new_full(seq_cmp, NULL, NULL, entry_free);
		n->byName = g_hash_table_new(g_str_hash, g_str_equal);
		n->nextseq = FIRST_SEQ;
	} else if (S_ISREG(mode)) {
		n->memfd = memfd_create("x9p-synth", MFD_CLOEXEC);
	}
	return n;
}

static void touch(struct x9p_node *n)
{
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	n->ctime = n->mtime;
}

/* Links child under dir as name; takes a new reference to child. */
static void dir_add(struct x9p_node *dir, const char *name, struct x9p_node *child)
{
	struct sentry *e = g_new0(struct sentry, 1);

	e->seq = dir->nextseq++;
	e->name = g_strdup(name);
	e->node = node_ref(child);
	child->nlink++;
	if (S_ISDIR(child->mode))
		child->parent = dir;
	g_tree_insert(dir->bySeq, &e->seq, e);
	g_hash_table_insert(dir->byName, e->name, e);
	touch(dir);
}

static void dir_del(struct x9p_node *dir, struct sentry *e)
{
	e->node->nlink--;
	g_hash_table_remove(dir->byName, e->name);
	g_tree_remove(dir->bySeq, &e->seq); /* frees e */
	touch(dir);
}

static struct sentry *dir_get(struct x9p_node *dir, const char *name)
{
	return dir->byName ? g_hash_table_lookup(dir->byName, name) : NULL;
}

static uint8_t qid_type(uint32_t mode)
{
	if (S_ISDIR(mode))
		return P9_QTDIR;
	if (S_ISLNK(mode))
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

static void fill_attr(struct x9p_node *n, struct x9p_attr *a)
{
	struct stat st;

	memset(a, 0, sizeof(*a));
	a->qid.type = qid_type(n->mode);
	a->qid.path = n->ino;
	a->mode = n->mode;
	a->uid = n->uid;
	a->gid = n->gid;
	a->nlink = S_ISDIR(n->mode) ? 2 : n->nlink;
	a->rdev = n->rdev;
	a->blksize = 4096;
	a->atime = n->atime;
	a->mtime = n->mtime;
	a->ctime = n->ctime;
	a->btime = n->ctime;
	if (n->memfd >= 0 && fstat(n->memfd, &st) == 0) {
		a->size = (uint64_t)st.st_size;
		a->blocks = (uint64_t)st.st_blocks;
		a->mtime = st.st_mtim;
		a->ctime = st.st_ctim;
	} else if (S_ISLNK(n->mode)) {
		a->size = strlen(n->target);
	}
	a->qid.version = (uint32_t)(a->mtime.tv_sec ^ (a->size << 8));
}

/* Waits on /blocker until cancelled (-EINTR) or released (0). Lock held. */
static int block_here(struct synth_fs *s, const struct x9p_ctx *c)
{
	unsigned gen = s->release_gen;
	int ret = 0;

	s->blocked++;
	g_cond_broadcast(&s->cond);
	while (gen == s->release_gen) {
		if (x9p_ctx_cancelled(c)) {
			ret = -EINTR;
			break;
		}
		g_cond_wait_until(&s->cond, &s->lock, g_get_monotonic_time() + 10 * G_TIME_SPAN_MILLISECOND);
	}
	s->blocked--;
	return ret;
}

static int s_attach(struct x9p_fs *fs, const struct x9p_ctx *c, const char *aname,
		    struct x9p_node **out, struct x9p_attr *attr)
{
	struct synth_fs *s = SFS(fs);

	g_mutex_lock(&s->lock);
	*out = node_ref(s->root);
	fill_attr(s->root, attr);
	g_mutex_unlock(&s->lock);
	return 0;
}

static int s_walk(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		  const char *name, struct x9p_node **out, struct x9p_attr *attr)
{
	struct synth_fs *s = SFS(fs);
	struct x9p_node *n = NULL;
	struct sentry *e;

	g_mutex_lock(&s->lock);
	if (!S_ISDIR(dir->mode)) {
		g_mutex_unlock(&s->lock);
		return -ENOTDIR;
	}
	if (strcmp(name, "..") == 0)
		n = dir->parent ? dir->parent : s->root;
	else if ((e = dir_get(dir, name)))
		n = e->node;
	if (n) {
		*out = node_ref(n);
		fill_attr(n, attr);
	}
	g_mutex_unlock(&s->lock);
	return n ? 0 : -ENOENT;
}

static struct x9p_node *s_dup(struct x9p_fs *fs, struct x9p_node *n)
{
	return node_ref(n);
}

static void s_put(struct x9p_fs *fs, struct x9p_node *n)
{
	struct synth_fs *s = SFS(fs);

	g_mutex_lock(&s->lock);
	node_unref(n);
	g_mutex_unlock(&s->lock);
}

static int s_getattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     struct x9p_attr *attr)
{
	struct synth_fs *s = SFS(fs);
	int ret = 0;

	g_mutex_lock(&s->lock);
	fill_attr(n, attr);
	g_mutex_unlock(&s->lock);
	return ret;
}

static int s_setattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     const struct x9p_setattr *sa)
{
	struct synth_fs *s = SFS(fs);
	struct timespec now;
	int ret = 0;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	clock_gettime(CLOCK_REALTIME, &now);
	if (sa->valid & P9_SETATTR_SIZE) {
		if (n->memfd < 0)
			ret = S_ISDIR(n->mode) ? -EISDIR : -EINVAL;
		else if (ftruncate(n->memfd, (off_t)sa->size) < 0)
			ret = -errno;
	}
	if (ret == 0) {
		if (sa->valid & P9_SETATTR_MODE)
			n->mode = (n->mode & S_IFMT) | (sa->mode & 07777);
		if (sa->valid & P9_SETATTR_UID)
			n->uid = sa->uid;
		if (sa->valid & P9_SETATTR_GID)
			n->gid = sa->gid;
		if (sa->atime.tv_nsec != UTIME_OMIT)
			n->atime = sa->atime.tv_nsec == UTIME_NOW ? now : sa->atime;
		if (sa->mtime.tv_nsec != UTIME_OMIT)
			n->mtime = sa->mtime.tv_nsec == UTIME_NOW ? now : sa->mtime;
		n->ctime = now;
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static int proc_fd_dir = -1;

void x9p_synth_set_proc_fd(int dirfd)
{
	proc_fd_dir = dirfd;
}

/* A new open file description of the node's memfd. */
static int reopen_memfd(struct x9p_node *n, int flags)
{
	char path[64];
	int fd;

	flags = (flags & (O_ACCMODE | O_APPEND | O_TRUNC)) | O_CLOEXEC;
	if (proc_fd_dir >= 0) {
		snprintf(path, sizeof(path), "%d", n->memfd);
		fd = openat(proc_fd_dir, path, flags);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", n->memfd);
		fd = open(path, flags);
	}
	return fd < 0 ? -errno : fd;
}

static int s_open(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		  int flags, int *fd)
{
	struct synth_fs *s = SFS(fs);
	bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	int ret = 0;

	*fd = -1;
	if (write && fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	if (n->blocker)
		ret = block_here(s, c);
	if (ret < 0) {
	} else if (S_ISDIR(n->mode)) {
		ret = write ? -EISDIR : 0;
	} else if ((flags & O_DIRECTORY)) {
		ret = -ENOTDIR;
	} else if (S_ISLNK(n->mode)) {
		ret = -ELOOP;
	} else if (n->memfd < 0) {
		ret = -ENXIO;
	} else {
		ret = reopen_memfd(n, flags);
		if (ret >= 0) {
			*fd = ret;
			ret = 0;
		}
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

/* Creates name in dir with mode; returns the new node (a reference). */
static int make_node(struct synth_fs *s, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, uint32_t mode, struct x9p_node **out)
{
	struct x9p_node *n;

	if (s->base.readonly)
		return -EROFS;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (dir_get(dir, name))
		return -EEXIST;
	n = node_new(s, mode);
	n->uid = c->uid;
	n->gid = c->gid != (uint32_t)-1 ? c->gid : dir->gid;
	dir_add(dir, name, n);
	*out = n;
	return 0;
}

static int s_create(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, int flags, uint32_t mode,
		    struct x9p_node **out, struct x9p_attr *attr, int *fd)
{
	struct synth_fs *s = SFS(fs);
	struct sentry *e;
	struct x9p_node *n;
	int ret;

	g_mutex_lock(&s->lock);
	e = dir_get(dir, name);
	if (e && !(flags & O_EXCL) && S_ISREG(e->node->mode)) {
		n = node_ref(e->node);
		ret = 0;
	} else {
		ret = make_node(s, c, dir, name, S_IFREG | (mode & 07777), &n);
	}
	if (ret == 0) {
		ret = reopen_memfd(n, flags);
		if (ret < 0) {
			node_unref(n);
		} else {
			*fd = ret;
			ret = 0;
			*out = n;
			fill_attr(n, attr);
		}
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static int make_and_report(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
			   const char *name, uint32_t mode, uint64_t rdev, const char *target,
			   struct x9p_attr *attr)
{
	struct synth_fs *s = SFS(fs);
	struct x9p_node *n;
	int ret;

	g_mutex_lock(&s->lock);
	if (dir == s->ctl && S_ISDIR(mode) && strcmp(name, "release") == 0) {
		s->release_gen++;
		g_cond_broadcast(&s->cond);
		fill_attr(dir, attr);
		g_mutex_unlock(&s->lock);
		return 0;
	}
	ret = make_node(s, c, dir, name, mode, &n);
	if (ret == 0) {
		n->rdev = rdev;
		n->target = g_strdup(target);
		fill_attr(n, attr);
		node_unref(n);
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static int s_mkdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   const char *name, uint32_t mode, struct x9p_attr *attr)
{
	return make_and_report(fs, c, dir, name, S_IFDIR | (mode & 07777), 0, NULL, attr);
}

static int s_mknod(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   const char *name, uint32_t mode, uint64_t rdev, struct x9p_attr *attr)
{
	return make_and_report(fs, c, dir, name, mode, rdev, NULL, attr);
}

static int s_symlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, const char *target, struct x9p_attr *attr)
{
	return make_and_report(fs, c, dir, name, S_IFLNK | 0777, 0, target, attr);
}

static int s_link(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		  struct x9p_node *target, const char *name)
{
	struct synth_fs *s = SFS(fs);
	int ret = 0;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	if (S_ISDIR(target->mode))
		ret = -EPERM;
	else if (dir_get(dir, name))
		ret = -EEXIST;
	else if (target->nlink == 0)
		ret = -ENOENT;
	else
		dir_add(dir, name, target);
	g_mutex_unlock(&s->lock);
	return ret;
}

static int s_readlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      char *buf, size_t len)
{
	struct synth_fs *s = SFS(fs);
	int ret;

	g_mutex_lock(&s->lock);
	if (!S_ISLNK(n->mode)) {
		ret = -EINVAL;
	} else {
		size_t l = strlen(n->target);
		if (l > len)
			l = len;
		memcpy(buf, n->target, l);
		ret = (int)l;
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static bool is_ancestor(struct x9p_node *a, struct x9p_node *d)
{
	for (; d; d = d->parent)
		if (d == a)
			return true;
	return false;
}

static int s_rename(struct x9p_fs *fs, const struct x9p_ctx *c,
		    struct x9p_node *olddir, const char *oldname,
		    struct x9p_node *newdir, const char *newname)
{
	struct synth_fs *s = SFS(fs);
	struct sentry *from, *to;
	struct x9p_node *n;
	int ret = 0;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	from = dir_get(olddir, oldname);
	to = dir_get(newdir, newname);
	if (!S_ISDIR(olddir->mode) || !S_ISDIR(newdir->mode)) {
		ret = -ENOTDIR;
	} else if (!from) {
		ret = -ENOENT;
	} else if (to && to->node == from->node) {
		ret = 0; /* same file: nothing to do */
	} else if (S_ISDIR(from->node->mode) && is_ancestor(from->node, newdir)) {
		ret = -EINVAL;
	} else if (to && S_ISDIR(to->node->mode) && !S_ISDIR(from->node->mode)) {
		ret = -EISDIR;
	} else if (to && !S_ISDIR(to->node->mode) && S_ISDIR(from->node->mode)) {
		ret = -ENOTDIR;
	} else if (to && S_ISDIR(to->node->mode) && g_hash_table_size(to->node->byName)) {
		ret = -ENOTEMPTY;
	} else {
		n = node_ref(from->node);
		if (to)
			dir_del(newdir, to);
		dir_del(olddir, from);
		dir_add(newdir, newname, n);
		node_unref(n);
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static int s_unlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, int flags)
{
	struct synth_fs *s = SFS(fs);
	struct sentry *e;
	int ret = 0;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	e = dir_get(dir, name);
	if (!e)
		ret = -ENOENT;
	else if ((flags & AT_REMOVEDIR) && !S_ISDIR(e->node->mode))
		ret = -ENOTDIR;
	else if (!(flags & AT_REMOVEDIR) && S_ISDIR(e->node->mode))
		ret = -EISDIR;
	else if (S_ISDIR(e->node->mode) && g_hash_table_size(e->node->byName))
		ret = -ENOTEMPTY;
	else
		dir_del(dir, e);
	g_mutex_unlock(&s->lock);
	return ret;
}

static uint8_t dtype_of(uint32_t mode)
{
	return (uint8_t)IFTODT(mode);
}

static int s_readdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     uint64_t cookie, size_t budget, bool want_attr,
		     x9p_dirent_cb cb, void *opaque, bool *at_end)
{
	struct synth_fs *s = SFS(fs);
	bool end = false;
	struct x9p_attr attr;
	struct x9p_dirent de;
	size_t used = 0;
	int taken = 0;

	g_mutex_lock(&s->lock);
	if (!S_ISDIR(dir->mode)) {
		g_mutex_unlock(&s->lock);
		return -ENOTDIR;
	}
	/* A batch walks the tree from the cookie on: linear in what it lists. */
	GTreeNode *tn = NULL;

	while (used < budget) {
		struct x9p_node *n;
		const char *name;
		uint64_t next;

		if (cookie == 0) {
			n = dir;
			name = ".";
			next = 1;
		} else if (cookie == 1) {
			n = dir->parent ? dir->parent : dir;
			name = "..";
			next = FIRST_SEQ;
		} else {
			struct sentry *e;

			tn = tn ? g_tree_node_next(tn) : g_tree_lower_bound(dir->bySeq, &cookie);
			if (!tn) {
				end = true;
				break;
			}
			e = g_tree_node_value(tn);
			n = e->node;
			name = e->name;
			next = e->seq + 1;
		}
		if (want_attr) {
			fill_attr(n, &attr);
		} else {
			/* A listing's qid, as the proxy driver gives it: no
			 * version, so no fstat of the file's memfd. */
			memset(&attr.qid, 0, sizeof(attr.qid));
			attr.qid.type = qid_type(n->mode);
			attr.qid.path = n->ino;
		}
		de.name = name;
		de.qid = attr.qid;
		de.dtype = dtype_of(n->mode);
		de.next = next;
		de.attr = want_attr ? &attr : NULL;
		if (cb(opaque, &de))
			break;
		taken++;
		used += 24 + strlen(name);
		cookie = next;
	}
	g_mutex_unlock(&s->lock);
	if (at_end)
		*at_end = end;
	return taken;
}

static int s_statfs(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		    struct p9_statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->type = 0x01021997; /* V9FS_MAGIC */
	st->bsize = 4096;
	st->blocks = 1 << 20;
	st->bfree = st->bavail = 1 << 19;
	st->files = 1 << 20;
	st->ffree = 1 << 19;
	st->namelen = 255;
	return 0;
}

static int s_fsync(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n, bool datasync)
{
	return 0;
}

static ssize_t s_getxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			  const char *name, void *buf, size_t size)
{
	struct synth_fs *s = SFS(fs);
	GBytes *v;
	ssize_t ret;

	g_mutex_lock(&s->lock);
	v = g_hash_table_lookup(n->xattrs, name);
	if (!v) {
		ret = -ENODATA;
	} else {
		size_t len = g_bytes_get_size(v);
		if (size && len > size)
			ret = -ERANGE;
		else {
			if (size)
				memcpy(buf, g_bytes_get_data(v, NULL), len);
			ret = (ssize_t)len;
		}
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

static ssize_t s_listxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			   char *buf, size_t size)
{
	struct synth_fs *s = SFS(fs);
	GHashTableIter it;
	gpointer k, v;
	size_t len = 0;

	g_mutex_lock(&s->lock);
	g_hash_table_iter_init(&it, n->xattrs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		size_t l = strlen(k) + 1;
		if (size && len + l <= size)
			memcpy(buf + len, k, l);
		len += l;
	}
	g_mutex_unlock(&s->lock);
	return size && len > size ? -ERANGE : (ssize_t)len;
}

static int s_setxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      const char *name, const void *value, size_t size, int flags)
{
	struct synth_fs *s = SFS(fs);
	bool exists;
	int ret = 0;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	exists = g_hash_table_contains(n->xattrs, name);
	if ((flags & XATTR_CREATE) && exists)
		ret = -EEXIST;
	else if ((flags & XATTR_REPLACE) && !exists)
		ret = -ENODATA;
	else
		g_hash_table_replace(n->xattrs, g_strdup(name), g_bytes_new(value, size));
	g_mutex_unlock(&s->lock);
	return ret;
}

static int s_removexattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			 const char *name)
{
	struct synth_fs *s = SFS(fs);
	int ret;

	if (fs->readonly)
		return -EROFS;
	g_mutex_lock(&s->lock);
	ret = g_hash_table_remove(n->xattrs, name) ? 0 : -ENODATA;
	g_mutex_unlock(&s->lock);
	return ret;
}

static void s_destroy(struct x9p_fs *fs)
{
	struct synth_fs *s = SFS(fs);

	node_unref(s->root);
	g_mutex_clear(&s->lock);
	g_cond_clear(&s->cond);
	g_free(s);
}

static const struct x9p_fs_ops synth_ops = {
	.name = "synthetic",
	.attach = s_attach,
	.walk = s_walk,
	.node_dup = s_dup,
	.node_put = s_put,
	.getattr = s_getattr,
	.setattr = s_setattr,
	.open = s_open,
	.create = s_create,
	.mkdir = s_mkdir,
	.mknod = s_mknod,
	.symlink = s_symlink,
	.link = s_link,
	.readlink = s_readlink,
	.rename = s_rename,
	.unlink = s_unlink,
	.readdir = s_readdir,
	.statfs = s_statfs,
	.fsync = s_fsync,
	.getxattr = s_getxattr,
	.listxattr = s_listxattr,
	.setxattr = s_setxattr,
	.removexattr = s_removexattr,
	.destroy = s_destroy,
};

static struct x9p_node *add_child(struct synth_fs *s, struct x9p_node *dir, const char *name,
				  uint32_t mode)
{
	struct x9p_node *n = node_new(s, mode);

	dir_add(dir, name, n);
	node_unref(n);
	return n;
}

int x9p_synth_populate(struct x9p_fs *fs, const char *dir, const char *prefix, unsigned n)
{
	struct synth_fs *s = SFS(fs);
	struct sentry *e;
	char name[256];
	int ret = 0;

	g_mutex_lock(&s->lock);
	e = dir_get(s->root, dir);
	if (!e || !S_ISDIR(e->node->mode)) {
		ret = -ENOENT;
	} else {
		for (unsigned i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s-%05u", prefix, i);
			if (!dir_get(e->node, name))
				add_child(s, e->node, name, S_IFREG | 0644);
		}
	}
	g_mutex_unlock(&s->lock);
	return ret;
}

void x9p_synth_release(struct x9p_fs *fs)
{
	struct synth_fs *s = SFS(fs);

	g_mutex_lock(&s->lock);
	s->release_gen++;
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
}

unsigned x9p_synth_blocked(struct x9p_fs *fs)
{
	struct synth_fs *s = SFS(fs);
	unsigned n;

	g_mutex_lock(&s->lock);
	n = s->blocked;
	g_mutex_unlock(&s->lock);
	return n;
}

struct x9p_fs *x9p_synth_new(const char *spec, GError **err)
{
	struct synth_fs *s = g_new0(struct synth_fs, 1);
	static const char hello[] = "hello, world\n";
	gchar **kv = g_strsplit(spec ? spec : "", ",", -1);
	unsigned bigdir = 0;
	struct x9p_node *f;

	s->base.ops = &synth_ops;
	s->base.open_may_stall = true;   /* /blocker */
	for (gchar **p = kv; *p; p++) {
		char *end;
		if (!**p)
			continue;
		if (g_str_has_prefix(*p, "bigdir=")) {
			unsigned long v = strtoul(*p + 7, &end, 10);
			if (*end || v > 1000000) {
				g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
					    "synthetic: bad bigdir value '%s'", *p + 7);
				goto fail;
			}
			bigdir = (unsigned)v;
		} else if (strcmp(*p, "ro") == 0) {
			s->base.readonly = true;
		} else {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "synthetic: unknown setting '%s'", *p);
			goto fail;
		}
	}
	g_strfreev(kv);

	g_mutex_init(&s->lock);
	g_cond_init(&s->cond);
	s->nextino = 1;
	s->root = node_new(s, S_IFDIR | 0755);
	s->root->nlink = 1;
	f = add_child(s, s->root, "file", S_IFREG | 0644);
	if (f->memfd < 0 || pwrite(f->memfd, hello, sizeof(hello) - 1, 0) < 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "synthetic: memfd: %s",
			    g_strerror(errno));
		s_destroy(&s->base);
		return NULL;
	}
	add_child(s, s->root, "dir", S_IFDIR | 0755);
	add_child(s, s->root, "big", S_IFDIR | 0755);
	add_child(s, s->root, "blocker", S_IFREG | 0644)->blocker = true;
	s->ctl = add_child(s, s->root, "ctl", S_IFDIR | 0755);
	/* A chain as deep as one Twalk may go: w00/w01/.../w15 */
	f = s->root;
	for (int i = 0; i < P9_MAXWELEM; i++) {
		char name[8];
		snprintf(name, sizeof(name), "w%02d", i);
		f = add_child(s, f, name, S_IFDIR | 0755);
	}
	if (bigdir)
		x9p_synth_populate(&s->base, "big", "entry", bigdir);
	return &s->base;

fail:
	g_strfreev(kv);
	g_free(s);
	return NULL;
}
