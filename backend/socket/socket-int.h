/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the socket transport's files (not an API).
 *
 * Threads: the listener and reaping run in the server's main context;
 * each connection has one I/O thread (reads frames, submits them, and at
 * the end closes the session); replies are written by engine workers
 * through conn_send().  `lock` guards the connection list and the
 * `finished` flags; everything else in a connection is set up before its
 * thread starts and torn down after it has been joined.
 */
#ifndef X9P_SOCKET_INT_H
#define X9P_SOCKET_INT_H

#include "socket/socket.h"

struct x9p_sock_conn {
	struct x9p_sock_server *owner;
	char *label;                /* "unix:3", "tcp:4", "fd:5"; no spaces */
	int rfd, wfd;
	bool wfd_is_socket;
	bool from_fd;               /* "fd:" connection: report its end */
	int cancel_fd;              /* eventfd: readable once the connection must stop */
	gint cancelled;             /* atomic mirror of cancel_fd, checked between frames */
	GMutex send_lock;
	struct x9p_session *session;
	GThread *thread;

	/* Reader state, used by the I/O thread only. */
	uint8_t *rbuf;
	size_t rpos, rlen;

	/* Under owner->lock. */
	bool finished;
	bool clean;                 /* ended by end of stream or cancellation, not a fault */
};

/* Waits for `events` on fd; -ECANCELED once cancel_fd (or -1) is readable. */
int x9p_sock_wait(int fd, short events, int cancel_fd);

/*
 * Creates the session and starts the I/O thread for an already-connected
 * descriptor pair (taken over, even on failure).  Returns NULL with *err.
 */
struct x9p_sock_conn *x9p_sock_conn_start(struct x9p_sock_server *ss,
					  struct x9p_server *engine, uint32_t max_msize,
					  int rfd, int wfd, const char *label, bool from_fd,
					  GError **err);
/* Asks the connection to stop (thread-safe, idempotent). */
void x9p_sock_conn_cancel(struct x9p_sock_conn *c);
/* Joins the I/O thread (which has closed the session), closes and frees. */
void x9p_sock_conn_free(struct x9p_sock_conn *c);

/* Called by a connection's I/O thread as its last act. */
void x9p_sock_server_conn_finished(struct x9p_sock_server *ss, struct x9p_sock_conn *c,
				   bool clean);

#endif
