// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-worker: the unprivileged process of x9p-backend and x9p-vhost that
 * reads guests' and clients' bytes.  The monitor starts it with its
 * channel as descriptor 3 and sends one CONFIG message (privsep/mw.h)
 * carrying the endpoints to serve, each named "FAMILY BOUND" (FAMILY:
 * unix, tcp or fd, the prefix of its connections' labels, or fd2 for
 * "fd:R,W", which comes with two descriptors; BOUND: the address as the
 * logs name it).  The worker confines itself (worker/lockdown.h) before it
 * starts a thread or reads a byte from anybody, builds the filesystem
 * driver and the 9P engine, and serves its role (worker/serve.h);
 * x9p-helper is reached through sockets the monitor hands over
 * (worker/link.h).
 *
 * Exit status: 0 after SIGTERM or when an inherited connection ended
 * normally, 1 when one ended by a fault or at a runtime error, 2 on a
 * configuration the monitor should never have sent.
 */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib.h>

#include "core/trace.h"
#include "core/version.h"
#include "fs/proxy.h"
#include "fs/synth.h"
#include "log/log.h"
#include "worker/attack.h"
#include "worker/journal-link.h"
#include "worker/lockdown.h"
#include "worker/serve.h"

#define LINK_FD 3
#define EXIT_CONFIG 2

/* Everything in CONFIG that the code relies on, checked once. */
static bool config_valid(const struct mw_msg *c, char **why)
{
	unsigned n = c->u[MW_CF_N_ENDPOINTS];
	unsigned nfds = mw_cf_tail_fds(c);
	bool names_ok = n <= MW_MAX_ENDPOINTS && c->ns == MW_CF_S_ENDPOINT0 + n;

	/* Each endpoint is "FAMILY BOUND": unix, tcp and fd with one
	 * descriptor, fd2 ("fd:R,W") with two. */
	for (unsigned i = 0; names_ok && i < n; i++) {
		const char *e = c->s[MW_CF_S_ENDPOINT0 + i];
		bool two = g_str_has_prefix(e, "fd2 ");

		if (c->u[MW_CF_ROLE] == MW_ROLE_XEN) {
			/* Rings carry no descriptor: the worker maps them. */
			names_ok = g_str_has_prefix(e, "ring ");
			continue;
		}
		names_ok = two || g_str_has_prefix(e, "fd ") || g_str_has_prefix(e, "unix ") ||
			   g_str_has_prefix(e, "tcp ");
		nfds += two ? 2 : 1;
	}
	if (c->u[MW_CF_ROLE] < MW_ROLE_SOCKETS || c->u[MW_CF_ROLE] > MW_ROLE_XEN)
		*why = g_strdup_printf("unknown role %u", c->u[MW_CF_ROLE]);
	else if (c->u[MW_CF_SANDBOX] > MW_SANDBOX_NONE || c->u[MW_CF_SECCOMP] > MW_SECCOMP_NONE)
		*why = g_strdup("unknown sandbox or seccomp mode");
	else if (c->u[MW_CF_FS] > MW_FS_PROXY || c->u[MW_CF_MODEL] > X9P_SM_NONE ||
		 c->u[MW_CF_MULTIDEVS] > X9P_MULTIDEVS_WARN || c->u[MW_CF_FLAGS] & ~MW_CF_FLAGS_ALL)
		*why = g_strdup("unknown filesystem settings");
	else if ((c->u[MW_CF_FLAGS] & MW_CF_RECORD) && c->u[MW_CF_ROLE] == MW_ROLE_SOCKETS)
		*why = g_strdup("a recording for socket connections");
	else if (c->u[MW_CF_KEPT_FDS] > MW_KEPT_FDS_MAX || c->u[MW_CF_KEPT_DEVICE] > 1 ||
		 (c->u[MW_CF_KEPT_DEVICE] && c->u[MW_CF_ROLE] != MW_ROLE_VHOST))
		*why = g_strdup_printf("%u kept files, %u kept devices", c->u[MW_CF_KEPT_FDS],
				       c->u[MW_CF_KEPT_DEVICE]);
	else if (n == 0 || !names_ok || c->nfds != nfds)
		*why = g_strdup_printf("%u endpoints with %u names and %u descriptors", n, c->ns,
				       c->nfds);
	else if (c->u[MW_CF_ROLE] == MW_ROLE_VHOST &&
		 (n != 1 || g_str_has_prefix(c->s[MW_CF_S_ENDPOINT0], "fd2 ") ||
		  !c->s[MW_CF_S_TAG][0]))
		*why = g_strdup("a vhost device has one endpoint and a tag");
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

	struct x9p_fs *fs;

	if (c->u[MW_CF_FS] == MW_FS_SYNTH) {
		x9p_synth_set_proc_fd(proc_fd);
		fs = x9p_synth_new(c->s[MW_CF_S_SYNTH], err);
	} else {
		fs = x9p_proxy_new_with(&pc, x9p_wlink_helper_launcher(link), err);
	}
	if (fs && c->u[MW_CF_ROLE] == MW_ROLE_XEN)
		fs = x9p_worker_xen_wrap_fs(fs, c);
	return fs;
}

bool x9p_worker_announce(struct x9p_wctx *w)
{
	struct mw_msg ready;
	int rc;

	mw_init(&ready, MW_READY, 0);
	rc = x9p_wlink_send(w->link, &ready);
	if (rc < 0) {
		g_critical("the monitor is gone: %s", g_strerror(-rc));
		return false;
	}
	if (w->c->u[MW_CF_ATTACK]) {
		struct x9p_attack_target t = {
			.monitor = w->monitor,
			.gnttab = w->gnttab,
			.evtchn = w->evtchn,
			.domid = w->domid,
			.restored = w->restored,
		};

		x9p_attack(w->c->u[MW_CF_ATTACK], &t);
	}
	return true;
}

