// SPDX-License-Identifier: GPL-2.0-or-later
/* A server: one export's driver and the worker pool its sessions share. */
#include "core/core.h"

#define X9P_DEFAULT_WORKERS 16
/* A Linux client with cache=loose holds a fid per cached dentry. */
#define X9P_DEFAULT_MAX_FIDS 65536

static void worker(gpointer data, gpointer user)
{
	x9p_dispatch(data);
	x9p_req_done(data);
}

struct x9p_server *x9p_server_new(const struct x9p_server_cfg *cfg)
{
	struct x9p_server *srv = g_new0(struct x9p_server, 1);
	unsigned workers = cfg->workers ? cfg->workers : X9P_DEFAULT_WORKERS;

	srv->fs = cfg->fs;
	srv->max_fids = cfg->max_fids ? cfg->max_fids : X9P_DEFAULT_MAX_FIDS;
	srv->max_open = cfg->max_open_files;
	srv->max_xattr_bytes = cfg->max_xattr_bytes ? cfg->max_xattr_bytes : X9P_DEFAULT_XATTR_BYTES;
	srv->keep_fids_on_version = cfg->keep_fids_on_version;
	srv->trace = cfg->trace;
	srv->locks = x9p_locks_new(cfg->max_locks);
	srv->mode_gen = 1;          /* a new fid's privs_gen (0) never matches */
	srv->pool = g_thread_pool_new(worker, srv, (gint)workers, TRUE, NULL);
	return srv;
}

void x9p_server_free(struct x9p_server *srv)
{
	if (!srv)
		return;
	g_thread_pool_free(srv->pool, FALSE, TRUE);
	x9p_locks_free(srv->locks);
	if (srv->fs && srv->fs->ops->destroy)
		srv->fs->ops->destroy(srv->fs);
	g_free(srv);
}
