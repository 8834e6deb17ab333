/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listeners in the main loop, accepting, and reaping finished connections. */
#define G_LOG_DOMAIN "x9p-socket"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "journal/journal.h"
#include "socket/socket.h"
#include "socket/socket-int.h"

/* How long accepting pauses after running out of descriptors. */
#define ACCEPT_RETRY_SECONDS 1
/* Accepts per wakeup, so one busy listener cannot starve the loop. */
#define ACCEPT_BATCH 16

struct listener {
	struct x9p_sock_server *ss;
	const char *kind;           /* label prefix of its connections */
	int fd;
	GSource *watch;
	GSource *retry;
	char *bound;
	char *path;                 /* unix: removed at the end if still ours */
	dev_t dev;
	ino_t ino;
};

struct x9p_sock_server {
	struct x9p_server *engine;
	struct x9p_sock_cfg cfg;
	GMainContext *ctx;
	GPtrArray *listeners;
	unsigned serial;
	GMutex lock;
	GPtrArray *conns;           /* under lock */
	GSource *reap;              /* under lock: pending reaper, if any */
	/* Journal sessions (1..) of connections, in the main context; and
	 * the labels of "fd:" connections taken over from a previous worker. */
	guint8 *jused;
	unsigned nsessions;
	GPtrArray *resumed_fd;
	GPtrArray *lost;            /* pending fd_lost_cb sources */
};

/* A free journal session for a new connection, or 0 (none, or no journal). */
static unsigned session_get(struct x9p_sock_server *ss)
{
	for (unsigned i = 1; i < ss->nsessions; i++)
		if (!ss->jused[i]) {
			ss->jused[i] = 1;
			return i;
		}
	if (ss->nsessions)
		g_warning("all %u journal sessions are taken: a new connection is served "
			  "without one (a worker's death will end it)", ss->nsessions - 1);
	return 0;
}

void x9p_sock_server_conn_unkept(struct x9p_sock_server *ss, unsigned jsession)
{
	if (ss->cfg.drop_conn)
		ss->cfg.drop_conn(ss->cfg.opaque, jsession);
}

void x9p_sock_server_conn_journaled(struct x9p_sock_server *ss, struct x9p_sock_conn *c)
{
	int fds[6];
	unsigned n = x9p_sock_conn_journal_fds(c, fds);

	if (n && ss->cfg.keep_conn)
		ss->cfg.keep_conn(ss->cfg.opaque, c->jsession, c->label, c->peer, fds, n);
}

/* A connection was made: an unjournaled one gives its session back. */
static void conn_made(struct x9p_sock_server *ss, struct x9p_sock_conn *c, unsigned jsession)
{
	if (jsession && !c->stream)
		ss->jused[jsession] = 0;
}

static void listener_watch(struct listener *l);

static char *next_label(struct x9p_sock_server *ss, const char *kind)
{
	return g_strdup_printf("%s:%u", kind, ++ss->serial);
}

/*
 * Logs who connected; returns the peer as the per-peer limit counts it:
 * "uid N" for a unix-socket client, its address for a TCP one (g_free).
 */
static char *log_peer(const char *label, int fd, const struct listener *l)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0) {
		g_info("%s: connection accepted on %s", label, l->bound);
		return g_strdup("?");
	}
	if (sa.ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
			g_info("%s: connection accepted on %s (peer pid %d uid %u gid %u)", label,
			       l->bound, (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.gid);
			return g_strdup_printf("uid %u", (unsigned)cr.uid);
		}
		g_info("%s: connection accepted on %s", label, l->bound);
		return g_strdup("?");
	}
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	g_info("%s: connection accepted on %s from %s port %u", label, l->bound, host, port);
	return g_strdup(host);
}

/*
 * All connections are taken: closes the oldest one that has negotiated no
 * version for version_timeout_s, if any, to make room.  ss->lock held.
 */
