/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one log writer of every x9p program (x9p-backend, x9p-helper,
 * x9p-vhost): each GLib message becomes one whole line, written at once,
 * so that lines of several threads never interleave; messages below the
 * threshold are dropped.  Levels, by name: error (g_critical), warning,
 * notice (g_message), info, debug; a g_error is "fatal".
 *
 * Where the lines go (the daemons' --log-target):
 *   stderr   "NAME: LEVEL: text", or "NAME[PID]: LEVEL: text" (the default
 *            of the confined children, whose stderr is a pipe to their
 *            daemon, relay.h)
 *   journal  systemd's journal, natively: PRIORITY, SYSLOG_IDENTIFIER,
 *            MESSAGE and, for a child's line, X9P_DEVICE (what it serves)
 *            and X9P_CHILD_PID
 *   syslog   syslog(3), facility daemon, "NAME[PID]" as identity
 *   auto     the journal when stderr is connected to it (a systemd
 *            service), else stderr
 */
#ifndef X9P_LOG_H
#define X9P_LOG_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

/* Installs the writer (on stderr); name is copied.  with_pid: each line
 * carries the writer's pid at the time (a helper's changes when its
 * sandbox forks). */
void x9p_log_init(const char *name, bool with_pid, GLogLevelFlags threshold);
/* Sets the threshold by name; false (nothing changed) if unknown. */
bool x9p_log_set_level(const char *name);
/* The threshold as set, and setting it as a level (a worker gets its
 * monitor's). */
GLogLevelFlags x9p_log_threshold(void);
void x9p_log_set_threshold(GLogLevelFlags level);
/* Sets where lines go, by name (above); false (nothing changed) if
 * unknown.  x9p_log_init() sets "auto". */
bool x9p_log_set_target(const char *name);
/* The daemons' options: --log-target=TARGET, and --syslog (virtiofsd's
 * name for --log-target=syslog). */
extern const GOptionEntry x9p_log_target_entries[];
/*
 * A line of a child's log (relay.h): name and pid are the child's, device
 * what it serves (may be NULL); line has no newline and is already made
 * printable.  Its own "LEVEL: " prefix gives its priority.
 */
void x9p_log_child_line(const char *name, pid_t pid, const char *device, const char *line,
			size_t len);

#endif
