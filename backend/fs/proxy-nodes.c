/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nodes of the proxy driver.  A node is the backend's handle on one
 * helper node; it remembers its parent node and its name there, so that
 * after a helper restart it can be walked again from the root, and the
 * (device, inode) it stood for, so that a re-walk that arrives somewhere
 * else is caught (-ESTALE instead of a silently different file).  Renames
 * and unlinks made through this driver keep the names current.
 */
#define G_LOG_DOMAIN "x9p-proxy"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fs/proxy-int.h"
#include "journal/journal.h"

/* One client's part of the node table. */
struct px_owner {
	unsigned nodes;
};

/* Refusals are logged at most this often per export. */
#define NODES_WARN_EVERY (10 * G_TIME_SPAN_SECOND)

void px_nodes_init(struct px_fs *fs)
{
	fs->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    (GDestroyNotify)g_ptr_array_unref);
	g_rec_mutex_init(&fs->rv_lock);
	fs->owners = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	fs->node_cap = fs->cfg.max_nodes ? fs->cfg.max_nodes : X9P_PX_DEFAULT_MAX_NODES;
}

void px_nodes_clear(struct px_fs *fs)
{
	g_hash_table_destroy(fs->by_name);
	g_hash_table_destroy(fs->owners);
	g_rec_mutex_clear(&fs->rv_lock);
}

/* lock held */
static void charge(struct px_fs *fs, const void *owner, int delta)
{
	struct px_owner *o;

	if (!owner)
		return;
	o = g_hash_table_lookup(fs->owners, owner);
	if (!o) {
		o = g_new0(struct px_owner, 1);
		g_hash_table_insert(fs->owners, (gpointer)owner, o);
	}
	o->nodes += (unsigned)delta;
	fs->nodes += (unsigned)delta;
	if (o->nodes == 0)
		g_hash_table_remove(fs->owners, owner);
}

int px_nodes_admit(struct px_fs *fs, const struct x9p_ctx *c)
{
	unsigned reserve = fs->node_cap / 8, mine, free_nodes;
	struct px_owner *o;
	gint64 now;
	int e = 0;

	if (!c || !c->owner)
		return 0;
	g_mutex_lock(&fs->lock);
	o = g_hash_table_lookup(fs->owners, c->owner);
	mine = o ? o->nodes : 0;
	free_nodes = fs->node_cap > fs->nodes ? fs->node_cap - fs->nodes : 0;
	if (free_nodes <= reserve && mine >= free_nodes / 2 + free_nodes % 2) {
		e = -EMFILE;
		now = g_get_monotonic_time();
		if (now - fs->nodes_warned >= NODES_WARN_EVERY) {
			fs->nodes_warned = now;
			g_warning("%s holds %u of the export's %u helper nodes, %u are free: "
				  "its walks and creates get EMFILE until it lets some go (in "
				  "the last eighth a client takes a node only while it holds "
				  "less than half of those free)", c->client ? c->client : "a client",
				  mine, fs->node_cap, free_nodes);
		}
	} else {
		charge(fs, c->owner, 1);
	}
	g_mutex_unlock(&fs->lock);
	return e;
}

void px_nodes_unadmit(struct px_fs *fs, const struct x9p_ctx *c)
{
	if (!c || !c->owner)
		return;
	g_mutex_lock(&fs->lock);
	charge(fs, c->owner, -1);
	g_mutex_unlock(&fs->lock);
}

static char *key_of(const struct x9p_node *dir, const char *name)
{
	return g_strdup_printf("%llx:%llx/%s", (unsigned long long)dir->dev,
			       (unsigned long long)dir->ino, name);
}

/* lock held */
static void index_add(struct px_fs *fs, struct x9p_node *n)
{
	GPtrArray *a;

	if (!n->parent || !n->name || strcmp(n->name, "..") == 0)
		return;
	n->key = key_of(n->parent, n->name);
	a = g_hash_table_lookup(fs->by_name, n->key);
	if (!a) {
		a = g_ptr_array_new();
		g_hash_table_insert(fs->by_name, g_strdup(n->key), a);
	}
	g_ptr_array_add(a, n);
}

/* lock held */
static void index_del(struct px_fs *fs, struct x9p_node *n)
{
	GPtrArray *a;

	if (!n->key)
		return;
	a = g_hash_table_lookup(fs->by_name, n->key);
	if (a) {
		g_ptr_array_remove_fast(a, n);
		if (a->len == 0)
			g_hash_table_remove(fs->by_name, n->key);
	}
	g_free(n->key);
	n->key = NULL;
}

