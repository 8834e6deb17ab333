// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-worker: the unprivileged process of x9p-backend that reads clients'
 * bytes.  The monitor starts it with its channel as descriptor 3 and
 * sends one CONFIG message (privsep/mw.h) carrying the endpoints to serve,
 * each named "FAMILY BOUND" (FAMILY: unix, tcp or fd, the prefix of its
 * connections' labels, or fd2 for "fd:R,W", which comes with two
 * descriptors; BOUND: the address as the logs name it).
 * The worker confines itself (worker/lockdown.h) before it starts a thread
 * or reads a byte from any client, then runs the 9P engine and the socket
 * transport on those endpoints; x9p-helper is reached through sockets the
 * monitor hands over (worker/link.h).
 *
 * Exit status: 0 after SIGTERM or when an "fd:" connection ended
 * normally, 1 when one ended by a fault or at a runtime error, 2 on a
 * configuration the monitor should never have sent.
 */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "core/server.h"
#include "core/trace.h"
#include "fs/proxy.h"
#include "fs/synth.h"
#include "log/log.h"
#include "socket/socket.h"
#include "worker/attack.h"
#include "worker/link.h"
#include "worker/lockdown.h"

#define LINK_FD 3
#define EXIT_CONFIG 2

static GMainLoop *main_loop;
static int exit_status;

static gboolean on_signal(gpointer data)
{
	g_info("%s: shutting down", (const char *)data);
	g_main_loop_quit(main_loop);
	return G_SOURCE_CONTINUE;
}

static void on_fd_closed(void *opaque, const char *label, bool clean)
{
	g_info("%s: the inherited connection ended; exiting", label);
	if (!clean)
		exit_status = 1;
	g_main_loop_quit(main_loop);
}

/* Everything in CONFIG that the code below relies on, checked once. */
static bool config_valid(const struct mw_msg *c, char **why)
{
	unsigned n = c->u[MW_CF_N_ENDPOINTS], nfds = c->u[MW_CF_FLAGS] & MW_CF_TRACE ? 1 : 0;
	bool names_ok = n <= MW_MAX_ENDPOINTS && c->ns == MW_CF_S_ENDPOINT0 + n;

	/* Each endpoint is "FAMILY BOUND": unix, tcp and fd with one
	 * descriptor, fd2 ("fd:R,W") with two. */
	for (unsigned i = 0; names_ok && i < n; i++) {
		const char *e = c->s[MW_CF_S_ENDPOINT0 + i];
		bool two = g_str_has_prefix(e, "fd2 ");

		names_ok = two || g_str_has_prefix(e, "fd ") || g_str_has_prefix(e, "unix ") ||
			   g_str_has_prefix(e, "tcp ");
		nfds += two ? 2 : 1;
	}

	if (c->u[MW_CF_ROLE] != MW_ROLE_SOCKETS)
		*why = g_strdup_printf("unknown role %u", c->u[MW_CF_ROLE]);
	else if (c->u[MW_CF_SANDBOX] > MW_SANDBOX_NONE || c->u[MW_CF_SECCOMP] > MW_SECCOMP_NONE)
		*why = g_strdup("unknown sandbox or seccomp mode");
	else if (c->u[MW_CF_FS] > MW_FS_PROXY || c->u[MW_CF_MODEL] > X9P_SM_NONE ||
		 c->u[MW_CF_MULTIDEVS] > X9P_MULTIDEVS_WARN || c->u[MW_CF_FLAGS] & ~MW_CF_FLAGS_ALL)
		*why = g_strdup("unknown filesystem settings");
	else if (n == 0 || !names_ok || c->nfds != nfds)
		*why = g_strdup_printf("%u endpoints with %u names and %u descriptors", n, c->ns,
				       c->nfds);
	else if (c->u[MW_CF_ATTACK] && !x9p_attack_available())
		*why = g_strdup("self-attacks are built into test builds only");
	else
		return true;
	return false;
}

static struct x9p_fs *make_fs(const struct mw_msg *c, struct x9p_wlink *link, int proc_fd,
			      GError **err)
{
	struct x9p_proxy_cfg pc = {
		.export_fd = -1,
		.model = c->u[MW_CF_MODEL],
		.multidevs = c->u[MW_CF_MULTIDEVS],
		.readonly = c->u[MW_CF_FLAGS] & MW_CF_READONLY,
		.no_setid = c->u[MW_CF_FLAGS] & MW_CF_NO_SETID,
		.max_nodes = c->u[MW_CF_MAX_NODES],
	};

	if (c->u[MW_CF_FS] == MW_FS_SYNTH) {
		x9p_synth_set_proc_fd(proc_fd);
		return x9p_synth_new(c->s[MW_CF_S_SYNTH], err);
	}
	return x9p_proxy_new_with(&pc, x9p_wlink_helper_launcher(link), err);
}

