// SPDX-License-Identifier: GPL-2.0-or-later
/* The simulated hypervisor; see hv.h. */
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

#include "hv.h"
#include "sim-proto.h"

#define PERM_R 1u
#define PERM_W 2u

struct perm {
	uint32_t id, perm;
};

struct node {
	char *value;
	size_t len;
	GArray *perms;               /* struct perm, at least one */
	GHashTable *kids;            /* name -> struct node */
};

struct watch {
	struct conn *conn;
	char *path;                  /* absolute or @special */
	char *token;
	bool relative;
	unsigned dom;
};

struct tx {
	uint32_t id;
	unsigned dom;
	struct conn *conn;           /* NULL: in-process */
	struct node *root;           /* private copy */
	uint64_t base;
	GPtrArray *changed;          /* paths, for watches at commit */
	GPtrArray *removed;
};

struct grant {
	int fd;
	uint32_t page;
	unsigned to;
};

struct chan {
	unsigned dom, port, remote;
	int fd_dom, fd_remote;       /* eventfds: dom waits on fd_dom */
	bool bound;
	struct conn *bound_by;
	uint32_t bound_port;
};

struct dom {
	unsigned id;
	bool alive;
	GHashTable *grants;          /* ref -> struct grant */
	uint32_t next_ref;
	GHashTable *chans;           /* port -> struct chan */
	uint32_t next_port;
};

struct mapping {
	uint32_t id;
	struct conn *conn;
	unsigned dom;
	unsigned pages;
};

struct conn {
	struct hv *hv;
	int fd;
	unsigned dom;
	uint32_t id;
	uint32_t role;
	int ev_fd;                   /* rpc: the paired event connection's socket */
	struct conn *rpc;            /* events: the rpc connection */
	GThread *thread;
	bool closed;
};

struct probe {
	char *path;
	unsigned dom;
	int result;
};

struct hv {
	GMutex lock;
	GCond changed;
	uint64_t gen;                /* bumped on every committed change */
	struct node *root;
	GPtrArray *watches;
	GHashTable *txs;             /* id -> struct tx */
	uint32_t next_tx;
	GHashTable *doms;            /* id -> struct dom */
	GHashTable *maps;            /* id -> struct mapping */
	uint32_t next_map;
	GPtrArray *conns;
	uint32_t next_conn;
	GPtrArray *probes;
	char *dir, *sock;
	int lfd;
	GThread *acceptor;
	bool stopping;
};

/* ---- tree --------------------------------------------------------------- */

static struct node *node_new(const GArray *perms)
{
	struct node *n = g_new0(struct node, 1);

	n->value = g_strdup("");
	n->perms = g_array_new(FALSE, FALSE, sizeof(struct perm));
	if (perms)
		g_array_append_vals(n->perms, perms->data, perms->len);
	n->kids = g_hash_table_new(g_str_hash, g_str_equal);
	return n;
}

static void node_free(struct node *n)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, n->kids);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_free(k);
		node_free(v);
	}
	g_hash_table_destroy(n->kids);
	g_array_free(n->perms, TRUE);
	g_free(n->value);
	g_free(n);
}

static struct node *node_clone(const struct node *n)
{
	struct node *c = node_new(n->perms);
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
static char *resolve(unsigned dom, const char *p, bool *relative)
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

static struct node *lookup(struct node *root, const char *path)
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

static unsigned perm_of(const struct node *n, unsigned dom)
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
static struct node *create(struct node *root, const char *path, unsigned dom)
{
	struct node *n = root;
	char **parts = g_strsplit(path + 1, "/", -1);

