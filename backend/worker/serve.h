/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a worker serves, once it is confined and its engine runs: one
 * function per role of privsep/mw.h.  Each serves the endpoints of CONFIG
 * (descriptors taken from c->fds), calls x9p_worker_announce() once they
 * are served, runs until SIGINT/SIGTERM (or the end of an inherited
 * connection) and returns the worker's exit status.
 */
#ifndef X9P_WORKER_SERVE_H
#define X9P_WORKER_SERVE_H

#include <sys/types.h>

#include "core/server.h"
#include "privsep/mw.h"
#include "worker/link.h"

struct x9p_wctx {
	struct mw_msg *c;            /* CONFIG, checked by main.c */
	struct x9p_wlink *link;
	struct x9p_server *engine;
	pid_t monitor;
	/* A Xen worker's handles, for the self-attacks of test builds. */
	void *gnttab, *evtchn;
	unsigned domid;
	/* The session journal (worker/journal-link.h), or NULL, and whether it
	 * holds a previous worker's session to take over. */
	struct x9p_journal *journal;
	bool restored;
	/* vhost-user: the frontend connection a previous worker served, with
	 * its set-up (KEPT_DEVICE; no descriptor when there is none). */
	struct mw_msg kept_device;
	/* sockets: the connections a previous worker served (KEPT_CONN,
	 * struct mw_msg *). */
	GPtrArray *kept_conns;
};

int x9p_worker_serve_sockets(struct x9p_wctx *w);
int x9p_worker_serve_vhost(struct x9p_wctx *w);
int x9p_worker_serve_xen(struct x9p_wctx *w);

/* Xen, before the lockdown: maps and binds the rings CONFIG names, with
 * the device's journal (or NULL); false with the reason in *why (g_free).  Then, building the driver: puts the
 * device's quota (if any) in front of fs. */
struct x9p_journal;
bool x9p_worker_xen_prepare(const struct mw_msg *c, struct x9p_wlink *link,
			    struct x9p_journal *journal, bool restored, char **why);
struct x9p_fs *x9p_worker_xen_wrap_fs(struct x9p_fs *fs, const struct mw_msg *c);

/* Tells the monitor the worker is serving (READY) and, in test builds,
 * runs the self-attack CONFIG asks for.  False if the monitor is gone. */
bool x9p_worker_announce(struct x9p_wctx *w);

#endif
