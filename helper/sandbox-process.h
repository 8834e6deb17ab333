/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Process-wide preparation of the helper before its namespaces (see
 * sandbox-priv.h for conventions).
 *
 * x9p_sb_prewarm_libraries() makes the C library and GLib load, from the
 * host, the files they would otherwise open lazily by path (time zone,
 * charset aliases, gconv configuration), and pins the zone through TZ when
 * it is unset: after pivot_root such paths would name files of the export.
 *
 * x9p_sb_count_threads() is the number of threads /proc shows, or -1.
 *
 * x9p_sb_close_stray_fds() closes every descriptor but 0-2, a and b
 * (close_range, or the /proc/self/fd listing before Linux 5.9).
 *
 * x9p_sb_drop_groups() empties the supplementary groups (CVE-2022-0358);
 * without the privilege to do so it logs and succeeds.
 *
 * x9p_sb_set_rlimits() sets RLIMIT_CORE 0, RLIMIT_NOFILE to max_files
 * (lowered with a warning to what the process may set) and, for a
 * read-only export, RLIMIT_FSIZE 0 with SIGXFSZ ignored.
 * x9p_sb_set_limit() sets one limit, soft and hard.
 */
#ifndef X9P_HELPER_SANDBOX_PROCESS_H
#define X9P_HELPER_SANDBOX_PROCESS_H

#include <sys/resource.h>

#include "sandbox-priv.h"

void x9p_sb_prewarm_libraries(void);
int x9p_sb_count_threads(void);
void x9p_sb_close_stray_fds(int a, int b);
int x9p_sb_drop_groups(char **err);
int x9p_sb_set_limit(int resource, rlim_t value, const char *name, char **err);
int x9p_sb_set_rlimits(const struct x9p_sandbox_cfg *cfg, char **err);

#endif
