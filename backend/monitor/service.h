/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A service of the monitor: endpoints opened here with the monitor's
 * privileges (x9p-backend's --listen addresses, x9p-vhost's socket) and
 * served by one worker (monitor/worker.h) that holds them all, so that
 * x9p-backend's clients share one export, one lock table and one
 * x9p-helper, as they would in one process.  The worker's role and
 * settings are the caller's `base` CONFIG.
 *
 * x9p_mservice_start() opens the endpoints and starts the worker; ready()
 * is called once, when the first worker is confined and serving, with the
 * effective addresses ("unix:PATH", "tcp:127.0.0.1:PORT", "fd:N").  A
 * worker that dies is replaced (at once after a long life or a SIGKILL, at
 * most 1200 a minute, else backing off up to 5 s while it dies young) and
 * its clients reconnect; with `journal`, the next worker takes the session
 * over (with journal_sessions, the connections too); but when an
 * endpoint is an "fd:" connection, ended() is called with the daemon's
 * exit status (0 after an orderly end, else 1) and nothing restarts when
 * the worker ends by itself, or without journal_sessions when it dies.  ended() is also called after
 * x9p_mservice_stop() once the worker is gone, and if the first worker
 * never became ready.
 */
#ifndef X9P_MONITOR_SERVICE_H
#define X9P_MONITOR_SERVICE_H

#include <glib.h>

#include "fs/helper-launch.h"
#include "privsep/mw.h"
#include "socket/socket.h"

struct x9p_mservice_cfg {
	const char *daemon;                    /* "x9p-backend": names the worker's process */
	const char *label;                     /* ... with this; NULL: its endpoints */
	const struct x9p_sock_addr *addrs;
	unsigned n_addrs;
	bool allow_remote;                     /* (unix sockets: monitor/socket-opts.h) */
	/* CONFIG's fields other than the endpoints' (n_endpoints, the
	 * strings from MW_CF_S_ENDPOINT0 on and the descriptors are set
	 * here); its trace descriptor, if any, stays the caller's. */
	const struct mw_msg *base;
	int trace_fd;                          /* -1: none */
	/* Keep the session for the next worker in a journal the monitor
	 * holds (a vhost-user device; not with an fd: connection, which dies
	 * with its worker anyway). */
	bool journal;
	/* ... with this many sessions: one per socket connection (the monitor
	 * then also keeps each connection, and an "fd:" connection outlives
	 * its worker); 0: one (a device). */
	unsigned journal_sessions;
	/* With --record (monitor/record-opts.h): the device's recording,
	 * under label, goes on across its workers and reloads. */
	bool record;
	struct x9p_helper_launcher *helpers;   /* taken over; NULL: synthetic */
	void (*ready)(void *opaque, const char *const *bound, unsigned n);
	void (*ended)(void *opaque, int exit_status);
	void *opaque;
};

struct x9p_mservice;

struct x9p_mservice *x9p_mservice_start(const struct x9p_mservice_cfg *cfg, GError **err);
/* Terminates the worker; ended() follows when it is gone. */
void x9p_mservice_stop(struct x9p_mservice *s);
/*
 * After the worker stopped (x9p_mservice_stop, ended() called): leaves
 * the session for the daemon's program executed again in this process (a
 * reload): the journal and what is kept go to the environment
 * (monitor/session-keep.h), an inherited listening socket stays open for
 * it (and with journal_sessions an inherited connection), the other
 * endpoints are closed and removed.  False when the service
 * keeps no session (it has no journal) or a worker still runs.
 */
bool x9p_mservice_handover(struct x9p_mservice *s);
/* Whether its connections outlive the worker: journal_sessions, and every
 * "fd:" connection held by the keeper (it was journaled). */
bool x9p_mservice_keeps_conns(struct x9p_mservice *s);
/* A reload of a service that keeps its connections (journal_sessions):
 * the worker is killed, as a worker's death costs its clients nothing and
 * an orderly end would end their sessions; ended() follows, then
 * x9p_mservice_handover(). */
void x9p_mservice_stop_for_exec(struct x9p_mservice *s);
/* Kills what still runs, closes and removes the endpoints. */
void x9p_mservice_free(struct x9p_mservice *s);

#endif
