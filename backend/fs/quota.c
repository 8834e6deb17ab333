// SPDX-License-Identifier: GPL-2.0-or-later
/* max-files / max-space / auto-delete for one export; see quota.h. */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "fs/quota.h"

#define SCAN_BUDGET (64u * 1024)
#define SCAN_MAX_DEPTH 256

struct xq {
	struct x9p_fs *inner;
	struct xq_limits lim;
	char *label;
	GMutex lock;
	bool scanned;
	uint64_t files, space;       /* estimates, see quota.h */
};

struct qfs {
	struct x9p_fs base;
	struct x9p_fs_ops ops;       /* our table: NULL where inner has NULL */
	struct x9p_fs *inner;
	struct xq q;
};

#define QFS(fs) ((struct qfs *)(fs))
#define IN(fs) (QFS(fs)->inner)

/* ---- scanning ------------------------------------------------------- */

struct victim {
	struct x9p_node *dir;        /* reference */
	char *name;
	struct timespec mtime;
	uint64_t space;
};

struct batch_ent {
	char *name;
	uint8_t dtype;
	uint64_t space;
	struct timespec mtime;
	bool is_dir, is_reg;
};

struct batch {
	GArray *ents;                /* struct batch_ent */
	uint64_t next;
};

struct scan {
	struct xq *q;
	struct x9p_ctx ctx;
	uint64_t files, space;
	GPtrArray *victims;          /* struct victim, only when auto-delete */
};

static uint64_t attr_space(const struct x9p_attr *a)
{
	return a->blocks * 512u;
}

static int batch_cb(void *opaque, const struct x9p_dirent *de)
{
	struct batch *b = opaque;
	struct batch_ent e = { 0 };

	b->next = de->next;
	if (strcmp(de->name, ".") == 0 || strcmp(de->name, "..") == 0)
		return 0;
	e.name = g_strdup(de->name);
	e.dtype = de->dtype;
	if (de->attr) {
		e.space = attr_space(de->attr);
		e.mtime = de->attr->mtime;
		e.is_dir = S_ISDIR(de->attr->mode);
		e.is_reg = S_ISREG(de->attr->mode);
	} else {
		e.is_dir = de->dtype == 4 /* DT_DIR */;
		e.is_reg = de->dtype == 8 /* DT_REG */;
	}
	g_array_append_val(b->ents, e);
	return 0;
}

static void victim_free(gpointer p)
{
	struct victim *v = p;

	g_free(v->name);
	g_free(v);
}

static int scan_dir(struct scan *s, struct x9p_node *dir, unsigned depth)
{
	struct x9p_fs *in = s->q->inner;
	uint64_t cookie = 0;

	if (depth > SCAN_MAX_DEPTH)
		return -ELOOP;
	for (;;) {
		struct batch b = { g_array_new(FALSE, TRUE, sizeof(struct batch_ent)), cookie };
		bool end = false;
		int n = in->ops->readdir(in, &s->ctx, dir, cookie, SCAN_BUDGET, true, batch_cb, &b,
					 &end);
		int err = n < 0 ? n : 0;

		for (guint i = 0; i < b.ents->len; i++) {
			struct batch_ent *e = &g_array_index(b.ents, struct batch_ent, i);

			s->files++;
			s->space += e->space;
			if (!err && e->is_dir) {
				struct x9p_node *child = NULL;
				struct x9p_attr a;

				if (in->ops->walk(in, &s->ctx, dir, e->name, &child, &a) == 0) {
					err = scan_dir(s, child, depth + 1);
					in->ops->node_put(in, child);
				}
			} else if (e->is_reg && s->victims) {
				struct victim *v = g_new0(struct victim, 1);

				v->dir = in->ops->node_dup(in, dir);
				v->name = g_strdup(e->name);
				v->mtime = e->mtime;
				v->space = e->space;
				g_ptr_array_add(s->victims, v);
			}
			g_free(e->name);
		}
		g_array_free(b.ents, TRUE);
		if (err)
			return err;
		if (n == 0 || end)
			return 0;
		cookie = b.next;
	}
}

static gint victim_cmp(gconstpointer a, gconstpointer b)
{
	const struct victim *x = *(struct victim *const *)a, *y = *(struct victim *const *)b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return 0;
}

