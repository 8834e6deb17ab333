/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-backend: serves 9P (9P2000.L and 9P2000.u) to guests and local
 * clients.  This file wires options, logging, the filesystem driver, the
 * engine and the transports together; the work happens in backend/core,
 * backend/fs and the transports.
 */
#define G_LOG_DOMAIN "x9p-backend"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "core/trace.h"
#include "core/version.h"
#include "monitor/export-opts.h"
#include "monitor/record-opts.h"
#include "monitor/sd-notify.h"
#include "monitor/socket-opts.h"
#include "fs/helper-spawn.h"
#include "log/log.h"
#include "monitor/confine.h"
#include "monitor/reexec.h"
#include "monitor/service.h"
#include "privsep/mw.h"
#include "journal/journal.h"
#include "socket/socket.h"
#include "xen/x9p-xen.h"

#define EXIT_USAGE 2

static struct {
	char **listen;
	gboolean no_journal;
	char *trace;
	int workers;
	int max_fids;
	int max_open_files;
	int max_conns;
	int max_locks;
	int max_xattr_bytes;
	int reply_timeout;
	int version_timeout;
	int max_conns_per_peer;
	gboolean allow_remote;
	char *log_level;
	int ready_fd;
	/* Xen PV 9pfs backend (backend/xen/x9p-xen.h) */
	gboolean xen;
	char *xen_kinds;
	int xen_max_rings;
	char *xen_state_dir;
} opt = {
	.ready_fd = -1,
};

/* The parsed --listen addresses, in order. */
static struct x9p_sock_addr *addrs;
static unsigned n_addrs;

static GMainLoop *main_loop;
static int exit_status;

/* ---- options -------------------------------------------------------- */

static const GOptionEntry entries[] = {
	{ "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &opt.listen,
	  "Where clients connect: unix:PATH, tcp:127.0.0.1:PORT or fd:N "
	  "(repeatable; see Addresses below)", "ADDRESS" },
	{ "trace", 0, 0, G_OPTION_ARG_FILENAME, &opt.trace,
	  "Log every 9P message in both directions to FILE", "FILE" },
	{ "workers", 0, 0, G_OPTION_ARG_INT, &opt.workers,
	  "Threads executing requests, shared by all clients (default 16)", "N" },
	{ "max-fids", 0, 0, G_OPTION_ARG_INT, &opt.max_fids,
	  "Most fids (file handles) one client may hold (default 65536)", "N" },
	{ "max-open-files", 0, 0, G_OPTION_ARG_INT, &opt.max_open_files,
	  "Most open files one client may hold (default: only --max-fids)", "N" },
	{ "max-locks", 0, 0, G_OPTION_ARG_INT, &opt.max_locks,
	  "Most POSIX lock records one client (or Xen device) may hold; more get "
	  "ENOLCK (default 16384)", "N" },
	{ "max-xattr-bytes", 0, 0, G_OPTION_ARG_INT, &opt.max_xattr_bytes,
	  "Most bytes of extended-attribute values one client (or Xen device) may "
	  "have pending between Txattrwalk/Txattrcreate and Tclunk; more get ENOSPC "
	  "(default 4194304)", "BYTES" },
	{ "no-journal", 0, 0, G_OPTION_ARG_NONE, &opt.no_journal,
	  "Keep no session journal for socket connections: a worker's death ends "
	  "them, and large reads go to the client without a copy (default: with "
	  "--export, every connection's session outlives its worker)", NULL },
	{ "max-connections", 0, 0, G_OPTION_ARG_INT, &opt.max_conns,
	  "Most clients connected at once to the listeners (default 64)", "N" },
	{ "reply-timeout", 0, 0, G_OPTION_ARG_INT, &opt.reply_timeout,
	  "Seconds a socket client may leave its replies unread before it is "
	  "disconnected (default 60)", "SECONDS" },
	{ "version-timeout", 0, 0, G_OPTION_ARG_INT, &opt.version_timeout,
	  "When all --max-connections are taken, a connection without a Tversion "
	  "for this long is closed to admit a new client (default 30)", "SECONDS" },
	{ "max-connections-per-peer", 0, 0, G_OPTION_ARG_INT, &opt.max_conns_per_peer,
	  "Most connections one peer (a unix-socket uid, a TCP address) may hold "
	  "at once (default: half of --max-connections)", "N" },
	{ "allow-remote", 0, 0, G_OPTION_ARG_NONE, &opt.allow_remote,
	  "Permit tcp: addresses other than loopback (unsafe: 9P has no "
	  "authentication or encryption)", NULL },
	{ "log-level", 0, 0, G_OPTION_ARG_STRING, &opt.log_level,
	  "Least important messages shown: error, warning, notice, info "
	  "(default) or debug", "LEVEL" },
	{ "ready-fd", 0, 0, G_OPTION_ARG_INT, &opt.ready_fd,
	  "When listening, write \"listen ADDRESS\" lines and \"ready\" to "
	  "descriptor N, then close it", "N" },
	{ "xen", 0, 0, G_OPTION_ARG_NONE, &opt.xen,
	  "Serve Xen PV 9pfs devices to guests (dom0 or a driver domain; see "
	  "Xen below)", NULL },
	{ "xen-backend-kinds", 0, 0, G_OPTION_ARG_STRING, &opt.xen_kinds,
	  "With --xen: XenStore backend kinds to serve (default "
	  X9P_XEN_DEFAULT_KINDS ")", "LIST" },
	{ "xen-max-rings", 0, 0, G_OPTION_ARG_INT, &opt.xen_max_rings,
	  "With --xen: rings a frontend may use per device, 1..8 (default 4)", "N" },
	{ "xen-state-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt.xen_state_dir,
	  "With --xen: where each connected device's session journal is kept for "
	  "the next x9p-backend (default " X9P_XEN_DEFAULT_STATE_DIR "; \"\": in memory, "
	  "lost with this process)", "DIR" },
	{ NULL },
};

