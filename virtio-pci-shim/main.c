// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost: a virtio-9p device (virtio id 9) for KVM/QEMU hosts, over
 * vhost-user or, with --vfio-user, as a virtio-pci function over vfio-user.  The same 9P engine, worker and confined x9p-helper as
 * x9p-backend.  This program is the monitor: it opens the frontend socket
 * and the export and starts one confined x9p-worker that runs the device
 * (backend/worker/serve-vhost.c) and talks to the helper directly.
 * Details: docs/x9p-vhost.md.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "core/trace.h"
#include "core/version.h"
#include "fs/helper-spawn.h"
#include "monitor/confine.h"
#include "monitor/export-opts.h"
#include "monitor/record-opts.h"
#include "monitor/sd-notify.h"
#include "monitor/socket-opts.h"
#include "monitor/reexec.h"
#include "monitor/service.h"
#include "socket/socket.h"

#include "log/log.h"
#include "vu-dev.h"

#define EXIT_USAGE 2
#define MAX_TAG_LEN (VU_MAX_CONFIG_SIZE - 2)
#define DEFAULT_STOP_GRACE_MS 5000

static struct {
	char *socket_path;
	int fd;
	gboolean vfio_user;
	gboolean print_caps;
	char *tag;
	int thread_pool_size;
	char *trace;
	char *log_level;
	int stop_grace_ms;
	int ready_fd;
} opt = { .fd = -1, .ready_fd = -1 };

static const GOptionEntry entries[] = {
	{ "socket-path", 's', 0, G_OPTION_ARG_FILENAME, &opt.socket_path,
	  "Listen for the frontend (QEMU's -chardev socket,path=PATH) on this unix socket", "PATH" },
	{ "vfio-user", 0, 0, G_OPTION_ARG_NONE, &opt.vfio_user,
	  "Be a virtio-pci device for QEMU's vfio-user-pci (QEMU 10.1 or later) "
	  "instead of a vhost-user backend", NULL },
	{ "fd", 0, 0, G_OPTION_ARG_INT, &opt.fd,
	  "Use inherited socket descriptor N: a listening socket, or one connected frontend", "N" },
	{ "print-capabilities", 0, 0, G_OPTION_ARG_NONE, &opt.print_caps,
	  "Print the vhost-user backend capabilities (JSON) and exit", NULL },
	{ "tag", 0, 0, G_OPTION_ARG_STRING, &opt.tag,
	  "Mount tag the guest sees (mount -t 9p TAG; default x9p)", "TAG" },
	{ "thread-pool-size", 0, 0, G_OPTION_ARG_INT, &opt.thread_pool_size,
	  "Threads executing 9P requests (default 16)", "N" },
	{ "trace", 0, 0, G_OPTION_ARG_FILENAME, &opt.trace,
	  "Log every 9P message in both directions to FILE", "FILE" },
	{ "log-level", 0, 0, G_OPTION_ARG_STRING, &opt.log_level,
	  "error, warning, notice, info (default) or debug", "LEVEL" },
	{ "stop-grace", 0, 0, G_OPTION_ARG_INT, &opt.stop_grace_ms,
	  "How long a queue stop waits for requests in flight, in ms (default 5000)", "MS" },
	{ "ready-fd", 0, 0, G_OPTION_ARG_INT, &opt.ready_fd,
	  "Write \"ready\" to descriptor N once the socket listens, then close it", "N" },
	{ NULL },
};

static const char description[] =
	"QEMU 10.1 or later, with --vfio-user:\n"
	"  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem\n"
	"  -device '{\"driver\":\"vfio-user-pci\",\n"
	"            \"socket\":{\"type\":\"unix\",\"path\":\"PATH\"}}'\n"
	"\n"
	"QEMU (8.2 to 9.0 as shipped; later versions need the generic device made\n"
	"user-creatable, see docs/x9p-vhost.md):\n"
	"  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem\n"
	"  -chardev socket,id=vu,path=PATH\n"
	"  -device vhost-user-device-pci,chardev=vu,virtio-id=9,num_vqs=1,config_size=N\n"
	"where N = 2 + the length of the tag.  In the guest:\n"
	"  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 TAG /mnt\n"
	"\n"
	"SIGINT and SIGTERM end the program.  SIGHUP executes the program file again\n"
	"in the same process (an upgrade): the worker hands the device over, and the\n"
	"new program's worker serves the same connection and session (with an\n"
	"inherited connection, or the synthetic tree, SIGHUP ends the program).\n"
	"Exit status: 0 after a signal or when an inherited connection ended, 1 on a\n"
	"runtime error, 2 on bad usage.";

static bool G_GNUC_PRINTF(2, 3) usage_error(GError **err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, msg);
	g_free(msg);
	return false;
}

static bool is_stream_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