static void victims_free(struct xq *q, GPtrArray *victims)
{
	if (!victims)
		return;
	for (guint i = 0; i < victims->len; i++) {
		struct victim *v = victims->pdata[i];

		q->inner->ops->node_put(q->inner, v->dir);
	}
	g_ptr_array_free(victims, TRUE);
}

/* Exact counts (lock held).  *victims gets the regular files, oldest
 * first, when asked for. */
static int rescan(struct xq *q, GPtrArray **victims)
{
	struct scan s = { .q = q, .ctx = { 0, (uint32_t)-1, NULL } };
	struct x9p_node *root = NULL;
	struct x9p_attr a;
	int err;

	if (victims)
		s.victims = g_ptr_array_new_with_free_func(victim_free);
	err = q->inner->ops->attach(q->inner, &s.ctx, "", &root, &a);
	if (err == 0) {
		err = scan_dir(&s, root, 0);
		q->inner->ops->node_put(q->inner, root);
	}
	if (err < 0) {
		g_warning("%s: scanning the export for its limits failed: %s", q->label,
			  g_strerror(-err));
		victims_free(q, s.victims);
		if (victims)
			*victims = NULL;
		return err;
	}
	q->files = s.files;
	q->space = s.space;
	q->scanned = true;
	if (victims) {
		g_ptr_array_sort(s.victims, victim_cmp);
		*victims = s.victims;
	}
	return 0;
}

/*
 * Makes room until fits() holds, deleting the oldest files with
 * auto-delete.  Lock held.  Returns 0 or the given error.
 */
static int make_room(struct xq *q, bool (*fits)(struct xq *, uint64_t), uint64_t arg, int error)
{
	GPtrArray *victims = NULL;
	struct x9p_ctx ctx = { 0, (uint32_t)-1, NULL, NULL, NULL, NULL };
	int ret = error;

	if (rescan(q, q->lim.auto_delete ? &victims : NULL) < 0)
		return error;
	if (fits(q, arg))
		ret = 0;
	for (guint i = 0; ret && victims && i < victims->len; i++) {
		struct victim *v = victims->pdata[i];
		int err = q->inner->ops->unlink(q->inner, &ctx, v->dir, v->name, 0);

		if (err < 0) {
			g_info("%s: auto-delete of %s failed: %s", q->label, v->name, g_strerror(-err));
			continue;
		}
		g_message("%s: auto-delete removed %s (%" G_GUINT64_FORMAT " bytes) to stay "
			  "within the device's limits", q->label, v->name, v->space);
		q->files = q->files ? q->files - 1 : 0;
		q->space = q->space > v->space ? q->space - v->space : 0;
		if (fits(q, arg))
			ret = 0;
	}
	victims_free(q, victims);
	return ret;
}

static bool files_fit(struct xq *q, uint64_t add)
{
	return !q->lim.max_files || q->files + add <= q->lim.max_files;
}

static bool space_fits(struct xq *q, uint64_t add)
{
	return !q->lim.max_space || q->space + add <= q->lim.max_space;
}

/* Reserves one node; 0 or -EDQUOT. */
static int node_reserve(struct xq *q)
{
	int ret = 0;

	if (!q->lim.max_files)
		return 0;
	g_mutex_lock(&q->lock);
	if (!q->scanned || !files_fit(q, 1))
		ret = make_room(q, files_fit, 1, -EDQUOT);
	if (ret == 0)
		q->files++;
	g_mutex_unlock(&q->lock);
	if (ret)
		g_info("%s: refusing to create a node: the export holds %" G_GUINT64_FORMAT
		       " of at most %" G_GUINT64_FORMAT, q->label, q->files, q->lim.max_files);
	return ret;
}

static void node_adjust(struct xq *q, int delta)
{
	if (!q->lim.max_files && !q->lim.max_space)
		return;
	g_mutex_lock(&q->lock);
	if (delta < 0)
		q->files = q->files ? q->files - 1 : 0;
	else
		q->files++;
	g_mutex_unlock(&q->lock);
}