static const char help_description[] =
	"Addresses (--listen):\n"
	"  unix:PATH           A unix socket, created with --socket-mode. A stale\n"
	"                      socket left at PATH is replaced; anything else there\n"
	"                      is an error. Removed again on exit.\n"
	"                        mount -t 9p -o trans=unix,version=9p2000.L PATH /mnt\n"
	"  tcp:HOST:PORT       A TCP port on HOST: 127.0.0.1, [::1] or localhost,\n"
	"                      other addresses only with --allow-remote. PORT 0\n"
	"                      picks a free port (see --ready-fd and the log).\n"
	"                        mount -t 9p -o trans=tcp,port=PORT,version=9p2000.L \\\n"
	"                          127.0.0.1 /mnt\n"
	"  fd:N, fd:R,W        One connection already open on inherited descriptor N\n"
	"                      (a socketpair end, a QEMU chardev, a character device)\n"
	"                      or on a read and a write descriptor. The program exits\n"
	"                      when it ends. An inherited listening socket is\n"
	"                      accepted on instead.\n"
	"\n"
	"Messages on these transports carry at most 1 MiB of data plus the 9P header;\n"
	"a client asking for a larger msize gets this one.\n"
	"\n"
	"Logging goes to stderr, one line per message; lines about a connection\n"
	"start with its label (unix:1, tcp:2, fd:3).\n"
	"\n"
	"SIGINT and SIGTERM: stop accepting, close every connection, exit 0.\n"
	"SIGHUP: the same, then execute the program file again (an upgrade).\n"
	"Exit status: 0 after a signal or when an fd: connection ended normally,\n"
	"1 on a runtime error or an fd: connection ended by a fault, 2 on bad usage.\n"
	"\n"
	"Xen (--xen): serves every device below /local/domain/SELF/backend/KIND/\n"
	"  for each KIND of --xen-backend-kinds: 9pfs (xl p9= entries of libxl\n"
	"  4.17), xen_9pfs (libxl 4.19+ type=xen_9pfsd; also claims\n"
	"  libxl/xen-9pfs/state) and x9p (xenstore-scripts/x9p-attach). Each\n"
	"  device serves its backend's path through its own x9p-helper (or, with --synthetic, a\n"
	"  synthetic filesystem) with its security_model; max-open-files,\n"
	"  max-files, max-space (MiB) and auto-delete are enforced; a device\n"
	"  without max-open-files gets --max-open-files (default: no limit besides\n"
	"  --max-fids). --workers and --max-fids apply per device. --listen is\n"
	"  optional with --xen. Log lines name the device: domD/KIND/DEVID.\n"
	"  x9p-backend --xen-device-model QEMU-ARGS... is a stand-in for the QEMU\n"
	"  libxl 4.17 starts for PV guests with p9= entries (device_model_override).\n"
	"  Restarts: SIGINT/SIGTERM let each connected device's in-flight requests\n"
	"  finish (interrupted after 5 s) and leave it Connected; the next\n"
	"  x9p-backend takes its rings over and the guest's session (fids, open\n"
	"  files) from the journal in --xen-state-dir. SIGHUP does the same and\n"
	"  executes the program file again (an upgrade; socket connections are\n"
	"  closed).\n"
	"\n"
	"Details: docs/x9p-backend.md and docs/xen.md.";

