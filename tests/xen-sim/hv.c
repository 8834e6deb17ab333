// SPDX-License-Identifier: GPL-2.0-or-later
/* The simulated hypervisor: life cycle, domains, grants, channels; see hv.h. */
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

struct dom *hvx_get_dom(struct hv *hv, unsigned id)
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

struct dom *hvx_dom_get_or_new(struct hv *hv, unsigned id)
{
	struct dom *d = hvx_get_dom(hv, id);

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
	hv->root = hvx_node_new(NULL);
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
	hv->acceptor = g_thread_new("xensim-accept", hvx_accept_thread, hv);
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
	/* All threads first: a finishing one still looks at the others. */
	for (guint i = 0; i < hv->conns->len; i++)
		g_thread_join(((struct conn *)hv->conns->pdata[i])->thread);
	for (guint i = 0; i < hv->conns->len; i++) {
		struct conn *c = hv->conns->pdata[i];

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
		hvx_tx_free(v);
	g_hash_table_destroy(hv->txs);
	g_hash_table_destroy(hv->doms);
	g_hash_table_destroy(hv->maps);
	for (guint i = 0; i < hv->probes->len; i++) {
		struct probe *p = hv->probes->pdata[i];

		g_free(p->path);
		g_free(p);
	}
	g_ptr_array_free(hv->probes, TRUE);
	hvx_node_free(hv->root);
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
	d = hvx_dom_get_or_new(hv, domid);
	d->alive = true;
	n = hvx_create(hv->root, home, 0);
	g_array_set_size(n->perms, 0);
	g_array_append_val(n->perms, perm);
	hvx_changed(hv, home, false);
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
	hvx_fire(hv, "@introduceDomain", false);
	g_mutex_unlock(&hv->lock);
	g_free(home);
}

void hv_domain_destroy(struct hv *hv, unsigned domid)
{
	char *home = g_strdup_printf("/local/domain/%u", domid);
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = hvx_get_dom(hv, domid);
	if (d)
		d->alive = false;
	if (hvx_do_rm(hv->root, 0, home) == 0)
		hvx_changed(hv, home, true);
	hv->gen++;
	hvx_fire(hv, "@releaseDomain", false);
	g_cond_broadcast(&hv->changed);
	g_mutex_unlock(&hv->lock);
	g_free(home);
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
	d = hvx_dom_get_or_new(hv, dom);
	ref = d->next_ref++;
	g_hash_table_insert(d->grants, GUINT_TO_POINTER(ref), g);
	g_mutex_unlock(&hv->lock);
	return ref;
}

void hv_ungrant(struct hv *hv, unsigned dom, uint32_t ref)
{
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = hvx_get_dom(hv, dom);
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
	d = hvx_dom_get_or_new(hv, dom);
	c->port = d->next_port++;
	g_hash_table_insert(d->chans, GUINT_TO_POINTER(c->port), c);
	g_mutex_unlock(&hv->lock);
	return c->port;
}

void hv_evtchn_close(struct hv *hv, unsigned dom, uint32_t port)
{
	struct dom *d;

	g_mutex_lock(&hv->lock);
	d = hvx_get_dom(hv, dom);
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
	d = hvx_get_dom(hv, dom);
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