static bool evict_idle_locked(struct x9p_sock_server *ss, const char *newcomer)
{
	gint64 limit = g_get_monotonic_time() - (gint64)ss->cfg.version_timeout_s * G_USEC_PER_SEC;
	struct x9p_sock_conn *oldest = NULL;

	for (guint i = 0; i < ss->conns->len; i++) {
		struct x9p_sock_conn *c = ss->conns->pdata[i];

		if (c->finished || c->evicted || c->from_fd || g_atomic_int_get(&c->versioned) ||
		    c->started > limit)
			continue;
		if (!oldest || c->started < oldest->started)
			oldest = c;
	}
	if (!oldest)
		return false;
	g_warning("%s: closed to admit %s: no version negotiated (Tversion) in %"
		  G_GINT64_FORMAT " s, and all %u connections are taken", oldest->label, newcomer,
		  (g_get_monotonic_time() - oldest->started) / G_USEC_PER_SEC, ss->cfg.max_conns);
	/* Counted out from now on; reaped once its thread has ended. */
	oldest->evicted = true;
	x9p_sock_conn_cancel(oldest);
	return true;
}

/* Open connections of `peer`; ss->lock held. */
static unsigned peer_conns_locked(struct x9p_sock_server *ss, const char *peer)
{
	unsigned n = 0;

	for (guint i = 0; i < ss->conns->len; i++) {
		struct x9p_sock_conn *c = ss->conns->pdata[i];

		if (!c->finished && !c->evicted && c->peer && strcmp(c->peer, peer) == 0)
			n++;
	}
	return n;
}

static void serve_accepted(struct listener *l, int fd)
{
	struct x9p_sock_server *ss = l->ss;
	struct x9p_sock_conn *c;
	GError *err = NULL;
	unsigned n, np, js;
	char *label, *peer;

	label = next_label(ss, l->kind);
	peer = log_peer(label, fd, l);
	g_mutex_lock(&ss->lock);
	n = 0;
	for (guint i = 0; i < ss->conns->len; i++)
		n += !((struct x9p_sock_conn *)ss->conns->pdata[i])->evicted;
	np = peer_conns_locked(ss, peer);
	if (n >= ss->cfg.max_conns && np < ss->cfg.max_conns_per_peer &&
	    evict_idle_locked(ss, label))
		n--;
	g_mutex_unlock(&ss->lock);
	if (n >= ss->cfg.max_conns || np >= ss->cfg.max_conns_per_peer) {
		if (n >= ss->cfg.max_conns)
			g_warning("%s: refused on %s: already %u connections (the limit)", label,
				  l->bound, n);
		else
			g_warning("%s: refused on %s: %s already holds %u connections (the limit "
				  "per peer)", label, l->bound, peer, np);
		close(fd);
		g_free(peer);
		g_free(label);
		return;
	}
	if (strcmp(l->kind, "tcp") == 0) {
		int one = 1;

		/* 9P is request/response: small replies must not wait for Nagle. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	js = session_get(ss);
	c = x9p_sock_conn_start(ss, ss->engine, &ss->cfg, fd, fd, label, peer, false, js, &err);
	g_free(peer);
	if (!c) {
		g_warning("%s", err->message);
		g_error_free(err);
		if (js)
			ss->jused[js] = 0;
	} else {
		conn_made(ss, c, js);
		g_mutex_lock(&ss->lock);
		g_ptr_array_add(ss->conns, c);
		g_mutex_unlock(&ss->lock);
	}
	g_free(label);
}

static gboolean retry_cb(gpointer data)
{
	struct listener *l = data;

	g_source_unref(l->retry);
	l->retry = NULL;
	listener_watch(l);
	return G_SOURCE_REMOVE;
}

static gboolean accept_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct listener *l = data;
	int i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (c >= 0) {
			serve_accepted(l, c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Level-triggered watch would spin; pause accepting instead. */
			g_warning("%s: accept: %s; pausing for %d s", l->bound, g_strerror(errno),
				  ACCEPT_RETRY_SECONDS);
			g_source_unref(l->watch);
			l->watch = NULL;
			l->retry = g_timeout_source_new_seconds(ACCEPT_RETRY_SECONDS);
			g_source_set_callback(l->retry, retry_cb, l, NULL);
			g_source_attach(l->retry, l->ss->ctx);
			return G_SOURCE_REMOVE;
		}
		g_warning("%s: accept: %s", l->bound, g_strerror(errno));
		break;
	}
	return G_SOURCE_CONTINUE;
}

static void listener_watch(struct listener *l)
{
	l->watch = g_unix_fd_source_new(l->fd, G_IO_IN);
	g_source_set_callback(l->watch, G_SOURCE_FUNC(accept_cb), l, NULL);
	g_source_attach(l->watch, l->ss->ctx);
}

