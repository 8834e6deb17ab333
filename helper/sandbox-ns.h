/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Namespaces of the confined helper (see sandbox-priv.h for conventions).
 *
 * x9p_sb_enter_userns() puts the process in a new user namespace in which
 * exactly one uid and one gid are mapped, each to itself, and setgroups(2)
 * is denied.  The process holds every capability inside it (none outside)
 * until sandbox-caps.c drops them.  From inside a new user namespace a
 * process may only map its own effective ids, so a root caller asked to
 * run as another uid/gid moves its *effective* ids there first; the real
 * and saved ids follow in x9p_sb_caps_switch_ids().  If creating the
 * namespace fails, the process is left as it was (effective ids restored)
 * and *fatal is false: the caller may fall back.  If it fails after the
 * namespace exists (writing the maps), *fatal is true.
 *
 * x9p_sb_unshare_others() unshares the mount, pid, net and ipc namespaces,
 * together if possible, else one at a time; each that cannot be created is
 * logged with its reason and skipped.  It returns the X9P_SANDBOX_*NS bits
 * obtained.  A new pid namespace only applies to children: see
 * sandbox-pidns.h.
 */
#ifndef X9P_HELPER_SANDBOX_NS_H
#define X9P_HELPER_SANDBOX_NS_H

#include "sandbox-priv.h"

int x9p_sb_enter_userns(uid_t uid, gid_t gid, bool *fatal, char **err);
unsigned x9p_sb_unshare_others(void);

#endif