static bool parse_count(const char *name, int v, int max, GError **err)
{
	if (v < 0 || v > max) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--%s: %d is out of range (0..%d)", name, v, max);
		return false;
	}
	return true;
}

static bool check_options(GError **err)
{
	if (!x9p_confine_resolve(err) || !x9p_record_resolve(err) || !x9p_socket_resolve(err))
		return false;
	if (opt.log_level && !x9p_log_set_level(opt.log_level)) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--log-level: '%s' is not one of error, warning, notice, info, debug",
			    opt.log_level);
		return false;
	}
	if (!parse_count("workers", opt.workers, 1024, err) ||
	    !parse_count("max-fids", opt.max_fids, 1 << 20, err) ||
	    !parse_count("max-open-files", opt.max_open_files, 1 << 20, err) ||
	    !parse_count("max-connections", opt.max_conns, 65536, err) ||
	    !parse_count("reply-timeout", opt.reply_timeout, 86400, err) ||
	    !parse_count("version-timeout", opt.version_timeout, 86400, err) ||
	    !parse_count("max-connections-per-peer", opt.max_conns_per_peer, 65536, err) ||
	    !parse_count("max-locks", opt.max_locks, 1 << 24, err) ||
	    !parse_count("max-xattr-bytes", opt.max_xattr_bytes, 1 << 30, err))
		return false;
	if (x9p_record_on() && !opt.xen) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--record records Xen devices: it needs --xen");
		return false;
	}
	if (opt.ready_fd >= 0 && fcntl(opt.ready_fd, F_GETFD) < 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--ready-fd: %d is not an open descriptor", opt.ready_fd);
		return false;
	}
	if (opt.ready_fd < -1) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--ready-fd: %d is not a descriptor", opt.ready_fd);
		return false;
	}
	if (!x9p_export_resolve("--xen", opt.xen, err))
		return false;
	if ((!opt.listen || !opt.listen[0]) && !opt.xen) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "nothing to serve: give at least one --listen ADDRESS or --xen");
		return false;
	}
	/* A forgotten --export must not serve the built-in test tree. */
	if (opt.listen && opt.listen[0] && !x9p_export_dir() && !x9p_export_synthetic()) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--listen: nothing to serve: give --export DIR (or --synthetic, the "
			    "built-in test tree)");
		return false;
	}
	if (!opt.xen && (opt.xen_kinds || opt.xen_max_rings || opt.xen_state_dir)) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--%s needs --xen", opt.xen_kinds ? "xen-backend-kinds" :
			    opt.xen_max_rings ? "xen-max-rings" : "xen-state-dir");
		return false;
	}
	if (opt.xen_kinds && !x9p_xen_kinds_valid(opt.xen_kinds, err))
		return false;
	if (opt.xen_max_rings && (opt.xen_max_rings < 1 ||
				  opt.xen_max_rings > (int)X9P_XEN_MAX_RINGS)) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--xen-max-rings: %d is out of range (1..%u)", opt.xen_max_rings,
			    X9P_XEN_MAX_RINGS);
		return false;
	}
	n_addrs = opt.listen ? g_strv_length(opt.listen) : 0;
	addrs = g_new0(struct x9p_sock_addr, n_addrs);
	for (unsigned i = 0; i < n_addrs; i++) {
		struct x9p_sock_addr *a = &addrs[i];

		if (!x9p_sock_addr_parse(opt.listen[i], a, err)) {
			g_prefix_error(err, "--listen ");
			return false;
		}
		if (a->kind == X9P_SOCK_FD && opt.ready_fd >= 0 &&
		    (a->rfd == opt.ready_fd || a->wfd == opt.ready_fd)) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--listen %s: descriptor %d is also the --ready-fd",
				    opt.listen[i], opt.ready_fd);
			return false;
		}
	}
	return true;
}

