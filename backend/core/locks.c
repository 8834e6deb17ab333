// SPDX-License-Identifier: GPL-2.0-or-later
/* POSIX record locks kept by the server; see locks.h. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "core/locks.h"
#include "journal/journal.h"

/*
 * Each file's locks live in one interval treap: a binary search tree by
 * start (ties broken by address) that is a heap by a random priority, so
 * its depth is O(log n) whatever order the guests lock in, and whose nodes
 * carry the largest end in their subtree, so the locks overlapping a range
 * are found in O(log n + those found).  A conflict test stops at the first
 * conflicting lock; carving an owner's range visits that owner's locks in
 * it, which it then removes or trims.
 */
struct lock {
	uint64_t start, end;         /* inclusive; UINT64_MAX: to end of file */
	uint8_t type;
	const void *session;
	uint32_t proc_id;
	uint32_t fid;
	char *client_id;
	char *okey;                  /* the owner, as file_locks.owners knows it */
	uint32_t jslot;              /* its journal record, or 0 */
	/* the file's treap */
	struct lock *left, *right;
	uint32_t prio;
	uint64_t max_end;            /* largest end in this subtree */
};

/* Read locks and write locks apart: a read lock conflicts only with write
 * locks, and other owners' read locks, however many, are then never seen.
 * Each owner's locks (which never overlap) are also in a tree of their own,
 * by start, for carving its range without looking at anybody else's. */
struct file_locks {
	struct lock *root[2];        /* [0] read locks, [1] write locks */
	GHashTable *owners;          /* owner key -> GTree start -> struct lock */
	struct x9p_locks *t;
	uint64_t file;
};

static bool file_empty(const struct file_locks *f)
{
	return !f->root[0] && !f->root[1];
}

static struct lock **root_of(struct file_locks *f, const struct lock *l)
{
	return &f->root[l->type == P9_LOCK_TYPE_WRLCK];
}

struct x9p_locks {
	GMutex m;
	GHashTable *files;           /* file -> struct file_locks */
	GHashTable *held;            /* session -> lock records it holds */
	unsigned max_per_session;
	unsigned long visits;        /* treap nodes looked at by the last call */
	GHashTable *journals;        /* owner session -> its journal (records kept there) */
};

static unsigned held_by(struct x9p_locks *t, const void *session)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(t->held, session));
}

static void held_add(struct x9p_locks *t, const void *session, int delta)
{
	unsigned n = held_by(t, session) + (unsigned)delta;

	if (n)
		g_hash_table_insert(t->held, (gpointer)session, GUINT_TO_POINTER(n));
	else
		g_hash_table_remove(t->held, session);
}

static void lock_free(struct lock *l)
{
	g_free(l->client_id);
	g_free(l->okey);
	g_free(l);
}

static void tree_free(struct lock *l)
{
	while (l) {
		struct lock *r = l->right;

		tree_free(l->left);
		lock_free(l);
		l = r;
	}
}

static void file_free(gpointer p)
{
	struct file_locks *f = p;

	tree_free(f->root[0]);
	tree_free(f->root[1]);
	g_hash_table_destroy(f->owners);
	g_free(f);
}

static guint u64_hash(gconstpointer p) { return g_int64_hash(p); }
static gboolean u64_eq(gconstpointer a, gconstpointer b) { return g_int64_equal(a, b); }

struct x9p_locks *x9p_locks_new(unsigned max_per_session)
{
	struct x9p_locks *t = g_new0(struct x9p_locks, 1);

	g_mutex_init(&t->m);
	t->held = g_hash_table_new(g_direct_hash, g_direct_equal);
	t->journals = g_hash_table_new(g_direct_hash, g_direct_equal);
	t->max_per_session = max_per_session ? max_per_session : X9P_DEFAULT_MAX_LOCKS;
	t->files = g_hash_table_new_full(u64_hash, u64_eq, g_free, file_free);
	return t;
}

void x9p_locks_free(struct x9p_locks *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->files);
	g_hash_table_destroy(t->held);
	g_hash_table_destroy(t->journals);
	g_mutex_clear(&t->m);
	g_free(t);
}

unsigned long x9p_locks_visits(struct x9p_locks *t)
{
	unsigned long v;

	g_mutex_lock(&t->m);
	v = t->visits;
	g_mutex_unlock(&t->m);
	return v;
}

/* ---- the treap ---- */