struct x9p_node *px_node_new(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
			     uint64_t hid, const struct x9p_px_attr *a, struct x9p_node *parent,
			     const char *name)
{
	struct x9p_node *n = g_new0(struct x9p_node, 1);

	n->refs = 1;
	n->fd = -1;
	n->hid = hid;
	n->gen = cn->gen;
	n->dev = a->dev;
	n->ino = a->ino;
	n->is_root = !parent;
	if (parent) {
		n->parent = px_node_dup(&fs->base, parent);
		n->name = g_strdup(name);
	}
	n->owner = c ? c->owner : NULL;   /* charged by px_nodes_admit() */
	if (fs->journal) {
		struct x9p_jnode jn = { .is_root = n->is_root, .dev = n->dev, .ino = n->ino,
					.parent = parent ? parent->jslot : 0 };

		if (parent)
			g_strlcpy(jn.name, name, sizeof(jn.name));
		n->jslot = x9p_journal_node_add(fs->journal, &jn);
	}
	g_mutex_lock(&fs->lock);
	index_add(fs, n);
	g_mutex_unlock(&fs->lock);
	return n;
}

/* lock held unless during a restore; depth bounds a journal's cycles. */
static struct x9p_node *restore(struct px_fs *fs, const struct x9p_ctx *c, uint32_t slot,
				unsigned depth)
{
	struct x9p_jnode jn;
	struct x9p_node *n, *parent = NULL, *alt = NULL;

	g_mutex_lock(&fs->lock);
	if (!fs->restored)
		fs->restored = g_hash_table_new(g_direct_hash, g_direct_equal);
	n = g_hash_table_lookup(fs->restored, GUINT_TO_POINTER(slot));
	if (n)
		g_atomic_int_inc(&n->refs);
	g_mutex_unlock(&fs->lock);
	if (n)
		return n;
	if (depth > 4096 || !x9p_journal_node_claim(fs->journal, slot, &jn))
		return NULL;
	if (jn.parent)
		parent = restore(fs, c, jn.parent, depth + 1);
	if (jn.alt_parent)
		alt = restore(fs, c, jn.alt_parent, depth + 1);
	n = g_new0(struct x9p_node, 1);
	n->refs = 1;
	n->fd = -1;
	n->gen = 0;                 /* no helper id: walked again on first use */
	n->dev = jn.dev;
	n->ino = jn.ino;
	n->is_root = jn.is_root;
	n->jslot = slot;
	n->owner = c->owner;
	if (jn.fd >= 0) {
		/* An open file no name led to, kept by the monitor for us. */
		n->fd = jn.fd;
		g_atomic_int_inc((gint *)&fs->kept_fds);
	}
	if (parent) {
		n->parent = parent;
		n->name = g_strdup(jn.name);
	}
	if (alt) {
		n->alt_parent = alt;
		n->alt_name = g_strdup(jn.alt_name);
	}
	g_mutex_lock(&fs->lock);
	charge(fs, n->owner, 1);
	index_add(fs, n);
	g_hash_table_insert(fs->restored, GUINT_TO_POINTER(slot), n);
	g_mutex_unlock(&fs->lock);
	return n;
}

struct x9p_node *px_node_restore(struct px_fs *fs, const struct x9p_ctx *c, uint32_t slot,
				 struct x9p_node **parent, char **name)
{
	struct x9p_node *n;

	*parent = NULL;
	*name = NULL;
	if (!fs->journal)
		return NULL;
	n = restore(fs, c, slot, 0);
	if (n && n->parent && n->name) {
		*parent = px_node_dup(&fs->base, n->parent);
		*name = g_strdup(n->name);
	}
	return n;
}

struct x9p_node *px_node_dup(struct x9p_fs *base, struct x9p_node *n)
{
	g_atomic_int_inc(&n->refs);
	return n;
}

void px_node_put(struct x9p_fs *base, struct x9p_node *n)
{
	struct px_fs *fs = PXFS(base);

	while (n && g_atomic_int_dec_and_test(&n->refs)) {
		struct x9p_node *parent;
		struct px_conn *cn = NULL;
		uint64_t hid;

		g_mutex_lock(&fs->lock);
		index_del(fs, n);
		charge(fs, n->owner, -1);
		if (fs->restored && n->jslot &&
		    g_hash_table_lookup(fs->restored, GUINT_TO_POINTER(n->jslot)) == n)
			g_hash_table_remove(fs->restored, GUINT_TO_POINTER(n->jslot));
		parent = n->parent;
		hid = n->hid;
		if (fs->conn && !fs->conn->dead && n->gen == fs->conn->gen) {
			cn = fs->conn;
			g_atomic_int_inc(&cn->refs);
		}
		g_mutex_unlock(&fs->lock);
		if (cn) {
			struct x9p_px_req q = { .h = { .op = X9P_PX_CLUNK }, .node = hid };

			px_send_noreply(fs, cn, &q);
			px_conn_put(cn);
		}
		if (n->fd >= 0) {
			close(n->fd);
			g_atomic_int_add((gint *)&fs->kept_fds, -1);
		}
		if (n->jslot && fs->journal)
			x9p_journal_node_del(fs->journal, n->jslot);
		if (n->alt_parent)
			px_node_put(&fs->base, n->alt_parent);
		g_free(n->alt_name);
		g_free(n->name);
		g_free(n);
		/* Iterate instead of recursing: chains are as deep as the tree. */
		n = parent;
	}
}

