/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The production filesystem driver: implements fs.h by talking to one
 * x9p-helper process per export over the proxy protocol (helper/proxy.h).
 *
 * Contract:
 *  - Helpers come from a launcher (fs/helper-launch.h): x9p_proxy_new()
 *    uses the local one (fs/helper-spawn.h), which opens the export
 *    directory O_PATH (the only thing the backend ever opens in the
 *    export; the path never crosses the protocol) and the helper binary;
 *    a sandboxed worker passes one that asks its monitor.  The driver
 *    checks each helper's HELLO.
 *  - Requests are pipelined: any number of callers may wait at once; a
 *    reader thread hands each reply to its caller by request id.
 *  - Every reply is validated as hostile: lengths against the caller's
 *    buffers, names, attribute values, and every received descriptor must
 *    be an opened (not O_PATH) regular file with the requested access
 *    mode.  A helper that breaks the protocol is killed and restarted.
 *  - Supervision: when the helper dies, the requests in flight fail with
 *    -EIO, the helper is restarted (backoff: immediately, then doubling up
 *    to 5 s while it keeps dying young) and calls made meanwhile wait for
 *    it (at most 10 s, or until cancelled).  Every node remembers its
 *    parent node and name and is walked again on first use after a
 *    restart; one that no longer leads to the same inode gives -ESTALE.
 *    Open descriptors the core holds are unaffected.
 *  - qid.path is computed here, so it stays stable across helper
 *    restarts: multidevs=remap packs a per-device index above 48 inode
 *    bits (falling back to a table for larger inode numbers); forbid and
 *    warn use the inode number as is.
 */
#ifndef X9P_FS_PROXY_H
#define X9P_FS_PROXY_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "fs/fs.h"
#include "helper/proxy.h"

struct x9p_proxy_cfg {
	const char *export_path;    /* directory to export, or NULL with export_fd */
	int export_fd;              /* O_PATH directory descriptor (duplicated); -1: use export_path */
	/*
	 * NULL: $X9P_HELPER, else x9p-helper next to the running program, else
	 * X9P_LIBEXECDIR/x9p-helper.
	 */
	const char *helper_path;
	enum x9p_secmodel model;
	enum x9p_multidevs multidevs;
	bool readonly;
	bool no_setid;              /* helper --no-setid */
	unsigned helper_threads;    /* 0: the helper's default */
	unsigned max_nodes;         /* 0: the helper's default */
	bool no_namespaces;         /* helper --no-namespaces */
	bool no_seccomp;            /* helper --no-seccomp */
	const char *log_level;      /* helper --log-level; NULL: default */
	/* What the helper serves (a device's label, a socket), shown in its
	 * process line: "x9p-helper LABEL --sock-fd=3 ..."; NULL: nothing. */
	const char *label;
};

/* Starts the helper itself (fs/helper-spawn.h) and returns the driver. */
struct x9p_fs *x9p_proxy_new(const struct x9p_proxy_cfg *cfg, GError **err);
/*
 * The driver with helpers from `launcher` (taken over, also on failure);
 * cfg's path, descriptor and helper options are the launcher's business
 * and ignored here, the rest must match what the helper serves.
 */
struct x9p_helper_launcher;
struct x9p_fs *x9p_proxy_new_with(const struct x9p_proxy_cfg *cfg,
				  struct x9p_helper_launcher *launcher, GError **err);

/* Diagnostics and tests: the helper's pid (-1 while down), restarts so far,
 * requests waiting for a reply right now. */
pid_t x9p_proxy_helper_pid(struct x9p_fs *fs);
unsigned x9p_proxy_restarts(struct x9p_fs *fs);
unsigned x9p_proxy_inflight(struct x9p_fs *fs);

#endif