int xq_charge_write(struct xq *q, uint64_t count)
{
	int ret = 0;

	if (!q || !q->lim.max_space)
		return 0;
	g_mutex_lock(&q->lock);
	if (!q->scanned || !space_fits(q, count))
		ret = make_room(q, space_fits, count, -ENOSPC);
	if (ret == 0)
		q->space += count;
	g_mutex_unlock(&q->lock);
	if (ret)
		g_info("%s: refusing a write of %" G_GUINT64_FORMAT " bytes: the export uses %"
		       G_GUINT64_FORMAT " of at most %" G_GUINT64_FORMAT " bytes", q->label,
		       count, q->space, q->lim.max_space);
	return ret;
}

void xq_usage(struct xq *q, uint64_t *files, uint64_t *space)
{
	g_mutex_lock(&q->lock);
	*files = q->files;
	*space = q->space;
	g_mutex_unlock(&q->lock);
}

/* ---- forwarding driver ---------------------------------------------- */

static int q_attach(struct x9p_fs *fs, const struct x9p_ctx *c, const char *aname,
		    struct x9p_node **out, struct x9p_attr *attr)
{
	return IN(fs)->ops->attach(IN(fs), c, aname, out, attr);
}

static int q_walk(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		  const char *name, struct x9p_node **out, struct x9p_attr *attr)
{
	return IN(fs)->ops->walk(IN(fs), c, dir, name, out, attr);
}

static struct x9p_node *q_node_dup(struct x9p_fs *fs, struct x9p_node *n)
{
	return IN(fs)->ops->node_dup(IN(fs), n);
}

static void q_journal(struct x9p_fs *fs, struct x9p_journal *j)
{
	IN(fs)->ops->journal(IN(fs), j);
}

static uint32_t q_node_jslot(struct x9p_fs *fs, struct x9p_node *n)
{
	return IN(fs)->ops->node_jslot(IN(fs), n);
}

static struct x9p_node *q_node_restore(struct x9p_fs *fs, const struct x9p_ctx *c, uint32_t slot,
				       struct x9p_node **parent, char **name)
{
	return IN(fs)->ops->node_restore(IN(fs), c, slot, parent, name);
}

static void q_node_put(struct x9p_fs *fs, struct x9p_node *n)
{
	IN(fs)->ops->node_put(IN(fs), n);
}

static int q_getattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     struct x9p_attr *attr)
{
	return IN(fs)->ops->getattr(IN(fs), c, n, attr);
}

static int q_setattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     const struct x9p_setattr *sa)
{
	return IN(fs)->ops->setattr(IN(fs), c, n, sa);
}

static int q_open(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		  int flags, int *fd)
{
	return IN(fs)->ops->open(IN(fs), c, n, flags, fd);
}

static int q_create(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, int flags, uint32_t mode,
		    struct x9p_node **out, struct x9p_attr *attr, int *fd)
{
	struct xq *q = &QFS(fs)->q;
	int err = node_reserve(q);

	if (err)
		return err;
	err = IN(fs)->ops->create(IN(fs), c, dir, name, flags, mode, out, attr, fd);
	if (err)
		node_adjust(q, -1);
	return err;
}

static int q_mkdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   const char *name, uint32_t mode, struct x9p_attr *attr)
{
	struct xq *q = &QFS(fs)->q;
	int err = node_reserve(q);

	if (err)
		return err;
	err = IN(fs)->ops->mkdir(IN(fs), c, dir, name, mode, attr);
	if (err)
		node_adjust(q, -1);
	return err;
}

static int q_mknod(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   const char *name, uint32_t mode, uint64_t rdev, struct x9p_attr *attr)
{
	struct xq *q = &QFS(fs)->q;
	int err = node_reserve(q);

	if (err)
		return err;
	err = IN(fs)->ops->mknod(IN(fs), c, dir, name, mode, rdev, attr);
	if (err)
		node_adjust(q, -1);
	return err;
}

static int q_symlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, const char *target, struct x9p_attr *attr)
{
	struct xq *q = &QFS(fs)->q;
	int err = node_reserve(q);

	if (err)
		return err;
	err = IN(fs)->ops->symlink(IN(fs), c, dir, name, target, attr);
	if (err)
		node_adjust(q, -1);
	return err;
}

static int q_link(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		  struct x9p_node *target, const char *name)
{
	struct xq *q = &QFS(fs)->q;
	int err = node_reserve(q);

	if (err)
		return err;
	err = IN(fs)->ops->link(IN(fs), c, dir, target, name);
	if (err)
		node_adjust(q, -1);
	return err;
}

