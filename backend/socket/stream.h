/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A journaled connection: its bytes pass through two pipes that the
 * monitor holds with the connection (KEEP_CONN), so that a worker that
 * dies anywhere leaves a state the next one can tell exactly, and its
 * session (journal/journal.h, one session of the worker's journal per
 * connection) goes on.
 *
 * Why pipes: a socket does not say how much of a request a dead process
 * had read from it, nor how much of a reply it had written; a pipe only
 * this connection's worker touches does (FIONREAD), and outlives it.
 *
 *  - Input: the I/O thread splices the connection into the input pipe,
 *    then reads the pipe into the session's inbox (a ring in the journal).
 *    Around each read the stream records the inbox position and the pipe's
 *    count before it (x9p_jstream.in_*): the bytes the read took are the
 *    difference of the pipe's counts.  Frames are taken from the inbox and
 *    recorded (x9p_journal_take, "ring 0", their inbox offset) before the
 *    read position passes them; their bytes stay in the inbox until
 *    answered (the inbox stops filling while full).
 *  - Output: replies enter the output pipe whole (outq.h's staged mode),
 *    the pipe's count and the reply's size recorded before (x9p_jstream.
 *    out_*), the request answered in the journal after; the pipe is
 *    spliced to the connection.  A reply the pipe holds is as good as
 *    sent: whoever serves the connection next sends it.
 *
 * A new worker (x9p_stream_adopt) settles the last read and the last
 * reply from the pipes' counts, then every recorded request: answered
 * (its reply is in the pipe or gone), or run again from its bytes in the
 * inbox; the rest of the inbox is read on as usual.  Everything read back
 * from the journal is checked; a connection whose state does not add up
 * is not taken over (it is closed).
 *
 * Threads: fill, copy and take on the connection's I/O thread; the
 * outq hooks under the outq's lock; x9p_stream_held_* from any thread.
 */
#ifndef X9P_SOCKET_STREAM_H
#define X9P_SOCKET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "socket/outq.h"

struct x9p_journal;
struct x9p_stream;

/*
 * A stream for a new connection in journal session j (forgotten first):
 * its pipes made, the output one able to hold max_frame.  NULL with
 * *why (g_free) when the pipes cannot be made that big: the connection is
 * then served without a journal.
 */
struct x9p_stream *x9p_stream_new(struct x9p_journal *j, uint32_t max_frame, char **why);
/* Its pipes, for the keeper: input read end, input write end, output
 * read end, output write end. */
void x9p_stream_pipes(const struct x9p_stream *s, int fds[4]);
/* The largest reply its output pipe takes (the connection's msize bound). */
size_t x9p_stream_room(const struct x9p_stream *s);
void x9p_stream_free(struct x9p_stream *s);

/* ---- input (the I/O thread) ---- */

/*
 * More input into the inbox from rfd: the bytes added, 0 at the end of
 * the stream, -EAGAIN when rfd has nothing now, -ENOSPC while the inbox
 * is full of requests not answered yet, or -errno.
 */
ssize_t x9p_stream_fill(struct x9p_stream *s, int rfd);
/* Bytes read into the inbox and not copied out yet; and whether the
 * input pipe still holds some. */
size_t x9p_stream_unread(const struct x9p_stream *s);
bool x9p_stream_piped(const struct x9p_stream *s);
/* Copies n <= unread bytes out. */
void x9p_stream_copy(struct x9p_stream *s, uint8_t *dst, size_t n);
/* The frame of size bytes just copied out is a request with tag: it is
 * recorded, and the read position passes it. */
void x9p_stream_take(struct x9p_stream *s, uint16_t tag, uint32_t size);

/* ---- output ---- */

/* The staged mode of the connection's outq (the pipe and its hooks). */
void x9p_stream_outq(struct x9p_stream *s, struct x9p_outq_stage *st);
/* The request of tag was flushed: the Rflush answers it. */
void x9p_stream_dropped(struct x9p_stream *s, uint16_t tag);

/* ---- a new worker ---- */

/* A request to run again: its bytes (g_free), and its record. */
struct x9p_stream_rerun {
	uint16_t tag;
	uint8_t *frame;
	uint32_t len;
	uint64_t rid;
	struct timespec taken;
};

/*
 * Takes over a connection of journal session j from its pipes (fds as
 * x9p_stream_pipes gives them, taken over even on failure), settling what
 * the previous worker left: *reruns gets the requests to run again (in
 * the order they were taken; g_array_free them, frames freed by the
 * caller or the session).  NULL with *why when the state does not add up.
 */
struct x9p_stream *x9p_stream_adopt(struct x9p_journal *j, const int fds[4], uint32_t max_frame,
				    GArray **reruns, char **why);

#endif
