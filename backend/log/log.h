/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one log writer of every x9p program (x9p-backend, x9p-helper,
 * x9p-vhost): each GLib message becomes one whole line on stderr,
 * "NAME: LEVEL: text" or "NAME[PID]: LEVEL: text", written at once, so
 * lines of several threads never interleave; messages below the threshold
 * are dropped.  Levels, by
 * name: error (g_critical), warning, notice (g_message), info, debug; a
 * g_error is "fatal".
 */
#ifndef X9P_LOG_H
#define X9P_LOG_H

#include <stdbool.h>

#include <glib.h>

/* Installs the writer; name is copied.  with_pid: each line carries the
 * writer's pid at the time (a helper's changes when its sandbox forks). */
void x9p_log_init(const char *name, bool with_pid, GLogLevelFlags threshold);
/* Sets the threshold by name; false (nothing changed) if unknown. */
bool x9p_log_set_level(const char *name);
/* The threshold as set, and setting it as a level (a worker gets its
 * monitor's). */
GLogLevelFlags x9p_log_threshold(void);
void x9p_log_set_threshold(GLogLevelFlags level);

#endif
