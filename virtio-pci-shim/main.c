// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost: a vhost-user virtio-9p device (virtio id 9) for KVM/QEMU
 * hosts.  The same 9P engine and the same confined x9p-helper as
 * x9p-backend; this file wires options, the filesystem driver, the engine,
 * the device and the frontend socket together.  Details: docs/x9p-vhost.md.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <glib.h>

#include "core/server.h"
#include "core/trace.h"
#include "fs/proxy.h"
#include "fs/synth.h"
#include "socket/socket.h"

#include "frontend.h"
#include "log/log.h"
#include "p9-vq.h"
#include "vu-dev.h"

#define EXIT_USAGE 2
/* Linux's 9pnet_virtio carries at most 512000 bytes; larger is harmless. */
#define VHOST_MAX_MSIZE ((1u << 20) + P9_IOHDR_SIZE)
#define MAX_TAG_LEN (VU_MAX_CONFIG_SIZE - 2)

static struct {
	char *socket_path;
	int fd;
	gboolean print_caps;
	char *export_dir;
	char *tag;
	char *security_model;
	char *multidevs;
	gboolean readonly;
	gboolean no_setid;
	int thread_pool_size;
	gboolean synthetic;
	char *synth_spec;
	char *trace;
	char *log_level;
	int stop_grace_ms;
	int ready_fd;
} opt = { .fd = -1, .ready_fd = -1 };

static enum x9p_secmodel model;
static enum x9p_multidevs multidevs = X9P_MULTIDEVS_REMAP;

static gboolean opt_synthetic(const gchar *name, const gchar *value, gpointer data, GError **err)
{
	opt.synthetic = TRUE;
	g_free(opt.synth_spec);
	opt.synth_spec = g_strdup(value ? value : "");
	return TRUE;
}