static void fix(struct lock *l)
{
	l->max_end = l->end;
	if (l->left && l->left->max_end > l->max_end)
		l->max_end = l->left->max_end;
	if (l->right && l->right->max_end > l->max_end)
		l->max_end = l->right->max_end;
}

static bool before(const struct lock *a, const struct lock *b)
{
	return a->start < b->start || (a->start == b->start && (uintptr_t)a < (uintptr_t)b);
}

static struct lock *rotate_right(struct lock *l)
{
	struct lock *p = l->left;

	l->left = p->right;
	p->right = l;
	fix(l);
	fix(p);
	return p;
}

static struct lock *rotate_left(struct lock *l)
{
	struct lock *p = l->right;

	l->right = p->left;
	p->left = l;
	fix(l);
	fix(p);
	return p;
}

static struct lock *tree_insert(struct lock *root, struct lock *n)
{
	if (!root) {
		n->left = n->right = NULL;
		fix(n);
		return n;
	}
	if (before(n, root)) {
		root->left = tree_insert(root->left, n);
		if (root->left->prio > root->prio)
			return rotate_right(root);
	} else {
		root->right = tree_insert(root->right, n);
		if (root->right->prio > root->prio)
			return rotate_left(root);
	}
	fix(root);
	return root;
}

/* Unlinks n (which is in the tree) without freeing it. */
static struct lock *tree_remove(struct lock *root, struct lock *n)
{
	if (root == n) {
		if (!n->left)
			return n->right;
		if (!n->right)
			return n->left;
		if (n->left->prio > n->right->prio) {
			root = rotate_right(n);
			root->right = tree_remove(n, n);
		} else {
			root = rotate_left(n);
			root->left = tree_remove(n, n);
		}
	} else if (before(n, root)) {
		root->left = tree_remove(root->left, n);
	} else {
		root->right = tree_remove(root->right, n);
	}
	fix(root);
	return root;
}

/*
 * Calls fn on every lock overlapping [start, end], in start order, until
 * fn returns true (and returns that lock).  Subtrees that end before start
 * or begin after end are skipped whole.
 */
typedef bool (*visit_fn)(const struct lock *l, void *arg);

static const struct lock *tree_find(struct x9p_locks *t, const struct lock *l, uint64_t start,
				    uint64_t end, visit_fn fn, void *arg)
{
	const struct lock *hit;

	while (l) {
		t->visits++;
		if (l->max_end < start)
			return NULL;
		if ((hit = tree_find(t, l->left, start, end, fn, arg)))
			return hit;
		if (l->start > end)
			return NULL;
		if (l->end >= start && fn(l, arg))
			return l;
		l = l->right;
	}
	return NULL;
}

/* ---- POSIX semantics ---- */

static uint64_t range_end(uint64_t start, uint64_t length)
{
	if (length == 0 || length - 1 > UINT64_MAX - start)
		return UINT64_MAX;
	return start + length - 1;
}

static bool same_owner(const struct lock *l, const struct x9p_lock_owner *o)
{
	return l->session == o->session && l->proc_id == o->proc_id &&
	       p9_str_eq(o->client_id, l->client_id);
}

static char *owner_key(const void *session, uint32_t proc_id, const char *cid, size_t len)
{
	return g_strdup_printf("%p:%" G_GUINT32_FORMAT ":%.*s", session, proc_id, (int)len, cid);
}

static gint cmp_start(gconstpointer a, gconstpointer b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static GHashTable *owners_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				     (GDestroyNotify)g_tree_unref);
}

static struct file_locks *file_locks(struct x9p_locks *t, uint64_t file, bool create)
{
	struct file_locks *f = g_hash_table_lookup(t->files, &file);

	if (!f && create) {
		f = g_new0(struct file_locks, 1);
		f->owners = owners_new();
		f->t = t;
		f->file = file;
		g_hash_table_insert(t->files, g_memdup2(&file, sizeof(file)), f);
	}
	return f;
}

struct conflict_arg {
	const struct x9p_lock_owner *o;
	uint8_t type;
};

static bool conflicts(const struct lock *l, void *arg)
{
	const struct conflict_arg *c = arg;

	if (same_owner(l, c->o) || (l->session == c->o->session && l->fid == c->o->fid))
		return false;
	return c->type == P9_LOCK_TYPE_WRLCK || l->type == P9_LOCK_TYPE_WRLCK;
}