/* ---- wiring --------------------------------------------------------- */

static struct x9p_mservice *sockets;
static bool stopping;
static GString *ready_text;

/*
 * What every socket worker is told: the engine's and transport's limits,
 * the driver, the confinement.  The endpoints are added by
 * monitor/sockets.c.
 */
static void worker_config(struct mw_msg *c)
{
	mw_init(c, MW_CONFIG, 0);
	c->u[MW_CF_ROLE] = MW_ROLE_SOCKETS;
	x9p_confine_config(c);
	c->u[MW_CF_ATTACK] = (uint32_t)atoi(g_getenv("X9P_WORKER_ATTACK") ?: "0");
	c->u[MW_CF_WORKERS] = (uint32_t)opt.workers;
	c->u[MW_CF_MAX_FIDS] = (uint32_t)opt.max_fids;
	c->u[MW_CF_MAX_OPEN_FILES] = (uint32_t)opt.max_open_files;
	c->u[MW_CF_MAX_LOCKS] = (uint32_t)opt.max_locks;
	c->u[MW_CF_MAX_XATTR_BYTES] = (uint32_t)opt.max_xattr_bytes;
	c->u[MW_CF_MAX_CONNS] = (uint32_t)opt.max_conns;
	c->u[MW_CF_REPLY_TIMEOUT] = (uint32_t)opt.reply_timeout;
	c->u[MW_CF_VERSION_TIMEOUT] = (uint32_t)opt.version_timeout;
	c->u[MW_CF_MAX_CONNS_PER_PEER] = (uint32_t)opt.max_conns_per_peer;
	x9p_export_config(c);
	mw_add_str(c, "sockets");
	mw_add_str(c, x9p_export_synth_spec());
	mw_add_str(c, "");          /* no tag */
}

/* The export's helpers, started by the monitor for the worker. */
static struct x9p_helper_launcher *make_helpers(GError **err)
{
	struct x9p_proxy_cfg cfg = { .label = opt.listen[0] };

	x9p_export_proxy_cfg(&cfg);
	return x9p_helper_spawner_new(&cfg, err);
}

static gboolean on_signal(gpointer data);
/* The socket service keeps its connections for the next worker (and, on
 * a reload, for the next program). */
static bool sockets_kept;

/* SIGHUP: stop as for SIGTERM, then execute the program file again;
 * kept socket connections and their sessions go to the new program. */
static bool reload;
static struct x9p_xen *xen;

static gboolean on_reload(gpointer data)
{
	/* An inherited connection not kept with its session cannot pass to
	 * the new program: it ends with this one, as on SIGTERM. */
	for (unsigned i = 0; i < n_addrs && !(sockets && x9p_mservice_keeps_conns(sockets)); i++)
		if (addrs[i].kind == X9P_SOCK_FD) {
			g_message("SIGHUP: an fd: connection cannot be handed over; stopping");
			return on_signal(data);
		}
	reload = true;
	x9p_sd_notify_reloading("handing over to a new x9p-backend");
	x9p_xen_stop_for_exec(xen);
	g_message("SIGHUP: handing over to a new x9p-backend");
	if (sockets && sockets_kept && !stopping) {
		stopping = true;
		/* The loop ends when the worker is gone (on_sockets_ended). */
		x9p_mservice_stop_for_exec(sockets);
		return G_SOURCE_CONTINUE;
	}
	return on_signal(data);
}

