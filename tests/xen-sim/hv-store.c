// SPDX-License-Identifier: GPL-2.0-or-later
/* The simulated XenStore: tree, permissions, watches, transactions; see hv.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv-int.h"

struct node *hvx_node_new(const GArray *perms)
{
	struct node *n = g_new0(struct node, 1);

	n->value = g_strdup("");
	n->perms = g_array_new(FALSE, FALSE, sizeof(struct perm));
	if (perms)
		g_array_append_vals(n->perms, perms->data, perms->len);
	n->kids = g_hash_table_new(g_str_hash, g_str_equal);
	return n;
}

void hvx_node_free(struct node *n)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, n->kids);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_free(k);
		hvx_node_free(v);
	}
	g_hash_table_destroy(n->kids);
	g_array_free(n->perms, TRUE);
	g_free(n->value);
	g_free(n);
}

static struct node *node_clone(const struct node *n)
{
	struct node *c = hvx_node_new(n->perms);
	GHashTableIter it;
	gpointer k, v;

	g_free(c->value);
	c->value = g_memdup2(n->value, n->len + 1);
	c->len = n->len;
	g_hash_table_iter_init(&it, n->kids);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(c->kids, g_strdup(k), node_clone(v));
	return c;
}

static bool path_valid(const char *p)
{
	size_t len = strlen(p);

	if (p[0] == '@')
		return len > 1 && !strchr(p, '/');
	if (p[0] != '/' || len > 3072 || strstr(p, "//"))
		return false;
	if (len > 1 && p[len - 1] == '/')
		return false;
	for (const char *c = p; *c; c++)
		if (!g_ascii_isalnum(*c) && !strchr("/_-@.:", *c))
			return false;
	return true;
}

/* Absolute form of a request path of domain dom; NULL if invalid. */
char *hvx_resolve(unsigned dom, const char *p, bool *relative)
{
	char *abs = (p[0] == '/' || p[0] == '@') ? g_strdup(p)
		  : g_strdup_printf("/local/domain/%u/%s", dom, p);

	if (relative)
		*relative = p[0] != '/' && p[0] != '@';
	if (!path_valid(abs)) {
		g_free(abs);
		return NULL;
	}
	return abs;
}

struct node *hvx_lookup(struct node *root, const char *path)
{
	struct node *n = root;
	char **parts;

	if (strcmp(path, "/") == 0)
		return root;
	parts = g_strsplit(path + 1, "/", -1);
	for (char **p = parts; n && *p; p++)
		n = g_hash_table_lookup(n->kids, *p);
	g_strfreev(parts);
	return n;
}

/* The nearest existing node on the way to path. */
static struct node *nearest(struct node *root, const char *path)
{
	struct node *n = root;
	char **parts = g_strsplit(path + 1, "/", -1);

	for (char **p = parts; *p && **p; p++) {
		struct node *k = g_hash_table_lookup(n->kids, *p);

		if (!k)
			break;
		n = k;
	}
	g_strfreev(parts);
	return n;
}

unsigned hvx_perm_of(const struct node *n, unsigned dom)
{
	const struct perm *p = (const struct perm *)n->perms->data;

	if (dom == 0 || p[0].id == dom)
		return PERM_R | PERM_W;
	for (guint i = 1; i < n->perms->len; i++)
		if (p[i].id == dom)
			return p[i].perm;
	return p[0].perm;
}

/* Creates path (and missing parents) as dom; returns the node. */
struct node *hvx_create(struct node *root, const char *path, unsigned dom)
{
	struct node *n = root;
	char **parts = g_strsplit(path + 1, "/", -1);

	for (char **p = parts; *p && **p; p++) {
		struct node *k = g_hash_table_lookup(n->kids, *p);

		if (!k) {
			k = hvx_node_new(n->perms);
			if (dom != 0)
				((struct perm *)k->perms->data)[0].id = dom;
			g_hash_table_insert(n->kids, g_strdup(*p), k);
		}
		n = k;
	}
	g_strfreev(parts);
	return n;
}