static void mark_stale(struct px_fs *fs, struct x9p_node *n)
{
	g_mutex_lock(&fs->lock);
	n->stale = true;
	g_mutex_unlock(&fs->lock);
}

void px_node_keep_fd(struct px_fs *fs, struct x9p_node *n, int fd)
{
	bool nameless = false;
	int copy;

	if (n->is_root || __atomic_load_n(&n->fd, __ATOMIC_RELAXED) >= 0)
		return;
	if ((unsigned)g_atomic_int_add((gint *)&fs->kept_fds, 1) >= fs->kept_fds_max) {
		g_atomic_int_add((gint *)&fs->kept_fds, -1);
		return;         /* only a restart will miss it */
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	g_mutex_lock(&fs->lock);
	if (copy >= 0 && n->fd < 0) {
		n->fd = copy;
		copy = -2;
		nameless = !n->name && fs->journal;
	}
	g_mutex_unlock(&fs->lock);
	if (nameless)
		x9p_journal_keep_fd(fs->journal, n->jslot, n->fd);
	if (copy != -2) {
		if (copy >= 0)
			close(copy);
		g_atomic_int_add((gint *)&fs->kept_fds, -1);
	}
}

/*
 * A WALK, ATTACH or ADOPT reply for n: its id on cn when it names n's
 * inode, else -ESTALE (the id is released).
 */
static int take_id(struct px_fs *fs, struct px_conn *cn, struct x9p_node *n,
		   const struct x9p_px_rep *rep, uint64_t *hid)
{
	if (rep->attr.dev != n->dev || rep->attr.ino != n->ino) {
		struct x9p_px_req cq = { .h = { .op = X9P_PX_CLUNK }, .node = rep->node };

		px_send_noreply(fs, cn, &cq);
		return -ESTALE;
	}
	g_mutex_lock(&fs->lock);
	n->hid = rep->node;
	n->gen = cn->gen;
	g_mutex_unlock(&fs->lock);
	*hid = rep->node;
	return 0;
}

/*
 * rv_lock held: gets a node for n's file on cn from the descriptor n kept,
 * when no name leads to it: -ESTALE when it kept none.
 */
static int adopt(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		 struct x9p_node *n, uint64_t *hid)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_ADOPT, .flags = X9P_PXF_FD } };
	struct x9p_px_rep rep;
	uint8_t *buf = NULL;
	int fd, e;

	g_mutex_lock(&fs->lock);
	fd = n->fd;                 /* set once, closed with n, which we hold */
	g_mutex_unlock(&fs->lock);
	if (fd < 0)
		return -ESTALE;
	e = px_call_fd(fs, cn, c, &q, &rep, &buf, fd);
	if (e == 0)
		e = take_id(fs, cn, n, &rep, hid);
	g_free(buf);
	return e;
}

/* rv_lock held: n's id on cn from a WALK of name in parent (or an ATTACH
 * for a root): 0, -ESTALE when that is not n's inode, or the error. */
static int walk_at(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		   struct x9p_node *n, struct x9p_node *parent, const char *name, uint64_t *hid)
{
	struct x9p_px_req q = { 0 };
	struct x9p_px_rep rep;
	uint8_t *buf = NULL;
	uint64_t phid;
	int e;

	if (n->is_root) {
		q.h.op = X9P_PX_ATTACH;
	} else if (!parent || !name) {
		return -ESTALE;         /* unlinked, or replaced by a rename */
	} else {
		e = px_node_hid(fs, cn, c, parent, &phid);
		if (e)
			return e;
		q.h.op = X9P_PX_WALK;
		q.node = phid;
		q.name.s = name;
		q.name.len = (uint16_t)strlen(name);
	}
	e = px_call(fs, cn, c, &q, &rep, &buf, NULL);
	if (e == 0)
		e = take_id(fs, cn, n, &rep, hid);
	g_free(buf);
	return e;
}

