/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The worker's end of its channel to the monitor (privsep/mw.h).  Calls
 * are serialised: one request at a time waits for its reply, so replies
 * need no routing.  A reply that is malformed, of another type or seq, or
 * the channel ending, is -EPROTO / -EPIPE: the worker cannot go on
 * without its monitor and the callers treat it as fatal for what they do.
 *
 * x9p_wlink_helper_launcher() is the worker's helper launcher
 * (fs/helper-launch.h): HELPER_START, HELPER_KILL and HELPER_REAP on this
 * channel.  The monitor starts, kills and reaps; the worker gets the
 * socket and talks to the helper directly.
 */
#ifndef X9P_WORKER_LINK_H
#define X9P_WORKER_LINK_H

#include "fs/helper-launch.h"
#include "privsep/mw.h"

struct x9p_wlink;

/* Takes fd over. */
struct x9p_wlink *x9p_wlink_new(int fd);
void x9p_wlink_free(struct x9p_wlink *l);
/* Receives the next message, which must be of type `type` (CONFIG at
 * start, then what CONFIG announces); 0 or -errno. */
int x9p_wlink_recv(struct x9p_wlink *l, enum mw_type type, struct mw_msg *m);
/* A message that needs no reply; 0 or -errno. */
int x9p_wlink_send(struct x9p_wlink *l, struct mw_msg *m);
/* Sends req (its seq is set here) and receives the reply of type want. */
int x9p_wlink_call(struct x9p_wlink *l, struct mw_msg *req, enum mw_type want,
		   struct mw_msg *rep);
/* Freed by the proxy driver that takes it; the link must outlive it. */
struct x9p_helper_launcher *x9p_wlink_helper_launcher(struct x9p_wlink *l);

#endif