int main(int argc, char **argv)
{
	struct x9p_lockdown_cfg lc = { .parent = getppid() };
	struct x9p_server_cfg scfg = { 0 };
	struct x9p_sock_cfg sock_cfg = { 0 };
	struct x9p_sock_server *ss = NULL;
	struct x9p_server *engine = NULL;
	struct x9p_trace *trace = NULL;
	struct x9p_wlink *link;
	struct mw_msg c, ready;
	GError *err = NULL;
	char *why = NULL;
	int rc, proc_fd;
	unsigned n;

	g_set_prgname("x9p-worker");
	x9p_log_init("x9p-worker", true, G_LOG_LEVEL_INFO);
	/* Writes to a vanished peer must fail with EPIPE, never kill us. */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "x9p-worker", 0, 0, 0);
	link = x9p_wlink_new(LINK_FD);
	rc = x9p_wlink_config(link, &c);
	if (rc < 0) {
		g_critical("no configuration from the monitor: %s", g_strerror(-rc));
		return EXIT_CONFIG;
	}
	if (!config_valid(&c, &why)) {
		g_critical("the monitor's configuration: %s", why);
		return EXIT_CONFIG;
	}
	x9p_log_set_threshold(c.u[MW_CF_LOG_LEVEL]);
	lc.uid = c.u[MW_CF_UID];
	lc.gid = c.u[MW_CF_GID];
	lc.sandbox = c.u[MW_CF_SANDBOX];
	lc.seccomp = c.u[MW_CF_SECCOMP];
	rc = x9p_worker_lockdown(&lc, &proc_fd, &why);
	if (rc < 0) {
		g_critical("%s: cannot confine the worker: %s", c.s[MW_CF_S_LABEL], why);
		return 1;
	}

	n = c.u[MW_CF_N_ENDPOINTS];
	if (c.u[MW_CF_FLAGS] & MW_CF_TRACE) {
		trace = x9p_trace_open_fd(c.fds[c.nfds - 1]);
		c.fds[c.nfds - 1] = -1;
		if (!trace)
			g_warning("--trace: %s", g_strerror(errno));
	}
	main_loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, (gpointer) "SIGINT");
	g_unix_signal_add(SIGTERM, on_signal, (gpointer) "SIGTERM");
	scfg.fs = make_fs(&c, link, proc_fd, &err);
	if (!scfg.fs)
		goto fail;
	scfg.workers = c.u[MW_CF_WORKERS];
	scfg.max_fids = c.u[MW_CF_MAX_FIDS];
	scfg.max_open_files = c.u[MW_CF_MAX_OPEN_FILES];
	scfg.max_locks = c.u[MW_CF_MAX_LOCKS];
	scfg.max_xattr_bytes = c.u[MW_CF_MAX_XATTR_BYTES];
	scfg.trace = trace;
	engine = x9p_server_new(&scfg);
	if (!engine) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot start the 9P engine");
		goto fail;
	}
	sock_cfg.max_conns = c.u[MW_CF_MAX_CONNS];
	sock_cfg.reply_timeout_s = c.u[MW_CF_REPLY_TIMEOUT];
	sock_cfg.version_timeout_s = c.u[MW_CF_VERSION_TIMEOUT];
	sock_cfg.max_conns_per_peer = c.u[MW_CF_MAX_CONNS_PER_PEER];
	sock_cfg.fd_closed = on_fd_closed;
	ss = x9p_sock_server_new(engine, &sock_cfg, NULL);
	for (unsigned i = 0, f = 0; i < n; i++) {
		const char *name = c.s[MW_CF_S_ENDPOINT0 + i];
		struct x9p_sock_endpoint ep = {
			.family = g_str_has_prefix(name, "unix ") ? "unix" :
				  g_str_has_prefix(name, "tcp ") ? "tcp" : "fd",
			.rfd = c.fds[f],
			.wfd = c.fds[f],
			.bound = g_strdup(strchr(name, ' ') + 1),
		};
		int acc = 0;
		socklen_t al = sizeof(acc);

		c.fds[f++] = -1;
		if (g_str_has_prefix(name, "fd2 ")) {
			ep.wfd = c.fds[f];
			c.fds[f++] = -1;
		}
		/* A listening socket is accepted on, anything else is one connection. */
		ep.listening = ep.rfd == ep.wfd &&
			       getsockopt(ep.rfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc;
		if (!x9p_sock_server_adopt(ss, &ep, &err)) {
			x9p_sock_endpoint_clear(&ep);
			goto fail;
		}
		x9p_sock_endpoint_clear(&ep);
	}
	mw_init(&ready, MW_READY, 0);
	if (x9p_wlink_send(link, &ready) < 0) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_PIPE, "the monitor is gone");
		goto fail;
	}
	if (c.u[MW_CF_ATTACK])
		x9p_attack(c.u[MW_CF_ATTACK], lc.parent);
	g_main_loop_run(main_loop);
	goto out;
fail:
	g_critical("%s: %s", c.s[MW_CF_S_LABEL], err ? err->message : "failed");
	exit_status = 1;
out:
	x9p_sock_server_free(ss);
	if (engine)
		x9p_server_free(engine);
	else if (scfg.fs)
		scfg.fs->ops->destroy(scfg.fs);
	if (trace)
		x9p_trace_close(trace);
	g_clear_error(&err);
	mw_clear(&c);
	if (main_loop)
		g_main_loop_unref(main_loop);
	x9p_wlink_free(link);
	return exit_status;
}
