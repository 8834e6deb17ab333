// SPDX-License-Identifier: GPL-2.0-or-later
/* Per-session fid table; see fid.h for the contract. */
#include <errno.h>
#include <unistd.h>

#include "core/fid.h"
#include "journal/journal.h"

static void fid_unref_cb(gpointer p)
{
	x9p_fid_unref(p);
}

void x9p_fidtab_init(struct x9p_fidtab *t, unsigned limit, unsigned max_open)
{
	g_mutex_init(&t->lock);
	t->map = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, fid_unref_cb);
	t->limit = limit;
	t->max_open = max_open;
	t->nopen = 0;
}

/* What the journal keeps of f: false for a fid it cannot keep. */
static bool fid_record(struct x9p_fid *f, struct x9p_jfid *rec)
{
	const struct x9p_fs_ops *o = f->fs->ops;

	if (f->kind == X9P_FID_XATTR_READ || f->kind == X9P_FID_XATTR_WRITE || !o->node_jslot)
		return false;
	*rec = (struct x9p_jfid) {
		.num = f->num, .node = o->node_jslot(f->fs, f->node), .uid = f->uid,
		.kind = f->kind, .hostflags = f->hostflags, .qtype = f->qid.type,
		.qversion = f->qid.version, .qpath = f->qid.path, .root_path = f->root_path,
	};
	return rec->node != 0;
}

static void journal_fid(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag)
{
	struct x9p_jfid rec;

	if (!t->journal)
		return;
	if (fid_record(f, &rec))
		x9p_journal_fid_set(t->journal, tag, &rec);
	else
		x9p_journal_fid_del(t->journal, tag, f->num);   /* no older version comes back */
}

void x9p_fidtab_set_journal(struct x9p_fidtab *t, struct x9p_journal *j)
{
	t->journal = j;
}

void x9p_fidtab_note_open(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag)
{
	journal_fid(t, f, tag);
}

void x9p_fidtab_restore(struct x9p_fidtab *t, struct x9p_fid *f)
{
	g_mutex_lock(&t->lock);
	g_hash_table_replace(t->map, GUINT_TO_POINTER(f->num), x9p_fid_ref(f));
	if (f->counted_open)
		t->nopen++;
	g_mutex_unlock(&t->lock);
}

void x9p_fidtab_clear(struct x9p_fidtab *t)
{
	GHashTable *old;

	if (t->journal)
		x9p_journal_fid_clear(t->journal);

	/* Unref outside the lock: releasing a node may talk to the helper. */
	g_mutex_lock(&t->lock);
	old = t->map;
	t->nopen = 0;
	t->map = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, fid_unref_cb);
	g_mutex_unlock(&t->lock);
	g_hash_table_destroy(old);
}

void x9p_fidtab_destroy(struct x9p_fidtab *t)
{
	x9p_fidtab_clear(t);
	g_hash_table_destroy(t->map);
	g_mutex_clear(&t->lock);
}

struct x9p_fid *x9p_fid_new(struct x9p_fs *fs, uint32_t num, struct x9p_node *node,
			    struct x9p_node *parent, char *name,
			    const struct p9_qid *qid, uint32_t uid)
{
	struct x9p_fid *f = g_new0(struct x9p_fid, 1);

	f->ref = 1;
	f->num = num;
	f->fs = fs;
	f->node = node;
	f->parent = parent;
	f->name = name;
	f->qid = *qid;
	f->uid = uid;
	f->fd = -1;
	g_mutex_init(&f->lock);
	return f;
}

bool x9p_fid_location(struct x9p_fid *f, struct x9p_node **parent, char **name)
{
	bool ok;

	g_mutex_lock(&f->lock);
	ok = f->parent && f->name;
	*parent = ok ? f->fs->ops->node_dup(f->fs, f->parent) : NULL;
	*name = ok ? g_strdup(f->name) : NULL;
	g_mutex_unlock(&f->lock);
	return ok;
}

void x9p_fid_set_location(struct x9p_fid *f, struct x9p_node *parent, char *name)
{
	struct x9p_node *oldp;
	char *oldn;

	g_mutex_lock(&f->lock);
	oldp = f->parent;
	oldn = f->name;
	f->parent = parent;
	f->name = name;
	g_mutex_unlock(&f->lock);
	if (oldp)
		f->fs->ops->node_put(f->fs, oldp);
	g_free(oldn);
}

struct x9p_fid *x9p_fid_ref(struct x9p_fid *f)
{
	g_atomic_int_inc(&f->ref);
	return f;
}

