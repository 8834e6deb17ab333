// SPDX-License-Identifier: GPL-2.0-or-later
/* The socket side of the simulated hypervisor (sim-proto.h); see hv.h. */
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
		if (h->len == 0 || data[h->len - 1] != 0 || !(path = hvx_resolve(c->dom, data, NULL))) {
			err = EINVAL;
			break;
		}
		if (h->op == SIM_XS_READ) {
			err = -hvx_op_read(hv, c->dom, h->a[0], path, &val, &vlen);
		} else if (h->op == SIM_XS_MKDIR) {
			err = -hvx_op_write(hv, c->dom, h->a[0], path, "", 0, true);
		} else if (h->op == SIM_XS_RM) {
			err = -hvx_op_rm(hv, c->dom, h->a[0], path);
		} else {
			struct tx *t = h->a[0] ? hvx_get_tx(hv, h->a[0], c->dom) : NULL;
			struct node *n = h->a[0] && !t ? NULL : hvx_lookup(t ? t->root : hv->root, path);

			if (!n) {
				err = ENOENT;
			} else if (!(hvx_perm_of(n, c->dom) & PERM_R)) {
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
		if (!split2(data, h->len, &p1, &p2, &l2) || !(path = hvx_resolve(c->dom, p1, NULL)))
			err = EINVAL;
		else
			err = -hvx_op_write(hv, c->dom, h->a[0], path, p2, l2, false);
		break;
	case SIM_XS_SET_PERMS: {
		struct tx *t = h->a[0] ? hvx_get_tx(hv, h->a[0], c->dom) : NULL;

		if (!split2(data, h->len, &p1, &p2, &l2) || l2 != h->a[1] * sizeof(struct perm) ||
		    !(path = hvx_resolve(c->dom, p1, NULL)) || (h->a[0] && !t)) {
			err = EINVAL;
			break;
		}
		err = -hvx_do_set_perms(t ? t->root : hv->root, c->dom, path,
				    (const struct perm *)p2, h->a[1]);
		if (!err) {
			if (t)
				g_ptr_array_add(t->changed, g_strdup(path));
			else
				hvx_changed(hv, path, false);
		}
		break;
	}
	case SIM_XS_WATCH:
	case SIM_XS_UNWATCH: {
		bool rel;

		if (!split2(data, h->len, &p1, &p2, &l2) || !l2 || p2[l2 - 1] != 0 ||
		    !(path = hvx_resolve(c->dom, p1, &rel))) {
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
			hvx_send_event(w, path);
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
		ra[0] = hvx_op_tx_start(hv, c->dom, c);
		break;
	case SIM_XS_TX_END:
		err = -hvx_op_tx_end(hv, c->dom, h->a[0], h->a[1] != 0);
		break;
	case SIM_XS_INTRODUCED: {
		struct dom *d = hvx_get_dom(hv, h->a[0]);

		ra[1] = d && d->alive;
		break;
	}
	case SIM_GNT_MAP: {
		struct dom *d = hvx_get_dom(hv, h->a[0]);
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
		struct dom *d = hvx_get_dom(hv, h->a[0]);
		struct chan *ch = d ? g_hash_table_lookup(d->chans, GUINT_TO_POINTER(h->a[1])) : NULL;
		struct dom *self = hvx_dom_get_or_new(hv, c->dom);
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
			hvx_tx_free(v);
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

gpointer hvx_accept_thread(gpointer p)
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
