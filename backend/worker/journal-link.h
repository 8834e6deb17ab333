/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's session journal (journal/journal.h), as the monitor hands
 * it over: CONFIG with MW_CF_JOURNAL carries its descriptor right after the
 * endpoints' ones, and MW_CF_KEPT_FDS KEPT_FD messages follow CONFIG with
 * the open files no name leads to that the monitor kept for the previous
 * worker, then MW_CF_KEPT_CONNS KEPT_CONNs (a socket daemon's
 * connections), then with MW_CF_KEPT_DEVICE the KEPT_DEVICE of a
 * vhost-user device (its frontend connection and set-up).  The monitor is
 * the journal's keeper of such files from then on (KEEP_FD, DROP_FD), and
 * of connections (x9p_worker_keep_conn, x9p_worker_drop_conn: the socket
 * transport's keep_conn and drop_conn).
 *
 * x9p_worker_journal() maps it, takes the kept files in, adds the kept
 * connections to conns (struct mw_msg *, each g_free'd after mw_clear by
 * the caller) and puts the kept
 * device in *device (mw_init'ed empty when there is none); called once,
 * before the lockdown and before anything else is read from the link.
 * False only when the monitor is gone (*why, g_free); *out is NULL when
 * CONFIG has no journal or it cannot be used (logged): the worker serves
 * without one, and only its death costs the guest its session.
 */
#ifndef X9P_WORKER_JOURNAL_LINK_H
#define X9P_WORKER_JOURNAL_LINK_H

#include <stdbool.h>

#include <glib.h>

#include "privsep/mw.h"
#include "worker/link.h"

struct x9p_journal;

bool x9p_worker_journal(struct mw_msg *c, struct x9p_wlink *link, struct x9p_journal **out,
			bool *restored, struct mw_msg *device, GPtrArray *conns, char **why);
void x9p_worker_keep_conn(void *opaque, unsigned session, const char *label, const char *peer,
			  const int *fds, unsigned nfds);
void x9p_worker_drop_conn(void *opaque, unsigned session);

#endif