static const GOptionEntry entries[] = {
	{ "socket-path", 's', 0, G_OPTION_ARG_FILENAME, &opt.socket_path,
	  "Listen for the frontend (QEMU's -chardev socket,path=PATH) on this unix socket", "PATH" },
	{ "fd", 0, 0, G_OPTION_ARG_INT, &opt.fd,
	  "Use inherited socket descriptor N: a listening socket, or one connected frontend", "N" },
	{ "print-capabilities", 0, 0, G_OPTION_ARG_NONE, &opt.print_caps,
	  "Print the vhost-user backend capabilities (JSON) and exit", NULL },
	{ "export", 0, 0, G_OPTION_ARG_FILENAME, &opt.export_dir,
	  "Serve host directory DIR through x9p-helper (needs --security-model)", "DIR" },
	{ "tag", 0, 0, G_OPTION_ARG_STRING, &opt.tag,
	  "Mount tag the guest sees (mount -t 9p TAG; default x9p)", "TAG" },
	{ "security-model", 0, 0, G_OPTION_ARG_STRING, &opt.security_model,
	  "With --export: passthrough, mapped-xattr, mapped-file or none", "MODEL" },
	{ "readonly", 0, 0, G_OPTION_ARG_NONE, &opt.readonly,
	  "With --export: refuse every change", NULL },
	{ "no-setid", 0, 0, G_OPTION_ARG_NONE, &opt.no_setid,
	  "With --export: never put set-user-ID or set-group-ID bits on host "
	  "files, in passthrough too", NULL },
	{ "multidevs", 0, 0, G_OPTION_ARG_STRING, &opt.multidevs,
	  "With --export: remap (default), forbid or warn", "MODE" },
	{ "thread-pool-size", 0, 0, G_OPTION_ARG_INT, &opt.thread_pool_size,
	  "Threads executing 9P requests (default 16)", "N" },
	{ "synthetic", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, opt_synthetic,
	  "Serve the built-in in-memory test filesystem instead of --export", "SPEC" },
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
	"QEMU (8.2 to 9.0 as shipped; later versions need the generic device made\n"
	"user-creatable, see docs/x9p-vhost.md):\n"
	"  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem\n"
	"  -chardev socket,id=vu,path=PATH\n"
	"  -device vhost-user-device-pci,chardev=vu,virtio-id=9,num_vqs=1,config_size=N\n"
	"where N = 2 + the length of the tag.  In the guest:\n"
	"  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 TAG /mnt\n"
	"\n"
	"SIGINT and SIGTERM end the program.  Exit status: 0 after a signal or when an\n"
	"inherited connection ended, 1 on a runtime error, 2 on bad usage.";

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

static bool check_options(GError **err)
{
	if (opt.log_level && !x9p_log_set_level(opt.log_level))
		return usage_error(err, "--log-level: '%s' is not one of error, warning, notice, "
				   "info, debug", opt.log_level);
	if (!opt.socket_path == (opt.fd < 0))
		return usage_error(err, "give exactly one of --socket-path and --fd");
	if (opt.fd >= 0 && vhost_fd_is_listener(opt.fd) < 0)
		return usage_error(err, "--fd: descriptor %d is not a stream socket",
				   opt.fd);
	if (opt.synthetic && opt.export_dir)
		return usage_error(err, "--synthetic and --export exclude each other");
	if (!opt.synthetic && !opt.export_dir)
		return usage_error(err, "nothing to serve: give --export DIR (or --synthetic)");
	if (!opt.export_dir && (opt.security_model || opt.readonly || opt.multidevs))
		return usage_error(err, "--%s needs --export", opt.security_model ? "security-model" :
				   opt.readonly ? "readonly" : "multidevs");
	if (opt.export_dir && !opt.security_model)
		return usage_error(err, "--export needs --security-model");
	if (opt.export_dir && !x9p_secmodel_parse(opt.security_model, &model))
		return usage_error(err, "--security-model: '%s' is not passthrough, mapped-xattr, "
				   "mapped-file or none", opt.security_model);
	if (opt.multidevs && !x9p_multidevs_parse(opt.multidevs, &multidevs))
		return usage_error(err, "--multidevs: '%s' is not remap, forbid or warn", opt.multidevs);
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

static struct x9p_fs *make_fs(GError **err)
{
	if (opt.export_dir) {
		struct x9p_proxy_cfg cfg = {
			.export_path = opt.export_dir,
			.export_fd = -1,
			.model = model,
			.multidevs = multidevs,
			.readonly = opt.readonly,
			.no_setid = opt.no_setid,
		};

		return x9p_proxy_new(&cfg, err);
	}
	return x9p_synth_new(opt.synth_spec, err);
}

static void print_capabilities(void)
{
	/* vhost-user.json: VHostUserBackendCapabilities, type "9p". */
	printf("{\n  \"type\": \"9p\"\n}\n");
}

int main(int argc, char **argv)
{
	GOptionContext *octx;
	GError *err = NULL;
	struct x9p_server_cfg scfg = { 0 };
	struct x9p_server *engine = NULL;
	struct x9p_trace *trace = NULL;
	struct p9vq *p9 = NULL;
	struct vu_dev *dev = NULL;
	struct vu_dev_cfg dcfg = { 0 };
	uint8_t config[VU_MAX_CONFIG_SIZE];
	sigset_t sigs;
	char *label;
	int sigfd = -1, lfd = -1, status = 0, kind;

	g_set_prgname("x9p-vhost");
	x9p_log_init("x9p-vhost", false, G_LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);

	octx = g_option_context_new("- vhost-user virtio-9p device");
	g_option_context_set_summary(octx,
		"Serves a host directory to a virtual machine as a virtio-9p device over\n"
		"vhost-user (trans=virtio in the guest), through a confined x9p-helper.");
	g_option_context_set_description(octx, description);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &err)) {
		fprintf(stderr, "x9p-vhost: %s (see --help)\n", err->message);
		g_error_free(err);
		g_option_context_free(octx);
		return EXIT_USAGE;
	}
	g_option_context_free(octx);
	if (opt.print_caps) {
		print_capabilities();
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "x9p-vhost: unexpected argument '%s' (see --help)\n", argv[1]);
		return EXIT_USAGE;
	}
	if (!check_options(&err)) {
		fprintf(stderr, "x9p-vhost: %s (see --help)\n", err->message);
		g_error_free(err);
		return EXIT_USAGE;
	}

	/* Blocked before any thread exists, so that only the signalfd sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0) {
		g_critical("signalfd: %s", g_strerror(errno));
		return 1;
	}

	if (opt.trace && !(trace = x9p_trace_open(opt.trace))) {
		g_critical("--trace %s: %s", opt.trace, g_strerror(errno));
		status = 1;
		goto out;
	}
	scfg.fs = make_fs(&err);
	if (!scfg.fs) {
		g_critical("%s", err->message);
		status = 1;
		goto out;
	}
	scfg.workers = (unsigned)opt.thread_pool_size;
	scfg.trace = trace;
	engine = x9p_server_new(&scfg);

	label = opt.socket_path ? g_strdup_printf("vhost:%s", opt.socket_path) :
		g_strdup_printf("vhost:fd%d", opt.fd);
	p9 = p9vq_new(engine, VHOST_MAX_MSIZE, label);
	dcfg.features = 1ull << VIRTIO_9P_MOUNT_TAG;
	dcfg.config = config;
	dcfg.config_len = p9vq_config(opt.tag, config, sizeof(config));
	dcfg.nqueues = 1;
	dcfg.stop_grace_ms = (unsigned)opt.stop_grace_ms;
	dcfg.ops = &p9vq_ops;
	dcfg.opaque = p9;
	dcfg.label = label;
	dev = vu_dev_new(&dcfg);
	g_free(label);

	if (opt.socket_path) {
		lfd = x9p_sock_listen_unix(opt.socket_path, X9P_SOCK_DEFAULT_MODE, &err);
		if (lfd < 0) {
			g_critical("--socket-path %s", err->message);
			status = 1;
			goto out;
		}
		kind = 1;
	} else {
		lfd = opt.fd;
		kind = vhost_fd_is_listener(lfd);
	}
	g_message("virtio-9p device, tag '%s' (config_size=%zu), on %s", opt.tag, dcfg.config_len,
		  opt.socket_path ? opt.socket_path : "an inherited descriptor");
	if (opt.ready_fd >= 0) {
		if (write(opt.ready_fd, "ready\n", 6) != 6)
			g_warning("--ready-fd: %s", g_strerror(errno));
		close(opt.ready_fd);
	}
	if (kind == 1) {
		if (vhost_serve_listener(dev, lfd, sigfd) < 0)
			status = 1;
	} else {
		if (vhost_serve_connection(dev, lfd, sigfd) < 0)
			status = 1;
		lfd = -1;   /* closed by the device */
	}
	g_info("shutting down");

out:
	vu_dev_free(dev);
	p9vq_free(p9);
	if (engine)
		x9p_server_free(engine);
	else if (scfg.fs)
		scfg.fs->ops->destroy(scfg.fs);
	if (trace)
		x9p_trace_close(trace);
	if (lfd >= 0)
		close(lfd);
	if (opt.socket_path && lfd >= 0)
		unlink(opt.socket_path);
	g_clear_error(&err);
	close(sigfd);
	return status;
}
