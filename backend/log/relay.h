/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Relaying a child's log lines.  A confined child (x9p-helper, a worker)
 * writes its stdout and stderr into a pipe of its own and never to the
 * daemon's descriptors.  x9p_log_relay_start() copies the lines from the
 * pipe to the daemon's stderr, each whole, cut at 1024 bytes, control bytes
 * replaced by '?', under the prefix "NAME[PID]: " written by the daemon
 * with the child's host pid (a "NAME[...]: " prefix the child wrote itself
 * is dropped first).  So a compromised child can neither forge the
 * daemon's own lines nor write anything but lines.  The relay runs in a
 * thread of its own and ends when the last writer of the pipe closes it;
 * it takes rfd over.
 */
#ifndef X9P_LOG_RELAY_H
#define X9P_LOG_RELAY_H

#include <sys/types.h>

void x9p_log_relay_start(int rfd, const char *name, pid_t pid);

#endif