static int do_read(struct node *root, unsigned dom, const char *path, char **val, size_t *len)
{
	struct node *n = hvx_lookup(root, path);

	if (!n)
		return -ENOENT;
	if (!(hvx_perm_of(n, dom) & PERM_R))
		return -EACCES;
	*val = g_memdup2(n->value, n->len + 1);
	*len = n->len;
	return 0;
}

static int do_write(struct node *root, unsigned dom, const char *path, const char *val,
		    size_t len, bool mkdir_only)
{
	struct node *n = hvx_lookup(root, path);

	if (path[0] == '@' || strcmp(path, "/") == 0)
		return -EINVAL;
	if (n) {
		if (!(hvx_perm_of(n, dom) & PERM_W))
			return -EACCES;
		if (mkdir_only)
			return 0;
	} else {
		if (!(hvx_perm_of(nearest(root, path), dom) & PERM_W))
			return -EACCES;
		n = hvx_create(root, path, dom);
		if (mkdir_only)
			return 0;
	}
	g_free(n->value);
	n->value = g_malloc(len + 1);
	memcpy(n->value, val, len);
	n->value[len] = 0;
	n->len = len;
	return 0;
}

int hvx_do_rm(struct node *root, unsigned dom, const char *path)
{
	char *parent, *slash;
	struct node *n = hvx_lookup(root, path), *p;
	gpointer key, val;

	if (!n)
		return -ENOENT;
	if (n == root)
		return -EINVAL;
	if (!(hvx_perm_of(n, dom) & PERM_W))
		return -EACCES;
	parent = g_strdup(path);
	slash = strrchr(parent, '/');
	*slash = 0;
	p = hvx_lookup(root, parent[0] ? parent : "/");
	if (p && g_hash_table_lookup_extended(p->kids, slash + 1, &key, &val)) {
		g_hash_table_remove(p->kids, slash + 1);
		g_free(key);
		hvx_node_free(val);
	}
	g_free(parent);
	return 0;
}

int hvx_do_set_perms(struct node *root, unsigned dom, const char *path,
			const struct perm *perms, unsigned n)
{
	struct node *node = hvx_lookup(root, path);

	if (!node)
		return -ENOENT;
	if (n == 0)
		return -EINVAL;
	if (dom != 0 && ((struct perm *)node->perms->data)[0].id != dom)
		return -EACCES;
	g_array_set_size(node->perms, 0);
	g_array_append_vals(node->perms, perms, n);
	return 0;
}

static bool is_under(const char *path, const char *top)
{
	size_t tl = strlen(top);

	if (strcmp(top, "/") == 0)
		return path[0] == '/';
	return strncmp(path, top, tl) == 0 && (path[tl] == 0 || path[tl] == '/');
}