	for (char **p = parts; *p && **p; p++) {
		struct node *k = g_hash_table_lookup(n->kids, *p);

		if (!k) {
			k = node_new(n->perms);
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
	struct node *n = lookup(root, path);

	if (!n)
		return -ENOENT;
	if (!(perm_of(n, dom) & PERM_R))
		return -EACCES;
	*val = g_memdup2(n->value, n->len + 1);
	*len = n->len;
	return 0;
}

static int do_write(struct node *root, unsigned dom, const char *path, const char *val,
		    size_t len, bool mkdir_only)
{
	struct node *n = lookup(root, path);

	if (path[0] == '@' || strcmp(path, "/") == 0)
		return -EINVAL;
	if (n) {
		if (!(perm_of(n, dom) & PERM_W))
			return -EACCES;
		if (mkdir_only)
			return 0;
	} else {
		if (!(perm_of(nearest(root, path), dom) & PERM_W))
			return -EACCES;
		n = create(root, path, dom);
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

static int do_rm(struct node *root, unsigned dom, const char *path)
{
	char *parent, *slash;
	struct node *n = lookup(root, path), *p;
	gpointer key, val;

	if (!n)
		return -ENOENT;
	if (n == root)
		return -EINVAL;
	if (!(perm_of(n, dom) & PERM_W))
		return -EACCES;
	parent = g_strdup(path);
	slash = strrchr(parent, '/');
	*slash = 0;
	p = lookup(root, parent[0] ? parent : "/");
	if (p && g_hash_table_lookup_extended(p->kids, slash + 1, &key, &val)) {
		g_hash_table_remove(p->kids, slash + 1);
		g_free(key);
		node_free(val);
	}
	g_free(parent);
	return 0;
}

static int do_set_perms(struct node *root, unsigned dom, const char *path,
			const struct perm *perms, unsigned n)
{
	struct node *node = lookup(root, path);

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

/* ---- watches ------------------------------------------------------------ */

static bool is_under(const char *path, const char *top)
{
	size_t tl = strlen(top);

	if (strcmp(top, "/") == 0)
		return path[0] == '/';
	return strncmp(path, top, tl) == 0 && (path[tl] == 0 || path[tl] == '/');
}

static void send_event(struct watch *w, const char *path)
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

static void fire(struct hv *hv, const char *path, bool removed)
{
	for (guint i = 0; i < hv->watches->len; i++) {
		struct watch *w = hv->watches->pdata[i];

		if (is_under(path, w->path) || strcmp(path, w->path) == 0)
			send_event(w, path);
		else if (removed && path[0] == '/' && is_under(w->path, path))
			send_event(w, w->path);
	}
}

static void check_probes(struct hv *hv, const char *path)
{
	for (guint i = 0; i < hv->probes->len; i++) {
		struct probe *p = hv->probes->pdata[i];

		if (p->result < 0 && strcmp(p->path, path) == 0) {
			char *dir = g_path_get_dirname(path);
			struct node *n = lookup(hv->root, dir);

			p->result = n && (perm_of(n, p->dom) & PERM_W) ? 1 : 0;
			g_free(dir);
		}
	}
}

/* A committed change: wake waiters and tell watchers. */
static void changed(struct hv *hv, const char *path, bool removed)
{
	hv->gen++;
	if (!removed)
		check_probes(hv, path);
	fire(hv, path, removed);
	g_cond_broadcast(&hv->changed);
}

/* ---- operations shared by the socket and in-process paths -------------- */

static struct tx *get_tx(struct hv *hv, uint32_t id, unsigned dom)
{
	struct tx *t = g_hash_table_lookup(hv->txs, GUINT_TO_POINTER(id));

	return t && t->dom == dom ? t : NULL;
}

static int op_read(struct hv *hv, unsigned dom, uint32_t txid, const char *path, char **val,
		   size_t *len)
{
	struct tx *t = NULL;

	if (txid && !(t = get_tx(hv, txid, dom)))
		return -ENOENT;
	return do_read(t ? t->root : hv->root, dom, path, val, len);
}

static int op_write(struct hv *hv, unsigned dom, uint32_t txid, const char *path,
		    const char *val, size_t len, bool mkdir_only)
{
	struct tx *t = NULL;
	int err;

	if (txid && !(t = get_tx(hv, txid, dom)))
		return -ENOENT;
	err = do_write(t ? t->root : hv->root, dom, path, val, len, mkdir_only);
	if (err == 0) {
		if (t)
			g_ptr_array_add(t->changed, g_strdup(path));
		else
			changed(hv, path, false);
	}
	return err;
}

static int op_rm(struct hv *hv, unsigned dom, uint32_t txid, const char *path)
{
	struct tx *t = NULL;
	int err;

	if (txid && !(t = get_tx(hv, txid, dom)))
		return -ENOENT;
	err = do_rm(t ? t->root : hv->root, dom, path);
	if (err == 0) {
		if (t)
			g_ptr_array_add(t->removed, g_strdup(path));
		else
			changed(hv, path, true);
	}
	return err;
}

static uint32_t op_tx_start(struct hv *hv, unsigned dom, struct conn *c)
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

static void tx_free(struct tx *t)
{
	if (t->root)
		node_free(t->root);
	g_ptr_array_free(t->changed, TRUE);
	g_ptr_array_free(t->removed, TRUE);
	g_free(t);
}

static int op_tx_end(struct hv *hv, unsigned dom, uint32_t txid, bool abort)
{
	struct tx *t = get_tx(hv, txid, dom);

	if (!t)
		return -ENOENT;
	g_hash_table_remove(hv->txs, GUINT_TO_POINTER(txid));
	if (abort) {
		tx_free(t);
		return 0;
	}
	if (t->base != hv->gen) {
		tx_free(t);
		return -EAGAIN;
	}
	node_free(hv->root);
	hv->root = t->root;
	t->root = NULL;
	for (guint i = 0; i < t->removed->len; i++)
		changed(hv, t->removed->pdata[i], true);
	for (guint i = 0; i < t->changed->len; i++)
		changed(hv, t->changed->pdata[i], false);
	if (!t->changed->len && !t->removed->len)
		g_cond_broadcast(&hv->changed);
	tx_free(t);
	return 0;
}

static struct dom *get_dom(struct hv *hv, unsigned id)
{
	return g_hash_table_lookup(hv->doms, GUINT_TO_POINTER(id));
}

static void chan_free(gpointer p)
{
	struct chan *c = p;

	close(c->fd_dom);
	close(c->fd_remote);
	g_free(c);
}

static void grant_free(gpointer p)
{
	struct grant *g = p;

	close(g->fd);
	g_free(g);
}

static struct dom *dom_get_or_new(struct hv *hv, unsigned id)
{
	struct dom *d = get_dom(hv, id);

	if (!d) {
		d = g_new0(struct dom, 1);
		d->id = id;
		d->grants = g_hash_table_new_full(NULL, NULL, NULL, grant_free);
		d->chans = g_hash_table_new_full(NULL, NULL, NULL, chan_free);
		d->next_ref = 8;         /* like Linux: a few low refs are reserved */
		d->next_port = 1;
		g_hash_table_insert(hv->doms, GUINT_TO_POINTER(id), d);
	}
	return d;
}

/* ---- socket side ------------------------------------------------------- */

static void reply(struct conn *c, uint32_t op, int err, const uint32_t a[4], const void *data,
		  size_t len, const int *fds, int nfds)
{
	struct sim_hdr h = { .op = op, .err = err, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * SIM_MAX_FDS)];
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (a)
		memcpy(h.a, a, sizeof(h.a));
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		g_warning("xensim: reply to domain %u failed: %s", c->dom, g_strerror(errno));
}

static struct conn *find_conn(struct hv *hv, uint32_t id)
{
	for (guint i = 0; i < hv->conns->len; i++) {
		struct conn *c = hv->conns->pdata[i];

		if (c->id == id && c->role == SIM_ROLE_RPC && !c->closed)
			return c;
	}
	return NULL;
}

/* Splits "a NUL b" data; b may be empty. */
static bool split2(const char *data, size_t len, const char **a, const char **b, size_t *blen)
{
	size_t al = strnlen(data, len);

	if (al == len)
		return false;
	*a = data;
	*b = data + al + 1;
	*blen = len - al - 1;
	return true;
}

static void handle(struct hv *hv, struct conn *c, const struct sim_hdr *h, const char *data,
		   int *fds, int nfds)
{
	uint32_t ra[4] = { 0 };
	char *path = NULL, *val = NULL;
	const char *p1, *p2;
	size_t vlen = 0, l2;
	int err = 0;

	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	switch (h->op) {
	case SIM_XS_READ:
	case SIM_XS_MKDIR:
	case SIM_XS_RM:
	case SIM_XS_DIRECTORY:
	case SIM_XS_GET_PERMS:
		if (h->len == 0 || data[h->len - 1] != 0 || !(path = resolve(c->dom, data, NULL))) {
			err = EINVAL;
			break;
		}
		if (h->op == SIM_XS_READ) {
			err = -op_read(hv, c->dom, h->a[0], path, &val, &vlen);
		} else if (h->op == SIM_XS_MKDIR) {
			err = -op_write(hv, c->dom, h->a[0], path, "", 0, true);
		} else if (h->op == SIM_XS_RM) {
			err = -op_rm(hv, c->dom, h->a[0], path);
		} else {
			struct tx *t = h->a[0] ? get_tx(hv, h->a[0], c->dom) : NULL;
			struct node *n = h->a[0] && !t ? NULL : lookup(t ? t->root : hv->root, path);

			if (!n) {
				err = ENOENT;
			} else if (!(perm_of(n, c->dom) & PERM_R)) {
				err = EACCES;
			} else if (h->op == SIM_XS_DIRECTORY) {
				GString *s = g_string_new(NULL);
				GList *keys = g_list_sort(g_hash_table_get_keys(n->kids),
							  (GCompareFunc)strcmp);

				for (GList *k = keys; k; k = k->next)
					g_string_append_len(s, k->data, (gssize)strlen(k->data) + 1);
				ra[1] = g_list_length(keys);
				g_list_free(keys);
				vlen = s->len;
				val = g_string_free(s, FALSE);
			} else {
				ra[1] = n->perms->len;
				vlen = n->perms->len * sizeof(struct perm);
				val = g_memdup2(n->perms->data, vlen);
			}
		}
		break;
	case SIM_XS_WRITE:
		if (!split2(data, h->len, &p1, &p2, &l2) || !(path = resolve(c->dom, p1, NULL)))
			err = EINVAL;
		else
			err = -op_write(hv, c->dom, h->a[0], path, p2, l2, false);
		break;
	case SIM_XS_SET_PERMS: {
		struct tx *t = h->a[0] ? get_tx(hv, h->a[0], c->dom) : NULL;

		if (!split2(data, h->len, &p1, &p2, &l2) || l2 != h->a[1] * sizeof(struct perm) ||
		    !(path = resolve(c->dom, p1, NULL)) || (h->a[0] && !t)) {
			err = EINVAL;
			break;
		}
		err = -do_set_perms(t ? t->root : hv->root, c->dom, path,
				    (const struct perm *)p2, h->a[1]);
		if (!err) {
			if (t)
				g_ptr_array_add(t->changed, g_strdup(path));
			else
				changed(hv, path, false);
		}
		break;
	}
	case SIM_XS_WATCH:
	case SIM_XS_UNWATCH: {
		bool rel;

		if (!split2(data, h->len, &p1, &p2, &l2) || !l2 || p2[l2 - 1] != 0 ||
		    !(path = resolve(c->dom, p1, &rel))) {
			err = EINVAL;
			break;
		}
		if (h->op == SIM_XS_WATCH) {
			struct watch *w = g_new0(struct watch, 1);

			w->conn = c;
			w->path = g_strdup(path);
			w->token = g_strdup(p2);
			w->relative = rel;
			w->dom = c->dom;
			g_ptr_array_add(hv->watches, w);
			reply(c, h->op, 0, ra, NULL, 0, NULL, 0);
			/* Like xenstored: the watch fires once right away. */
			send_event(w, path);
			g_free(path);
			return;
		}
		err = ENOENT;
		for (guint i = 0; i < hv->watches->len; i++) {
			struct watch *w = hv->watches->pdata[i];

			if (w->conn == c && strcmp(w->path, path) == 0 &&
			    strcmp(w->token, p2) == 0) {
				g_ptr_array_remove_index(hv->watches, i);
				g_free(w->path);
				g_free(w->token);
				g_free(w);
				err = 0;
				break;
			}
		}
		break;
	}
	case SIM_XS_TX_START:
		ra[0] = op_tx_start(hv, c->dom, c);
		break;
	case SIM_XS_TX_END:
		err = -op_tx_end(hv, c->dom, h->a[0], h->a[1] != 0);
		break;
	case SIM_XS_INTRODUCED: {
		struct dom *d = get_dom(hv, h->a[0]);

		ra[1] = d && d->alive;
		break;
	}
	case SIM_GNT_MAP: {
		struct dom *d = get_dom(hv, h->a[0]);
		uint32_t n = h->a[1];
		int out[SIM_MAX_FDS], nout = 0;
		struct sim_gnt_page *pages;
		const uint32_t *refs = (const uint32_t *)data;

		if (!d || n == 0 || h->len != n * sizeof(uint32_t)) {
			err = d ? EINVAL : ESRCH;
			break;
		}
		pages = g_new0(struct sim_gnt_page, n);
		for (uint32_t i = 0; i < n && !err; i++) {
			struct grant *g = g_hash_table_lookup(d->grants, GUINT_TO_POINTER(refs[i]));
			int k;

			if (!g || g->to != c->dom) {
				err = EINVAL;   /* GNTST_bad_gntref */
				break;
			}
			for (k = 0; k < nout; k++) {
				struct stat a, b;

				if (fstat(out[k], &a) == 0 && fstat(g->fd, &b) == 0 &&
				    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
					break;
			}
			if (k == nout) {
				if (nout == SIM_MAX_FDS) {
					err = E2BIG;
					break;
				}
				out[nout++] = g->fd;
			}
			pages[i].fd_index = (uint32_t)k;
			pages[i].page = g->page;
		}
		if (!err) {
			struct mapping *m = g_new0(struct mapping, 1);

			m->id = ++hv->next_map;
			m->conn = c;
			m->dom = d->id;
			m->pages = n;
			g_hash_table_insert(hv->maps, GUINT_TO_POINTER(m->id), m);
			ra[0] = m->id;
			reply(c, h->op, 0, ra, pages, n * sizeof(*pages), out, nout);
			g_free(pages);
			g_cond_broadcast(&hv->changed);
			return;
		}
		g_free(pages);
		break;
	}
	case SIM_GNT_UNMAP: {
		struct mapping *m = g_hash_table_lookup(hv->maps, GUINT_TO_POINTER(h->a[0]));

		if (!m || m->conn != c) {
			err = EINVAL;
			break;
		}
		g_hash_table_remove(hv->maps, GUINT_TO_POINTER(h->a[0]));
		g_cond_broadcast(&hv->changed);
		break;
	}
	case SIM_EVT_BIND: {
		struct dom *d = get_dom(hv, h->a[0]);
		struct chan *ch = d ? g_hash_table_lookup(d->chans, GUINT_TO_POINTER(h->a[1])) : NULL;
		struct dom *self = dom_get_or_new(hv, c->dom);
		int out[2];

		if (!ch || ch->remote != c->dom || ch->bound || !d->alive) {
			err = !ch ? ENOENT : EINVAL;
			break;
		}
		ch->bound = true;
		ch->bound_by = c;
		ch->bound_port = self->next_port++;
		ra[0] = ch->bound_port;
		out[0] = ch->fd_remote;
		out[1] = ch->fd_dom;
		reply(c, h->op, 0, ra, NULL, 0, out, 2);
		g_cond_broadcast(&hv->changed);
		return;
	}
	case SIM_EVT_UNBIND: {
		GHashTableIter it;
		gpointer k, v;

		err = EINVAL;
		g_hash_table_iter_init(&it, hv->doms);
		while (err && g_hash_table_iter_next(&it, &k, &v)) {
			GHashTableIter ic;
			gpointer ck, cv;

			g_hash_table_iter_init(&ic, ((struct dom *)v)->chans);
			while (g_hash_table_iter_next(&ic, &ck, &cv)) {
				struct chan *ch = cv;

				if (ch->bound && ch->bound_by == c && ch->bound_port == h->a[0]) {
					ch->bound = false;
					ch->bound_by = NULL;
					err = 0;
					break;
				}
			}
		}
		g_cond_broadcast(&hv->changed);
		break;
	}
	default:
		err = ENOSYS;
		break;
	}
	reply(c, h->op, err, ra, val, vlen, NULL, 0);
	g_free(val);
	g_free(path);
}

/* Everything a closed connection held goes, as when a process dies. */
static void conn_gone(struct hv *hv, struct conn *c)
{
	GHashTableIter it;
	gpointer k, v;

	c->closed = true;
	for (guint i = 0; i < hv->watches->len;) {
		struct watch *w = hv->watches->pdata[i];

		if (w->conn == c) {
			g_ptr_array_remove_index(hv->watches, i);
			g_free(w->path);
			g_free(w->token);
			g_free(w);
		} else {
			i++;
		}
	}
	g_hash_table_iter_init(&it, hv->txs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (((struct tx *)v)->conn == c) {
			tx_free(v);
			g_hash_table_iter_remove(&it);
		}
	}
	g_hash_table_iter_init(&it, hv->maps);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (((struct mapping *)v)->conn == c)
			g_hash_table_iter_remove(&it);
	g_hash_table_iter_init(&it, hv->doms);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		GHashTableIter ic;
		gpointer ck, cv;

		g_hash_table_iter_init(&ic, ((struct dom *)v)->chans);
		while (g_hash_table_iter_next(&ic, &ck, &cv)) {
			struct chan *ch = cv;

			if (ch->bound_by == c) {
				ch->bound = false;
				ch->bound_by = NULL;
			}
		}
	}
	if (c->role == SIM_ROLE_EVENTS && c->rpc) {
		c->rpc->ev_fd = -1;
	}
	for (guint i = 0; i < hv->conns->len; i++) {
		struct conn *o = hv->conns->pdata[i];

		if (o->rpc == c)
			o->rpc = NULL;
	}
	g_cond_broadcast(&hv->changed);
}

static int recv_msg(int fd, struct sim_hdr *h, char *buf, int *fds, int *nfds)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * SIM_MAX_FDS)];
	} cbuf;
	struct iovec iov = { buf, SIM_MAX_MSG };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			memcpy(fds + *nfds, CMSG_DATA(cm), sizeof(int) * (size_t)k);
			*nfds += k;
		}
	}
	if ((size_t)n < sizeof(*h))
		return -1;
	memcpy(h, buf, sizeof(*h));
	if (h->len != (size_t)n - sizeof(*h))
		return -1;
	memmove(buf, buf + sizeof(*h), h->len);
	buf[h->len] = 0;
	return 0;
}

