/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message trace: every T- and R-message of every session, one line each.
 *
 * Format (text, one record per line, fields separated by one space):
 *   <unix-seconds>.<nanoseconds> <dir> <channel> <len> <hex-frame>
 * where <dir> is "T" for client-to-server and "R" for server-to-client,
 * <channel> names the transport connection (no spaces) and <hex-frame> is
 * the whole 9P frame, size field included, in lowercase hex.  Lines
 * starting with '#' are comments.  The full frame makes a trace replayable.
 *
 * Thread-safe: records from many threads are written whole.
 */
#ifndef X9P_TRACE_H
#define X9P_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct x9p_trace;

/* Creates (truncates) the trace file, mode 0600, for appending; -1 and
 * errno on failure.  A monitor opens it so that its workers write to it. */
int x9p_trace_file(const char *path);
/* Opens (truncates) path; returns NULL and sets errno on failure. */
struct x9p_trace *x9p_trace_open(const char *path);
/* Appends to fd (taken over, also on failure), e.g. a file a privileged
 * monitor opened for a worker; NULL and errno on failure. */
struct x9p_trace *x9p_trace_open_fd(int fd);
void x9p_trace_close(struct x9p_trace *t);
void x9p_trace_msg(struct x9p_trace *t, char dir, const char *channel,
		   const struct iovec *iov, int iovcnt);

#endif
