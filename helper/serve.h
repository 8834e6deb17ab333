/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helper's request loop.
 *
 * hx_serve() reads requests from the proxy socket on the calling thread,
 * answers malformed ones (and unknown ops) with an error reply, handles
 * CANCEL and CHANNEL itself and hands every other request to a pool of
 * `threads` workers.  At most `max_queue` requests wait or run at once;
 * beyond that the socket is not read (the backend's sends then block).
 * Each channel (proxy.h) gets a thread that runs its requests inline, one
 * at a time: the fast path, with no queue and no lock shared between
 * channels.  Returns when the backend closes its end, after the pool's
 * workers finished.
 */
#ifndef X9P_HELPER_SERVE_H
#define X9P_HELPER_SERVE_H

int hx_serve(int sock, unsigned threads, unsigned max_queue);

#endif
