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

/*
 * Staged mode (x9p_outq_stage): replies go whole into a pipe, which is
 * then spliced to fd.  A reply enters the pipe only when the pipe has room
 * for all of it (so that a process dying at any point leaves it there
 * whole or not at all), otherwise it is queued until there is; begin() is
 * called before each reply is written there with the pipe's byte count,
 * end() once it is, both under the queue's lock, which also covers every
 * splice out of the pipe (socket/stream.h keeps the journal with them).
 */
struct x9p_outq_stage {
	int rfd, wfd;                /* the pipe */
	size_t room;                 /* the most it may hold */
	size_t fill;                 /* what it holds */
	void (*begin)(void *arg, const uint8_t *hdr, size_t len, size_t fill);
	void (*end)(void *arg, const uint8_t *hdr);
	void *arg;
};

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
	bool staged;
	struct x9p_outq_stage stage;
};

void x9p_outq_init(struct x9p_outq *q, int fd, bool is_socket, int kick_fd, size_t hard_max);
void x9p_outq_clear(struct x9p_outq *q);
/* Before any reply: staged mode through st's pipe (not owned; st->fill
 * is what it holds already). */
void x9p_outq_stage(struct x9p_outq *q, const struct x9p_outq_stage *st);
int x9p_outq_send(struct x9p_outq *q, const struct iovec *iov, int iovcnt);
int x9p_outq_flush(struct x9p_outq *q);
size_t x9p_outq_pending(struct x9p_outq *q);
/* Microseconds since the queue last made progress; 0 when it is empty. */
gint64 x9p_outq_stalled_us(struct x9p_outq *q);

#endif