static void listener_free(struct listener *l)
{
	struct stat st;

	if (l->watch) {
		g_source_destroy(l->watch);
		g_source_unref(l->watch);
	}
	if (l->retry) {
		g_source_destroy(l->retry);
		g_source_unref(l->retry);
	}
	if (l->fd >= 0)
		close(l->fd);
	/* Someone may have replaced the socket meanwhile; leave theirs alone. */
	if (l->path && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	g_free(l->bound);
	g_free(l->path);
	g_free(l);
}

static void add_listener(struct x9p_sock_server *ss, int fd, const char *kind,
			 char *bound, const char *path)
{
	struct listener *l = g_new0(struct listener, 1);
	struct stat st;

	l->ss = ss;
	l->fd = fd;
	l->kind = kind;
	l->bound = bound;
	if (path && lstat(path, &st) == 0) {
		l->path = g_strdup(path);
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	listener_watch(l);
	g_ptr_array_add(ss->listeners, l);
}

static gboolean reap_cb(gpointer data)
{
	struct x9p_sock_server *ss = data;
	GPtrArray *done = g_ptr_array_new();
	unsigned i;

	g_mutex_lock(&ss->lock);
	if (ss->reap) {
		g_source_unref(ss->reap);
		ss->reap = NULL;
	}
	for (i = 0; i < ss->conns->len;) {
		struct x9p_sock_conn *c = g_ptr_array_index(ss->conns, i);

		if (c->finished) {
			g_ptr_array_add(done, c);
			g_ptr_array_remove_index(ss->conns, i);
		} else {
			i++;
		}
	}
	g_mutex_unlock(&ss->lock);

	for (i = 0; i < done->len; i++) {
		struct x9p_sock_conn *c = g_ptr_array_index(done, i);
		char *label = g_strdup(c->label);
		bool from_fd = c->from_fd, clean = c->clean;
		unsigned js = c->stream ? c->jsession : 0;

		x9p_sock_conn_free(c);
		if (js) {
			/* Its session left the journal; the keeper lets it go. */
			ss->jused[js] = 0;
			if (ss->cfg.drop_conn)
				ss->cfg.drop_conn(ss->cfg.opaque, js);
		}
		g_debug("%s: connection released", label);
		if (from_fd && ss->cfg.fd_closed)
			ss->cfg.fd_closed(ss->cfg.opaque, label, clean);
		g_free(label);
	}
	g_ptr_array_free(done, TRUE);
	return G_SOURCE_REMOVE;
}

void x9p_sock_server_conn_finished(struct x9p_sock_server *ss, struct x9p_sock_conn *c,
				   bool clean)
{
	g_mutex_lock(&ss->lock);
	c->finished = true;
	c->clean = clean;
	if (!ss->reap) {
		ss->reap = g_idle_source_new();
		g_source_set_callback(ss->reap, reap_cb, ss, NULL);
		g_source_attach(ss->reap, ss->ctx);
	}
	g_mutex_unlock(&ss->lock);
}

bool x9p_sock_server_adopt(struct x9p_sock_server *ss, struct x9p_sock_endpoint *ep,
			   GError **err)
{
	struct x9p_sock_conn *c;
	char *label;
	unsigned js;

	if (ep->listening) {
		struct listener *l;

		add_listener(ss, ep->rfd, ep->family, g_strdup(ep->bound), NULL);
		l = g_ptr_array_index(ss->listeners, ss->listeners->len - 1);
		/* The socket file goes with the listener from now on. */
		l->path = ep->path;
		l->dev = ep->dev;
		l->ino = ep->ino;
		ep->path = NULL;
		ep->rfd = ep->wfd = -1;
		return true;
	}
	for (guint i = 0; ss->resumed_fd && i < ss->resumed_fd->len; i++)
		if (strcmp(ss->resumed_fd->pdata[i], ep->bound) == 0) {
			/* Served already: the previous worker's, taken over. */
			x9p_sock_endpoint_clear(ep);
			return true;
		}
	label = g_strdup(ep->bound);
	js = session_get(ss);
	c = x9p_sock_conn_start(ss, ss->engine, &ss->cfg, ep->rfd, ep->wfd, label, "fd", true,
				js, err);
	if (!c) {
		g_free(label);
		if (js)
			ss->jused[js] = 0;
		return false;
	}
	conn_made(ss, c, js);
	ep->rfd = ep->wfd = -1;
	g_info("%s: serving the inherited connection", label);
	g_mutex_lock(&ss->lock);
	g_ptr_array_add(ss->conns, c);
	g_mutex_unlock(&ss->lock);
	return true;
}

bool x9p_sock_server_add(struct x9p_sock_server *ss, const struct x9p_sock_addr *a,
			 char **bound, GError **err)
{
	struct x9p_sock_endpoint ep;
	bool ok;

	if (!x9p_sock_endpoint_open(a, ss->cfg.unix_mode, ss->cfg.allow_remote, &ep, err))
		return false;
	if (bound)
		*bound = g_strdup(ep.bound);
	ok = x9p_sock_server_adopt(ss, &ep, err);
	if (!ok && bound)
		g_clear_pointer(bound, g_free);
	x9p_sock_endpoint_clear(&ep);
	return ok;
}

struct x9p_sock_server *x9p_sock_server_new(struct x9p_server *engine,
					    const struct x9p_sock_cfg *cfg,
					    GMainContext *ctx)
{
	struct x9p_sock_server *ss = g_new0(struct x9p_sock_server, 1);

	ss->engine = engine;
	if (cfg)
		ss->cfg = *cfg;
	if (!ss->cfg.unix_mode)
		ss->cfg.unix_mode = X9P_SOCK_DEFAULT_MODE;
	if (!ss->cfg.max_conns)
		ss->cfg.max_conns = X9P_SOCK_DEFAULT_MAX_CONNS;
	if (!ss->cfg.max_msize || ss->cfg.max_msize > X9P_SOCK_MAX_MSIZE)
		ss->cfg.max_msize = X9P_SOCK_MAX_MSIZE;
	if (!ss->cfg.reply_timeout_s)
		ss->cfg.reply_timeout_s = X9P_SOCK_DEFAULT_REPLY_TIMEOUT;
	if (!ss->cfg.version_timeout_s)
		ss->cfg.version_timeout_s = X9P_SOCK_DEFAULT_VERSION_TIMEOUT;
	if (!ss->cfg.max_conns_per_peer)
		ss->cfg.max_conns_per_peer = MAX(ss->cfg.max_conns / 2, 1);
	ss->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref(g_main_context_default());
	ss->listeners = g_ptr_array_new();
	ss->conns = g_ptr_array_new();
	g_mutex_init(&ss->lock);
	if (ss->cfg.journal) {
		ss->nsessions = x9p_journal_sessions(ss->cfg.journal);
		ss->jused = g_new0(guint8, ss->nsessions);
	}
	return ss;
}

struct lost {
	struct x9p_sock_server *ss;
	char *label;
};

static gboolean fd_lost_cb(gpointer data)
{
	struct lost *l = data;

	if (l->ss->cfg.fd_closed)
		l->ss->cfg.fd_closed(l->ss->cfg.opaque, l->label, false);
	return G_SOURCE_REMOVE;
}

static void lost_free(gpointer data)
{
	struct lost *l = data;

	g_free(l->label);
	g_free(l);
}

/* A kept "fd:" connection that could not be taken over: its endpoint is
 * skipped, and its end reported once the server's loop runs. */
static void fd_lost(struct x9p_sock_server *ss, const char *label)
{
	struct lost *l = g_new(struct lost, 1);
	GSource *src = g_idle_source_new();

	if (!ss->resumed_fd)
		ss->resumed_fd = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(ss->resumed_fd, g_strdup(label));
	l->ss = ss;
	l->label = g_strdup(label);
	g_source_set_callback(src, fd_lost_cb, l, lost_free);
	g_source_attach(src, ss->ctx);
	if (!ss->lost)
		ss->lost = g_ptr_array_new();
	g_ptr_array_add(ss->lost, src);
}

void x9p_sock_server_resume(struct x9p_sock_server *ss, struct x9p_sock_kept_conn *kept,
			    unsigned n)
{
	struct x9p_sock_conn **cs = g_new0(struct x9p_sock_conn *, n + 1);
	struct x9p_session **sv = g_new0(struct x9p_session *, n + 1);
	GArray **runs = g_new0(GArray *, n + 1);
	unsigned *fids = g_new0(unsigned, n + 1), m = 0;

	for (unsigned i = 0; i < n; i++) {
		struct x9p_sock_kept_conn *kc = &kept[i];
		GError *err = NULL;
		struct x9p_sock_conn *c = NULL;

		if (kc->session == 0 || kc->session >= ss->nsessions || ss->jused[kc->session])
			g_warning("%s: the previous worker's connection has no journal session "
				  "here; closing it", kc->label);
		else
			c = x9p_sock_conn_adopt(ss, ss->engine, &ss->cfg, kc, &runs[m], &err);
		if (!c) {
			if (err) {
				g_warning("%s; closing it", err->message);
				g_error_free(err);
			} else {
				for (unsigned k = 0; k < kc->nfds; k++)
					close(kc->fds[k]);
			}
			/* Its endpoint must not be served afresh from the middle
			 * of its stream: it ended. */
			if (g_str_has_prefix(kc->label, "fd:"))
				fd_lost(ss, kc->label);
			/* The keeper closes its copies too. */
			if (kc->session && kc->session < X9P_JOURNAL_MAX_SESSIONS &&
			    ss->cfg.drop_conn)
				ss->cfg.drop_conn(ss->cfg.opaque, kc->session);
			continue;
		}
		ss->jused[kc->session] = 1;
		cs[m] = c;
		sv[m] = c->session;
		m++;
	}
	/* Every session's fids (and the locks) before any request runs again;
	 * the previous worker's nodes no fid took are let go. */
	x9p_sessions_restore(ss->cfg.journal, sv, m, fids);
	for (unsigned i = 0; i < m; i++) {
		struct x9p_sock_conn *c = cs[i];
		GError *err = NULL;

		if (c->from_fd) {
			if (!ss->resumed_fd)
				ss->resumed_fd = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(ss->resumed_fd, g_strdup(c->label));
		}
		g_mutex_lock(&ss->lock);
		g_ptr_array_add(ss->conns, c);
		g_mutex_unlock(&ss->lock);
		if (!x9p_sock_conn_resume(c, runs[i], fids[i], &err)) {
			g_warning("%s", err->message);
			g_error_free(err);
		}
	}
	g_free(cs);
	g_free(sv);
	g_free(runs);
	g_free(fids);
}

GMainContext *x9p_sock_server_ctx(struct x9p_sock_server *ss)
{
	return ss->ctx;
}

unsigned x9p_sock_server_connections(struct x9p_sock_server *ss)
{
	unsigned n;

	g_mutex_lock(&ss->lock);
	n = ss->conns->len;
	g_mutex_unlock(&ss->lock);
	return n;
}

void x9p_sock_server_free(struct x9p_sock_server *ss)
{
	GPtrArray *conns;
	unsigned i;

	if (!ss)
		return;
	for (i = 0; i < ss->listeners->len; i++)
		listener_free(g_ptr_array_index(ss->listeners, i));
	g_ptr_array_free(ss->listeners, TRUE);

	g_mutex_lock(&ss->lock);
	conns = ss->conns;
	ss->conns = g_ptr_array_new();
	g_mutex_unlock(&ss->lock);
	/* Wake them all first so the active ones close their sessions in
	 * parallel; a parked one (nothing in flight) is closed right here. */
	for (i = 0; i < conns->len; i++)
		x9p_sock_conn_cancel(g_ptr_array_index(conns, i));
	for (i = 0; i < conns->len; i++)
		x9p_sock_conn_free(g_ptr_array_index(conns, i));
	g_ptr_array_free(conns, TRUE);

	/* No thread is left that could schedule another reaper. */
	g_mutex_lock(&ss->lock);
	if (ss->reap) {
		g_source_destroy(ss->reap);
		g_source_unref(ss->reap);
		ss->reap = NULL;
	}
	g_mutex_unlock(&ss->lock);
	g_ptr_array_free(ss->conns, TRUE);
	if (ss->resumed_fd)
		g_ptr_array_free(ss->resumed_fd, TRUE);
	for (i = 0; ss->lost && i < ss->lost->len; i++) {
		g_source_destroy(ss->lost->pdata[i]);
		g_source_unref(ss->lost->pdata[i]);
	}
	if (ss->lost)
		g_ptr_array_free(ss->lost, TRUE);
	g_free(ss->jused);
	g_mutex_clear(&ss->lock);
	g_main_context_unref(ss->ctx);
	g_free(ss);
}
