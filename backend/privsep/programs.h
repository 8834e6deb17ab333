/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the daemons find their companion programs (x9p-helper,
 * x9p-worker): the environment variable env_var if set and not empty,
 * else NAME next to the running program if executable there (a build
 * tree), else X9P_LIBEXECDIR/NAME.  Returns a path to g_free.
 */
#ifndef X9P_PRIVSEP_PROGRAMS_H
#define X9P_PRIVSEP_PROGRAMS_H

#ifndef X9P_LIBEXECDIR
#define X9P_LIBEXECDIR "/usr/local/libexec/x9p"
#endif

char *x9p_program_path(const char *name, const char *env_var);

#endif
