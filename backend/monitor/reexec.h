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
/* Returns only when it failed (logged). */
void x9p_reexec(void);

#endif
