/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the socket transport's files (not an API).
 *
 * Threads: the listener, reaping and the watches of parked connections
 * run in the server's main context; each active connection has one I/O
 * thread (reads frames, submits them, writes
 * the replies the client was not ready for, and at the end closes the
 * session; a request that is the only one in flight it runs itself, see
 * x9p_session_submit_inline); engine workers hand replies to the
 * connection's queue (outq.h), which writes them at once when the client
 * takes them.  `lock` guards the connection list and the `finished` flags;
 * everything else in a connection is set up before its thread starts and
 * torn down after it has been joined.  Parking (conn.c): under
 * park_lock, unless the connection was cancelled, the thread arms a watch,
 * clears `thread` and detaches itself; it touches the connection no more.
 * Whoever takes the connection out of the parked state (under park_lock)
 * owns it: the watch, which starts the next thread, or
 * x9p_sock_conn_free(), which closes the session itself.
 */
#ifndef X9P_SOCKET_INT_H
#define X9P_SOCKET_INT_H

#include "socket/outq.h"
#include "socket/socket.h"

struct x9p_sock_conn {
	struct x9p_sock_server *owner;
	char *label;                /* "unix:3", "tcp:4", "fd:5"; no spaces */
	int rfd, wfd;
	bool wfd_is_socket;
	bool from_fd;               /* "fd:" connection: report its end */
	int cancel_fd;              /* eventfd: readable once the connection must stop */
	gint cancelled;             /* atomic mirror of cancel_fd, checked between frames */
	gint faulted;               /* atomic: a reply could not be sent (not a disconnect) */
	int kick_fd;                /* eventfd: replies were queued */
	struct x9p_outq outq;
	size_t high_water;          /* more queued than this: stop reading requests */
	gint64 reply_timeout_us;    /* queued replies unread this long: close */
	gint64 started;             /* monotonic */
	gint versioned;             /* atomic: the client negotiated a version */
	char *peer;                 /* "uid 0", "127.0.0.1", "fd": the per-peer limit's key */
	struct x9p_session *session;
	GThread *thread;            /* the current I/O thread, NULL while none */
	GThread *self;              /* set by that thread itself, for identity checks */
	GMainContext *ctx;          /* the server's: watches of the parked connection */

	GMutex park_lock;           /* guards parked, park_src and thread */
	bool parked;
	GSource *park_src;

	/* Reader state, used by the I/O thread only. */
	uint8_t *rbuf;              /* NULL while parked */
	size_t rpos, rlen;
	/* Zero-copy Rread (conn_send_file), I/O thread only: a pipe the
	 * file's pages pass through, and how big it could be made. */
	int zc_pipe[2];
	size_t zc_size;             /* the pipe's capacity */
	size_t zc_cap;              /* the most it could get, once refused; 0: not yet */

	/* Journaled (socket/stream.h): its stream and journal session, else
	 * NULL and 0. */
	struct x9p_stream *stream;
	unsigned jsession;

	/* Under owner->lock. */
	bool evicted;               /* closed to admit another client */
	bool finished;
	bool clean;                 /* ended by end of stream or cancellation, not a fault */
};

/*
 * Creates the session and starts the I/O thread for an already-connected
 * descriptor pair (taken over, even on failure); journaled in session
 * jsession of cfg->journal when not 0 and the descriptors can stream.
 * Returns NULL with *err.
 */
struct x9p_sock_conn *x9p_sock_conn_start(struct x9p_sock_server *ss,
					  struct x9p_server *engine, const struct x9p_sock_cfg *cfg,
					  int rfd, int wfd, const char *label, const char *peer,
					  bool from_fd, unsigned jsession, GError **err);
/* A journaled connection's descriptors for the keeper (its ends, then its
 * pipes): how many, 0 when it is not journaled (it was refused a stream). */
unsigned x9p_sock_conn_journal_fds(const struct x9p_sock_conn *c, int fds[6]);
/*
 * The same for a journaled connection a previous worker served (kc's
 * descriptors taken over, even on failure): its stream settled and its
 * session resumed at the negotiated version; the I/O thread is not
 * started: x9p_sock_conn_resume() does, after the caller restored the
 * sessions' fids, with the requests to run again (*reruns, taken over).
 */
struct x9p_sock_kept_conn;
struct x9p_sock_conn *x9p_sock_conn_adopt(struct x9p_sock_server *ss,
					  struct x9p_server *engine, const struct x9p_sock_cfg *cfg,
					  struct x9p_sock_kept_conn *kc, GArray **reruns,
					  GError **err);
bool x9p_sock_conn_resume(struct x9p_sock_conn *c, GArray *reruns, unsigned fids,
			  GError **err);
/* Asks the connection to stop (thread-safe, idempotent). */
void x9p_sock_conn_cancel(struct x9p_sock_conn *c);
/* Joins the I/O thread (which has closed the session), or closes the
 * session of a parked connection; closes and frees.  In the server's
 * context thread. */
void x9p_sock_conn_free(struct x9p_sock_conn *c);
/* The server's main context. */
GMainContext *x9p_sock_server_ctx(struct x9p_sock_server *ss);

/* A journaled connection is about to be served: the keeper gets it; and
 * the keeper lets it go (it could not be served after all). */
void x9p_sock_server_conn_journaled(struct x9p_sock_server *ss, struct x9p_sock_conn *c);
void x9p_sock_server_conn_unkept(struct x9p_sock_server *ss, unsigned jsession);
/* Called by a connection's I/O thread as its last act. */
void x9p_sock_server_conn_finished(struct x9p_sock_server *ss, struct x9p_sock_conn *c,
				   bool clean);

#endif