static gboolean on_signal(gpointer data)
{
	g_info("%s: shutting down", (const char *)data);
	if (!reload)
		x9p_sd_notify("STOPPING=1");
	if (sockets && !stopping) {
		stopping = true;
		/* The loop ends when the worker is gone (on_sockets_ended). */
		x9p_mservice_stop(sockets);
	} else if (!sockets) {
		g_main_loop_quit(main_loop);
	}
	return G_SOURCE_CONTINUE;
}

static void on_sockets_ended(void *opaque, int status)
{
	if (!stopping && status == 0)
		g_info("the inherited connection ended; exiting");
	if (status)
		exit_status = status;
	g_main_loop_quit(main_loop);
}

static void write_ready(void);

static void on_sockets_ready(void *opaque, const char *const *bound, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		g_message("serving %s", bound[i]);
		g_string_append_printf(ready_text, "listen %s\n", bound[i]);
	}
	write_ready();
}

static bool write_all(int fd, const char *s, GError **err)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e),
				    "--ready-fd %d: %s", fd, g_strerror(e));
			return false;
		}
		s += w;
		len -= w;
	}
	return true;
}

static void write_ready(void)
{
	GError *err = NULL;
	char *status = g_strdelimit(g_strndup(ready_text->str, ready_text->len), "\n", ' ');

	g_strstrip(status);
	x9p_sd_notify("READY=1\nSTATUS=%s%s%s", xen ? "serving Xen 9pfs devices" : "",
		      xen && *status ? "; " : "", status);
	g_free(status);
	if (opt.ready_fd < 0)
		return;
	g_string_append(ready_text, "ready\n");
	if (!write_all(opt.ready_fd, ready_text->str, &err)) {
		g_warning("%s", err->message);
		g_clear_error(&err);
	}
	close(opt.ready_fd);
	opt.ready_fd = -1;
}

/* Parses and checks the command line: false (after saying why) on bad
 * usage. */
static bool parse_command_line(int *argc, char ***argv)
{
	GOptionContext *octx;
	GError *err = NULL;
	bool ok;

	octx = g_option_context_new("- serve 9P to guests and local clients");
	g_option_context_set_summary(octx,
		"Serves a filesystem over the 9P protocol (9P2000.L and 9P2000.u) on\n"
		"unix sockets, loopback TCP or inherited descriptors.");
	g_option_context_set_description(octx, help_description);
	g_option_context_add_main_entries(octx, entries, NULL);
	g_option_context_add_main_entries(octx, x9p_export_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_confine_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_record_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_log_target_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_socket_entries, NULL);
	x9p_version_add(octx);
	ok = g_option_context_parse(octx, argc, argv, &err);
	g_option_context_free(octx);
	if (ok && *argc > 1) {
		fprintf(stderr, "x9p-backend: unexpected argument '%s' (see --help)\n", (*argv)[1]);
		return false;
	}
	if (ok)
		ok = check_options(&err);
	if (!ok) {
		fprintf(stderr, "x9p-backend: %s (see --help)\n", err->message);
		g_error_free(err);
	}
	return ok;
}

/* Stop and reload requests, watched before anything is served so that
 * none is lost. */
static void watch_signals(void)
{
	g_unix_signal_add(SIGINT, on_signal, (gpointer) "SIGINT");
	g_unix_signal_add(SIGTERM, on_signal, (gpointer) "SIGTERM");
	g_unix_signal_add(SIGHUP, on_reload, (gpointer) "SIGHUP");
	x9p_reexec_handlers_ready();
}

static bool open_trace(int *trace_fd, GError **err)
{
	if (!opt.trace)
		return true;
	*trace_fd = x9p_trace_file(opt.trace);
	if (*trace_fd < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "--trace %s: %s",
			    opt.trace, g_strerror(errno));
		return false;
	}
	return true;
}

