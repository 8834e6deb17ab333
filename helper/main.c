/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-helper: performs every filesystem operation of one export for
 * x9p-backend, over the proxy protocol (proxy.h) on an inherited
 * SOCK_SEQPACKET socket.  The export arrives as an inherited O_PATH
 * directory descriptor; no path ever crosses the protocol.  docs/helper.md.
 */
#define G_LOG_DOMAIN "x9p-helper"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "core/version.h"
#include "log/log.h"
#include "creds.h"
#include "helper.h"
#include "nodes.h"
#include "proxy.h"
#include "sandbox.h"
#include "serve.h"

#define EXIT_USAGE 2

static struct {
	int sock_fd;
	int export_fd;
	char *model;
	char *multidevs;
	gboolean readonly;
	gboolean no_setid;
	int threads;
	int max_nodes;
	int max_queue;
	gboolean no_namespaces;
	gboolean no_seccomp;
	char *log_level;
} opt = {
	.sock_fd = -1,
	.export_fd = -1,
	.threads = 8,
	.max_nodes = X9P_PX_DEFAULT_MAX_NODES,
	.max_queue = 1024,
};

static const GOptionEntry entries[] = {
	{ "sock-fd", 0, 0, G_OPTION_ARG_INT, &opt.sock_fd,
	  "Inherited AF_UNIX SOCK_SEQPACKET socket to the backend (required)", "N" },
	{ "export-fd", 0, 0, G_OPTION_ARG_INT, &opt.export_fd,
	  "Inherited O_PATH descriptor of the exported directory (required)", "N" },
	{ "security-model", 0, 0, G_OPTION_ARG_STRING, &opt.model,
	  "passthrough, mapped-xattr (or mapped), mapped-file or none (required)", "MODEL" },
	{ "readonly", 0, 0, G_OPTION_ARG_NONE, &opt.readonly,
	  "Refuse every modification with EROFS", NULL },
	{ "no-setid", 0, 0, G_OPTION_ARG_NONE, &opt.no_setid,
	  "passthrough: never put set-user-ID or set-group-ID bits on host files "
	  "(model none never does)", NULL },
	{ "multidevs", 0, 0, G_OPTION_ARG_STRING, &opt.multidevs,
	  "Other filesystems below the export: remap (default), forbid or warn", "MODE" },
	{ "threads", 0, 0, G_OPTION_ARG_INT, &opt.threads,
	  "Worker threads (default 8)", "N" },
	{ "max-nodes", 0, 0, G_OPTION_ARG_INT, &opt.max_nodes,
	  "Most nodes the backend may hold (default 65536)", "N" },
	{ "max-queue", 0, 0, G_OPTION_ARG_INT, &opt.max_queue,
	  "Most requests queued or running (default 1024)", "N" },
	{ "no-namespaces", 0, 0, G_OPTION_ARG_NONE, &opt.no_namespaces,
	  "Confine with chroot instead of namespaces (for containers)", NULL },
	{ "no-seccomp", 0, 0, G_OPTION_ARG_NONE, &opt.no_seccomp,
	  "Do not install the system call filter (debugging only)", NULL },
	{ "log-level", 0, 0, G_OPTION_ARG_STRING, &opt.log_level,
	  "error, warning, notice (default), info or debug", "LEVEL" },
	{ NULL },
};

static bool G_GNUC_PRINTF(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "x9p-helper: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	return false;
}

