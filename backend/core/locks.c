// SPDX-License-Identifier: GPL-2.0-or-later
/* POSIX record locks kept by the server; see locks.h. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "core/locks.h"

struct lock {
	uint64_t start, end;         /* inclusive; UINT64_MAX: to end of file */
	uint8_t type;
	const void *session;
	uint32_t proc_id;
	uint32_t fid;
	char *client_id;
};

struct x9p_locks {
	GMutex m;
	GHashTable *files;           /* file -> GPtrArray of struct lock */
	GHashTable *held;            /* session -> lock records it holds */
	unsigned max_per_session;
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

static void lock_free(gpointer p)
{
	struct lock *l = p;

	g_free(l->client_id);
	g_free(l);
}

static guint u64_hash(gconstpointer p) { return g_int64_hash(p); }
static gboolean u64_eq(gconstpointer a, gconstpointer b) { return g_int64_equal(a, b); }

struct x9p_locks *x9p_locks_new(unsigned max_per_session)
{
	struct x9p_locks *t = g_new0(struct x9p_locks, 1);

	g_mutex_init(&t->m);
	t->held = g_hash_table_new(g_direct_hash, g_direct_equal);
	t->max_per_session = max_per_session ? max_per_session : X9P_DEFAULT_MAX_LOCKS;
	t->files = g_hash_table_new_full(u64_hash, u64_eq, g_free,
					 (GDestroyNotify)g_ptr_array_unref);
	return t;
}

void x9p_locks_free(struct x9p_locks *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->files);
	g_hash_table_destroy(t->held);
	g_mutex_clear(&t->m);
	g_free(t);
}

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

static bool overlaps(const struct lock *l, uint64_t start, uint64_t end)
{
	return l->start <= end && start <= l->end;
}

static GPtrArray *file_locks(struct x9p_locks *t, uint64_t file, bool create)
{
	GPtrArray *a = g_hash_table_lookup(t->files, &file);

	if (!a && create) {
		a = g_ptr_array_new_with_free_func(lock_free);
		g_hash_table_insert(t->files, g_memdup2(&file, sizeof(file)), a);
	}
	return a;
}

static const struct lock *find_conflict(GPtrArray *a, const struct x9p_lock_owner *o,
					uint8_t type, uint64_t start, uint64_t end)
{
	for (guint i = 0; a && i < a->len; i++) {
		const struct lock *l = a->pdata[i];
		if (same_owner(l, o) || (l->session == o->session && l->fid == o->fid) ||
		    !overlaps(l, start, end))
			continue;
		if (type == P9_LOCK_TYPE_WRLCK || l->type == P9_LOCK_TYPE_WRLCK)
			return l;
	}
	return NULL;
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
	return l;
}

/* How many records carve() adds (a split) minus those it removes. */
static int carve_delta(GPtrArray *a, const struct x9p_lock_owner *o, uint64_t start,
		       uint64_t end)
{
	int d = 0;

	for (guint i = 0; a && i < a->len; i++) {
		const struct lock *l = a->pdata[i];

		if (!same_owner(l, o) || !overlaps(l, start, end))
			continue;
		if (l->start < start && l->end > end)
			d++;
		else if (l->start >= start && l->end <= end)
			d--;
	}
	return d;
}

/* Removes o's locks over [start, end], splitting those that stick out. */
static void carve(GPtrArray *a, const struct x9p_lock_owner *o, uint64_t start, uint64_t end)
{
	for (guint i = 0; i < a->len;) {
		struct lock *l = a->pdata[i];
		if (!same_owner(l, o) || !overlaps(l, start, end)) {
			i++;
			continue;
		}
		if (l->start < start && l->end > end) {
			/* The new range punches a hole: keep both sides. */
			struct lock *tail = new_lock(o, l->type, end + 1, l->end);
			l->end = start - 1;
			g_ptr_array_add(a, tail);
			i++;
		} else if (l->start < start) {
			l->end = start - 1;
			i++;
		} else if (l->end > end) {
			l->start = end + 1;
			i++;
		} else {
			g_ptr_array_remove_index_fast(a, i);
		}
	}
}

int x9p_locks_set(struct x9p_locks *t, uint64_t file, const struct x9p_lock_owner *o,
		  uint8_t type, uint64_t start, uint64_t length)
{
	uint64_t end = range_end(start, length);
	int status = P9_LOCK_SUCCESS, delta;
	GPtrArray *a;

	g_mutex_lock(&t->m);
	a = file_locks(t, file, false);
	delta = carve_delta(a, o, start, end) + (type != P9_LOCK_TYPE_UNLCK);
	if (type != P9_LOCK_TYPE_UNLCK && find_conflict(a, o, type, start, end)) {
		status = P9_LOCK_BLOCKED;
	} else if (delta > 0 && held_by(t, o->session) + (unsigned)delta > t->max_per_session) {
		status = -ENOLCK;
	} else if (a || type != P9_LOCK_TYPE_UNLCK) {
		a = file_locks(t, file, true);
		held_add(t, o->session, delta);
		carve(a, o, start, end);
		if (type != P9_LOCK_TYPE_UNLCK)
			g_ptr_array_add(a, new_lock(o, type, start, end));
		if (a->len == 0)
			g_hash_table_remove(t->files, &file);
	}
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
	l = find_conflict(file_locks(t, file, false), o, type, start, range_end(start, length));
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

void x9p_locks_drop_session(struct x9p_locks *t, const void *session)
{
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&t->m);
	g_hash_table_iter_init(&it, t->files);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		GPtrArray *a = v;
		for (guint i = 0; i < a->len;) {
			if (((struct lock *)a->pdata[i])->session == session)
				g_ptr_array_remove_index_fast(a, i);
			else
				i++;
		}
		if (a->len == 0)
			g_hash_table_iter_remove(&it);
	}
	g_hash_table_remove(t->held, session);
	g_mutex_unlock(&t->m);
}