static bool start_xen(int trace_fd, GError **err)
{
	struct x9p_xen_cfg xcfg = {
		.kinds = opt.xen_kinds,
		.synthetic = x9p_export_synthetic(),
		.synth_spec = x9p_export_synth_spec(),
		.workers = (unsigned)opt.workers,
		.max_fids = (unsigned)opt.max_fids,
		.max_open_files = (unsigned)opt.max_open_files,
		.max_locks = (unsigned)opt.max_locks,
		.max_xattr_bytes = (unsigned)opt.max_xattr_bytes,
		.max_rings = (unsigned)opt.xen_max_rings,
		.multidevs = x9p_export_multidevs(),
		.no_setid = x9p_export_no_setid(),
		.max_nodes = x9p_export_max_nodes(),
		.trace_fd = trace_fd,
		.state_dir = opt.xen_state_dir,
	};

	if (!opt.xen)
		return true;
	xen = x9p_xen_start(&xcfg, err);
	if (!xen)
		g_prefix_error(err, "--xen: ");
	return xen != NULL;
}

/* The --listen sockets, and their worker; without any, ready now. */
static bool start_sockets(int trace_fd, GError **err)
{
	struct mw_msg base;
	struct x9p_mservice_cfg mc = {
		.daemon = "x9p-backend",
		.addrs = addrs,
		.n_addrs = n_addrs,
		.allow_remote = opt.allow_remote,
		.base = &base,
		.trace_fd = trace_fd,
		.ready = on_sockets_ready,
		.ended = on_sockets_ended,
	};

	if (!n_addrs) {
		write_ready();
		return true;
	}
	if (x9p_export_dir()) {
		/* Each connection's session outlives the worker (docs/crash.md). */
		mc.journal = !opt.no_journal;
		sockets_kept = mc.journal;
		mc.journal_sessions = 1 + MIN(opt.max_conns ? (unsigned)opt.max_conns :
					      X9P_SOCK_DEFAULT_MAX_CONNS,
					      X9P_JOURNAL_MAX_SESSIONS - 1);
		mc.helpers = make_helpers(err);
		if (!mc.helpers)
			return false;
	}
	worker_config(&base);
	sockets = x9p_mservice_start(&mc, err);
	mw_clear_keep_fds(&base);
	return sockets != NULL;
}

/* After the main loop: the devices left Connected for the next program,
 * the sockets closed, or (a reload) handed over with the program
 * executed again. */
static void finish(int trace_fd)
{
	x9p_xen_stop(xen);
	/* The connections and their sessions go to the new program, now:
	 * what is handed over must not be closed below. */
	if (reload && exit_status == 0 && sockets && sockets_kept) {
		if (x9p_mservice_handover(sockets)) {
			x9p_reexec();
			exit_status = 1;
		} else {
			g_warning("SIGHUP: the socket connections cannot be handed over; they close");
		}
	}
	/* Kills a worker that is still there and removes the socket files. */
	x9p_mservice_free(sockets);
	if (trace_fd >= 0)
		close(trace_fd);
	g_string_free(ready_text, TRUE);
	g_main_loop_unref(main_loop);
	for (unsigned i = 0; i < n_addrs; i++)
		x9p_sock_addr_clear(&addrs[i]);
	g_free(addrs);
	if (reload && exit_status == 0)
		x9p_reexec();
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	int trace_fd = -1;

	/* libxl passes QEMU's arguments, which GOption must not see. */
	if (argc > 1 && strcmp(argv[1], "--xen-device-model") == 0) {
		g_set_prgname("x9p-xen-dm");
		x9p_log_init("x9p-xen-dm", false, G_LOG_LEVEL_MESSAGE);
		return x9p_xen_dm_main(argc - 1, argv + 1);
	}
	g_set_prgname("x9p-backend");
	x9p_log_init("x9p-backend", false, G_LOG_LEVEL_INFO);
	x9p_reexec_save(argc, argv);
	/* Writes to a vanished peer must fail with EPIPE, never kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (!parse_command_line(&argc, &argv))
		return EXIT_USAGE;
	ready_text = g_string_new(NULL);
	main_loop = g_main_loop_new(NULL, FALSE);
	watch_signals();
	if (open_trace(&trace_fd, &err) && start_xen(trace_fd, &err) &&
	    start_sockets(trace_fd, &err)) {
		g_main_loop_run(main_loop);
	} else {
		g_critical("%s", err->message);
		exit_status = 1;
	}
	finish(trace_fd);
	g_clear_error(&err);
	return exit_status;
}