static bool not_there(int e)
{
	return e == -ESTALE || e == -ENOENT || e == -ENOTDIR;
}

/* A restored node found at its other location: that is its name now. */
static void take_alt(struct px_fs *fs, struct x9p_node *n, struct x9p_node *alt,
		     const char *alt_name)
{
	struct x9p_node *old;

	g_mutex_lock(&fs->lock);
	index_del(fs, n);
	old = n->parent;
	n->parent = px_node_dup(&fs->base, alt);
	g_free(n->name);
	n->name = g_strdup(alt_name);
	index_add(fs, n);
	g_mutex_unlock(&fs->lock);
	if (n->jslot && fs->journal)
		x9p_journal_node_move(fs->journal, n->jslot, alt->jslot, alt_name);
	if (old)
		px_node_put(&fs->base, old);
}

/* rv_lock held: walks n again on cn (its parents first). */
static int rewalk(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		  struct x9p_node *n, uint64_t *hid)
{
	struct x9p_node *parent = NULL, *alt;
	char *name = NULL, *alt_name;
	int e;

	g_mutex_lock(&fs->lock);
	if (n->stale) {
		g_mutex_unlock(&fs->lock);
		return -ESTALE;
	}
	if (n->gen == cn->gen) {
		*hid = n->hid;
		g_mutex_unlock(&fs->lock);
		return 0;
	}
	if (n->parent)
		parent = px_node_dup(&fs->base, n->parent);
	name = g_strdup(n->name);
	alt = n->alt_parent;
	alt_name = n->alt_name;
	n->alt_parent = NULL;
	n->alt_name = NULL;
	g_mutex_unlock(&fs->lock);

	e = walk_at(fs, cn, c, n, parent, name, hid);
	/* Its previous worker may have died with a rename of it in flight. */
	if (not_there(e) && alt && !n->is_root) {
		int a = walk_at(fs, cn, c, n, alt, alt_name, hid);

		if (a == 0)
			take_alt(fs, n, alt, alt_name);
		if (a == 0 || a == PX_LOST)
			e = a;
	}
	/* No name leads to it: an open file is still there. */
	if (not_there(e) && !n->is_root) {
		int a = adopt(fs, cn, c, n, hid);

		if (a == 0 || a == PX_LOST)
			e = a;
	}
	/* Gone or elsewhere for good; transient failures (EIO, EINTR) are not. */
	if (not_there(e)) {
		mark_stale(fs, n);
		e = -ESTALE;
	}
	g_free(name);
	g_free(alt_name);
	if (alt)
		px_node_put(&fs->base, alt);
	if (parent)
		px_node_put(&fs->base, parent);
	return e;
}

int px_node_hid(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		struct x9p_node *n, uint64_t *hid)
{
	int e;

	g_mutex_lock(&fs->lock);
	if (n->stale) {
		g_mutex_unlock(&fs->lock);
		return -ESTALE;
	}
	if (n->gen == cn->gen) {
		*hid = n->hid;
		g_mutex_unlock(&fs->lock);
		return 0;
	}
	g_mutex_unlock(&fs->lock);
	g_rec_mutex_lock(&fs->rv_lock);
	e = rewalk(fs, cn, c, n, hid);
	g_rec_mutex_unlock(&fs->rv_lock);
	return e;
}

/*
 * What a change of names leaves to do once the lock is dropped: old
 * parents to release, and journaled nodes no name leads to any more, to be
 * recorded so, whose file (if they have one) the journal's keeper gets
 * (each holds a reference).
 */
struct later {
	GPtrArray *put, *keep;
};

static void later_init(struct later *l)
{
	l->put = g_ptr_array_new();
	l->keep = g_ptr_array_new();
}

static void later_run(struct px_fs *fs, struct later *l)
{
	guint i;

	for (i = 0; i < l->keep->len; i++) {
		struct x9p_node *n = l->keep->pdata[i];

		/* Kept first, then recorded nameless: a worker dying between the
		 * two leaves a name that no longer walks, and the kept file. */
		if (n->fd >= 0)
			x9p_journal_keep_fd(fs->journal, n->jslot, n->fd);
		x9p_journal_node_move(fs->journal, n->jslot, 0, NULL);
		px_node_put(&fs->base, n);
	}
	for (i = 0; i < l->put->len; i++)
		px_node_put(&fs->base, l->put->pdata[i]);
	g_ptr_array_free(l->keep, TRUE);
	g_ptr_array_free(l->put, TRUE);
}

/* lock held: n loses its name; gone: it gets no other (the journal
 * learns it in later_run). */
