/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The workers' confinement options, shared by every daemon that starts
 * workers (x9p-backend, x9p-vhost), in the style of virtiofsd's
 * --sandbox and --seccomp:
 *   --sandbox=namespace|chroot|none   (default namespace)
 *   --seccomp=kill|log|none           (default kill)
 *   --worker-user=USER                (default x9p, else nobody)
 * Add x9p_confine_entries to the option context, then call
 * x9p_confine_resolve() after parsing: it checks the values and looks the
 * user up here, in the monitor (a worker cannot use NSS).  A monitor that
 * is not root gives its workers its own ids (in a user namespace).
 */
#ifndef X9P_MONITOR_CONFINE_H
#define X9P_MONITOR_CONFINE_H

#include <glib.h>
#include <sys/types.h>

#include "privsep/mw.h"

#define X9P_WORKER_USER "x9p"

extern const GOptionEntry x9p_confine_entries[];

bool x9p_confine_resolve(GError **err);
/* Sets CONFIG's uid, gid, sandbox, seccomp and log-level fields. */
void x9p_confine_config(struct mw_msg *c);

#endif