static gpointer conn_thread(gpointer p)
{
	struct conn *c = p;
	struct hv *hv = c->hv;
	char *buf = g_malloc(SIM_MAX_MSG + 1);
	struct sim_hdr h;
	int fds[SIM_MAX_FDS * 2], nfds;
	bool hello = false;

	while (recv_msg(c->fd, &h, buf, fds, &nfds) == 0) {
		g_mutex_lock(&hv->lock);
		if (!hello) {
			uint32_t ra[4] = { 0 };

			if (h.op != SIM_HELLO) {
				g_mutex_unlock(&hv->lock);
				break;
			}
			hello = true;
			c->dom = h.a[0];
			c->role = h.a[1];
			c->id = ++hv->next_conn;
			if (c->role == SIM_ROLE_EVENTS) {
				struct conn *rpc = find_conn(hv, h.a[2]);

				if (rpc) {
					rpc->ev_fd = c->fd;
					c->rpc = rpc;
				}
			}
			ra[0] = c->id;
			reply(c, SIM_HELLO, 0, ra, NULL, 0, NULL, 0);
		} else {
			handle(hv, c, &h, buf, fds, nfds);
		}
		g_mutex_unlock(&hv->lock);
	}
	g_mutex_lock(&hv->lock);
	conn_gone(hv, c);
	g_mutex_unlock(&hv->lock);
	g_free(buf);
	return NULL;
}