void hvx_send_event(struct watch *w, const char *path)
{
	struct conn *c = w->conn;
	const char *rel = path;
	char prefix[64];
	struct sim_hdr h = { .op = SIM_EV_WATCH };
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };

	if (!c || c->ev_fd < 0)
		return;
	if (w->relative) {
		snprintf(prefix, sizeof(prefix), "/local/domain/%u/", w->dom);
		if (g_str_has_prefix(path, prefix))
			rel = path + strlen(prefix);
	}
	h.len = (uint32_t)(strlen(rel) + 1 + strlen(w->token) + 1);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)rel;
	iov[1].iov_len = strlen(rel) + 1;
	iov[2].iov_base = w->token;
	iov[2].iov_len = strlen(w->token) + 1;
	if (sendmsg(c->ev_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		g_warning("xensim: dropping watch event %s for domain %u: %s", path, c->dom,
			  g_strerror(errno));
}

void hvx_fire(struct hv *hv, const char *path, bool removed)
{
	for (guint i = 0; i < hv->watches->len; i++) {
		struct watch *w = hv->watches->pdata[i];

		if (is_under(path, w->path) || strcmp(path, w->path) == 0)
			hvx_send_event(w, path);
		else if (removed && path[0] == '/' && is_under(w->path, path))
			hvx_send_event(w, w->path);
	}
}

static void check_probes(struct hv *hv, const char *path)
{
	for (guint i = 0; i < hv->probes->len; i++) {
		struct probe *p = hv->probes->pdata[i];

		if (p->result < 0 && strcmp(p->path, path) == 0) {
			char *dir = g_path_get_dirname(path);
			struct node *n = hvx_lookup(hv->root, dir);

			p->result = n && (hvx_perm_of(n, p->dom) & PERM_W) ? 1 : 0;
			g_free(dir);
		}
	}
}

/* A committed change: wake waiters and tell watchers. */
void hvx_changed(struct hv *hv, const char *path, bool removed)
{
	hv->gen++;
	if (!removed)
		check_probes(hv, path);
	hvx_fire(hv, path, removed);
	g_cond_broadcast(&hv->changed);
}

struct tx *hvx_get_tx(struct hv *hv, uint32_t id, unsigned dom)
{
	struct tx *t = g_hash_table_lookup(hv->txs, GUINT_TO_POINTER(id));

	return t && t->dom == dom ? t : NULL;
}

int hvx_op_read(struct hv *hv, unsigned dom, uint32_t txid, const char *path, char **val,
		   size_t *len)
{
	struct tx *t = NULL;

	if (txid && !(t = hvx_get_tx(hv, txid, dom)))
		return -ENOENT;
	return do_read(t ? t->root : hv->root, dom, path, val, len);
}

int hvx_op_write(struct hv *hv, unsigned dom, uint32_t txid, const char *path,
		    const char *val, size_t len, bool mkdir_only)
{
	struct tx *t = NULL;
	int err;

	if (txid && !(t = hvx_get_tx(hv, txid, dom)))
		return -ENOENT;
	err = do_write(t ? t->root : hv->root, dom, path, val, len, mkdir_only);
	if (err == 0) {
		if (t)
			g_ptr_array_add(t->changed, g_strdup(path));
		else
			hvx_changed(hv, path, false);
	}
	return err;
}

int hvx_op_rm(struct hv *hv, unsigned dom, uint32_t txid, const char *path)
{
	struct tx *t = NULL;
	int err;

	if (txid && !(t = hvx_get_tx(hv, txid, dom)))
		return -ENOENT;
	err = hvx_do_rm(t ? t->root : hv->root, dom, path);
	if (err == 0) {
		if (t)
			g_ptr_array_add(t->removed, g_strdup(path));
		else
			hvx_changed(hv, path, true);
	}
	return err;
}

uint32_t hvx_op_tx_start(struct hv *hv, unsigned dom, struct conn *c)
{
	struct tx *t = g_new0(struct tx, 1);

	t->id = ++hv->next_tx;
	t->dom = dom;
	t->conn = c;
	t->root = node_clone(hv->root);
	t->base = hv->gen;
	t->changed = g_ptr_array_new_with_free_func(g_free);
	t->removed = g_ptr_array_new_with_free_func(g_free);
	g_hash_table_insert(hv->txs, GUINT_TO_POINTER(t->id), t);
	return t->id;
}

void hvx_tx_free(struct tx *t)
{
	if (t->root)
		hvx_node_free(t->root);
	g_ptr_array_free(t->changed, TRUE);
	g_ptr_array_free(t->removed, TRUE);
	g_free(t);
}

int hvx_op_tx_end(struct hv *hv, unsigned dom, uint32_t txid, bool abort)
{
	struct tx *t = hvx_get_tx(hv, txid, dom);

	if (!t)
		return -ENOENT;
	g_hash_table_remove(hv->txs, GUINT_TO_POINTER(txid));
	if (abort) {
		hvx_tx_free(t);
		return 0;
	}
	if (t->base != hv->gen) {
		hvx_tx_free(t);
		return -EAGAIN;
	}
	hvx_node_free(hv->root);
	hv->root = t->root;
	t->root = NULL;
	for (guint i = 0; i < t->removed->len; i++)
		hvx_changed(hv, t->removed->pdata[i], true);
	for (guint i = 0; i < t->changed->len; i++)
		hvx_changed(hv, t->changed->pdata[i], false);
	if (!t->changed->len && !t->removed->len)
		g_cond_broadcast(&hv->changed);
	hvx_tx_free(t);
	return 0;
}

char *hv_read(struct hv *hv, unsigned as, const char *path)
{
	char *v = NULL;
	size_t len;

	g_mutex_lock(&hv->lock);
	if (do_read(hv->root, as, path, &v, &len) < 0)
		v = NULL;
	g_mutex_unlock(&hv->lock);
	return v;
}

bool hv_exists(struct hv *hv, const char *path)
{
	bool r;

	g_mutex_lock(&hv->lock);
	r = hvx_lookup(hv->root, path) != NULL;
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_write(struct hv *hv, unsigned as, const char *path, const char *value)
{
	int r;

	if (!path_valid(path))
		return -EINVAL;
	g_mutex_lock(&hv->lock);
	r = hvx_op_write(hv, as, 0, path, value, strlen(value), false);
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_mkdir(struct hv *hv, unsigned as, const char *path)
{
	int r;

	if (!path_valid(path))
		return -EINVAL;
	g_mutex_lock(&hv->lock);
	r = hvx_op_write(hv, as, 0, path, "", 0, true);
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_rm(struct hv *hv, unsigned as, const char *path)
{
	int r;

	g_mutex_lock(&hv->lock);
	r = hvx_op_rm(hv, as, 0, path);
	g_mutex_unlock(&hv->lock);
	return r;
}

static bool parse_perms(const char *s, GArray *out)
{
	char **v = g_strsplit_set(s, " ,", -1);
	bool ok = true;

	for (char **p = v; *p && ok; p++) {
		struct perm pm;
		char *end;

		if (!**p)
			continue;
		switch (**p) {
		case 'n': pm.perm = 0; break;
		case 'r': pm.perm = PERM_R; break;
		case 'w': pm.perm = PERM_W; break;
		case 'b': pm.perm = PERM_R | PERM_W; break;
		default: ok = false; continue;
		}
		pm.id = (uint32_t)strtoul(*p + 1, &end, 10);
		ok = end != *p + 1 && !*end;
		g_array_append_val(out, pm);
	}
	g_strfreev(v);
	return ok && out->len > 0;
}

int hv_set_perms(struct hv *hv, unsigned as, const char *path, const char *perms)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(struct perm));
	int r = -EINVAL;

	if (parse_perms(perms, a)) {
		g_mutex_lock(&hv->lock);
		r = hvx_do_set_perms(hv->root, as, path, (struct perm *)a->data, a->len);
		if (r == 0)
			hvx_changed(hv, path, false);
		g_mutex_unlock(&hv->lock);
	}
	g_array_free(a, TRUE);
	return r;
}

char *hv_get_perms(struct hv *hv, const char *path)
{
	GString *s = NULL;
	struct node *n;

	g_mutex_lock(&hv->lock);
	n = hvx_lookup(hv->root, path);
	if (n) {
		s = g_string_new(NULL);
		for (guint i = 0; i < n->perms->len; i++) {
			struct perm *p = &g_array_index(n->perms, struct perm, i);

			g_string_append_printf(s, "%s%c%u", i ? " " : "", "nrwb"[p->perm & 3], p->id);
		}
	}
	g_mutex_unlock(&hv->lock);
	return s ? g_string_free(s, FALSE) : NULL;
}

char **hv_list(struct hv *hv, unsigned as, const char *path)
{
	GPtrArray *out = NULL;
	struct node *n;

	g_mutex_lock(&hv->lock);
	n = hvx_lookup(hv->root, path);
	if (n && (hvx_perm_of(n, as) & PERM_R)) {
		GList *keys = g_list_sort(g_hash_table_get_keys(n->kids), (GCompareFunc)strcmp);

		out = g_ptr_array_new();
		for (GList *k = keys; k; k = k->next)
			g_ptr_array_add(out, g_strdup(k->data));
		g_ptr_array_add(out, NULL);
		g_list_free(keys);
	}
	g_mutex_unlock(&hv->lock);
	return out ? (char **)g_ptr_array_free(out, FALSE) : NULL;
}

uint32_t hv_tx_start(struct hv *hv, unsigned as)
{
	uint32_t id;

	g_mutex_lock(&hv->lock);
	id = hvx_op_tx_start(hv, as, NULL);
	g_mutex_unlock(&hv->lock);
	return id;
}

static unsigned tx_dom(struct hv *hv, uint32_t tx)
{
	struct tx *t = g_hash_table_lookup(hv->txs, GUINT_TO_POINTER(tx));

	return t ? t->dom : (unsigned)-1;
}

int hv_tx_write(struct hv *hv, uint32_t tx, const char *path, const char *value)
{
	int r;

	g_mutex_lock(&hv->lock);
	r = hvx_op_write(hv, tx_dom(hv, tx), tx, path, value, strlen(value), false);
	g_mutex_unlock(&hv->lock);
	return r;
}

char *hv_tx_read(struct hv *hv, uint32_t tx, const char *path)
{
	char *v = NULL;
	size_t len;

	g_mutex_lock(&hv->lock);
	if (hvx_op_read(hv, tx_dom(hv, tx), tx, path, &v, &len) < 0)
		v = NULL;
	g_mutex_unlock(&hv->lock);
	return v;
}

int hv_tx_end(struct hv *hv, uint32_t tx, bool abort)
{
	int r;

	g_mutex_lock(&hv->lock);
	r = hvx_op_tx_end(hv, tx_dom(hv, tx), tx, abort);
	g_mutex_unlock(&hv->lock);
	return r;
}

bool hv_wait(struct hv *hv, bool (*pred)(struct hv *hv, void *arg), void *arg, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		uint64_t gen;

		g_mutex_lock(&hv->lock);
		gen = hv->gen;
		g_mutex_unlock(&hv->lock);
		if (pred(hv, arg))
			return true;
		g_mutex_lock(&hv->lock);
		if (hv->gen == gen && !g_cond_wait_until(&hv->changed, &hv->lock, deadline) &&
		    g_get_monotonic_time() >= deadline) {
			g_mutex_unlock(&hv->lock);
			return pred(hv, arg);
		}
		g_mutex_unlock(&hv->lock);
	}
}

struct wait_value {
	const char *path, *value;
};

static bool value_is(struct hv *hv, void *arg)
{
	struct wait_value *w = arg;
	char *v = hv_read(hv, 0, w->path);
	bool ok = w->value ? v && strcmp(v, w->value) == 0 : v == NULL;

	g_free(v);
	return ok;
}

bool hv_wait_value(struct hv *hv, const char *path, const char *value, int timeout_ms)
{
	struct wait_value w = { path, value };

	return hv_wait(hv, value_is, &w, timeout_ms);
}

void hv_poke(struct hv *hv)
{
	g_mutex_lock(&hv->lock);
	hv->gen++;
	g_cond_broadcast(&hv->changed);
	g_mutex_unlock(&hv->lock);
}

void hv_probe_arm(struct hv *hv, const char *path, unsigned dom)
{
	struct probe *p = g_new0(struct probe, 1);

	p->path = g_strdup(path);
	p->dom = dom;
	p->result = -1;
	g_mutex_lock(&hv->lock);
	g_ptr_array_add(hv->probes, p);
	g_mutex_unlock(&hv->lock);
}

int hv_probe_result(struct hv *hv, const char *path)
{
	int r = -1;

	g_mutex_lock(&hv->lock);
	for (guint i = 0; i < hv->probes->len; i++) {
		struct probe *p = hv->probes->pdata[i];

		if (strcmp(p->path, path) == 0)
			r = p->result;
	}
	g_mutex_unlock(&hv->lock);
	return r;
}