int main(int argc, char **argv)
{
	struct x9p_lockdown_cfg lc = { .parent = getppid() };
	struct x9p_server_cfg scfg = { 0 };
	struct x9p_trace *trace = NULL;
	struct x9p_wctx w = { 0 };
	struct mw_msg c;
	GError *err = NULL;
	char *why = NULL;
	int rc, proc_fd, status = 1;

	g_set_prgname("x9p-worker");
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("x9p-worker %s\n", x9p_version());
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "x9p-worker: started by x9p-backend and x9p-vhost, with no "
			"arguments but --version\n");
		return 2;
	}
	x9p_log_init("x9p-worker", true, G_LOG_LEVEL_INFO);
	/* Writes to a vanished peer must fail with EPIPE, never kill us. */
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "x9p-worker", 0, 0, 0);
	w.link = x9p_wlink_new(LINK_FD);
	w.monitor = lc.parent;
	w.c = &c;
	rc = x9p_wlink_recv(w.link, MW_CONFIG, &c);
	if (rc < 0) {
		g_critical("no configuration from the monitor: %s", g_strerror(-rc));
		return EXIT_CONFIG;
	}
	if (!config_valid(&c, &why)) {
		g_critical("the monitor's configuration: %s", why);
		return EXIT_CONFIG;
	}
	x9p_log_set_threshold(c.u[MW_CF_LOG_LEVEL]);
	if (c.u[MW_CF_ROLE] == MW_ROLE_VHOST) {
		/* Only the device's signalfd sees them: blocked before any thread. */
		sigset_t sigs;

		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	}
	w.kept_conns = g_ptr_array_new();
	if (!x9p_worker_journal(&c, w.link, &w.journal, &w.restored, &w.kept_device,
				w.kept_conns, &why)) {
		g_critical("%s: %s", c.s[MW_CF_S_LABEL], why);
		return 1;
	}
	if (c.u[MW_CF_ROLE] == MW_ROLE_XEN &&
	    !x9p_worker_xen_prepare(&c, w.link, w.journal, w.restored, &why)) {
		/* The monitor puts this in the device's error node. */
		struct mw_msg f;

		g_warning("%s: %s", c.s[MW_CF_S_LABEL], why);
		mw_init(&f, MW_FAULT, 0);
		mw_add_str(&f, why);
		x9p_wlink_send(w.link, &f);
		mw_clear(&f);
		return 1;
	}
	lc.xen = c.u[MW_CF_ROLE] == MW_ROLE_XEN;
	lc.synthetic = c.u[MW_CF_FS] == MW_FS_SYNTH;
	lc.record = c.u[MW_CF_FLAGS] & MW_CF_RECORD;
	lc.uid = c.u[MW_CF_UID];
	lc.gid = c.u[MW_CF_GID];
	lc.sandbox = c.u[MW_CF_SANDBOX];
	lc.seccomp = c.u[MW_CF_SECCOMP];
	rc = x9p_worker_lockdown(&lc, &proc_fd, &why);
	if (rc < 0) {
		g_critical("%s: cannot confine the worker: %s", c.s[MW_CF_S_LABEL], why);
		return 1;
	}

	if (c.u[MW_CF_FLAGS] & MW_CF_TRACE) {
		unsigned at = mw_cf_fd_at(&c, MW_CF_TRACE);

		trace = x9p_trace_open_fd(c.fds[at]);
		c.fds[at] = -1;
		if (!trace)
			g_warning("--trace: %s", g_strerror(errno));
	}
	scfg.fs = make_fs(&c, w.link, proc_fd, &err);
	if (!scfg.fs) {
		g_critical("%s: %s", c.s[MW_CF_S_LABEL], err->message);
		goto out;
	}
	scfg.workers = c.u[MW_CF_WORKERS];
	scfg.max_fids = c.u[MW_CF_MAX_FIDS];
	scfg.max_open_files = c.u[MW_CF_MAX_OPEN_FILES];
	scfg.max_locks = c.u[MW_CF_MAX_LOCKS];
	scfg.max_xattr_bytes = c.u[MW_CF_MAX_XATTR_BYTES];
	scfg.trace = trace;
	scfg.keep_fids_on_version = c.u[MW_CF_FLAGS] & MW_CF_KEEP_FIDS;
	w.engine = x9p_server_new(&scfg);
	if (!w.engine) {
		g_critical("%s: cannot start the 9P engine", c.s[MW_CF_S_LABEL]);
		goto out;
	}
	switch (c.u[MW_CF_ROLE]) {
	case MW_ROLE_VHOST:
		status = x9p_worker_serve_vhost(&w);
		break;
	case MW_ROLE_XEN:
		status = x9p_worker_serve_xen(&w);
		break;
	default:
		status = x9p_worker_serve_sockets(&w);
		break;
	}
out:
	if (w.engine)
		x9p_server_free(w.engine);
	else if (scfg.fs)
		scfg.fs->ops->destroy(scfg.fs);
	if (trace)
		x9p_trace_close(trace);
	g_clear_error(&err);
	mw_clear(&c);
	mw_clear(&w.kept_device);
	for (guint i = 0; w.kept_conns && i < w.kept_conns->len; i++) {
		mw_clear(w.kept_conns->pdata[i]);
		g_free(w.kept_conns->pdata[i]);
	}
	if (w.kept_conns)
		g_ptr_array_free(w.kept_conns, TRUE);
	x9p_wlink_free(w.link);
	return status;
}