static bool check_options(GError **err)
{
	if (opt.log_level && !x9p_log_set_level(opt.log_level))
		return usage_error(err, "--log-level: '%s' is not one of error, warning, notice, "
				   "info, debug", opt.log_level);
	if (!opt.socket_path == (opt.fd < 0))
		return usage_error(err, "give exactly one of --socket-path and --fd");
	if (opt.fd >= 0 && !is_stream_socket(opt.fd))
		return usage_error(err, "--fd: descriptor %d is not a stream socket",
				   opt.fd);
	if (!x9p_export_resolve(NULL, false, err))
		return false;
	if (!x9p_export_synthetic() && !x9p_export_dir())
		return usage_error(err, "nothing to serve: give --export DIR (or --synthetic)");
	if (!opt.tag)
		opt.tag = g_strdup("x9p");
	if (!opt.tag[0] || strlen(opt.tag) > MAX_TAG_LEN)
		return usage_error(err, "--tag: '%s' must be 1 to 254 bytes", opt.tag);
	if (opt.thread_pool_size < 0 || opt.thread_pool_size > 1024)
		return usage_error(err, "--thread-pool-size: %d is out of range (0..1024)",
				   opt.thread_pool_size);
	if (opt.stop_grace_ms < 0 || opt.stop_grace_ms > 600000)
		return usage_error(err, "--stop-grace: %d is out of range (0..600000)",
				   opt.stop_grace_ms);
	if (opt.ready_fd >= 0 && fcntl(opt.ready_fd, F_GETFD) < 0)
		return usage_error(err, "--ready-fd: %d is not an open descriptor",
				   opt.ready_fd);
	return true;
}

static GMainLoop *loop;
static struct x9p_mservice *service;
static bool stopping, reload;
static int status;

/* SIGHUP: the worker hands the device over, then main() executes the
 * program file again (monitor/reexec.h). */
static gboolean on_reload(gpointer data)
{
	if (!stopping) {
		reload = true;
		x9p_sd_notify_reloading("handing the device over to a new x9p-vhost");
		g_message("SIGHUP: handing the device over to a new x9p-vhost");
		stopping = true;
		x9p_mservice_stop(service);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	if (!stopping) {
		stopping = true;
		x9p_sd_notify("STOPPING=1");
		/* The loop ends when the worker is gone (on_ended). */
		x9p_mservice_stop(service);
	}
	return G_SOURCE_CONTINUE;
}

static void on_ready(void *opaque, const char *const *bound, unsigned n)
{
	x9p_sd_notify("READY=1\nSTATUS=virtio-9p device%s, tag '%s', on %s",
		      opt.vfio_user ? " (vfio-user)" : "", opt.tag, n ? bound[0] : "?");
	if (opt.ready_fd >= 0) {
		if (write(opt.ready_fd, "ready\n", 6) != 6)
			g_warning("--ready-fd: %s", g_strerror(errno));
		close(opt.ready_fd);
		opt.ready_fd = -1;
	}
}

static void on_ended(void *opaque, int exit_status)
{
	status = exit_status;
	g_main_loop_quit(loop);
}

/* The worker's CONFIG (monitor/service.c adds the endpoint). */
static void worker_config(struct mw_msg *c, const char *label)
{
	mw_init(c, MW_CONFIG, 0);
	c->u[MW_CF_ROLE] = MW_ROLE_VHOST;
	x9p_confine_config(c);
	c->u[MW_CF_ATTACK] = (uint32_t)atoi(g_getenv("X9P_WORKER_ATTACK") ?: "0");
	c->u[MW_CF_WORKERS] = (uint32_t)opt.thread_pool_size;
	c->u[MW_CF_FLAGS] = opt.vfio_user ? MW_CF_VFIO_USER : 0;
	x9p_export_config(c);
	c->u[MW_CF_STOP_GRACE_MS] = opt.stop_grace_ms ? (uint32_t)opt.stop_grace_ms :
							DEFAULT_STOP_GRACE_MS;
	mw_add_str(c, label);
	mw_add_str(c, x9p_export_synth_spec());
	mw_add_str(c, opt.tag);
}

static void print_capabilities(void)
{
	/* vhost-user.json: VHostUserBackendCapabilities, type "9p". */
	printf("{\n  \"type\": \"9p\"\n}\n");
}

/* Parses and checks the command line: -1 to go on, else the exit status
 * (0 after --print-capabilities, EXIT_USAGE after saying why). */
static int parse_command_line(int *argc, char ***argv)
{
	GOptionContext *octx;
	GError *err = NULL;
	bool ok;

	octx = g_option_context_new("- vhost-user virtio-9p device");
	g_option_context_set_summary(octx,
		"Serves a host directory to a virtual machine as a virtio-9p device over\n"
		"vhost-user (trans=virtio in the guest), through a confined x9p-helper.");
	g_option_context_set_description(octx, description);
	g_option_context_add_main_entries(octx, entries, NULL);
	g_option_context_add_main_entries(octx, x9p_export_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_confine_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_record_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_log_target_entries, NULL);
	g_option_context_add_main_entries(octx, x9p_socket_entries, NULL);
	x9p_version_add(octx);
	ok = g_option_context_parse(octx, argc, argv, &err);
	g_option_context_free(octx);
	if (ok && opt.print_caps && opt.vfio_user) {
		fprintf(stderr, "x9p-vhost: --print-capabilities describes the vhost-user mode only\n");
		return EXIT_USAGE;
	}
	if (ok && opt.print_caps) {
		print_capabilities();
		return 0;
	}
	if (ok && *argc > 1) {
		fprintf(stderr, "x9p-vhost: unexpected argument '%s' (see --help)\n", (*argv)[1]);
		return EXIT_USAGE;
	}
	if (ok)
		ok = check_options(&err) && x9p_confine_resolve(&err) &&
		     x9p_record_resolve(&err) && x9p_socket_resolve(&err);
	if (!ok) {
		fprintf(stderr, "x9p-vhost: %s (see --help)\n", err->message);
		g_error_free(err);
		return EXIT_USAGE;
	}
	return -1;
}

/* The device's service: its socket, helpers and worker. */
static bool start_device(struct x9p_mservice_cfg *mc, GError **err)
{
	struct mw_msg base;
	char *label;

	if (opt.trace) {
		mc->trace_fd = x9p_trace_file(opt.trace);
		if (mc->trace_fd < 0) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "--trace %s: %s", opt.trace, g_strerror(errno));
			return false;
		}
	}
	label = opt.socket_path ? g_strdup_printf("%s:%s", opt.vfio_user ? "vfu" : "vhost",
						  opt.socket_path) :
				  g_strdup_printf("%s:fd%d", opt.vfio_user ? "vfu" : "vhost", opt.fd);
	if (x9p_export_dir()) {
		struct x9p_proxy_cfg pc = { .label = label };

		x9p_export_proxy_cfg(&pc);
		mc->helpers = x9p_helper_spawner_new(&pc, err);
		if (!mc->helpers) {
			g_free(label);
			return false;
		}
	}
	worker_config(&base, label);
	mc->base = &base;
	mc->label = label;
	/* The synthetic tree has nothing to keep. */
	mc->journal = x9p_export_dir() != NULL;
	mc->record = x9p_record_on();
	service = x9p_mservice_start(mc, err);
	mc->base = NULL;
	mc->label = NULL;
	g_free(label);
	mw_clear_keep_fds(&base);
	if (!service)
		return false;
	if (opt.vfio_user)
		g_message("virtio-9p PCI device (vfio-user), tag '%s', on %s", opt.tag,
			  opt.socket_path ? opt.socket_path : "an inherited descriptor");
	else
		g_message("virtio-9p device, tag '%s' (config_size=%zu), on %s", opt.tag,
			  (size_t)2 + strlen(opt.tag),
			  opt.socket_path ? opt.socket_path : "an inherited descriptor");
	return true;
}