static gpointer accept_thread(gpointer p)
{
	struct hv *hv = p;

	for (;;) {
		int fd = accept4(hv->lfd, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;
		int sz = 4 << 20;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		g_mutex_lock(&hv->lock);
		if (hv->stopping) {
			g_mutex_unlock(&hv->lock);
			close(fd);
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		c = g_new0(struct conn, 1);
		c->hv = hv;
		c->fd = fd;
		c->ev_fd = -1;
		g_ptr_array_add(hv->conns, c);
		c->thread = g_thread_new("xensim-conn", conn_thread, c);
		g_mutex_unlock(&hv->lock);
	}
	return NULL;
}

/* ---- public API --------------------------------------------------------- */

static void dom_free(gpointer p)
{
	struct dom *d = p;

	g_hash_table_destroy(d->grants);
	g_hash_table_destroy(d->chans);
	g_free(d);
}

struct hv *hv_new(void)
{
	struct hv *hv = g_new0(struct hv, 1);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct perm p0 = { 0, 0 };

	g_mutex_init(&hv->lock);
	g_cond_init(&hv->changed);
	hv->root = node_new(NULL);
	g_array_append_val(hv->root->perms, p0);
	hv->watches = g_ptr_array_new();
	hv->txs = g_hash_table_new(NULL, NULL);
	hv->doms = g_hash_table_new_full(NULL, NULL, NULL, dom_free);
	hv->maps = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	hv->conns = g_ptr_array_new();
	hv->probes = g_ptr_array_new();
	hv->dir = g_dir_make_tmp("x9p-xensim-XXXXXX", NULL);
	g_assert(hv->dir);
	hv->sock = g_build_filename(hv->dir, "hv.sock", NULL);
	g_assert(strlen(hv->sock) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, hv->sock);
	hv->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	g_assert(hv->lfd >= 0);
	g_assert(bind(hv->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	g_assert(listen(hv->lfd, 64) == 0);
	hv->acceptor = g_thread_new("xensim-accept", accept_thread, hv);
	hv_domain_create(hv, 0, "Domain-0");
	return hv;
}

const char *hv_sock_path(struct hv *hv)
{
	return hv->sock;
}

void hv_free(struct hv *hv)
{
	GHashTableIter it;
	gpointer k, v;

	g_mutex_lock(&hv->lock);
	hv->stopping = true;
	g_mutex_unlock(&hv->lock);
	shutdown(hv->lfd, SHUT_RDWR);
	{
		/* Wake accept(): connect once. */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, hv->sock);
		connect(s, (struct sockaddr *)&sa, sizeof(sa));
		close(s);
	}
	g_thread_join(hv->acceptor);
	close(hv->lfd);
	g_mutex_lock(&hv->lock);
	for (guint i = 0; i < hv->conns->len; i++)
		shutdown(((struct conn *)hv->conns->pdata[i])->fd, SHUT_RDWR);
	g_mutex_unlock(&hv->lock);
	for (guint i = 0; i < hv->conns->len; i++) {
		struct conn *c = hv->conns->pdata[i];

		g_thread_join(c->thread);
		close(c->fd);
		g_free(c);
	}
	g_ptr_array_free(hv->conns, TRUE);
	for (guint i = 0; i < hv->watches->len; i++) {
		struct watch *w = hv->watches->pdata[i];

		g_free(w->path);
		g_free(w->token);
		g_free(w);
	}
	g_ptr_array_free(hv->watches, TRUE);
	g_hash_table_iter_init(&it, hv->txs);
	while (g_hash_table_iter_next(&it, &k, &v))
		tx_free(v);
	g_hash_table_destroy(hv->txs);
	g_hash_table_destroy(hv->doms);
	g_hash_table_destroy(hv->maps);
	for (guint i = 0; i < hv->probes->len; i++) {
		struct probe *p = hv->probes->pdata[i];

		g_free(p->path);
		g_free(p);
	}
	g_ptr_array_free(hv->probes, TRUE);
	node_free(hv->root);
	unlink(hv->sock);
	rmdir(hv->dir);
	g_free(hv->sock);
	g_free(hv->dir);
	g_mutex_clear(&hv->lock);
	g_cond_clear(&hv->changed);
	g_free(hv);
}

void hv_domain_create(struct hv *hv, unsigned domid, const char *name)
{
	char *home = g_strdup_printf("/local/domain/%u", domid);
	char *p;
	struct node *n;
	struct perm perm = { domid, 0 };
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = dom_get_or_new(hv, domid);
	d->alive = true;
	n = create(hv->root, home, 0);
	g_array_set_size(n->perms, 0);
	g_array_append_val(n->perms, perm);
	changed(hv, home, false);
	g_mutex_unlock(&hv->lock);
	p = g_strdup_printf("%s/domid", home);
	{
		char *v = g_strdup_printf("%u", domid);

		hv_write(hv, 0, p, v);
		g_free(v);
	}
	g_free(p);
	p = g_strdup_printf("%s/name", home);
	hv_write(hv, 0, p, name);
	g_free(p);
	g_mutex_lock(&hv->lock);
	fire(hv, "@introduceDomain", false);
	g_mutex_unlock(&hv->lock);
	g_free(home);
}

void hv_domain_destroy(struct hv *hv, unsigned domid)
{
	char *home = g_strdup_printf("/local/domain/%u", domid);
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = get_dom(hv, domid);
	if (d)
		d->alive = false;
	if (do_rm(hv->root, 0, home) == 0)
		changed(hv, home, true);
	hv->gen++;
	fire(hv, "@releaseDomain", false);
	g_cond_broadcast(&hv->changed);
	g_mutex_unlock(&hv->lock);
	g_free(home);
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
	r = lookup(hv->root, path) != NULL;
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_write(struct hv *hv, unsigned as, const char *path, const char *value)
{
	int r;

	if (!path_valid(path))
		return -EINVAL;
	g_mutex_lock(&hv->lock);
	r = op_write(hv, as, 0, path, value, strlen(value), false);
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_mkdir(struct hv *hv, unsigned as, const char *path)
{
	int r;

	if (!path_valid(path))
		return -EINVAL;
	g_mutex_lock(&hv->lock);
	r = op_write(hv, as, 0, path, "", 0, true);
	g_mutex_unlock(&hv->lock);
	return r;
}

int hv_rm(struct hv *hv, unsigned as, const char *path)
{
	int r;

	g_mutex_lock(&hv->lock);
	r = op_rm(hv, as, 0, path);
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
		r = do_set_perms(hv->root, as, path, (struct perm *)a->data, a->len);
		if (r == 0)
			changed(hv, path, false);
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
	n = lookup(hv->root, path);
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
	n = lookup(hv->root, path);
	if (n && (perm_of(n, as) & PERM_R)) {
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
	id = op_tx_start(hv, as, NULL);
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
	r = op_write(hv, tx_dom(hv, tx), tx, path, value, strlen(value), false);
	g_mutex_unlock(&hv->lock);
	return r;
}

char *hv_tx_read(struct hv *hv, uint32_t tx, const char *path)
{
	char *v = NULL;
	size_t len;

	g_mutex_lock(&hv->lock);
	if (op_read(hv, tx_dom(hv, tx), tx, path, &v, &len) < 0)
		v = NULL;
	g_mutex_unlock(&hv->lock);
	return v;
}

int hv_tx_end(struct hv *hv, uint32_t tx, bool abort)
{
	int r;

	g_mutex_lock(&hv->lock);
	r = op_tx_end(hv, tx_dom(hv, tx), tx, abort);
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

uint32_t hv_grant(struct hv *hv, unsigned dom, unsigned to, int memfd, uint32_t page)
{
	struct grant *g = g_new0(struct grant, 1);
	struct dom *d;
	uint32_t ref;

	g->fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
	g->page = page;
	g->to = to;
	g_mutex_lock(&hv->lock);
	d = dom_get_or_new(hv, dom);
	ref = d->next_ref++;
	g_hash_table_insert(d->grants, GUINT_TO_POINTER(ref), g);
	g_mutex_unlock(&hv->lock);
	return ref;
}

void hv_ungrant(struct hv *hv, unsigned dom, uint32_t ref)
{
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = get_dom(hv, dom);
	if (d)
		g_hash_table_remove(d->grants, GUINT_TO_POINTER(ref));
	g_mutex_unlock(&hv->lock);
}

unsigned hv_mapped_pages(struct hv *hv, unsigned dom)
{
	GHashTableIter it;
	gpointer k, v;
	unsigned n = 0;

	g_mutex_lock(&hv->lock);
	g_hash_table_iter_init(&it, hv->maps);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (((struct mapping *)v)->dom == dom)
			n += ((struct mapping *)v)->pages;
	g_mutex_unlock(&hv->lock);
	return n;
}

uint32_t hv_evtchn_alloc(struct hv *hv, unsigned dom, unsigned remote, int *wait_fd,
			 int *kick_fd)
{
	struct chan *c = g_new0(struct chan, 1);
	struct dom *d;

	c->dom = dom;
	c->remote = remote;
	c->fd_dom = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->fd_remote = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g_assert(c->fd_dom >= 0 && c->fd_remote >= 0);
	*wait_fd = fcntl(c->fd_dom, F_DUPFD_CLOEXEC, 0);
	*kick_fd = fcntl(c->fd_remote, F_DUPFD_CLOEXEC, 0);
	g_mutex_lock(&hv->lock);
	d = dom_get_or_new(hv, dom);
	c->port = d->next_port++;
	g_hash_table_insert(d->chans, GUINT_TO_POINTER(c->port), c);
	g_mutex_unlock(&hv->lock);
	return c->port;
}

void hv_evtchn_close(struct hv *hv, unsigned dom, uint32_t port)
{
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = get_dom(hv, dom);
	if (d)
		g_hash_table_remove(d->chans, GUINT_TO_POINTER(port));
	g_mutex_unlock(&hv->lock);
}

unsigned hv_bound_channels(struct hv *hv, unsigned dom)
{
	GHashTableIter it;
	gpointer k, v;
	unsigned n = 0;
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = get_dom(hv, dom);
	if (d) {
		g_hash_table_iter_init(&it, d->chans);
		while (g_hash_table_iter_next(&it, &k, &v))
			n += ((struct chan *)v)->bound;
	}
	g_mutex_unlock(&hv->lock);
	return n;
}

unsigned hv_connections(struct hv *hv)
{
	unsigned n = 0;

	g_mutex_lock(&hv->lock);
	for (guint i = 0; i < hv->conns->len; i++)
		n += !((struct conn *)hv->conns->pdata[i])->closed;
	g_mutex_unlock(&hv->lock);
	return n;
}