static const struct lock *find_conflict(struct x9p_locks *t, struct file_locks *f,
					const struct x9p_lock_owner *o, uint8_t type,
					uint64_t start, uint64_t end)
{
	struct conflict_arg c = { o, type };
	const struct lock *l;

	if (!f)
		return NULL;
	/* Others' write locks conflict with anything; their read locks only
	 * with a write lock. */
	l = tree_find(t, f->root[1], start, end, conflicts, &c);
	if (!l && type == P9_LOCK_TYPE_WRLCK)
		l = tree_find(t, f->root[0], start, end, conflicts, &c);
	return l;
}

/* o's locks overlapping [start, end], in start order (g_ptr_array_unref). */
static GPtrArray *own_locks(struct x9p_locks *t, struct file_locks *f,
			    const struct x9p_lock_owner *o, uint64_t start, uint64_t end)
{
	GPtrArray *found = g_ptr_array_new();
	char *key;
	GTree *g;
	GTreeNode *n, *p;

	if (!f)
		return found;
	key = owner_key(o->session, o->proc_id, o->client_id.s, o->client_id.len);
	g = g_hash_table_lookup(f->owners, key);
	g_free(key);
	if (!g)
		return found;
	/* Its locks do not overlap: only the last one starting at or before
	 * start can reach into the range from the left. */
	n = g_tree_upper_bound(g, &start);
	p = n ? g_tree_node_previous(n) : g_tree_node_last(g);
	if (p && ((struct lock *)g_tree_node_value(p))->end >= start)
		n = p;
	for (; n; n = g_tree_node_next(n)) {
		struct lock *l = g_tree_node_value(n);

		t->visits++;
		if (l->start > end)
			break;
		g_ptr_array_add(found, l);
	}
	return found;
}

static struct lock *new_lock(const struct x9p_lock_owner *o, uint8_t type, uint64_t start,
			     uint64_t end)
{
	struct lock *l = g_new0(struct lock, 1);

	l->start = start;
	l->end = end;
	l->type = type;
	l->session = o->session;
	l->proc_id = o->proc_id;
	l->fid = o->fid;
	l->client_id = g_strndup(o->client_id.s, o->client_id.len);
	l->okey = owner_key(o->session, o->proc_id, o->client_id.s, o->client_id.len);
	l->prio = g_random_int();
	return l;
}

static void add_lock(struct file_locks *f, struct lock *l)
{
	struct lock **root = root_of(f, l);
	GTree *g = g_hash_table_lookup(f->owners, l->okey);
	struct x9p_journal *jn = g_hash_table_lookup(f->t->journals, l->session);

	if (jn) {
		struct x9p_jlock j = { .file = f->file, .proc_id = l->proc_id, .fid = l->fid,
				       .type = l->type, .start = l->start, .end = l->end };

		g_strlcpy(j.client_id, l->client_id, sizeof(j.client_id));
		x9p_journal_lock_put(jn, &l->jslot, &j);
	}
	*root = tree_insert(*root, l);
	if (!g) {
		g = g_tree_new(cmp_start);
		g_hash_table_insert(f->owners, g_strdup(l->okey), g);
	}
	g_tree_insert(g, &l->start, l);
}

/* Takes l out of both its trees (not freed). */
static void unlink_lock(struct file_locks *f, struct lock *l)
{
	struct lock **root = root_of(f, l);
	GTree *g = g_hash_table_lookup(f->owners, l->okey);

	*root = tree_remove(*root, l);
	g_tree_remove(g, &l->start);
	if (g_tree_nnodes(g) == 0)
		g_hash_table_remove(f->owners, l->okey);
}

/* A record gone (its journal record too). */
static void retire(struct file_locks *f, struct lock *l)
{
	struct x9p_journal *jn = l->jslot ? g_hash_table_lookup(f->t->journals, l->session) : NULL;

	if (jn)
		x9p_journal_lock_del(jn, l->jslot);
	lock_free(l);
}

/* How many records carve() adds (a split) minus those it removes. */
static int carve_delta(GPtrArray *own, uint64_t start, uint64_t end)
{
	int d = 0;

	for (guint i = 0; i < own->len; i++) {
		const struct lock *l = own->pdata[i];

		if (l->start < start && l->end > end)
			d++;
		else if (l->start >= start && l->end <= end)
			d--;
	}
	return d;
}