static int q_readlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      char *buf, size_t len)
{
	return IN(fs)->ops->readlink(IN(fs), c, n, buf, len);
}

static int q_rename(struct x9p_fs *fs, const struct x9p_ctx *c,
		    struct x9p_node *olddir, const char *oldname,
		    struct x9p_node *newdir, const char *newname)
{
	/* A replaced target leaves the estimate high, which only costs a scan. */
	return IN(fs)->ops->rename(IN(fs), c, olddir, oldname, newdir, newname);
}

static int q_unlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, int flags)
{
	int err = IN(fs)->ops->unlink(IN(fs), c, dir, name, flags);

	if (err == 0)
		node_adjust(&QFS(fs)->q, -1);
	return err;
}

static int q_readdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     uint64_t cookie, size_t budget, bool want_attr,
		     x9p_dirent_cb cb, void *opaque, bool *at_end)
{
	return IN(fs)->ops->readdir(IN(fs), c, dir, cookie, budget, want_attr, cb, opaque,
				    at_end);
}

static int q_statfs(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		    struct p9_statfs *st)
{
	return IN(fs)->ops->statfs(IN(fs), c, n, st);
}

static int q_fsync(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		   bool datasync)
{
	return IN(fs)->ops->fsync(IN(fs), c, n, datasync);
}

static ssize_t q_getxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			  const char *name, void *buf, size_t size)
{
	return IN(fs)->ops->getxattr(IN(fs), c, n, name, buf, size);
}

static ssize_t q_listxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			   char *buf, size_t size)
{
	return IN(fs)->ops->listxattr(IN(fs), c, n, buf, size);
}

static int q_setxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      const char *name, const void *value, size_t size, int flags)
{
	return IN(fs)->ops->setxattr(IN(fs), c, n, name, value, size, flags);
}

static int q_removexattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			 const char *name)
{
	return IN(fs)->ops->removexattr(IN(fs), c, n, name);
}

static void q_destroy(struct x9p_fs *fs)
{
	struct qfs *q = QFS(fs);

	if (q->inner->ops->destroy)
		q->inner->ops->destroy(q->inner);
	g_mutex_clear(&q->q.lock);
	g_free(q->q.label);
	g_free(q);
}

#define FWD(field, fn) o->field = i->field ? fn : NULL

struct x9p_fs *x9p_quota_wrap(struct x9p_fs *inner, const struct xq_limits *lim,
			      const char *label, struct xq **qout)
{
	struct qfs *q = g_new0(struct qfs, 1);
	const struct x9p_fs_ops *i = inner->ops;
	struct x9p_fs_ops *o = &q->ops;

	o->name = "quota";
	FWD(attach, q_attach);
	FWD(walk, q_walk);
	FWD(node_dup, q_node_dup);
	FWD(node_put, q_node_put);
	FWD(getattr, q_getattr);
	FWD(setattr, q_setattr);
	FWD(open, q_open);
	FWD(create, q_create);
	FWD(mkdir, q_mkdir);
	FWD(mknod, q_mknod);
	FWD(symlink, q_symlink);
	FWD(link, q_link);
	FWD(readlink, q_readlink);
	FWD(rename, q_rename);
	FWD(unlink, q_unlink);
	FWD(readdir, q_readdir);
	FWD(statfs, q_statfs);
	FWD(fsync, q_fsync);
	FWD(getxattr, q_getxattr);
	FWD(listxattr, q_listxattr);
	FWD(setxattr, q_setxattr);
	FWD(removexattr, q_removexattr);
	/* Nodes are the inner driver's. */
	o->journal = i->journal ? q_journal : NULL;
	o->node_jslot = i->node_jslot ? q_node_jslot : NULL;
	o->node_restore = i->node_restore ? q_node_restore : NULL;
	o->destroy = q_destroy;

	q->base.ops = o;
	q->base.readonly = inner->readonly;
	q->inner = inner;
	q->q.inner = inner;
	q->q.lim = *lim;
	q->q.label = g_strdup(label);
	g_mutex_init(&q->q.lock);
	*qout = &q->q;
	return &q->base;
}
