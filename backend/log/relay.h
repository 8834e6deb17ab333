/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Relaying a child's log lines.  A confined child (x9p-helper, a worker)
 * writes its stdout and stderr into a pipe of its own and never to the
 * daemon's descriptors.  x9p_log_relay_start() takes the lines from the
 * pipe, each whole, cut at 1024 bytes, control bytes replaced by '?', and
 * hands them to the daemon's log writer (log.h: x9p_log_child_line) with
 * the child's name, host pid and device: on stderr "NAME[PID] DEVICE: ",
 * written by the daemon (a "NAME[...]: " prefix the child wrote itself is
 * dropped first), in the journal as fields.  So a compromised child can
 * neither forge the daemon's own lines nor write anything but lines.
 *
 * A child's lines are rate-limited: a burst of 200, then 20 a second; what
 * is dropped is counted in one line when lines pass again, so that a
 * guest that makes its worker log cannot flood the host's logs.
 *
 * The relay runs in a thread of its own and ends when the last writer of
 * the pipe closes it; it takes rfd over.
 */
#ifndef X9P_LOG_RELAY_H
#define X9P_LOG_RELAY_H

#include <sys/types.h>

/* device: what the child serves (a device's label), or NULL. */
void x9p_log_relay_start(int rfd, const char *name, pid_t pid, const char *device);

#endif
