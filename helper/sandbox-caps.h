/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Capabilities and the helper's final uid/gid, with libcap-ng (see
 * sandbox-priv.h for conventions).
 *
 * x9p_sb_caps_init() initialises libcap-ng while the host's /proc is still
 * what "/proc" names: the library reads /proc/sys/kernel/cap_last_cap once
 * and caches it, and no later call here may open a path that, after
 * pivot_root, would be a file of the export.
 *
 * x9p_sb_caps_drop_bounds() empties the bounding and ambient sets.  It runs
 * before pivot_root for the same reason.  Without CAP_SETPCAP (unprivileged
 * and no user namespace) the bounding set stays, with a log line; with
 * no_new_privs and no execve it can never add a capability anyway.
 *
 * x9p_sb_caps_switch_ids() sets real, effective and saved uid and gid;
 * with keep_caps the permitted set survives the switch (PR_SET_KEEPCAPS),
 * else a switch away from root clears it, as usual.
 *
 * x9p_sb_caps_limit() leaves exactly the set `need` calls for, effective
 * and permitted (none, or CHOWN DAC_OVERRIDE FOWNER FSETID SETUID SETGID
 * MKNOD for passthrough), an empty inheritable and ambient set, and checks
 * the result with capget(2) and prctl(2): any difference is an error.
 *
 * x9p_sb_caps_drop_all() is the supervisor's: nothing left at all.
 */
#ifndef X9P_HELPER_SANDBOX_CAPS_H
#define X9P_HELPER_SANDBOX_CAPS_H

#include "sandbox-priv.h"

void x9p_sb_caps_init(void);
int x9p_sb_caps_drop_bounds(char **err);
int x9p_sb_caps_switch_ids(uid_t uid, gid_t gid, bool keep_caps, char **err);
int x9p_sb_caps_limit(enum x9p_caps_need need, char **err);
int x9p_sb_caps_drop_all(char **err);

/* The 64-bit capability mask x9p_sb_caps_limit() leaves for `need`. */
guint64 x9p_sb_caps_mask(enum x9p_caps_need need);

#endif
