/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local helper launcher (fs/helper-launch.h): forks and executes
 * x9p-helper for one export.
 *
 * x9p_helper_spawner_new() opens the export directory O_PATH (from
 * cfg->export_fd, duplicated, or cfg->export_path: the only thing of the
 * export the daemon ever opens) and the helper binary O_PATH, so that
 * restarts work after the caller confined itself (NULL helper_path:
 * $X9P_HELPER, else x9p-helper next to the running program, else
 * X9P_LIBEXECDIR/x9p-helper).  Each start() gives the helper a
 * SOCK_SEQPACKET socketpair end as descriptor 3, the export as 4, /dev/null
 * as stdin and a pipe as stdout and stderr, whose lines are relayed
 * (log/relay.h); every other descriptor is closed.  The helper's options
 * come from cfg (security model, multidevs, readonly, no_setid, threads,
 * max_nodes, log level, namespace and seccomp switches).  exit_fd is a
 * pidfd.
 */
#ifndef X9P_FS_HELPER_SPAWN_H
#define X9P_FS_HELPER_SPAWN_H

#include <glib.h>

#include "fs/helper-launch.h"
#include "fs/proxy.h"

struct x9p_helper_launcher *x9p_helper_spawner_new(const struct x9p_proxy_cfg *cfg,
						   GError **err);

#endif