void x9p_fid_unref(struct x9p_fid *f)
{
	if (!f || !g_atomic_int_dec_and_test(&f->ref))
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->node)
		f->fs->ops->node_put(f->fs, f->node);
	if (f->parent)
		f->fs->ops->node_put(f->fs, f->parent);
	g_free(f->name);
	g_free(f->xname);
	g_free(f->xbuf);
	if (f->xcharged_to)
		g_atomic_int_add(f->xcharged_to, -(gint)f->xcharged);
	if (f->dir_marks)
		g_hash_table_destroy(f->dir_marks);
	g_mutex_clear(&f->lock);
	g_free(f);
}

/* How long an end mark stays good: the client's empty read follows at once. */
#define DIR_END_TTL_US (G_USEC_PER_SEC / 2)

bool x9p_fid_dir_ended(struct x9p_fid *f, uint64_t cookie, uint64_t *seq)
{
	/* No read began since the one that set it: this is the very next. */
	bool ended = f->dir_end_known && f->dir_end_cookie == cookie &&
		     f->dir_end_read == f->dir_reads &&
		     g_get_monotonic_time() - f->dir_end_time < DIR_END_TTL_US;

	f->dir_end_known = false;
	*seq = ++f->dir_reads;
	return ended;
}

void x9p_fid_dir_note_end(struct x9p_fid *f, uint64_t seq, bool at_end, uint64_t cookie)
{
	f->dir_end_known = at_end;
	f->dir_end_cookie = cookie;
	f->dir_end_read = seq;
	if (at_end)
		f->dir_end_time = g_get_monotonic_time();
}

struct x9p_fid *x9p_fidtab_get(struct x9p_fidtab *t, uint32_t num)
{
	struct x9p_fid *f;

	g_mutex_lock(&t->lock);
	f = g_hash_table_lookup(t->map, GUINT_TO_POINTER(num));
	if (f)
		x9p_fid_ref(f);
	g_mutex_unlock(&t->lock);
	return f;
}

int x9p_fidtab_add(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag)
{
	int ret = 0;

	if (f->num == P9_NOFID)
		return -EBADF;
	g_mutex_lock(&t->lock);
	if (g_hash_table_contains(t->map, GUINT_TO_POINTER(f->num)))
		ret = -EBADF;
	else if (t->limit && g_hash_table_size(t->map) >= t->limit)
		ret = -EMFILE;
	else
		g_hash_table_insert(t->map, GUINT_TO_POINTER(f->num), x9p_fid_ref(f));
	g_mutex_unlock(&t->lock);
	if (ret == 0)
		journal_fid(t, f, tag);
	return ret;
}

void x9p_fidtab_replace(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag)
{
	g_mutex_lock(&t->lock);
	g_hash_table_replace(t->map, GUINT_TO_POINTER(f->num), x9p_fid_ref(f));
	g_mutex_unlock(&t->lock);
	journal_fid(t, f, tag);
}

struct x9p_fid *x9p_fidtab_remove(struct x9p_fidtab *t, uint32_t num, uint16_t tag)
{
	struct x9p_fid *f = NULL;
	gpointer key, val;

	g_mutex_lock(&t->lock);
	if (g_hash_table_steal_extended(t->map, GUINT_TO_POINTER(num), &key, &val))
		f = val;
	g_mutex_unlock(&t->lock);
	if (f && t->journal)
		x9p_journal_fid_del(t->journal, tag, num);
	return f;
}

int x9p_fidtab_count_open(struct x9p_fidtab *t, struct x9p_fid *f)
{
	int ret = 0;

	g_mutex_lock(&t->lock);
	if (t->max_open && t->nopen >= t->max_open) {
		ret = -EMFILE;
	} else {
		t->nopen++;
		f->counted_open = true;
	}
	g_mutex_unlock(&t->lock);
	return ret;
}

void x9p_fidtab_uncount_open(struct x9p_fidtab *t, struct x9p_fid *f)
{
	g_mutex_lock(&t->lock);
	if (f->counted_open && t->nopen > 0)
		t->nopen--;
	f->counted_open = false;
	g_mutex_unlock(&t->lock);
}

unsigned x9p_fidtab_size(struct x9p_fidtab *t)
{
	unsigned n;

	g_mutex_lock(&t->lock);
	n = g_hash_table_size(t->map);
	g_mutex_unlock(&t->lock);
	return n;
}

int x9p_fidtab_charge_xattr(struct x9p_fidtab *t, struct x9p_fid *f, size_t n)
{
	gint cur;

	do {
		cur = g_atomic_int_get(&t->xbytes);
		if (n > t->xbytes_max || (size_t)cur > t->xbytes_max - n)
			return -ENOSPC;
	} while (!g_atomic_int_compare_and_exchange(&t->xbytes, cur, cur + (gint)n));
	f->xcharged_to = &t->xbytes;
	f->xcharged = n;
	return 0;
}
