/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A connection's reply queue: the engine's workers hand replies over
 * without ever waiting for the client to read them.
 *
 * Contract:
 *  - x9p_outq_send() (any thread) writes the reply at once when nothing is
 *    queued and the descriptor takes it all; otherwise it queues a copy of
 *    what is left and wakes the connection's I/O thread through kick_fd.
 *    It never blocks on the client.  Past `hard_max` queued bytes it
 *    refuses the reply (-ENOBUFS): the caller closes the connection.
 *  - x9p_outq_flush() (the I/O thread, when fd is writable) writes what
 *    the descriptor takes.  Replies leave whole and in the order they were
 *    handed over.
 *  - Memory is bounded by hard_max plus one reply; how long a client may
 *    leave its replies unread is the I/O thread's decision
 *    (x9p_outq_stalled_us).
 *  - A write error (other than EAGAIN) and -ENOBUFS are sticky: every
 *    later call returns it and the queue is dropped.
 */
#ifndef X9P_SOCKET_OUTQ_H
#define X9P_SOCKET_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include <glib.h>

struct x9p_outq {
	GMutex lock;
	GQueue chunks;               /* struct outq_chunk, oldest first */
	size_t bytes;                /* queued, not yet written */
	size_t hard_max;
	gint64 last_progress;        /* monotonic; set while bytes > 0 */
	int fd;
	bool is_socket;
	int kick_fd;                 /* eventfd written when the queue starts filling */
	int error;                   /* sticky -errno */
};

void x9p_outq_init(struct x9p_outq *q, int fd, bool is_socket, int kick_fd, size_t hard_max);
void x9p_outq_clear(struct x9p_outq *q);
int x9p_outq_send(struct x9p_outq *q, const struct iovec *iov, int iovcnt);
int x9p_outq_flush(struct x9p_outq *q);
size_t x9p_outq_pending(struct x9p_outq *q);
/* Microseconds since the queue last made progress; 0 when it is empty. */
gint64 x9p_outq_stalled_us(struct x9p_outq *q);

#endif