static bool check_fds(void)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);
	struct stat st;

	if (opt.sock_fd < 0 || getsockopt(opt.sock_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET)
		return usage_error("--sock-fd: %s is not a SOCK_SEQPACKET socket",
				   opt.sock_fd < 0 ? "missing, it" : "it");
	len = sizeof(int);
	if (getsockopt(opt.sock_fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return usage_error("--sock-fd: %s is not an AF_UNIX socket", "it");
	if (opt.export_fd < 0 || fstat(opt.export_fd, &st) < 0 || !S_ISDIR(st.st_mode))
		return usage_error("--export-fd: %s is not a directory descriptor",
				   opt.export_fd < 0 ? "missing, it" : "it");
	if (opt.sock_fd == opt.export_fd)
		return usage_error("--sock-fd and --export-fd %s", "are the same");
	return true;
}

int main(int argc, char **argv)
{
	struct x9p_sandbox_cfg sb = { 0 };
	enum x9p_multidevs md = X9P_MULTIDEVS_REMAP;
	enum x9p_secmodel model;
	GOptionContext *octx;
	GError *err = NULL;
	char *sberr = NULL;
	struct rlimit rl;
	int export_fd, e;

	g_set_prgname("x9p-helper");
	x9p_log_init("x9p-helper", true, G_LOG_LEVEL_MESSAGE);
	/* A vanished backend must show up as EPIPE, not kill us mid-operation. */
	signal(SIGPIPE, SIG_IGN);

	octx = g_option_context_new("- filesystem helper of x9p-backend");
	g_option_context_set_summary(octx,
		"Performs the filesystem operations of one export for x9p-backend,\n"
		"confined to that export. Started by x9p-backend; not for direct use.");
	g_option_context_add_main_entries(octx, entries, NULL);
	x9p_version_add(octx);
	if (!g_option_context_parse(octx, &argc, &argv, &err)) {
		fprintf(stderr, "x9p-helper: %s (see --help)\n", err->message);
		return EXIT_USAGE;
	}
	g_option_context_free(octx);
	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]), EXIT_USAGE;
	if (opt.log_level && !x9p_log_set_level(opt.log_level))
		return usage_error("--log-level: '%s' is not a level", opt.log_level), EXIT_USAGE;
	if (!x9p_secmodel_parse(opt.model, &model))
		return usage_error("--security-model: '%s' is not passthrough, mapped-xattr, "
				   "mapped-file or none", opt.model ? opt.model : ""), EXIT_USAGE;
	if (opt.multidevs && !x9p_multidevs_parse(opt.multidevs, &md))
		return usage_error("--multidevs: '%s' is not remap, forbid or warn",
				   opt.multidevs), EXIT_USAGE;
	if (opt.threads < 1 || opt.threads > 1024 || opt.max_nodes < 16 ||
	    opt.max_nodes > (1 << 24) || opt.max_queue < 1 || opt.max_queue > (1 << 20))
		return usage_error("%s out of range", "--threads, --max-nodes or --max-queue"),
		       EXIT_USAGE;
	if (!check_fds())
		return EXIT_USAGE;

	/* Modes are exactly what the guest asks for; creation never inherits ours. */
	umask(0);
	/* Also when the backend dies before we read its socket's end of file. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	sb.sock_fd = opt.sock_fd;
	sb.caps = model == X9P_SM_PASSTHROUGH ? X9P_CAPS_PASSTHROUGH : X9P_CAPS_NONE;
	sb.readonly = opt.readonly;
	sb.no_namespaces = opt.no_namespaces;
	sb.no_seccomp = opt.no_seccomp;
	sb.run_uid = (uid_t)-1;
	sb.run_gid = (gid_t)-1;
	/*
	 * A descriptor per node, one per request in flight, and a margin; never
	 * more than the hard limit we were given (raising it needs privilege).
	 */
	sb.max_files = (unsigned)opt.max_nodes + (unsigned)opt.max_queue + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    sb.max_files > rl.rlim_max) {
		sb.max_files = (unsigned)rl.rlim_max;
		if ((unsigned)opt.max_nodes + 64 > sb.max_files)
			opt.max_nodes = sb.max_files > 128 ? (int)sb.max_files - 64 : 64;
	}
	export_fd = opt.export_fd;
	e = x9p_sandbox_enter(&sb, &export_fd, &sberr);
	if (e < 0) {
		g_critical("sandbox: %s", sberr ? sberr : g_strerror(-e));
		return 1;
	}
	e = hx_config_init(export_fd, model, md, opt.readonly, (unsigned)opt.max_nodes);
	if (e < 0) {
		g_critical("export: %s", g_strerror(-e));
		return 1;
	}
	hx.no_setid = opt.no_setid;
	hx.proc_fd = x9p_sandbox_proc_fd();
	if (hx.proc_fd < 0)
		g_message("no /proc/self/fd: open-but-unlinked files and xattrs of regular "
			  "files are limited");
	hx_nodes_init();
	hx_creds_init();
	g_info("serving %s export, %s%s", x9p_secmodel_name(model), x9p_multidevs_name(md),
	       opt.readonly ? ", read-only" : "");
	e = hx_serve(opt.sock_fd, (unsigned)opt.threads, (unsigned)opt.max_queue);
	return e < 0 ? 1 : 0;
}
