/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The helper's node table (see nodes.h). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "nodes.h"

static GMutex lock;
static GHashTable *by_id;       /* uint64 id -> node */
static GHashTable *by_name;     /* "dev:ino/name" of the parent -> GPtrArray of nodes */
static uint64_t next_id;
static unsigned published;

void hx_nodes_init(void)
{
	by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
	by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					(GDestroyNotify)g_ptr_array_unref);
	uint32_t r = 0;

	/*
	 * Ids of an earlier helper process are unlikely to be valid here too.
	 * (getrandom() directly: GLib's generator wants /dev/urandom, which
	 * the sandbox does not have.)
	 */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)g_get_monotonic_time();
	next_id = ((uint64_t)r << 20) + 1;
}

static char *make_key(const struct hx_node *dir, const char *name)
{
	return g_strdup_printf("%llx:%llx/%s", (unsigned long long)dir->dev,
			       (unsigned long long)dir->ino, name);
}

/* lock held */
static void index_add(struct hx_node *n)
{
	GPtrArray *a;

	if (!n->parent || !n->name)
		return;
	n->key = make_key(n->parent, n->name);
	a = g_hash_table_lookup(by_name, n->key);
	if (!a) {
		a = g_ptr_array_new();
		g_hash_table_insert(by_name, g_strdup(n->key), a);
	}
	g_ptr_array_add(a, n);
}

/* lock held */
static void index_del(struct hx_node *n)
{
	GPtrArray *a;

	if (!n->key)
		return;
	a = g_hash_table_lookup(by_name, n->key);
	if (a) {
		g_ptr_array_remove_fast(a, n);
		if (a->len == 0)
			g_hash_table_remove(by_name, n->key);
	}
	g_free(n->key);
	n->key = NULL;
}

struct hx_node *hx_node_new(int fd, dev_t dev, ino_t ino, mode_t type,
			    struct hx_node *parent, const char *name)
{
	struct hx_node *n = g_new0(struct hx_node, 1);

	n->fd = fd;
	n->dev = dev;
	n->ino = ino;
	n->type = type & S_IFMT;
	n->is_root = dev == hx.root_dev && ino == hx.root_ino;
	n->refs = 1;
	n->depth = n->is_root ? 0 : HX_DEPTH_UNKNOWN;
	if (parent && name && !n->is_root) {
		n->parent = hx_node_ref(parent);
		n->name = g_strdup(name);
		if (parent->depth != HX_DEPTH_UNKNOWN)
			n->depth = parent->depth + 1;
		g_mutex_lock(&lock);
		index_add(n);
		g_mutex_unlock(&lock);
	}
	return n;
}

int hx_node_publish(struct hx_node *n, uint64_t *id)
{
	g_mutex_lock(&lock);
	if (published >= hx.max_nodes) {
		g_mutex_unlock(&lock);
		return -EMFILE;
	}
	n->id = next_id++;
	n->published = true;
	g_atomic_int_inc(&n->refs);
	g_hash_table_insert(by_id, &n->id, n);
	published++;
	g_mutex_unlock(&lock);
	*id = n->id;
	return 0;
}

struct hx_node *hx_node_get(uint64_t id)
{
	struct hx_node *n;

	g_mutex_lock(&lock);
	n = g_hash_table_lookup(by_id, &id);
	if (n)
		g_atomic_int_inc(&n->refs);
	g_mutex_unlock(&lock);
	return n;
}

struct hx_node *hx_node_ref(struct hx_node *n)
{
	g_atomic_int_inc(&n->refs);
	return n;
}

void hx_node_put(struct hx_node *n)
{
	while (n && g_atomic_int_dec_and_test(&n->refs)) {
		struct hx_node *parent;

		g_mutex_lock(&lock);
		index_del(n);
		parent = n->parent;
		n->parent = NULL;
		g_mutex_unlock(&lock);
		close(n->fd);
		g_free(n->name);
		g_free(n);
		/* Iterate instead of recursing: chains can be as deep as the tree. */
		n = parent;
	}
}

int hx_node_clunk(uint64_t id)
{
	struct hx_node *n;

	g_mutex_lock(&lock);
	n = g_hash_table_lookup(by_id, &id);
	if (n) {
		g_hash_table_remove(by_id, &id);
		n->published = false;
		published--;
	}
	g_mutex_unlock(&lock);
	if (!n)
		return -ESTALE;
	hx_node_put(n);
	return 0;
}

bool hx_node_where(struct hx_node *n, struct hx_node **parent, char **name)
{
	bool known;

	g_mutex_lock(&lock);
	known = n->parent && n->name;
	*parent = known ? hx_node_ref(n->parent) : NULL;
	*name = known ? g_strdup(n->name) : NULL;
	g_mutex_unlock(&lock);
	return known;
}

/* lock held; the old parents are collected to be released unlocked */
static void forget_name(struct hx_node *n, GPtrArray *drop)
{
	index_del(n);
	if (n->parent)
		g_ptr_array_add(drop, n->parent);
	n->parent = NULL;
	g_free(n->name);
	n->name = NULL;
}

static void drop_all(GPtrArray *drop)
{
	guint i;

	for (i = 0; i < drop->len; i++)
		hx_node_put(drop->pdata[i]);
	g_ptr_array_free(drop, TRUE);
}

void hx_nodes_unlinked(struct hx_node *dir, const char *name)
{
	GPtrArray *drop = g_ptr_array_new();
	char *key = make_key(dir, name);
	GPtrArray *a;

	g_mutex_lock(&lock);
	while ((a = g_hash_table_lookup(by_name, key)) && a->len)
		forget_name(a->pdata[0], drop);
	g_mutex_unlock(&lock);
	g_free(key);
	drop_all(drop);
}

void hx_nodes_renamed(struct hx_node *olddir, const char *oldname,
		      struct hx_node *newdir, const char *newname)
{
	GPtrArray *drop = g_ptr_array_new();
	GPtrArray *moving = g_ptr_array_new();
	char *okey = make_key(olddir, oldname);
	char *nkey = make_key(newdir, newname);
	GPtrArray *a;
	guint i;

	if (strcmp(okey, nkey) == 0)
		goto out;
	g_mutex_lock(&lock);
	/* Whatever had the new name was replaced by the rename. */
	while ((a = g_hash_table_lookup(by_name, nkey)) && a->len)
		forget_name(a->pdata[0], drop);
	a = g_hash_table_lookup(by_name, okey);
	if (a) {
		for (i = 0; i < a->len; i++)
			g_ptr_array_add(moving, a->pdata[i]);
	}
	for (i = 0; i < moving->len; i++) {
		struct hx_node *n = moving->pdata[i];

		forget_name(n, drop);
		n->parent = hx_node_ref(newdir);
		n->name = g_strdup(newname);
		n->depth = newdir->depth == HX_DEPTH_UNKNOWN ? HX_DEPTH_UNKNOWN
							      : newdir->depth + 1;
		index_add(n);
	}
	g_mutex_unlock(&lock);
out:
	g_ptr_array_free(moving, TRUE);
	g_free(okey);
	g_free(nkey);
	drop_all(drop);
}

unsigned hx_nodes_count(void)
{
	unsigned n;

	g_mutex_lock(&lock);
	n = published;
	g_mutex_unlock(&lock);
	return n;
}