/* Removes o's locks (own) over [start, end], splitting those that stick out. */
static void carve(struct file_locks *f, GPtrArray *own, const struct x9p_lock_owner *o,
		  uint64_t start, uint64_t end)
{
	for (guint i = 0; i < own->len; i++) {
		struct lock *l = own->pdata[i];

		/* Out of the trees while its key (start) may change. */
		unlink_lock(f, l);
		if (l->start < start && l->end > end) {
			/* The new range punches a hole: keep both sides. */
			add_lock(f, new_lock(o, l->type, end + 1, l->end));
			l->end = start - 1;
		} else if (l->start < start) {
			l->end = start - 1;
		} else if (l->end > end) {
			l->start = end + 1;
		} else {
			retire(f, l);
			continue;
		}
		add_lock(f, l);
	}
}

int x9p_locks_set(struct x9p_locks *t, uint64_t file, const struct x9p_lock_owner *o,
		  uint8_t type, uint64_t start, uint64_t length)
{
	uint64_t end = range_end(start, length);
	int status = P9_LOCK_SUCCESS, delta;
	struct file_locks *f;
	GPtrArray *own;

	g_mutex_lock(&t->m);
	t->visits = 0;
	f = file_locks(t, file, false);
	if (type != P9_LOCK_TYPE_UNLCK && find_conflict(t, f, o, type, start, end)) {
		g_mutex_unlock(&t->m);
		return P9_LOCK_BLOCKED;
	}
	own = own_locks(t, f, o, start, end);
	delta = carve_delta(own, start, end) + (type != P9_LOCK_TYPE_UNLCK);
	if (delta > 0 && held_by(t, o->session) + (unsigned)delta > t->max_per_session) {
		status = -ENOLCK;
	} else if (f || type != P9_LOCK_TYPE_UNLCK) {
		f = file_locks(t, file, true);
		held_add(t, o->session, delta);
		carve(f, own, o, start, end);
		if (type != P9_LOCK_TYPE_UNLCK)
			add_lock(f, new_lock(o, type, start, end));
		if (file_empty(f))
			g_hash_table_remove(t->files, &file);
	}
	g_ptr_array_unref(own);
	g_mutex_unlock(&t->m);
	return status;
}

void x9p_locks_test(struct x9p_locks *t, uint64_t file, const struct x9p_lock_owner *o,
		    uint8_t type, uint64_t start, uint64_t length,
		    struct p9_lock *out, char *cid, size_t cidlen)
{
	const struct lock *l;

	memset(out, 0, sizeof(*out));
	out->type = P9_LOCK_TYPE_UNLCK;
	out->start = start;
	out->length = length;
	out->proc_id = o->proc_id;
	out->client_id = o->client_id;
	if (type == P9_LOCK_TYPE_UNLCK)
		type = P9_LOCK_TYPE_RDLCK;
	g_mutex_lock(&t->m);
	t->visits = 0;
	l = find_conflict(t, file_locks(t, file, false), o, type, start,
			  range_end(start, length));
	if (l) {
		out->type = l->type;
		out->start = l->start;
		out->length = l->end == UINT64_MAX ? 0 : l->end - l->start + 1;
		out->proc_id = l->proc_id;
		g_strlcpy(cid, l->client_id, cidlen);
		out->client_id = p9_str_c(cid);
	}
	g_mutex_unlock(&t->m);
}

/* Moves the locks of l's subtree that are not the session's into keep. */
static void drop_from(struct lock *l, const void *session, struct file_locks *keep)
{
	while (l) {
		struct lock *left = l->left, *right = l->right;

		drop_from(left, session, keep);
		if (l->session == session)
			retire(keep, l);
		else
			add_lock(keep, l);
		l = right;
	}
}

void x9p_locks_set_journal(struct x9p_locks *t, const void *session, struct x9p_journal *j)
{
	g_mutex_lock(&t->m);
	if (j)
		g_hash_table_insert(t->journals, (gpointer)session, j);
	else
		g_hash_table_remove(t->journals, session);
	g_mutex_unlock(&t->m);
}

void x9p_locks_drop_session(struct x9p_locks *t, const void *session)
{
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&t->m);
	if (!held_by(t, session)) {
		g_mutex_unlock(&t->m);
		return;
	}
	g_hash_table_iter_init(&it, t->files);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct file_locks *f = v, keep = { .owners = owners_new(), .t = t, .file = f->file };

		drop_from(f->root[0], session, &keep);
		drop_from(f->root[1], session, &keep);
		g_hash_table_destroy(f->owners);
		*f = keep;
		if (file_empty(f))
			g_hash_table_iter_remove(&it);
	}
	g_hash_table_remove(t->held, session);
	g_mutex_unlock(&t->m);
}
