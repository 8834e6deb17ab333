/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemons' options for their unix sockets and their process, in
 * virtiofsd's spelling where it has one, shared by x9p-backend and
 * x9p-vhost:
 *   --socket-mode MODE   octal permissions of the unix sockets they create
 *                        (default 0600)
 *   --socket-group NAME  their group (default: the daemon's), so that a
 *                        VMM of that group can connect with mode 0660
 *   --rlimit-nofile N    the descriptor limit, soft and hard (default: left
 *                        as inherited, e.g. the unit's LimitNOFILE)
 * Add x9p_socket_entries to the option context, then call
 * x9p_socket_resolve() after parsing (it looks the group up here, and sets
 * the limit).
 */
#ifndef X9P_MONITOR_SOCKET_OPTS_H
#define X9P_MONITOR_SOCKET_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

extern const GOptionEntry x9p_socket_entries[];

bool x9p_socket_resolve(GError **err);
unsigned x9p_socket_mode(void);
/* The group to give unix sockets, or (gid_t)-1 for none. */
gid_t x9p_socket_group(void);

#endif
