/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Declarations shared by the sandbox modules (sandbox*.c); not part of the
 * helper's interface, which is sandbox.h.
 *
 * Every function here returns 0 or a negative errno; on failure it has set
 * *err to a message (g_free()) naming the step that failed.
 */
#ifndef X9P_HELPER_SANDBOX_PRIV_H
#define X9P_HELPER_SANDBOX_PRIV_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "sandbox.h"

/* Formats *err (appending strerror(errnum) when errnum > 0); returns -errnum. */
int x9p_sb_fail(char **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Writes all of buf to the file at path (the uid_map, gid_map and setgroups files). */
int x9p_sb_write_file(const char *path, const char *buf, char **err);

#endif
