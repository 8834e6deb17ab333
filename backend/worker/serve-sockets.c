// SPDX-License-Identifier: GPL-2.0-or-later
/* A worker of the socket role: the 9P socket transport; see serve.h. */
#define G_LOG_DOMAIN "x9p-worker"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>
#include <glib-unix.h>

#include "journal/journal.h"
#include "socket/socket.h"
#include "worker/journal-link.h"
#include "worker/serve.h"

static GMainLoop *loop;
static int status;

static gboolean on_signal(gpointer data)
{
	g_info("%s: shutting down", (const char *)data);
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static void on_fd_closed(void *opaque, const char *label, bool clean)
{
	g_info("%s: the inherited connection ended; exiting", label);
	if (!clean)
		status = 1;
	g_main_loop_quit(loop);
}

static void resume(struct x9p_sock_server *ss, GPtrArray *kept)
{
	struct x9p_sock_kept_conn *kc = g_new0(struct x9p_sock_kept_conn, kept->len + 1);

	for (guint i = 0; i < kept->len; i++) {
		struct mw_msg *m = kept->pdata[i];

		kc[i].session = m->u[MW_KC_SESSION];
		kc[i].label = m->s[MW_KC_S_LABEL];
		kc[i].peer = m->s[MW_KC_S_PEER];
		kc[i].nfds = m->nfds;
		for (unsigned k = 0; k < m->nfds; k++)
			kc[i].fds[k] = m->fds[k];
		/* Taken over by the transport. */
		m->nfds = 0;
	}
	x9p_sock_server_resume(ss, kc, kept->len);
	g_free(kc);
}

/* Connections kept for a journal this worker cannot use: they close. */
static void drop_kept(GPtrArray *kept)
{
	for (guint i = 0; i < kept->len; i++) {
		struct mw_msg *m = kept->pdata[i];

		g_warning("%s: the previous worker's connection cannot be taken over without "
			  "its journal; closing it", m->s[MW_KC_S_LABEL]);
		x9p_worker_drop_conn(NULL, m->u[MW_KC_SESSION]);
		mw_clear(m);
	}
}

int x9p_worker_serve_sockets(struct x9p_wctx *w)
{
	struct mw_msg *c = w->c;
	struct x9p_sock_cfg sock_cfg = {
		.max_conns = c->u[MW_CF_MAX_CONNS],
		.reply_timeout_s = c->u[MW_CF_REPLY_TIMEOUT],
		.version_timeout_s = c->u[MW_CF_VERSION_TIMEOUT],
		.max_conns_per_peer = c->u[MW_CF_MAX_CONNS_PER_PEER],
		.fd_closed = on_fd_closed,
	};
	bool journaled = w->journal && x9p_journal_sessions(w->journal) > 1;
	struct x9p_sock_server *ss;
	GError *err = NULL;

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, (gpointer) "SIGINT");
	g_unix_signal_add(SIGTERM, on_signal, (gpointer) "SIGTERM");
	if (journaled) {
		sock_cfg.journal = w->journal;
		sock_cfg.keep_conn = x9p_worker_keep_conn;
		sock_cfg.drop_conn = x9p_worker_drop_conn;
	}
	ss = x9p_sock_server_new(w->engine, &sock_cfg, NULL);
	/* The previous worker's connections first: an "fd:" endpoint may be
	 * one of them. */
	if (journaled && w->restored)
		resume(ss, w->kept_conns);
	else
		drop_kept(w->kept_conns);
	for (unsigned i = 0, f = 0; i < c->u[MW_CF_N_ENDPOINTS]; i++) {
		const char *name = c->s[MW_CF_S_ENDPOINT0 + i];
		struct x9p_sock_endpoint ep = {
			.family = g_str_has_prefix(name, "unix ") ? "unix" :
				  g_str_has_prefix(name, "tcp ") ? "tcp" : "fd",
			.rfd = c->fds[f],
			.wfd = c->fds[f],
			.bound = g_strdup(strchr(name, ' ') + 1),
		};
		int acc = 0;
		socklen_t al = sizeof(acc);

		c->fds[f++] = -1;
		if (g_str_has_prefix(name, "fd2 ")) {
			ep.wfd = c->fds[f];
			c->fds[f++] = -1;
		}
		/* A listening socket is accepted on, anything else is one connection. */
		ep.listening = ep.rfd == ep.wfd &&
			       getsockopt(ep.rfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc;
		if (!x9p_sock_server_adopt(ss, &ep, &err)) {
			g_critical("%s", err->message);
			g_error_free(err);
			x9p_sock_endpoint_clear(&ep);
			status = 1;
			goto out;
		}
		x9p_sock_endpoint_clear(&ep);
	}
	if (!x9p_worker_announce(w)) {
		status = 1;
		goto out;
	}
	g_main_loop_run(loop);
out:
	/* Every connection closed before the engine goes. */
	x9p_sock_server_free(ss);
	g_main_loop_unref(loop);
	return status;
}