/* SIGHUP: the device goes to the program executed again. */
static void hand_over(void)
{
	if (x9p_mservice_handover(service)) {
		x9p_reexec();
		status = 1;
	} else {
		g_message("SIGHUP: nothing to hand over (an inherited connection, or "
			  "the synthetic tree); stopping");
	}
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	struct x9p_sock_addr addr;
	struct x9p_mservice_cfg mc = {
		.daemon = "x9p-vhost",
		.addrs = &addr,
		.n_addrs = 1,
		.trace_fd = -1,
		.ready = on_ready,
		.ended = on_ended,
	};
	char *where;
	int st;

	g_set_prgname("x9p-vhost");
	x9p_log_init("x9p-vhost", false, G_LOG_LEVEL_INFO);
	x9p_reexec_save(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	st = parse_command_line(&argc, &argv);
	if (st >= 0)
		return st;
	where = opt.socket_path ? g_strdup_printf("unix:%s", opt.socket_path) :
				  g_strdup_printf("fd:%d", opt.fd);
	if (!x9p_sock_addr_parse(where, &addr, &err)) {
		fprintf(stderr, "x9p-vhost: %s\n", err->message);
		g_error_free(err);
		g_free(where);
		return EXIT_USAGE;
	}
	g_free(where);
	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, NULL);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	g_unix_signal_add(SIGHUP, on_reload, NULL);
	x9p_reexec_handlers_ready();
	if (start_device(&mc, &err)) {
		g_main_loop_run(loop);
		if (reload && status == 0)
			hand_over();
		g_info("shutting down");
	} else {
		g_critical("%s", err->message);
		status = 1;
	}
	x9p_mservice_free(service);
	if (mc.trace_fd >= 0)
		close(mc.trace_fd);
	x9p_sock_addr_clear(&addr);
	g_clear_error(&err);
	g_main_loop_unref(loop);
	return status;
}