static void forget_name(struct px_fs *fs, struct x9p_node *n, struct later *l, bool gone)
{
	if (gone && n->jslot && fs->journal) {
		g_atomic_int_inc(&n->refs);
		g_ptr_array_add(l->keep, n);
	}
	index_del(fs, n);
	if (n->parent)
		g_ptr_array_add(l->put, n->parent);
	n->parent = NULL;
	g_free(n->name);
	n->name = NULL;
}

void px_nodes_before(struct px_fs *fs, struct x9p_node *olddir, const char *oldname,
		     struct x9p_node *newdir, const char *newname)
{
	GPtrArray *keep = g_ptr_array_new(), *moving = g_ptr_array_new();
	char *okey = key_of(olddir, oldname);
	char *nkey = newdir ? key_of(newdir, newname) : NULL;
	GPtrArray *a;
	guint i;

	if (!fs->journal)
		goto out;
	g_mutex_lock(&fs->lock);
	/* Unlinked, or replaced by the rename: may lose their last name. */
	a = g_hash_table_lookup(fs->by_name, nkey ? nkey : okey);
	for (i = 0; a && i < a->len; i++) {
		struct x9p_node *n = a->pdata[i];

		if (n->fd >= 0 && n->jslot) {
			g_atomic_int_inc(&n->refs);
			g_ptr_array_add(keep, n);
		}
	}
	a = nkey ? g_hash_table_lookup(fs->by_name, okey) : NULL;
	for (i = 0; a && i < a->len; i++) {
		struct x9p_node *n = a->pdata[i];

		if (n->jslot) {
			g_atomic_int_inc(&n->refs);
			g_ptr_array_add(moving, n);
		}
	}
	g_mutex_unlock(&fs->lock);
	for (i = 0; i < keep->len; i++) {
		struct x9p_node *n = keep->pdata[i];

		x9p_journal_keep_fd(fs->journal, n->jslot, n->fd);
		px_node_put(&fs->base, n);
	}
	for (i = 0; i < moving->len; i++) {
		struct x9p_node *n = moving->pdata[i];

		x9p_journal_node_intend(fs->journal, n->jslot, newdir->jslot, newname);
		px_node_put(&fs->base, n);
	}
out:
	g_ptr_array_free(keep, TRUE);
	g_ptr_array_free(moving, TRUE);
	g_free(okey);
	g_free(nkey);
}

void px_nodes_unlinked(struct px_fs *fs, struct x9p_node *dir, const char *name)
{
	struct later l;
	char *key = key_of(dir, name);
	GPtrArray *a;

	later_init(&l);
	g_mutex_lock(&fs->lock);
	while ((a = g_hash_table_lookup(fs->by_name, key)) && a->len)
		forget_name(fs, a->pdata[0], &l, true);
	g_mutex_unlock(&fs->lock);
	g_free(key);
	later_run(fs, &l);
}

void px_nodes_renamed(struct px_fs *fs, struct x9p_node *olddir, const char *oldname,
		      struct x9p_node *newdir, const char *newname,
		      const struct x9p_px_attr *moved)
{
	GPtrArray *moving = g_ptr_array_new();
	char *okey = key_of(olddir, oldname), *nkey = key_of(newdir, newname);
	struct later l;
	GPtrArray *a;
	guint i;

	later_init(&l);
	if (strcmp(okey, nkey) == 0)
		goto out;
	g_mutex_lock(&fs->lock);
	a = g_hash_table_lookup(fs->by_name, nkey);
	for (i = 0; a && i < a->len; i++) {
		struct x9p_node *n = a->pdata[i];

		if (!moved || n->dev != moved->dev || n->ino != moved->ino)
			g_ptr_array_add(moving, n);
	}
	for (i = 0; i < moving->len; i++)
		forget_name(fs, moving->pdata[i], &l, true);
	g_ptr_array_set_size(moving, 0);
	a = g_hash_table_lookup(fs->by_name, okey);
	for (i = 0; a && i < a->len; i++)
		g_ptr_array_add(moving, a->pdata[i]);
	for (i = 0; i < moving->len; i++) {
		struct x9p_node *n = moving->pdata[i];

		forget_name(fs, n, &l, false);
		g_atomic_int_inc(&newdir->refs);
		n->parent = newdir;
		n->name = g_strdup(newname);
		if (n->jslot && fs->journal)
			x9p_journal_node_move(fs->journal, n->jslot, newdir->jslot, newname);
		index_add(fs, n);
	}
	g_mutex_unlock(&fs->lock);
out:
	g_ptr_array_free(moving, TRUE);
	g_free(okey);
	g_free(nkey);
	later_run(fs, &l);
}
