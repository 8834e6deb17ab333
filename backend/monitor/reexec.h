/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A daemon's reload (SIGHUP): the program file and arguments are noted at
 * start, before option parsing changes argv, and executed again in the
 * same process once the daemon has handed its guests over.  The path is
 * read at start so that the file an upgrade put in its place is the one
 * executed; --ready-fd is dropped (its descriptor is used up).
 */
#ifndef X9P_MONITOR_REEXEC_H
#define X9P_MONITOR_REEXEC_H

void x9p_reexec_save(int argc, char **argv);
/* Returns only when it failed (logged).  SIGTERM, SIGINT and SIGHUP are
 * blocked across the exec: one that arrives meanwhile stays pending. */
void x9p_reexec(void);
/* The daemon's handlers of those signals are in place: unblocks them (a
 * pending one is handled now). */
void x9p_reexec_handlers_ready(void);

#endif
